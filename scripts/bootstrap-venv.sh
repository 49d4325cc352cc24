#!/usr/bin/env bash
# Create (or refresh) the project's virtual environments with pinned tool chains.
#
# The supported ansible-core releases are exactly the requirements-test-<core>.txt files; each
# pins its core and names, in a "# pythons:" line, the controller Pythons it runs on, preferred
# first. A Python X.Y is looked for on PATH (pythonX.Y) and under pyenv
# (${PYENV_ROOT:-~/.pyenv}/versions/X.Y.*), and used only if it really starts and can make a
# venv. A core none of whose Pythons exists here cannot be tested on this machine.
#
#   .venv                 the NEWEST core this machine can run (2.21 where Python 3.12 or later
#                         exists, else 2.19 on 3.11) and every development tool
#                         (requirements-dev.txt + constraints-dev.txt); UCS_VENV overrides its path.
#                         `make demo` and the full system suite use it.
#   .venv-<core>          every other core this machine can run, with only what the tests need
#                         (requirements-test-<core>.txt + constraints-test.txt)
#   .venv-galaxy-importer galaxy-importer with its own pins, as Galaxy runs it, on the newest core
#                         (requirements-galaxy-importer.txt + constraints-galaxy-importer.txt)
#
# Each venv is rebuilt only when its pins or its Python change; pip's cache is shared.
#
# Usage: scripts/bootstrap-venv.sh [all | main | old | galaxy-importer | CORE...]  (default: all)
#        scripts/bootstrap-venv.sh --plan         one line per supported core, oldest first:
#                                                 CORE<TAB>VENV<TAB>PYTHON, or CORE<TAB>-<TAB>why not
#        scripts/bootstrap-venv.sh --list-cores   the cores with a venv of their own (not .venv)
#        scripts/bootstrap-venv.sh --newest       the core of .venv
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
main_venv="${UCS_VENV:-$root/.venv}"
importer_venv="$root/.venv-galaxy-importer"

supported_cores() {
    local file core
    for file in "$root"/requirements-test-*.txt; do
        core=${file##*/requirements-test-}
        echo "${core%.txt}"
    done | sort -V
}

# The controller Pythons of a core, preferred first (its "# pythons:" line).
core_pythons() {
    sed -n 's/^# pythons: *//p' "$root/requirements-test-$1.txt"
}

# "3.12, 3.13 or 3.14": the Pythons of a core, for messages.
pythons_text() {
    core_pythons "$1" | tr ' ' '\n' | sort -V | sed -e ':a;N;$!ba;s/\n/, /g' -e 's/, \([^,]*\)$/ or \1/'
}

# usable PYTHON VERSION: PYTHON starts, is VERSION and can create a venv with pip.
usable() {
    [ -x "$1" ] && "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.argv[1] != "%d.%d" % sys.version_info[:2])' "$2" 2>/dev/null
}

# Every Python X.Y that some core names, looked up once: found_python[X.Y] is its path, or empty.
# (pyenv's shims are on PATH but fail for versions that are not selected: `usable` weeds them out.)
declare -A found_python=()
probe_pythons() {
    local version candidate
    for version in $(for core in $(supported_cores); do core_pythons "$core"; done | tr ' ' '\n' | sort -u); do
        found_python[$version]=""
        for candidate in $(command -v "python$version" || true) \
            $(printf '%s\n' "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/"python$version" | sort -rV); do
            if usable "$candidate" "$version"; then
                found_python[$version]=$candidate
                break
            fi
        done
    done
}
probe_pythons

# python_for CORE: the Python a core's venv uses here (empty when the machine has none of them).
python_for() {
    local version python
    for version in $(core_pythons "$1"); do
        python=${found_python[$version]:-}
        if [ -n "$python" ]; then
            echo "$python"
            return
        fi
    done
}

# The newest core this machine can run: the core of .venv.
newest_core() {
    local core
    for core in $(supported_cores | sort -rV); do
        if [ -n "$(python_for "$core")" ]; then
            echo "$core"
            return
        fi
    done
    echo "bootstrap: no supported ansible-core can run here: no Python among $(for c in $(supported_cores); do core_pythons "$c"; done | tr ' ' '\n' | sort -uV | tr '\n' ' ')" >&2
    exit 2
}

plan() {
    local newest core python
    newest=$(newest_core)
    for core in $(supported_cores); do
        python=$(python_for "$core")
        if [ -z "$python" ]; then
            printf '%s\t-\tit needs Python %s: none works on PATH (python3.X) or under %s/versions\n' "$core" "$(pythons_text "$core")" "${PYENV_ROOT:-$HOME/.pyenv}"
        elif [ "$core" = "$newest" ]; then
            printf '%s\t%s\t%s\n' "$core" "$main_venv" "$python"
        else
            printf '%s\t%s\t%s\n' "$core" "$root/.venv-$core" "$python"
        fi
    done
}

# ansible-test downloads a get-pip script for each venv it makes; offer a local stand-in,
# but only where no real copy is cached, so a connected machine is unaffected. Each
# ansible-test release names its own pip version.
install_get_pip_standin() {
    local venv=$1 pip_version cache
    pip_version=$("$venv/bin/python" - <<'PY'
import sys
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="%d.%d" % sys.version_info[:2]))["pip"])
PY
)
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    if [ ! -e "$cache" ]; then
        mkdir -p "$(dirname "$cache")"
        cp "$root/scripts/get_pip_standin.py" "$cache"
        echo "bootstrap: installed offline get-pip stand-in at $cache" >&2
    fi
}

