#!/usr/bin/env bash
# Create (or refresh) the project's virtual environments with pinned tool chains:
#   .venv         the newest supported ansible-core (2.19) and every development tool
#                 (requirements-dev.txt + constraints-dev.txt); UCS_VENV overrides its path
#   .venv-<core>  one per older supported ansible-core, with only what the tests need
#                 (requirements-test-<core>.txt + constraints-test.txt)
# The older cores are the requirements-test-<core>.txt files: adding or removing one is all it
# takes to test another core. Every venv uses Python 3.11 (the controller Python all four cores
# support) and is rebuilt only when its pins change; pip's cache is shared between them.
#
# Usage: scripts/bootstrap-venv.sh [all | main | old | CORE...]   (default: all)
#        scripts/bootstrap-venv.sh --list-cores    prints the older cores, oldest first
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

old_cores() {
    local file core
    for file in "$root"/requirements-test-*.txt; do
        core=${file##*/requirements-test-}
        echo "${core%.txt}"
    done | sort -V
}

# ansible-test downloads a get-pip script for each venv it makes; offer a local stand-in,
# but only where no real copy is cached, so a connected machine is unaffected. Each
# ansible-test release names its own pip version.
install_get_pip_standin() {
    local venv=$1 pip_version cache
    pip_version=$("$venv/bin/python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11"))["pip"])
PY
)
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    if [ ! -e "$cache" ]; then
        mkdir -p "$(dirname "$cache")"
        cp "$root/scripts/get_pip_standin.py" "$cache"
        echo "bootstrap: installed offline get-pip stand-in at $cache" >&2
    fi
}

# build VENV STAMP PIP-INSTALL-ARGUMENTS...: (re)create VENV unless its stamp is STAMP.
build() {
    local venv=$1 stamp=$2
    shift 2
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.ucs-stamp" 2>/dev/null)" = "$stamp" ]; then
        install_get_pip_standin "$venv"
        return
    fi
    echo "bootstrap: creating $venv with $("$python" --version)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    echo "$stamp" > "$venv/.ucs-stamp"
    install_get_pip_standin "$venv"
}

build_main() {
    local stamp
    stamp=$(cat "$root/requirements-dev.txt" "$root/constraints-dev.txt" "$root/requirements.txt" | sha256sum | cut -d' ' -f1)
    build "${UCS_VENV:-$root/.venv}" "$stamp" -r "$root/requirements-dev.txt" -c "$root/constraints-dev.txt"
}

build_core() {
    local core=$1 requirements="$root/requirements-test-$1.txt" stamp
    if [ ! -f "$requirements" ]; then
        echo "bootstrap: no $requirements: supported older cores are $(old_cores | tr '\n' ' ')" >&2
        exit 2
    fi
    stamp=$(cat "$requirements" "$root/requirements-test.txt" "$root/constraints-test.txt" | sha256sum | cut -d' ' -f1)
    build "$root/.venv-$core" "$stamp" -r "$requirements" -c "$root/constraints-test.txt"
}

[ $# -gt 0 ] || set -- all
for target in "$@"; do
    case $target in
    --list-cores) old_cores ;;
    all)
        build_main
        for core in $(old_cores); do build_core "$core"; done
        ;;
    main) build_main ;;
    old) for core in $(old_cores); do build_core "$core"; done ;;
    *) build_core "$target" ;;
    esac
done
