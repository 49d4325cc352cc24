"""Make the checkout importable as ``ansible_collections.ucs_cloud.fleet`` for pytest."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

try:
    from ansible.module_utils import _internal as module_internal
except ImportError:  # ansible-core before 2.19 has no such switch
    module_internal = None

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = subprocess.run([str(ROOT / "scripts" / "link-collection.sh")], check=True, capture_output=True, text=True).stdout.strip()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


# Fixtures of the unit tests live here, not in conftest.py files beside them: test modules of
# tests/simulator import their conftest by name, and every conftest.py is a module called
# "conftest", so a second one under tests/unit would shadow it.

MODULE_TESTS = ROOT / "tests" / "unit" / "plugins" / "modules"


@pytest.fixture(autouse=True)
def _as_on_a_target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the modules' main() as on a target, whatever ran before in this pytest process.

    ansible-core 2.19 routes module warnings to the controller's display once controller code has
    been imported (``ansible.module_utils._internal.is_controller``), which the action plugin tests
    do; a module run on a target collects them in its result, and that is what its tests check.
    """
    if MODULE_TESTS in Path(str(request.node.path)).parents and module_internal is not None and hasattr(module_internal, "is_controller"):
        monkeypatch.setattr(module_internal, "is_controller", False)
    yield


@pytest.fixture
def special(tmp_path: Path) -> dict[str, Path]:
    """One path of each kind that is not a regular file (tests of _files and _file_options); the link's target is 0644."""
    target = tmp_path / "target"
    target.write_bytes(b"target content\n")
    target.chmod(0o644)
    paths = {"a symbolic link": tmp_path / "link", "a directory": tmp_path / "dir", "a FIFO (named pipe)": tmp_path / "fifo"}
    paths["a symbolic link"].symlink_to(target)
    paths["a directory"].mkdir()
    os.mkfifo(paths["a FIFO (named pipe)"])
    if os.geteuid() == 0:
        paths["a character device"] = tmp_path / "null"
        os.mknod(paths["a character device"], 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return paths
