#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""docs/openapi.yaml against the real server: the document is a valid OpenAPI
3.1 description, and what cvm-attestd answers validates against the schemas it
declares (an independent JSON Schema validator, not our own parser).

Usage: openapi_conformance.py (reads CVM_SOURCE_ROOT, CVM_BUILD_ROOT, CVM_FIXTURES)."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import re

# Debian 12 packages (scripts/bootstrap): python3-yaml, python3-jsonschema.
import yaml
from jsonschema import Draft202012Validator

try:  # not packaged in Debian 12; used where pip installed it
    from openapi_spec_validator import validate as validate_full_spec
except ImportError:
    validate_full_spec = None


def validate_spec(doc):
    """The structural rules of OpenAPI 3.1 this document relies on, checked
    with the JSON Schema 2020-12 meta-schema (openapi-spec-validator, where
    present, checks the rest)."""
    problems = []
    if not str(doc.get("openapi", "")).startswith("3.1"):
        problems.append("openapi: not 3.1")
    info = doc.get("info") or {}
    if not info.get("title") or not info.get("version"):
        problems.append("info: title and version are required")

    def resolve(ref):
        if not ref.startswith("#/"):
            return None
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def deref(node):
        return resolve(node["$ref"]) or {} if isinstance(node, dict) and "$ref" in node else node

    def path_params(params):
        return {deref(p).get("name") for p in params or [] if deref(p).get("in") == "path"}

    def walk(node, where):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and resolve(ref) is None:
                problems.append(f"{where}: $ref {ref} does not resolve")
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc, "#")
    for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # jsonschema.SchemaError
            problems.append(f"components/schemas/{name}: {e.message if hasattr(e, 'message') else e}")
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    for path, item in (doc.get("paths") or {}).items():
        declared = path_params(item.get("parameters"))
        for method, op in item.items():
            if method not in methods:
                continue
            names = declared | path_params(op.get("parameters"))
            for param in re.findall(r"{([^}]+)}", path):
                if param not in names:
                    problems.append(f"{method.upper()} {path}: path parameter '{param}' is not declared")
            responses = op.get("responses") or {}
            if not responses:
                problems.append(f"{method.upper()} {path}: no responses")
            for status, resp in responses.items():
                if "$ref" not in resp and not resp.get("description"):
                    problems.append(f"{method.upper()} {path} {status}: a response needs a description")
    if problems:
        raise SystemExit("docs/openapi.yaml is not a valid description:\n  " + "\n  ".join(problems))
    if validate_full_spec:
        validate_full_spec(doc)

SOURCE = os.environ.get("CVM_SOURCE_ROOT", ".")
BUILD = os.environ.get("CVM_BUILD_ROOT", "build")
FIXTURES = os.environ.get("CVM_FIXTURES", "../shared/fixtures")
TOKEN = "openapi-owner-token-0123456789"

spec = yaml.safe_load(open(os.path.join(SOURCE, "docs", "openapi.yaml")))
validate_spec(spec)
components = {k: v for k, v in spec.items() if k != "paths"}
failures = []


def check(schema_name, body, what):
    schema = dict(components)
    schema["$ref"] = f"#/components/schemas/{schema_name}"
    errors = list(Draft202012Validator(schema).iter_errors(body))
    if errors:
        failures.append(f"{what}: {schema_name}: {errors[0].message}")


