"""Validates recorded bridge responses against the response schemas of openapi.yaml.

Usage: check_responses.py openapi.yaml responses.json
responses.json is a list of {"method", "path" (the OpenAPI path template), "status", "body"}.
Exits 1 naming every response that does not match (or whose operation/status the spec lacks).
"""
import json
import sys

import yaml
from jsonschema import Draft202012Validator


def main() -> int:
    spec = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
    recorded = json.load(open(sys.argv[2], encoding="utf-8"))
    if not recorded:
        print("no recorded responses", file=sys.stderr)
        return 1
    failures = []
    for i, r in enumerate(recorded):
        op = spec["paths"].get(r["path"], {}).get(r["method"].lower())
        if op is None:
            failures.append(f"#{i}: {r['method']} {r['path']} is not in the spec")
            continue
        resp = op["responses"].get(str(r["status"]))
        if resp is None:
            failures.append(f"#{i}: {r['method']} {r['path']} has no {r['status']} response")
            continue
        if "$ref" in resp:
            resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
        schema = resp["content"]["application/json"]["schema"]
        root = {"components": spec["components"], **schema}
        errors = list(Draft202012Validator(root).iter_errors(r["body"]))
        for e in errors:
            failures.append(f"#{i}: {r['method']} {r['path']} {r['status']}: {e.json_path}: {e.message}")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"{len(recorded)} responses checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