# build VENV PYTHON STAMP-FILES PIP-INSTALL-ARGUMENTS...: (re)create VENV with PYTHON unless its
# stamp (the pinning files and the Python) is unchanged.
build() {
    local venv=$1 python=$2 files=$3 stamp
    shift 3
    # shellcheck disable=SC2086 # the pinning files are a space-separated list
    stamp=$({ cat $files; "$python" -c 'import sys; print(sys.executable, sys.version)'; } | sha256sum | cut -d' ' -f1)
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.ucs-stamp" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    echo "bootstrap: creating $venv with $("$python" --version) ($python)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    echo "$stamp" >"$venv/.ucs-stamp"
}

build_main() {
    local core python requirements
    core=$(newest_core)
    python=$(python_for "$core")
    requirements="$root/requirements-test-$core.txt"
    build "$main_venv" "$python" "$root/requirements-dev.txt $root/constraints-dev.txt $root/requirements.txt $requirements $root/requirements-test.txt" \
        -r "$root/requirements-dev.txt" -r "$requirements" -c "$root/constraints-dev.txt"
    install_get_pip_standin "$main_venv"
}

build_core() {
    local core=$1 requirements="$root/requirements-test-$1.txt" python
    if [ ! -f "$requirements" ]; then
        echo "bootstrap: no $requirements: supported cores are $(supported_cores | tr '\n' ' ')" >&2
        exit 2
    fi
    if [ "$core" = "$(newest_core)" ]; then
        build_main
        return
    fi
    python=$(python_for "$core")
    if [ -z "$python" ]; then
        echo "bootstrap: ansible-core $core needs Python $(pythons_text "$core"): none works on PATH (python3.X) or under ${PYENV_ROOT:-$HOME/.pyenv}/versions" >&2
        return 3
    fi
    build "$root/.venv-$core" "$python" "$requirements $root/requirements-test.txt $root/constraints-test.txt" -r "$requirements" -c "$root/constraints-test.txt"
    install_get_pip_standin "$root/.venv-$core"
}

# galaxy-importer pins its own tool chain (ansible-lint, attrs, flake8, ...), so it gets a venv
# of its own, on the newest core and the Python of .venv.
build_importer() {
    local core python
    core=$(newest_core)
    python=$(python_for "$core")
    build "$importer_venv" "$python" "$root/requirements-galaxy-importer.txt $root/constraints-galaxy-importer.txt $root/requirements-test-$core.txt" \
        -r "$root/requirements-galaxy-importer.txt" "$(grep '^ansible-core==' "$root/requirements-test-$core.txt")" -c "$root/constraints-galaxy-importer.txt"
}

# The other cores this machine can run, oldest first.
other_cores() {
    plan | awk -F'\t' -v main="$main_venv" '$2 != "-" && $2 != main { print $1 }'
}

# Builds run two at a time (the machine has 2 cores; each pip install mostly uses one).
running=0
build_failed=0
in_background() {
    if [ "$running" -ge 2 ]; then
        wait -n || build_failed=1
        running=$((running - 1))
    fi
    "$@" &
    running=$((running + 1))
}
wait_for_builds() {
    while [ "$running" -gt 0 ]; do
        wait -n || build_failed=1
        running=$((running - 1))
    done
    [ "$build_failed" -eq 0 ]
}

# Every core that cannot run here, with the reason, on stderr; build what can.
build_all_cores() {
    local line core
    while IFS= read -r line; do
        echo "bootstrap: ansible-core ${line%%$'\t'*} CANNOT be tested here: ${line##*$'\t'}" >&2
    done < <(plan | awk -F'\t' '$2 == "-"')
    for core in $(other_cores); do in_background build_core "$core"; done
}

[ $# -gt 0 ] || set -- all
for target in "$@"; do
    case $target in
    --plan) plan ;;
    --list-cores) other_cores ;;
    --newest) newest_core ;;
    all)
        in_background build_main
        in_background build_importer
        build_all_cores
        wait_for_builds
        ;;
    main) build_main ;;
    old)
        build_all_cores
        wait_for_builds
        ;;
    galaxy-importer) build_importer ;;
    *) build_core "$target" ;;
    esac
done
