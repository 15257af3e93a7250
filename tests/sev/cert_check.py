#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# An independent implementation of the SEV and AMD certificate formats for the
# interop test (chain_interop_test.cpp), written from the SEV API appendices
# B.1/C.1 as summarised in ../shared/reference/sev-guest-owner-crypto.md and
# using python3-cryptography, not our C++ code:
#
#   cert_check.py verify DIR   checks DIR/{ark,ask,cek,oca,pek,pdh}.cert;
#                              prints "ok" (exit 0) or "<CERT>: <why>" (exit 1)
#   cert_check.py build DIR    writes a whole hierarchy of its own (RSA-2048
#                              ARK/ASK, P-384 CEK/OCA/PEK/PDH) into DIR
import os
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

USAGE = {"ARK": 0x0, "ASK": 0x13, "EMPTY": 0x1000, "OCA": 0x1001, "PEK": 0x1002, "PDH": 0x1003, "CEK": 0x1004}
SEV_SIZE = 2084
BODY = 0x414
SLOTS = (0x414, 0x61C)  # usage, algo, then the 512-byte signature


def le(b):
    return int.from_bytes(b, "little")


def to_le(n, size):
    return n.to_bytes(size, "little")


def hash_for(algo):
    return hashes.SHA384() if algo & 0x100 else hashes.SHA256()


def pss(h):
    return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size)


# --- AMD certificates (ARK, ASK) ---

def amd_parse(raw):
    version, = struct.unpack_from("<I", raw, 0)
    key_id, cert_id = raw[4:20], raw[20:36]
    usage, = struct.unpack_from("<I", raw, 0x24)
    psize, msize = struct.unpack_from("<II", raw, 0x38)
    n = msize // 8
    assert version == 1 and psize == msize and len(raw) == 64 + 3 * n, "bad AMD certificate"
    e = le(raw[64:64 + n])
    mod = le(raw[64 + n:64 + 2 * n])
    return {"key_id": key_id, "cert_id": cert_id, "usage": usage, "bits": msize,
            "key": rsa.RSAPublicNumbers(e, mod).public_key(), "signed": raw[:64 + 2 * n],
            "sig": raw[64 + 2 * n:][::-1]}


def amd_verify(cert, signer):
    if cert["cert_id"] != signer["key_id"]:
        return "certifying id is not the signer's key id"
    h = hashes.SHA384() if signer["bits"] == 4096 else hashes.SHA256()
    try:
        signer["key"].verify(cert["sig"], cert["signed"], pss(h), h)
    except InvalidSignature:
        return "signature does not verify"
    return None


def amd_build(key_id, cert_id, usage, pub, signer_priv):
    nums = pub.public_numbers()
    n = pub.key_size // 8
    head = struct.pack("<I16s16sI16xII", 1, key_id, cert_id, usage, pub.key_size, pub.key_size)
    signed = head + to_le(nums.e, n) + to_le(nums.n, n)
    h = hashes.SHA256() if signer_priv.key_size == 2048 else hashes.SHA384()
    return signed + signer_priv.sign(signed, pss(h), h)[::-1]


# --- SEV certificates ---

def sev_parse(raw):
    assert len(raw) == SEV_SIZE, "bad size"
    version, usage, algo, curve = struct.unpack_from("<I4xIII", raw, 0)
    assert version == 1 and curve == 2, "bad version or curve"
    x, y = le(raw[0x14:0x14 + 72]), le(raw[0x5C:0x5C + 72])
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP384R1()).public_key()
    slots = []
    for off in SLOTS:
        su, sa = struct.unpack_from("<II", raw, off)
        slots.append((su, sa, raw[off + 8:off + 8 + 512]))
    return {"usage": usage, "algo": algo, "key": key, "body": raw[:BODY], "slots": slots}


