#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the working tree laid out as
# ansible_collections/ucs_cloud/fleet (ansible-test insists on that path), with the ansible-test
# and the Python of a venv: .venv, or the one UCS_VENV names (.venv-2.16 ... for older cores).
#
# One run at a time on the machine (/tmp/ucs-fleet-sanity.lock): ansible-test builds its sanity
# venvs under ~/.ansible/test, shared by every core and every checkout, and two builds of one
# venv would collide.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${UCS_VENV:-$root/.venv}"
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The copy lives outside the checkout: inside it, git would report it as ignored and
# ansible-test would find no files to test.
base=$(mktemp -d "${TMPDIR:-/tmp}/ucs-fleet-sanity.XXXXXX")
trap 'rm -rf "$base"' EXIT
work="$base/ansible_collections/ucs_cloud/fleet"
mkdir -p "$work"
# Tracked and untracked-but-not-ignored files: exactly what a commit would hold (files deleted
# from the working tree but still in the index are left out, as `git add -A` would).
cd "$root"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ ! -e "$file" ] || printf '%s\0' "$file"
done | xargs -0 cp --parents -t "$work"
bash "$root/scripts/ensure-shellcheck.sh"
cd "$work"
# The venv's bin first: ansible-test looks for python<version> on PATH.
PATH="$venv/bin:$PATH" flock /tmp/ucs-fleet-sanity.lock \
    "$venv/bin/ansible-test" sanity --venv --python "$python_version" --color no "$@"
