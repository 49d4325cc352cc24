"""kubeconfig_file: the write side of the role: checked early, under kubectl's lock, compare and swap."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import stat
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.modules import kubeconfig_file
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args

CONTENT = "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {client-key-data: S3CRETKEYDATA}\n"
SECRET = "S3CRETKEYDATA"


def run_main(capsys: pytest.CaptureFixture[str], **args: Any) -> dict[str, Any]:
    args.setdefault("content", CONTENT)
    with patch_module_args({key: (str(value) if isinstance(value, Path) else value) for key, value in args.items()}), pytest.raises(SystemExit):
        kubeconfig_file.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    if "content" not in result or not result.get("conflict"):
        assert SECRET not in out, "the content must never be in the result"
    return result


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_writes_a_new_file_and_its_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "home" / ".kube" / "config"
    result = run_main(capsys, path=path)
    assert result["changed"] and not result["conflict"] and not result.get("failed")
    assert path.read_text() == CONTENT and mode_of(path) == 0o600
    assert mode_of(path.parent) == 0o700 and mode_of(path.parent.parent) == 0o700
    assert result["checksum"] == hashlib.sha256(CONTENT.encode()).hexdigest() and result["mode"] == "0600"
    assert result["path"] == str(path) and result["owner"] == pwd.getpwuid(os.geteuid()).pw_name
    again = run_main(capsys, path=path, expected_checksum=result["checksum"])
    assert not again["changed"] and not again["conflict"]


def test_check_mode_predicts_and_creates_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "kube" / "config"
    result = run_main(capsys, path=path, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] and list(tmp_path.iterdir()) == []
    assert result["checksum"] == hashlib.sha256(CONTENT.encode()).hexdigest() and result["mode"] == "0600"
    assert result["diff"]["before"] == {"checksum": None, "mode": None, "owner": None, "group": None}
    assert SECRET not in json.dumps(result["diff"])


def test_conflict_returns_the_fresh_content_and_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("theirs: S3CRETKEYDATA\n")
    result = run_main(capsys, path=path, expected_checksum="absent")
    assert result["conflict"] and not result["changed"]
    assert base64.b64decode(result["content"]) == b"theirs: S3CRETKEYDATA\n" and path.read_text() == "theirs: S3CRETKEYDATA\n"


def test_diff_shows_attributes_never_content(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("old: S3CRETKEYDATA\n")
    path.chmod(0o644)
    result = run_main(capsys, path=path, _ansible_diff=True, backup=True)
    assert result["changed"] and result["diff"]["before"]["mode"] == "0644" and result["diff"]["after"]["mode"] == "0600"
    assert SECRET not in json.dumps(result["diff"]) and Path(result["backup_file"]).read_text() == "old: S3CRETKEYDATA\n"
    assert mode_of(Path(result["backup_file"])) == 0o600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": ""}, "path must not be empty"),
        ({"mode": 600}, "mode 600 is an integer: YAML read it as the decimal number 600, which is the mode 01130 (octal)"),
        ({"owner": "nosuch-user-x"}, "owner 'nosuch-user-x': no such user on this host"),
        ({"group": "nosuch-group-x"}, "group 'nosuch-group-x': no such group on this host"),
        ({"dir_mode": 755}, "dir_mode 755 is an integer"),
        ({"expected_checksum": "abc"}, "expected_checksum must be a sha256 hex digest or 'absent'"),
    ],
)
def test_bad_settings_fail_before_anything_is_created(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: dict[str, Any], message: str) -> None:
    args.setdefault("path", tmp_path / "kube" / "config")
    result = run_main(capsys, **args)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_trailing_slash_and_dotdot_through_a_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "ends with '/'" in run_main(capsys, path=f"{tmp_path}/kube/")["msg"]
    assert "goes through '..' after" in run_main(capsys, path=f"{tmp_path}/missing/../config")["msg"]
    assert list(tmp_path.iterdir()) == []


def test_symlink_path_is_refused_and_its_target_untouched(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("x")
    target.chmod(0o644)
    (tmp_path / "config").symlink_to(target)
    result = run_main(capsys, path=tmp_path / "config")
    assert result["failed"] and "is a symbolic link" in result["msg"]
    assert target.read_text() == "x" and mode_of(target) == 0o644 and (tmp_path / "config").is_symlink()


def test_loose_mode_warns_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, path=tmp_path / "config", mode="a+rw")
    assert result["changed"] and result["mode"] == "0666"
    assert "mode 0666 gives its group and all other users access" in json.dumps(result["warnings"])
    result = run_main(capsys, path=tmp_path / "other", mode="u=rw,go=")
    # Ansible keeps the warnings of earlier runs in this process: no new one was added.
    assert json.dumps(result.get("warnings", [])).count("gives") <= 1 and result["mode"] == "0600"


def test_stale_lock_fails_with_the_advice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    Path(f"{path}.lock").write_text("")
    result = run_main(capsys, path=path, lock_timeout=0.2)
    assert result["failed"] and f"remove {path}.lock and run again" in result["msg"] and not path.exists()
