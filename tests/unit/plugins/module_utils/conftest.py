"""Fixtures shared by the tests of _files and _file_options."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


@pytest.fixture
def special(tmp_path: Path) -> dict[str, Path]:
    """One path of each kind that is not a regular file; the link's target is 0644."""
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
