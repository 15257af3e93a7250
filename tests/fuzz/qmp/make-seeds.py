#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# Writes the seed corpora of the qmp fuzz targets (run from this folder; the
# output is committed) from the real QEMU 7.2 captures in
# ../shared/fixtures/qmp-qemu-7.2/*.raw: the server bytes of each capture
# (qmp_session: what our client reads) and the client bytes (qmp_server_side:
# what a QMP server reads, malformed cases included). Big captures are cut to
# their first 16 KiB; a few hand-written edge cases are added.
import ast
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.environ.get("CVM_FIXTURES",
                          os.path.join(here, "..", "..", "..", "..", "shared", "fixtures"))
LIMIT = 16 * 1024


def capture(path):
    server, client = b"", b""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("<<< "):
                server += ast.literal_eval(line[4:])
            elif line.startswith(">>> "):
                client += ast.literal_eval(line[4:])
    return server, client


def write(corpus, name, data):
    os.makedirs(os.path.join(here, "corpus", corpus), exist_ok=True)
    with open(os.path.join(here, "corpus", corpus, name), "wb") as f:
        f.write(data[:LIMIT])


raws = sorted(glob.glob(os.path.join(fixtures, "qmp-qemu-7.2", "*.raw")))
if not raws:
    sys.exit("no captures under " + fixtures)
for path in raws:
    name = os.path.basename(path)[:-4]
    server, client = capture(path)
    write("qmp_session", name, server)
    if client:
        write("qmp_server_side", name, client)

greeting = b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n'
write("qmp_session", "idless-error", greeting + b'{"return": {}, "id": "cvm-1"}\r\n'
      b'{"error": {"class": "GenericError", "desc": "x"}}\r\n')
write("qmp_session", "unknown-id", greeting + b'{"return": {}, "id": "cvm-1"}\r\n{"return": 1, "id": [1]}\r\n')
write("qmp_session", "pretty", greeting.replace(b", ", b",\r\n  ") + b'{"return":\r\n {}, "id": "cvm-1"}\r\n')
write("qmp_session", "deep", greeting + b'{"return": ' + b"[" * 2000 + b"]" * 2000 + b', "id": "cvm-2"}\r\n')
write("qmp_server_side", "single-quotes", b"{'execute': 'query-status', 'id': 'sq'}\n")
write("qmp_server_side", "escapes", b'{"execute": "qom-get", "arguments": {"path": "\\u00e9\\ud83d\\ude00"}}\n')
