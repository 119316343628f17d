#!/usr/bin/env bash
# The CONTPAQi bridge contract (erp-contpaqi/bridge/openapi.yaml) is a valid OpenAPI 3.1 document
# (openapi-spec-validator, in a venv under ~/.cache/erp-hub-venv), and the responses the reference bridge
# recorded in a test run validate against its schemas (jsonschema, after resolving the document's $refs).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${ERP_HUB_VENV:-$HOME/.cache/erp-hub-venv}"
if ! "$VENV/bin/python" -c 'import openapi_spec_validator, yaml, jsonschema' 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt-get install -y python3-venv >/dev/null
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q openapi-spec-validator pyyaml jsonschema
fi

SPEC=erp-contpaqi/bridge/openapi.yaml
"$VENV/bin/openapi-spec-validator" "$SPEC"

# Responses recorded from the reference bridge by `cargo test -p erp-contpaqi --test openapi` (checked in).
"$VENV/bin/python" erp-contpaqi/bridge/check_responses.py "$SPEC" erp-contpaqi/tests/fixtures/bridge-responses.json
echo "contpaqi-openapi: OK"
