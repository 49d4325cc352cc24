"""kubeconfig_file: the write side of the role: checked early, under kubectl's lock, compare and swap."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import pwd
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.modules import kubeconfig_file
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args, refused_naming

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


def test_loose_mode_unwarned_when_the_caller_has_warned(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Warnings of earlier tests in this process stay in Ansible's list: count them first.
    before = json.dumps(run_main(capsys, path=tmp_path / "seed", mode="0600").get("warnings", [])).count("0604 gives")
    result = run_main(capsys, path=tmp_path / "config", mode="0604", warn_loose_mode=False)
    assert result["changed"] and result["mode"] == "0604"
    assert json.dumps(result.get("warnings", [])).count("0604 gives") == before
    result = run_main(capsys, path=tmp_path / "other", mode="0604")
    assert json.dumps(result.get("warnings", [])).count("0604 gives") == before + 1


def kubectl_lock(lock: Path, age: float = 0) -> None:
    """A lock as kubectl makes it (empty, mode 0000), written age seconds ago."""
    os.close(os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    os.utime(lock, (time.time() - age, time.time() - age))


def test_stale_lock_fails_with_the_advice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    kubectl_lock(Path(f"{path}.lock"))
    result = run_main(capsys, path=path, lock_timeout=0.2)
    assert result["failed"] and f"remove {path}.lock and run again" in result["msg"] and not path.exists()


def test_a_lock_older_than_the_wait_is_refused_at_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    kubectl_lock(Path(f"{path}.lock"), age=120)
    started = time.monotonic()
    result = run_main(capsys, path=path, lock_timeout=30)
    assert result["failed"] and result["msg"].startswith(
        f"path {path} is locked: {path}.lock is empty with mode 0000, as kubectl makes it, and it is 120 s old"
    )
    assert time.monotonic() - started < 5 and sorted(p.name for p in tmp_path.iterdir()) == ["config.lock"]


def test_an_empty_lock_of_an_earlier_release_is_broken(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    lock = Path(f"{path}.lock")
    lock.write_bytes(b"")
    lock.chmod(0o600)
    os.utime(lock, (time.time() - 60, time.time() - 60))
    result = run_main(capsys, path=path, lock_timeout=30)
    assert result["changed"] and sorted(p.name for p in tmp_path.iterdir()) == ["config"]


class FullDisk:
    """os.statvfs of a file system with one free block of 4 KiB."""

    f_frsize = f_bsize = 4096
    f_blocks, f_bfree, f_bavail = 1000, 1, 1
    f_files, f_ffree, f_favail = 1000, 1000, 1000
    f_flag = 0


def test_no_room_is_refused_before_anything_is_created(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kube" / "config"
    monkeypatch.setattr(os, "statvfs", lambda _path: FullDisk())
    result = run_main(capsys, path=path)
    assert result["failed"] and result["msg"].startswith(f"path {path}: no space left on device: the file system of {tmp_path} has 4 KiB free")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_right_needs_no_room(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    run_main(capsys, path=path)
    monkeypatch.setattr(os, "statvfs", lambda _path: FullDisk())
    result = run_main(capsys, path=path)
    assert not result.get("failed") and not result["changed"]


def test_a_write_that_fails_names_the_cause_and_leaves_no_lock(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("old")
    path.chmod(0o600)

    def enospc(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", enospc)
    result = run_main(capsys, path=path)
    assert result["failed"] and result["msg"] == f"cannot write {path}: no space left on device; it was left as it was"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"] and path.read_text() == "old"


def test_content_larger_than_the_cap_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubeconfig_file.files, "MAX_FILE_SIZE", 10)
    result = run_main(capsys, path=tmp_path / "config")
    assert (
        result["failed"]
        and result["msg"] == f"content for {tmp_path / 'config'} is larger than 10 bytes (10 bytes), the largest kubeconfig this collection reads or writes"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["path", "mode", "owner", "group", "dir_mode", "expected_checksum"])
@pytest.mark.parametrize("value", ["{}\n", " {}", "{}\x00"])
def test_every_text_option_is_taken_as_written(capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str) -> None:
    """A trailing newline (a YAML block scalar), a leading space, a NUL: refused, naming the option."""
    good = {"path": str(tmp_path / "config"), "mode": "0600", "owner": "root", "group": "root", "dir_mode": "0700", "expected_checksum": "absent"}
    args = {**good, option: value.format(good[option])}
    result = run_main(capsys, **args)
    assert result["failed"] and (result["msg"].startswith(f"{option} ") or refused_naming(option, args[option], result["msg"])), result["msg"]
    assert list(tmp_path.iterdir()) == []
