#!/usr/bin/env bash
# Make the checkout importable as ansible_collections.ucs_cloud.fleet without installing it:
# .tmp/collections/ansible_collections/ucs_cloud/fleet -> repository root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
link="$root/.tmp/collections/ansible_collections/ucs_cloud/fleet"
mkdir -p "$(dirname "$link")"
[ -L "$link" ] || ln -s "$root" "$link"
echo "$root/.tmp/collections"