def request(url, method, path, body=None, token=TOKEN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if data:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw and r.headers.get_content_type() == "application/json" else raw
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def main():
    with tempfile.TemporaryDirectory() as tmp:
        token_file = os.path.join(tmp, "owner.token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN)
        ready = os.path.join(tmp, "ready")
        daemon = subprocess.Popen(
            [os.path.join(BUILD, "server", "cvm-attestd"), "--insecure-listen", "127.0.0.1:0",
             "--db", os.path.join(tmp, "db"), "--key-file", os.path.join(tmp, "key"),
             "--owner-token-file", token_file, "--amd-roots", os.path.join(FIXTURES, "amd-sev", "roots"),
             "--no-kds", "--ready-file", ready],
            stderr=subprocess.DEVNULL)
        try:
            for _ in range(500):
                if os.path.exists(ready) and open(ready).read().strip():
                    break
                time.sleep(0.02)
            url = open(ready).read().split()[0].rstrip("/")
            run(url)
        finally:
            daemon.terminate()
            daemon.wait(timeout=20)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("all answers conform to docs/openapi.yaml")


def run(url):
    registration = {
        "scheme": "amd-sev", "policy": 1, "launch-digests": ["ab" * 32], "min-api": "0.17",
        "build-ids": [15], "secrets": {"luks-key": base64.b64encode(b"secret").decode()},
        "max-concurrent-launches": 2, "expires": "2099-01-01T00:00:00Z",
    }
    check("Registration", registration, "the documented example")
    status, body = request(url, "PUT", "/v1/vm/vm-1", registration)
    assert status == 201, (status, body)
    check("VmInfo", body, "PUT 201")
    status, body = request(url, "GET", "/v1/vm/vm-1")
    assert status == 200
    check("VmInfo", body, "GET")
    status, body = request(url, "GET", "/v1/vm/vm-1/launches")
    assert status == 200
    check("AuditTrail", body, "GET launches")

    errors = [
        ("GET", "/v1/vm/vm-1", None, "", 401),
        ("GET", "/v1/vm/nobody", None, TOKEN, 404),
        ("PUT", "/v1/vm/vm-2", {"scheme": "amd-sev"}, TOKEN, 400),
        ("POST", "/v1/vm/vm-1", None, TOKEN, 405),
        ("POST", "/v1/vm/vm-1/launch", {"pdh": 1}, TOKEN, 400),
        ("POST", "/v1/vm/vm-1/launch/abc/validate",
         {"api-major": 0, "api-minor": 24, "build-id": 1, "policy": 1,
          "measurement": base64.b64encode(bytes(48)).decode()}, TOKEN, 404),
    ]
    for method, path, body, token, expected in errors:
        status, answer = request(url, method, path, body, token)
        if status != expected:
            failures.append(f"{method} {path}: HTTP {status}, expected {expected}")
        check("Error", answer, f"{method} {path} {status}")

    status, body = request(url, "POST", "/v1/vm/vm-1/launch/abc/end", None, "")
    check("Error", body, "end of an unknown launch")
    status, body = request(url, "DELETE", "/v1/vm/vm-1")
    assert status == 204
    status, body = request(url, "GET", "/healthz", None, "")
    assert status == 200
    run_tdx(url)


def run_tdx(url):
    # intel-tdx: registration, the nonce-issuing launch and a refused quote
    # (an accepted one needs a quote under a configured root: tests/server/tdx_service_test.cpp).
    registration = {
        "scheme": "intel-tdx",
        "tdx-reference": {"tdx.mrtd": "ab" * 48, "tdx.rtmr0": "cd" * 48, "tdx.td-attributes": "0x0000000010000000"},
        "secrets": {"luks-key": base64.b64encode(b"secret").decode()},
    }
    check("Registration", registration, "an intel-tdx registration")
    status, body = request(url, "PUT", "/v1/vm/td-1", registration)
    assert status == 201, (status, body)
    check("VmInfo", body, "PUT intel-tdx 201")
    status, body = request(url, "POST", "/v1/vm/td-1/tdx/launch", {}, "")
    assert status == 201, (status, body)
    check("TdxLaunchResponse", body, "POST tdx/launch 201")
    # The host learns what to create the TD with, and only that (no measurements).
    if body.get("launch-config") != {"tdx.td-attributes": "0x0000000010000000"}:
        failures.append(f"POST tdx/launch: launch-config {body.get('launch-config')}, expected the registered td-attributes")
    quote = {"quote": base64.b64encode(bytes(1000)).decode(),
             "tee-public-key": base64.b64encode(b"\x04" + bytes(64)).decode()}
    check("TdxQuoteRequest", quote, "a quote request")
    status, answer = request(url, "POST", f"/v1/vm/td-1/launch/{body['launch-id']}/quote", quote, "")
    if status != 422 or answer.get("error", {}).get("code") != "quote-invalid":
        failures.append(f"POST quote: HTTP {status} {answer}, expected 422 quote-invalid")
    check("Error", answer, "POST quote 422")
    status, answer = request(url, "POST", "/v1/vm/td-1/launch", {"pdh": "AAAA", "cert-chain": "AAAA"}, "")
    if status != 422:
        failures.append(f"SEV launch of an intel-tdx VM: HTTP {status}, expected 422")


if __name__ == "__main__":
    main()
