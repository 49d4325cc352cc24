#!/usr/bin/env bash
# Every test of the collection, in order of speed. Used by `make test` and .ci/run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/bootstrap-venv.sh
venv="${UCS_VENV:-$root/.venv}"
export PATH="$venv/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH=$(bash scripts/link-collection.sh)
export ANSIBLE_COLLECTIONS_PATH

step() {
    local name=$1
    shift
    local start=$SECONDS
    echo "=== $name"
    "$@"
    echo "=== $name: passed in $((SECONDS - start)) s"
}

step "ruff lint" ruff check .
step "ruff format" ruff format --check .
step "unit and simulator tests" pytest -q tests/unit tests/simulator
step "changelog lint" antsibull-changelog lint
step "ansible-test sanity" bash scripts/sanity.sh
step "ansible-lint (production profile)" ansible-lint --profile production
step "system tests (ansible-playbook against the simulator)" bash scripts/system-tests.sh
echo "=== all tests passed in $SECONDS s"
