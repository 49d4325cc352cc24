"""_files.write_atomically: no copy of the key is ever readable by others, whatever the umask."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files


@pytest.fixture
def module() -> AnsibleModule:
    with patch_module_args({}):
        return AnsibleModule(argument_spec={}, add_file_common_args=True)


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask-0000", "umask-0022"])
def test_backup_is_never_wider_than_0600_while_it_is_copied(module: AnsibleModule, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, umask: int) -> None:
    """backup_local copies the content first and the mode after: a kill in between must leave a private file."""
    dest = tmp_path / "fleet.yaml"
    dest.write_bytes(b"old key material\n")
    dest.chmod(0o600)
    modes_after_copy = []
    real_copyfile = shutil.copyfile

    def copyfile(src: str, dst: str, **kwargs: bool) -> str:
        result = real_copyfile(src, dst, **kwargs)
        modes_after_copy.append(stat.S_IMODE(os.stat(dst).st_mode))
        return result

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    previous = os.umask(umask)
    try:
        backup = _files.write_atomically(module, str(dest), b"new key material\n", True, 0o600)
        assert os.umask(umask) == umask, "write_atomically must restore the caller's umask"
    finally:
        os.umask(previous)
    assert modes_after_copy == [0o600]
    assert backup and Path(backup).read_bytes() == b"old key material\n"
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert dest.read_bytes() == b"new key material\n" and stat.S_IMODE(dest.stat().st_mode) == 0o600
