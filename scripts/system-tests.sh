#!/usr/bin/env bash
# End-to-end tests: real ansible-playbook/ansible runs against the simulator (started by the
# tests' fixtures) and, for the role, against an OpenSSH server on loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="${UCS_VENV:-$root/.venv}"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/system "$@"