def sev_verify(cert, signer_usage, signer_algo, signer_key, rsa_bits=0):
    for su, sa, sig in cert["slots"]:
        if su != signer_usage:
            continue
        if sa != signer_algo:
            return "slot algorithm differs from the signer's"
        h = hash_for(sa)
        try:
            if sa in (0x1, 0x101):
                signer_key.verify(sig[:rsa_bits // 8][::-1], cert["body"], pss(h), h)
            else:
                der = encode_dss_signature(le(sig[:72]), le(sig[72:144]))
                signer_key.verify(der, cert["body"], ec.ECDSA(h))
        except InvalidSignature:
            return "signature does not verify"
        return None
    return "no signature by usage 0x%x" % signer_usage


def sev_build(usage, algo, pub, signers):
    nums = pub.public_numbers()
    body = struct.pack("<IBBHIII", 1, 0, 24, 0, usage, algo, 2) + to_le(nums.x, 72) + to_le(nums.y, 72)
    body += bytes(BODY - len(body))
    slots = b""
    for i in range(2):
        if i >= len(signers):
            slots += struct.pack("<II", USAGE["EMPTY"], 0) + bytes(512)
            continue
        su, sa, priv = signers[i]
        h = hash_for(sa)
        if sa in (0x1, 0x101):
            sig = priv.sign(body, pss(h), h)[::-1]
        else:
            r, s = decode_dss_signature(priv.sign(body, ec.ECDSA(h)))
            sig = to_le(r, 72) + to_le(s, 72)
        slots += struct.pack("<II", su, sa) + sig + bytes(512 - len(sig))
    return body + slots


def verify(d):
    rd = lambda n: open(os.path.join(d, n + ".cert"), "rb").read()
    ark, ask = amd_parse(rd("ark")), amd_parse(rd("ask"))
    cek, oca, pek, pdh = (sev_parse(rd(n)) for n in ("cek", "oca", "pek", "pdh"))
    ask_algo = 0x101 if ask["bits"] == 4096 else 0x1
    checks = [
        ("ARK", amd_verify(ark, ark)),
        ("ASK", amd_verify(ask, ark)),
        ("CEK", sev_verify(cek, USAGE["ASK"], ask_algo, ask["key"], ask["bits"])),
        ("OCA", sev_verify(oca, USAGE["OCA"], oca["algo"], oca["key"])),
        ("PEK", sev_verify(pek, USAGE["OCA"], oca["algo"], oca["key"])),
        ("PEK", sev_verify(pek, USAGE["CEK"], cek["algo"], cek["key"])),
        ("PDH", sev_verify(pdh, USAGE["PEK"], pek["algo"], pek["key"])),
    ]
    for name, why in checks:
        if why:
            print("%s: %s" % (name, why))
            return 1
    print("ok")
    return 0


def build(d):
    os.makedirs(d, exist_ok=True)
    ark_k = rsa.generate_private_key(65537, 2048)
    ask_k = rsa.generate_private_key(65537, 2048)
    cek_k, oca_k, pek_k, pdh_k = (ec.generate_private_key(ec.SECP384R1()) for _ in range(4))
    ark_id, ask_id = bytes(range(16)), bytes(range(16, 32))
    out = {
        "ark": amd_build(ark_id, ark_id, USAGE["ARK"], ark_k.public_key(), ark_k),
        "ask": amd_build(ask_id, ark_id, USAGE["ASK"], ask_k.public_key(), ark_k),
        "cek": sev_build(USAGE["CEK"], 0x2, cek_k.public_key(), [(USAGE["ASK"], 0x1, ask_k)]),
        "oca": sev_build(USAGE["OCA"], 0x2, oca_k.public_key(), [(USAGE["OCA"], 0x2, oca_k)]),
        # The CEK signature first: position must not matter.
        "pek": sev_build(USAGE["PEK"], 0x2, pek_k.public_key(),
                         [(USAGE["CEK"], 0x2, cek_k), (USAGE["OCA"], 0x2, oca_k)]),
        "pdh": sev_build(USAGE["PDH"], 0x3, pdh_k.public_key(), [(USAGE["PEK"], 0x2, pek_k)]),
    }
    for name, raw in out.items():
        with open(os.path.join(d, name + ".cert"), "wb") as fh:
            fh.write(raw)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("verify", "build"):
        sys.exit("usage: cert_check.py verify|build DIR")
    sys.exit(verify(sys.argv[2]) if sys.argv[1] == "verify" else build(sys.argv[2]))
