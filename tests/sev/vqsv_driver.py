#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# Interop driver for tests/sev/interop_test.cpp: runs libvirt's
# virt-qemu-sev-validate (imported as a module, so one Python process serves
# every case) and an independent Python implementation of the checks the
# test wants from outside our C++ code.
#
#   vqsv_driver.py TOOL CASES.json RESULTS.json
#
# CASES.json:
#   "runs":     [{"id", "argv": [...]}]     -> exit code of the tool's main()
#   "digests":  [{"id", "policy", "num_cpus", "firmware", "kernel", "initrd",
#                 "cmdline", "vmsa0", "vmsa1", "sku": [f, m, s] | null}]
#                                           -> the tool's launch digest (hex)
#   "packets":  [{"id", "tek", "tik", "measure", "header", "payload",
#                 "secrets": [{"guid", "path"}]}]
#                                           -> our packet verified/decrypted here
#   "sessions": [{"id", "pdh_key", "godh", "session", "policy", "tek", "tik"}]
#                                           -> our session unwrapped here
# Paths are files; tek/tik/measure are hex. RESULTS.json maps id -> result.

import base64
import contextlib
import hashlib
import hmac
import importlib.machinery
import importlib.util
import io
import json
import struct
import sys
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def load_tool(path):
    loader = importlib.machinery.SourceFileLoader("virt_qemu_sev_validate", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_main(tool, argv):
    sys.argv = ["virt-qemu-sev-validate"] + argv
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            tool.main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
    return {"rc": code, "out": out.getvalue(), "err": err.getvalue()}


def tool_digest(tool, c):
    # The same steps as the tool's attest() up to get_measured_data().
    vm = tool.OfflineConfidentialVM(policy=c["policy"], num_cpus=c.get("num_cpus"))
    vm.load_firmware(c["firmware"])
    if c.get("kernel"):
        vm.kernel_table.load_kernel(c["kernel"])
    if c.get("initrd"):
        vm.kernel_table.load_initrd(c["initrd"])
    if c.get("cmdline") is not None:
        vm.kernel_table.load_cmdline(c["cmdline"])
    if c.get("vmsa0"):
        vm.load_vmsa_cpu0(c["vmsa0"])
    if c.get("vmsa1"):
        vm.load_vmsa_cpu1(c["vmsa1"])
    if c.get("sku"):
        vm.build_vmsas(*c["sku"])
    return hashlib.sha256(vm.get_measured_data()).hexdigest()


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def check_packet(c):
    tek, tik = bytes.fromhex(c["tek"]), bytes.fromhex(c["tik"])
    measure = bytes.fromhex(c["measure"])
    header = base64.b64decode(read(c["header"]))
    payload = base64.b64decode(read(c["payload"]))
    if len(header) != 52:
        return "header is %d bytes" % len(header)
    flags, iv, mac = header[0:4], header[4:20], header[20:52]
    if flags != b"\0\0\0\0":
        return "flags set"
    n = struct.pack("<I", len(payload))
    want = hmac.new(tik, b"\x01" + flags + iv + n + n + payload + measure, "sha256").digest()
    if not hmac.compare_digest(want, mac):
        return "MAC does not verify"
    dec = Cipher(algorithms.AES(tek), modes.CTR(iv)).decryptor()
    table = dec.update(payload) + dec.finalize()
    if len(table) % 16 or table[0:16] != uuid.UUID("1e74f542-71dd-4d66-963e-ef4287ff173b").bytes_le:
        return "not a secret table"
    length = struct.unpack("<I", table[16:20])[0]
    found, off = [], 20
    while off < length:
        g = uuid.UUID(bytes_le=table[off:off + 16])
        elen = struct.unpack("<I", table[off + 16:off + 20])[0]
        found.append((str(g), table[off + 20:off + elen]))
        off += elen
    if off != length or length > len(table) or any(table[length:]):
        return "table length/padding wrong"
    want = [(s["guid"], read(s["path"])) for s in c["secrets"]]
    return "ok" if found == want else "entries differ"


def kdf(key, length, label, context):
    out, i = b"", 1
    while len(out) < length:
        msg = struct.pack("<I", i) + label + b"\0" + context + struct.pack("<I", length * 8)
        out += hmac.new(key, msg, "sha256").digest()
        i += 1
    return out[:length]


def check_session(c):
    pdh = serialization.load_pem_private_key(read(c["pdh_key"]), password=None)
    godh = read(c["godh"])
    if len(godh) != 2084 or struct.unpack("<III", godh[0:4] + godh[8:16]) != (1, 0x1003, 3):
        return "GODH certificate header wrong"
    if struct.unpack("<I", godh[16:20])[0] != 2:
        return "GODH curve is not P-384"
    x = int.from_bytes(godh[0x14:0x14 + 72], "little")
    y = int.from_bytes(godh[0x5c:0x5c + 72], "little")
    peer = ec.EllipticCurvePublicNumbers(x, y, ec.SECP384R1()).public_key()
    z = pdh.exchange(ec.ECDH(), peer)
    s = read(c["session"])
    if len(s) != 128:
        return "session is %d bytes" % len(s)
    nonce, wrap_tk, wrap_iv, wrap_mac, policy_mac = s[0:16], s[16:48], s[48:64], s[64:96], s[96:128]
    ms = kdf(z, 16, b"sev-master-secret", nonce)
    kek, kik = kdf(ms, 16, b"sev-kek", b""), kdf(ms, 16, b"sev-kik", b"")
    if not hmac.compare_digest(hmac.new(kik, wrap_tk, "sha256").digest(), wrap_mac):
        return "WRAP_MAC does not verify"
    dec = Cipher(algorithms.AES(kek), modes.CTR(wrap_iv)).decryptor()
    keys = dec.update(wrap_tk) + dec.finalize()
    tek, tik = keys[0:16], keys[16:32]
    pm = hmac.new(tik, struct.pack("<I", c["policy"]), "sha256").digest()
    if not hmac.compare_digest(pm, policy_mac):
        return "POLICY_MAC does not verify"
    if tek.hex() != c["tek"] or tik.hex() != c["tik"]:
        return "unwrapped keys differ"
    return "ok"


def main():
    tool_path, cases_path, results_path = sys.argv[1:4]
    tool = load_tool(tool_path)
    with open(cases_path) as fh:
        cases = json.load(fh)
    results = {}
    for c in cases.get("runs", []):
        results[c["id"]] = run_main(tool, c["argv"])
    for c in cases.get("digests", []):
        try:
            results[c["id"]] = tool_digest(tool, c)
        except Exception as e:  # reported to the C++ side, which fails the case
            results[c["id"]] = "error: %s" % e
    for c in cases.get("packets", []):
        results[c["id"]] = check_packet(c)
    for c in cases.get("sessions", []):
        results[c["id"]] = check_session(c)
    with open(results_path, "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main()
