#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with the pinned tool chain.
# Re-running is cheap: the venv is rebuilt only when a requirements file changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${UCS_VENV:-$root/.venv}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

stamp_source=$(cat "$root/requirements-dev.txt" "$root/constraints-dev.txt" "$root/requirements.txt" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.ucs-stamp" 2>/dev/null)" = "$stamp_source" ]; then
    :
else
    echo "bootstrap: creating $venv with $("$python" --version)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$root/requirements-dev.txt" -c "$root/constraints-dev.txt"
    echo "$stamp_source" > "$venv/.ucs-stamp"
fi

# ansible-test downloads a get-pip script for each venv it makes; offer a local stand-in,
# but only where no real copy is cached, so a connected machine is unaffected.
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
