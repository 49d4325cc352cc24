#!/usr/bin/env bash
# Every test of the collection, on every supported ansible-core (the requirements-test-<core>.txt
# files: 2.16 to 2.21). Used by `make test` and .ci/run.
#
#   0. venvs (scripts/bootstrap-venv.sh): .venv holds the newest core this machine can run
#      (2.21 on Python 3.13 or 3.12, else 2.19 on 3.11) and the tool chain, .venv-<core> each
#      other core it can run. A core whose Python is missing here (2.20 and 2.21 need 3.12 or
#      later) is named, with the reason, and fails the run unless UCS_ALLOW_MISSING_CORES=1.
#   1. quick checks, newest core (.venv): ruff, changelog lint.
#   2. jobs, each logging to .tmp/test-logs/<job>.log, at most five at a time on the machine's
#      2 cores. The two long ones run at normal priority, the others at niceness 10, so the
#      reliability suite's timing-sensitive scenarios get the CPU they ask for and the rest use
#      what it leaves:
#      - newest core, reliability: the reliability suite (tests/system/test_reliability_*.py),
#        with the third set of test users (UCS_SYSTEM_SLOT=3);
#      - newest core, system: every other system test (module and role, parity, fidelity,
#        executable docs, ecosystem, AWX job with ansible-runner, Python floor), with the second
#        set of test users (UCS_SYSTEM_SLOT=2);
#      - newest core, tools: unit and simulator tests, ansible-test sanity, ansible-lint
#        (production profile), antsibull-docs lint and galaxy-importer on the built tarball
#        (tests/system/test_galaxy_tools.py);
#      - every other core, with that core's venv: the unit tests, ansible-test sanity (pylint
#        only on the oldest core) and the module and role system tests marked every_core (what
#        depends on the core: module and action plugin execution, argument specs, no_log,
#        check and diff, tags, includes, module_defaults, ssh and become), with the first set of
#        test users.
#
# System tests use shared test users and their homes: a run takes the lock of its set of users,
# /tmp/ucs-fleet-system<N>.lock for UCS_SYSTEM_SLOT=N (ucsN-alice, ucsN-bob; no N: ucs-alice,
# ucs-bob), which every checkout on the machine takes, so no two runs of one set overlap.
# ansible-test sanity takes /tmp/ucs-fleet-sanity.lock (scripts/sanity.sh): its venvs under
# ~/.ansible/test are shared.
#
# Every step prints its name, result, time and CPU time (system test steps also their slowest
# tests); a failed step does not stop the others. The summary at the end lists every step and
# every core that was not tested; the exit status is 1 when a step failed or a core could not be
# tested (unless UCS_ALLOW_MISSING_CORES=1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start_all=$SECONDS
logs="$root/.tmp/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
summary="$logs/summary"
: >"$summary"
system_lock=/tmp/ucs-fleet-system.lock
second_system_lock=/tmp/ucs-fleet-system2.lock
third_system_lock=/tmp/ucs-fleet-system3.lock
reliability=(tests/system/test_reliability_*.py)

# children_cpu: sets cpu_now to the user + system CPU seconds of this shell's finished children
# (bash's `times`; called directly, since in a $(...) subshell it would count the subshell's).
children_cpu() {
    local times_file=$logs/.times.$BASHPID line
    times >"$times_file"
    line=$(tail -n 1 "$times_file")
    rm -f "$times_file"
    cpu_now=$(awk '{ n = 0; for (i = 1; i <= NF; i++) { split($i, p, "m"); n += p[1] * 60 + p[2] } printf "%d", n }' <<<"${line//s/}")
}

# step NAME COMMAND...: run COMMAND, print and record its name, result, time and CPU time.
step() {
    local name=$1 start=$SECONDS rc=0 result cpu_before
    shift
    echo "=== $name"
    children_cpu
    cpu_before=$cpu_now
    "$@" || rc=$?
    children_cpu
    if [ "$rc" -eq 0 ]; then result="passed"; else result="FAILED (exit $rc)"; fi
    result="$result in $((SECONDS - start)) s (CPU $((cpu_now - cpu_before)) s)"
    echo "=== $name: $result"
    echo "$name: $result" >>"$summary"
    return "$rc"
}

failed=0
step "bootstrap venvs (.venv: newest core and tools; .venv-<core>: the others)" bash scripts/bootstrap-venv.sh all || exit 1
step "install shellcheck (for ansible-test sanity)" bash scripts/ensure-shellcheck.sh || exit 1
# Which Python runs each core: asked before .venv/bin goes first on PATH.
newest=$(bash scripts/bootstrap-venv.sh --newest)
mapfile -t plan < <(bash scripts/bootstrap-venv.sh --plan)
mapfile -t other_cores < <(bash scripts/bootstrap-venv.sh --list-cores)
venv="${UCS_VENV:-$root/.venv}"
export PATH="$venv/bin:$PATH"
ANSIBLE_COLLECTIONS_PATH=$(bash scripts/link-collection.sh)
export ANSIBLE_COLLECTIONS_PATH

