#!/usr/bin/env bash
# ansible-test sanity skips its shellcheck test, with only a warning, when shellcheck is not
# installed. The project installs it (Debian/Ubuntu package, as root) so the test really runs,
# and fails when it cannot.
set -euo pipefail
if ! command -v shellcheck >/dev/null; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "$0: shellcheck is missing; install it (e.g. apt-get install shellcheck) and re-run" >&2
        exit 3
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends shellcheck >&2
fi
command -v shellcheck >/dev/null
