"""Offline stand-in for the get-pip script that ansible-test downloads.

ansible-test bootstraps pip into each virtual environment it creates by running a cached
``get_pip_<version>.py``. Where the download host is unreachable, this script does the same job
with the interpreter's own ``ensurepip`` and then installs the requested packages from the
package index. ensurepip runs in a subprocess because, run in-process, it clears the PIP_*
settings that point pip at the registry's certificates.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip understands these, pip install does not.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> None:
    install_args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    subprocess.check_call([sys.executable, "-m", "pip", "install", *install_args])


if __name__ == "__main__":
    main()
