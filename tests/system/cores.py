"""The supported ansible-core releases and the venv that runs each one here.

The supported cores are the requirements-test-<core>.txt files. scripts/bootstrap-venv.sh puts
the newest core this machine can run in .venv (the venv running these tests, or UCS_VENV) and
every other one in .venv-<core>. A core without a venv fails its tests, unless the user opted out
with UCS_ALLOW_MISSING_CORES=1 (a machine without the Python that core needs): then it is
skipped, with the reason in the summary.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1] / "simulator"))
from harness import ROOT, VENV_BIN

SUPPORTED_CORES = sorted(
    (path.name[len("requirements-test-") : -len(".txt")] for path in ROOT.glob("requirements-test-*.txt")),
    key=lambda core: tuple(int(part) for part in core.split(".")),
)
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _site_packages(venv: Path) -> Path | None:
    found = sorted(venv.glob("lib/python3.*/site-packages"))
    return found[0] if found else None


def venv_core(venv: Path) -> str | None:
    """The ansible-core release (major.minor) installed in a venv, read from its files."""
    site = _site_packages(venv)
    release = site / "ansible" / "release.py" if site else None
    if release is None or not release.is_file():
        return None
    match = re.search(r"^__version__ = ['\"](\d+\.\d+)", release.read_text(), re.M)
    return match.group(1) if match else None


def core_venvs() -> dict[str, Path]:
    """Core -> venv directory, for the cores that have one here."""
    venvs = {}
    for path in sorted(ROOT.glob(".venv-*")):
        core = path.name[len(".venv-") :]
        if core in SUPPORTED_CORES and venv_core(path) == core:
            venvs[core] = path
    main = VENV_BIN.parent
    main_core = venv_core(main)
    if main_core is not None:
        venvs[main_core] = main
    return venvs


CORE_VENVS = core_venvs()
MAIN_CORE = venv_core(VENV_BIN.parent)


def venv_for(core: str) -> Path:
    """The venv of a core; fails (or, with UCS_ALLOW_MISSING_CORES=1, skips) when there is none."""
    venv = CORE_VENVS.get(core)
    if venv is not None and (venv / "bin" / "ansible").exists():
        return venv
    reason = f"no venv with ansible-core {core} (scripts/bootstrap-venv.sh --plan says why; it makes .venv-{core} where the Python it needs exists)"
    if os.environ.get("UCS_ALLOW_MISSING_CORES") == "1":
        pytest.skip(f"{reason}: ansible-core {core} is NOT tested (UCS_ALLOW_MISSING_CORES=1)")
    pytest.fail(reason)


def oldest_target_python(venv: Path, floor: tuple[int, int] = (3, 6)) -> str | None:
    """The oldest Python a core runs modules on, no older than the collection's floor (tests/config.yml).

    Read from the core's own ansible-test (REMOTE_ONLY_PYTHON_VERSIONS + CONTROLLER_PYTHON_VERSIONS).
    """
    site = _site_packages(venv)
    constants = site / "ansible_test" / "_util" / "target" / "common" / "constants.py" if site else None
    if constants is None or not constants.is_file():
        return None
    versions = re.findall(r"'(\d+\.\d+)'", constants.read_text())
    supported = [v for v in versions if tuple(int(p) for p in v.split(".")) >= floor]
    return min(supported, key=lambda v: tuple(int(p) for p in v.split("."))) if supported else None


def pyenv_python(version: str) -> Path | None:
    """The newest pyenv install of a Python version (X.Y), if any."""
    found = sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python{version}"), key=lambda p: [int(x) for x in re.findall(r"\d+", p.parts[-3])])
    return found[-1] if found else None