# Cores this machine cannot run: say which and why; they fail the run unless the user opted out.
missing=()
for line in "${plan[@]}"; do
    IFS=$'\t' read -r core where why <<<"$line"
    if [ "$where" = "-" ]; then
        missing+=("$core")
        echo "=== ansible-core $core CANNOT be tested on this machine: $why"
        echo "ansible-core $core: NOT TESTED ($why)" >>"$summary"
    else
        echo "=== ansible-core $core: $where ($why)"
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${UCS_ALLOW_MISSING_CORES:-0}" = "1" ]; then
        echo "=== UCS_ALLOW_MISSING_CORES=1: going on without ansible-core ${missing[*]}"
    else
        echo "=== install Python 3.12 or later (python3.12 on PATH, or pyenv) to test them, or run"
        echo "=== \`make test UCS_ALLOW_MISSING_CORES=1\` to accept testing without them"
        failed=1
    fi
fi

# --- 1. quick checks -----------------------------------------------------------------------------
step "ruff lint" ruff check . || failed=1
step "ruff format" ruff format --check . || failed=1
step "changelog lint" antsibull-changelog lint || failed=1

# --- 2. jobs, at most five at a time -------------------------------------------------------------
job_newest_system() {
    step "[$newest] system tests (all but the reliability suite)" env UCS_SYSTEM_SLOT=2 flock "$second_system_lock" \
        bash scripts/system-tests.sh --durations=20 --ignore=tests/system/test_galaxy_tools.py \
        "${reliability[@]/#/--ignore=}"
}

job_reliability() {
    step "[$newest] reliability suite" env UCS_SYSTEM_SLOT=3 flock "$third_system_lock" \
        "$venv/bin/python" -m pytest -q -p no:cacheprovider --durations=20 "${reliability[@]}"
}

job_newest_tools() {
    local rc=0
    step "[$newest] unit and simulator tests" pytest -q -p no:cacheprovider tests/unit tests/simulator || rc=1
    step "[$newest] ansible-test sanity" env UCS_VENV="$venv" bash scripts/sanity.sh || rc=1
    step "[$newest] ansible-lint (production profile)" ansible-lint --profile production || rc=1
    step "[$newest] antsibull-docs lint and galaxy-importer" pytest -q -p no:cacheprovider tests/system/test_galaxy_tools.py || rc=1
    return "$rc"
}

job_core() {  # job_core CORE
    local core=$1 python="$root/.venv-$1/bin/python" rc=0 name="ansible-test sanity" skip=()
    step "[$core] unit tests" "$python" -m pytest -q -p no:cacheprovider tests/unit || rc=1
    # pylint runs on the oldest core and the newest (tools job): its findings follow the pylint
    # release each ansible-test pins, not the core, and it is 3/4 of a sanity run's CPU time.
    if [ "$core" != "${other_cores[0]}" ]; then
        name="ansible-test sanity (pylint: oldest and newest core only)"
        skip=(--skip-test pylint)
    fi
    # Sanity before the system tests: a job that then waits for the system lock has done its
    # lock-free work (a step's time includes its wait for the lock).
    step "[$core] $name" env UCS_VENV="$root/.venv-$core" bash scripts/sanity.sh "${skip[@]}" || rc=1
    step "[$core] module and role system tests that every core runs (-m every_core)" flock "$system_lock" \
        "$python" -m pytest -q -p no:cacheprovider --durations=10 -m every_core \
        tests/system/test_ucs_federation_cert.py tests/system/test_role_ucs_kubeconfig.py || rc=1
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
# start_job NAME NICENESS FUNCTION ARGS...: run FUNCTION in the background at that niceness,
# once fewer than five jobs run.
start_job() {
    local name=$1 niceness=$2
    shift 2
    [ "$running" -lt 5 ] || finish_one
    echo "=== job $name: started (nice $niceness)"
    (
        renice -n "$niceness" -p "$BASHPID" >/dev/null
        "$@"
    ) >"$logs/$name.log" 2>&1 &
    job_names[$!]=$name
    job_starts[$!]=$SECONDS
    running=$((running + 1))
}

jobs_start=$SECONDS
export UCS_SYSTEM_SLOT=""
# The two long jobs at normal priority, everything else at niceness 10: the reliability suite's
# timing-sensitive scenarios (a trickled answer bounded by its timeout, 100+ hosts at once) keep
# the CPU they ask for, and the other jobs take what it leaves (alone it keeps 1.2 of the 2
# cores busy).
start_job "core-$newest-reliability" 0 job_reliability
start_job "core-$newest-system" 0 job_newest_system
for core in "${other_cores[@]:0:1}"; do
    start_job "core-$core" 10 job_core "$core"
done
start_job "core-$newest-tools" 10 job_newest_tools
for core in "${other_cores[@]:1}"; do
    start_job "core-$core" 10 job_core "$core"
done
while [ "$running" -gt 0 ]; do finish_one; done
echo "=== jobs: done in $((SECONDS - jobs_start)) s"

echo "=== summary (steps of the jobs ran in parallel; logs in $logs)"
sed 's/^/    /' "$summary"
if [ "$failed" -ne 0 ]; then
    echo "=== tests FAILED after $((SECONDS - start_all)) s"
    exit 1
fi
echo "=== all tests passed in $((SECONDS - start_all)) s"
