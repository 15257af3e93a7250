#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes the seed corpora of the sev fuzz targets (run from this folder; the
# output is committed). Everything is synthesised here from the layouts in
# ../shared/reference/sev-guest-owner-crypto.md; the OVMF seeds copy the
# footer-table *entries* of Debian's OVMF 2022.11 (OvmfX64: 0/0 hash and
# secret areas) and of an AmdSev build (areas 0x810c00/0x400, 0x810000/0xc00),
# not any firmware code. Deterministic: a fixed-seed RNG, fixed keys.
import base64
import hashlib
import hmac
import os
import random
import struct
import uuid

from cryptography.hazmat.primitives.asymmetric import ec

rng = random.Random(20240601)


def rbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def guid(text):
    return uuid.UUID(text).bytes_le


def write(target, name, data):
    os.makedirs(os.path.join("corpus", target), exist_ok=True)
    with open(os.path.join("corpus", target, name), "wb") as fh:
        fh.write(data)


FOOTER = guid("96b582de-1fb2-45f7-baea-a366c55a082d")
HASHES = guid("7255371f-3a3b-4b04-927b-1da6efa8d454")
SECRET = guid("4c2eb361-7d9b-4cc3-8081-127c90d3d294")
RESET = guid("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
SNP_META = guid("dc886566-984a-4798-a75e-5585a7bf67cc")
TDX_META = guid("e47a6535-984a-4798-865e-4685a7bf8ec2")


def footer_table(entries, gap=32):
    # entries[0] is next to the footer: serialise in reverse.
    body = b""
    for g, data in reversed(entries):
        body += data + struct.pack("<H", len(data) + 18) + g
    body += struct.pack("<H", len(body) + 18) + FOOTER
    return rbytes(64) + body + rbytes(gap)


ovmfx64 = [(RESET, struct.pack("<I", 0x80b004)), (SECRET, bytes(8)), (HASHES, bytes(8)),
           (SNP_META, struct.pack("<I", 0x52c)), (TDX_META, struct.pack("<I", 0x840))]
amdsev = [(RESET, struct.pack("<I", 0x80b004)), (SECRET, struct.pack("<II", 0x810000, 0xc00)),
          (HASHES, struct.pack("<II", 0x810c00, 0x400))]
write("ovmf_table", "ovmfx64-entries", footer_table(ovmfx64))
write("ovmf_table", "amdsev-entries", footer_table(amdsev))
write("ovmf_table", "empty-table", footer_table([]))
t = footer_table(amdsev)
write("ovmf_table", "truncated", t[len(t) - 90:])
bad = bytearray(footer_table(amdsev))
bad[-32 - 18 - 18] = 0x11  # first entry's length low byte below 18
write("ovmf_table", "short-entry", bytes(bad))

# Secret tables and packets.
TABLE = guid("1e74f542-71dd-4d66-963e-ef4287ff173b")
LUKS = guid("736869e5-84f0-4973-92ec-06879ce3da0b")


def secret_table(entries, pad_always=False):
    body = b"".join(g + struct.pack("<I", 20 + len(v)) + v for g, v in entries)
    t = TABLE + struct.pack("<I", 20 + len(body)) + body
    pad = (16 - len(t) % 16) if pad_always else (-len(t) % 16)
    return t + bytes(pad)


one = secret_table([(LUKS, b"MY-LUKS-PASSPHRASE")])
write("secret_parsers", "table-luks", one)
write("secret_parsers", "table-two", secret_table([(LUKS, b"a" * 40), (rbytes(16), b"")], pad_always=True))
key = bytes(range(1, 17))
measure = bytes([7]) + bytes(31)
iv = rbytes(16)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
ct = enc.update(one) + enc.finalize()
n = struct.pack("<I", len(ct))
mac = hmac.new(key, b"\x01" + bytes(4) + iv + n + n + ct + measure, "sha256").digest()
write("secret_parsers", "packet-valid", bytes(4) + iv + mac + ct)
write("secret_parsers", "packet-flags", b"\x01\0\0\0" + iv + mac + ct)

# LAUNCH_START inputs: a GODH certificate with a real P-384 point, then a
# policy (LE32) and a 128-byte session buffer.
pub = ec.derive_private_key(0x1234567890abcdef, ec.SECP384R1()).public_key().public_numbers()
cert = bytearray(2084)
struct.pack_into("<IBBHIII", cert, 0, 1, 0, 0, 0, 0x1003, 0x3, 2)
cert[0x14:0x14 + 48] = pub.x.to_bytes(48, "little")
cert[0x5c:0x5c + 48] = pub.y.to_bytes(48, "little")
struct.pack_into("<II", cert, 0x414, 0x1000, 0)
struct.pack_into("<II", cert, 0x61c, 0x1000, 0)
write("session_buffer", "godh-and-session", bytes(cert) + struct.pack("<I", 5) + rbytes(128))
write("session_buffer", "session-only", rbytes(128))
write("session_buffer", "godh-only", bytes(cert))

# Launch measurement blobs and hashes tables.
blob = rbytes(48)
write("measurement_blob", "raw48", blob)
write("measurement_blob", "base64", base64.b64encode(blob))


def entry(g, h):
    return guid(g) + struct.pack("<H", 50) + h


ht = guid("9438d606-4f22-4cc9-b479-a793d411fd21") + struct.pack("<H", 168)
ht += entry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", hashlib.sha256(b"console=ttyS0\0").digest())
ht += entry("44baf731-3a2f-4bd7-9af1-41e29169781d", hashlib.sha256(b"").digest())
ht += entry("4de79437-abd2-427f-b835-d5b172d2045b", hashlib.sha256(b"kernel").digest())
write("measurement_blob", "hashes-table", ht + bytes(8))
