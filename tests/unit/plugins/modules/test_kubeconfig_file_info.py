"""kubeconfig_file_info: one read of a file's attributes and content, failing on non-files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.modules import kubeconfig_file_info
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args


def run_main(capsys: pytest.CaptureFixture[str], path: Any, **options: Any) -> dict[str, Any]:
    with patch_module_args({"path": str(path), **options}), pytest.raises(SystemExit):
        kubeconfig_file_info.main()
    return json.loads(capsys.readouterr().out)


def test_existing_file_reports_attributes_and_content(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    data = b"apiVersion: v1\nkind: Config\n\xff"  # any bytes survive the round trip
    path.write_bytes(data)
    path.chmod(0o640)
    result = run_main(capsys, path)
    assert not result.get("failed") and not result["changed"]
    assert result["exists"] and result["directory_exists"]
    assert result["mode"] == "0640"
    assert (result["uid"], result["gid"]) == (os.getuid(), os.getgid())
    assert result["owner"] == pwd.getpwuid(os.getuid()).pw_name
    assert result["size"] == len(data)
    assert result["checksum"] == hashlib.sha256(data).hexdigest()
    assert base64.b64decode(result["content"]) == data
    assert "drift" not in result, "without mode, owner or group the result is as it always was"


def test_missing_file_in_existing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, tmp_path / "config")
    assert not result.get("failed")
    assert result["exists"] is False and result["directory_exists"] is True
    assert "content" not in result and "mode" not in result and "drift" not in result


def test_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, tmp_path / "no-such-dir" / "config")
    assert not result.get("failed")
    assert result["exists"] is False and result["directory_exists"] is False


def test_tilde_is_the_users_home(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "config").write_text("x")
    result = run_main(capsys, "~/config")
    assert result["path"] == str(tmp_path / "config") and result["exists"]


def test_relative_path_is_returned_absolute(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").write_text("x")
    result = run_main(capsys, "config")
    assert result["path"] == str(tmp_path / "config") and result["exists"]


@pytest.mark.parametrize("kind", ["a directory", "a symbolic link", "a FIFO (named pipe)", "a character device", "a socket"])
def test_non_regular_path_fails_naming_what_it_is_without_hanging(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str) -> None:
    target = tmp_path / "real"
    target.write_text("x")
    target.chmod(0o644)
    path = tmp_path / "config"
    if kind == "a directory":
        path.mkdir()
    elif kind == "a symbolic link":
        path.symlink_to(target)
    elif kind == "a FIFO (named pipe)":
        os.mkfifo(path)
    elif kind == "a socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    else:
        if os.geteuid() != 0:
            pytest.skip("mknod needs root")
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    started = time.monotonic()
    result = run_main(capsys, path)
    assert time.monotonic() - started < 2
    assert result["failed"]
    assert result["msg"].startswith(f"path {path} is {kind}; it must be a regular file or absent")
    assert "content" not in result and "checksum" not in result
    assert target.read_text() == "x" and stat.S_IMODE(target.stat().st_mode) == 0o644


def test_unreadable_file_fails_with_the_reason(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("secret")
    real_open = os.open

    def refuse(name: Any, *args: Any, **kwargs: Any) -> Any:
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(name, *args, **kwargs)

    # Tests run as root in CI, where chmod 000 does not stop a read.
    monkeypatch.setattr(os, "open", refuse)
    result = run_main(capsys, path)
    assert result["failed"] and result["msg"] == f"cannot read path {path}: permission denied"
    assert "content" not in result and "secret" not in json.dumps(result)


# --- drift of the wanted mode, owner and group ------------------------------------------------------


def me() -> str:
    return f"{pwd.getpwuid(os.geteuid()).pw_name} (uid {os.geteuid()})"


def other_user() -> pwd.struct_passwd:
    return next(entry for entry in pwd.getpwall() if entry.pw_uid != os.geteuid())


def test_drift_is_said_in_words_the_wanted_value_last(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    path.chmod(0o644)
    other = other_user()
    result = run_main(capsys, path, mode="0600", owner=other.pw_name)
    assert not result.get("failed"), result
    assert result["drift"] == ["mode 0644, not 0600", f"owner {me()}, not {other.pw_name} (uid {other.pw_uid})"]
    assert result["mode"] == "0644" and result["content"], "the drift comes on top of what is read"


def test_matching_attributes_by_name_or_number_are_no_drift(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    path.chmod(0o600)
    name = pwd.getpwuid(os.geteuid()).pw_name
    assert run_main(capsys, path, mode="0600", owner=name, group=str(os.getegid()))["drift"] == []
    assert run_main(capsys, path, owner=str(os.geteuid()))["drift"] == []
    # A symbolic mode applies to the file's own mode, as kubeconfig_file applies it.
    assert run_main(capsys, path, mode="go-rwx")["drift"] == []
    assert run_main(capsys, path, mode="g+r")["drift"] == ["mode 0600, not 0640"]


def test_missing_file_has_no_drift(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, tmp_path / "config", mode="0600", owner=other_user().pw_name)
    assert not result.get("failed") and result["exists"] is False and result["drift"] == []


@pytest.mark.parametrize(("option", "kind"), [("owner", "user"), ("group", "group")])
def test_unknown_owner_or_group_fails_naming_the_option(capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, kind: str) -> None:
    path = tmp_path / "config"
    path.write_text("secret")
    result = run_main(capsys, path, **{option: "nosuch-ucs-name"})
    assert result["failed"] and result["msg"] == f"{option} 'nosuch-ucs-name': no such {kind} on this host"
    assert "content" not in result and "secret" not in json.dumps(result)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (600, "mode 600 is an integer: YAML read it as the decimal number 600, which is the mode 01130"),
        ("rw-------", "mode 'rw-------' is invalid: use a quoted octal string such as '0600'"),
        ("", "mode must not be empty"),
    ],
)
def test_bad_mode_fails_as_kubeconfig_file_refuses_it(capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: Any, message: str) -> None:
    # Whether the file exists or not: a typo is an error either way.
    result = run_main(capsys, tmp_path / "config", mode=mode)
    assert result["failed"] and result["msg"].startswith(message), result["msg"]


# --- write_blocker: would kubeconfig_file fail to write it? -------------------------------------


def test_write_blocker_is_null_when_the_write_can_happen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    assert run_main(capsys, path, mode="0600")["write_blocker"] is None
    assert run_main(capsys, tmp_path / "new" / "config", mode="0600")["write_blocker"] is None
    assert "write_blocker" not in run_main(capsys, path), "without mode, owner or group the result is as it always was"


def test_an_unwritable_directory_is_a_write_blocker(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda name, *args, **kwargs: False if str(name) == str(tmp_path) else real_access(name, *args, **kwargs))
    result = run_main(capsys, path, mode="0600")
    assert not result.get("failed") and result["write_blocker"] == f"path {path}: the directory {tmp_path} is not writable"
    assert result["content"], "the file is still read: the caller decides"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")
def test_a_file_of_another_user_is_a_write_blocker_unless_owner_names_that_user(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x")
    os.chown(path, 65534, 65534)
    blocker = run_main(capsys, path, mode="0600")["write_blocker"]
    assert blocker.startswith(f"path {path} is owned by nobody (uid 65534), not by root (uid 0), who would own the new file")
    assert run_main(capsys, path, mode="0600", owner="nobody")["write_blocker"] is None


def test_backup_counts_in_the_free_space(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"x" * 40000)  # 10 blocks: the new file 18 blocks, its lock 1, a backup 10

    class Room:
        f_frsize = f_bsize = 4096
        f_blocks, f_bfree, f_bavail = 1000, 20, 20
        f_files, f_ffree, f_favail = 1000, 1000, 1000
        f_flag = 0

    monkeypatch.setattr(os, "statvfs", lambda _path: Room())
    assert run_main(capsys, path, mode="0600")["write_blocker"] is None
    blocker = run_main(capsys, path, mode="0600", backup=True)["write_blocker"]
    assert blocker.startswith(f"path {path}: no space left on device") and blocker.endswith("(the new file beside the old one, its lock file, the backup)")


def test_a_path_with_a_trailing_newline_is_a_write_blocker(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, f"{tmp_path}/config\n", mode="0600")
    assert result["write_blocker"] == f"path '{tmp_path}/config\\n' contains a control character (a newline, a tab, a NUL ...)"
