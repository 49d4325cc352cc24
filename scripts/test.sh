#!/usr/bin/env bash
# Every test of the collection, on every supported ansible-core. Used by `make test` and .ci/run.
#
#   1. quick checks, newest core (.venv): ruff, changelog lint, unit and simulator tests.
#   2. one job per ansible-core, two at a time (the CI machine has 2 cores), each with its own
#      log in .tmp/test-logs/: ansible-test sanity (+ ansible-lint on the newest core), and for
#      the older cores (.venv-2.16, .venv-2.17, .venv-2.18) the unit tests and the module and
#      role system tests with that core. Sanity runs one at a time (ansible-test builds its
#      sanity venvs under ~/.ansible/test, shared by all cores, and two builds of one venv
#      would collide), and so do the system tests (the role tests use the homes of the same
#      test users): one job's system tests overlap the other job's sanity or unit tests.
#   3. newest core, alone (its timing-sensitive reliability scenarios get the whole machine):
#      every system test, i.e. the module and role tests, the reliability suite, the ecosystem,
#      docs-examples, packaging and Python 3.6 tests.
#
# Every step prints its name, result and time; a failed step does not stop the others. The
# summary at the end lists every step; the exit status is 1 when any failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start_all=$SECONDS
logs="$root/.tmp/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
summary="$logs/summary"
: >"$summary"

# step NAME COMMAND...: run COMMAND, print and record its name, result and time.
step() {
    local name=$1 start=$SECONDS rc=0 result
    shift
    echo "=== $name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then result="passed"; else result="FAILED (exit $rc)"; fi
    echo "=== $name: $result in $((SECONDS - start)) s"
    echo "$name: $result in $((SECONDS - start)) s" >>"$summary"
    return "$rc"
}

failed=0
step "bootstrap venvs (.venv and one per older core)" bash scripts/bootstrap-venv.sh all || exit 1
step "install shellcheck (for ansible-test sanity)" bash scripts/ensure-shellcheck.sh || exit 1
venv="${UCS_VENV:-$root/.venv}"
export PATH="$venv/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH=$(bash scripts/link-collection.sh)
export ANSIBLE_COLLECTIONS_PATH
newest=$("$venv/bin/python" -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))')
mapfile -t old_cores < <(bash scripts/bootstrap-venv.sh --list-cores)

# --- 1. quick checks -------------------------------------------------------------------------
step "ruff lint" ruff check . || failed=1
step "ruff format" ruff format --check . || failed=1
step "changelog lint" antsibull-changelog lint || failed=1
step "[$newest] unit and simulator tests" pytest -q -p no:cacheprovider tests/unit tests/simulator || failed=1

# --- 2. one job per core, two at a time -------------------------------------------------------
sanity() {  # sanity VENV: ansible-test sanity with that venv's ansible-test, one run at a time
    flock "$logs/sanity.lock" env UCS_VENV="$1" bash scripts/sanity.sh
}

job_newest() {
    local rc=0
    step "[$newest] ansible-test sanity" sanity "$venv" || rc=1
    step "[$newest] ansible-lint (production profile)" ansible-lint --profile production || rc=1
    return "$rc"
}

job_core() {  # job_core CORE
    local core=$1 python="$root/.venv-$1/bin/python" rc=0
    step "[$core] unit tests" "$python" -m pytest -q -p no:cacheprovider tests/unit || rc=1
    step "[$core] module and role system tests" flock "$logs/system.lock" "$python" -m pytest -q -p no:cacheprovider \
        tests/system/test_ucs_federation_cert.py tests/system/test_role_ucs_kubeconfig.py || rc=1
    step "[$core] ansible-test sanity" sanity "$root/.venv-$1" || rc=1
    return "$rc"
}

declare -A job_names=() job_starts=()
running=0
finish_one() {
    local pid rc=0 name
    wait -n -p pid || rc=$?
    name=${job_names[$pid]}
    running=$((running - 1))
    if [ "$rc" -eq 0 ]; then
        echo "=== job $name: passed in $((SECONDS - job_starts[$pid])) s (log: $logs/$name.log)"
        grep -E '^=== .*: (passed|FAILED)' "$logs/$name.log" | sed 's/^/    /'
    else
        failed=1
        echo "=== job $name: FAILED in $((SECONDS - job_starts[$pid])) s (log: $logs/$name.log)"
        grep -E '^=== .*: (passed|FAILED)' "$logs/$name.log" | sed 's/^/    /'
        echo "--- last 80 lines of $logs/$name.log"
        tail -n 80 "$logs/$name.log"
        echo "---"
    fi
}
start_job() {  # start_job NAME FUNCTION ARGS...
    local name=$1
    shift
    [ "$running" -lt 2 ] || finish_one
    echo "=== job $name: started"
    "$@" >"$logs/$name.log" 2>&1 &
    job_names[$!]=$name
    job_starts[$!]=$SECONDS
    running=$((running + 1))
}

jobs_start=$SECONDS
start_job "core-$newest-static" job_newest
for core in "${old_cores[@]}"; do
    start_job "core-$core" job_core "$core"
done
while [ "$running" -gt 0 ]; do finish_one; done
echo "=== per-core jobs: done in $((SECONDS - jobs_start)) s"

# --- 3. newest core: every system test --------------------------------------------------------
step "[$newest] system tests (all, with the reliability suite)" bash scripts/system-tests.sh || failed=1

echo "=== summary (steps of the jobs ran in parallel; logs in $logs)"
sed 's/^/    /' "$summary"
if [ "$failed" -ne 0 ]; then
    echo "=== tests FAILED after $((SECONDS - start_all)) s"
    exit 1
fi
echo "=== all tests passed in $((SECONDS - start_all)) s"
