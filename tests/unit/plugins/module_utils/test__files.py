"""_files: key files are only ever regular files, replaced atomically under kubectl's lock."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, chown)")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- attribute_drift ---------------------------------------------------------------------------


def test_attribute_drift_in_words(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_text("x")
    dest.chmod(0o644)
    state = _files.read_regular(str(dest))
    assert _files.attribute_drift(state, 0o600, os.geteuid(), os.getegid()) == ["mode 0644, not 0600"]
    assert _files.attribute_drift(state, 0o644, None, None) == []
    assert _files.attribute_drift(_files.read_regular(str(tmp_path / "none")), 0o600, 0, 0) == []


# --- read_regular --------------------------------------------------------------------------------


def test_read_regular_returns_content_checksum_and_attributes(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"apiVersion: v1\n")
    dest.chmod(0o640)
    state = _files.read_regular(str(dest))
    assert state.exists and state.content == b"apiVersion: v1\n" and state.checksum == hashlib.sha256(b"apiVersion: v1\n").hexdigest()
    assert state.mode == 0o640 and state.uid == os.geteuid() and state.directory_exists
    missing = _files.read_regular(str(tmp_path / "nodir" / "config"))
    assert not missing.exists and missing.content is None and missing.checksum is None and not missing.directory_exists


def test_read_regular_refuses_special_files_without_blocking(special: dict[str, Path]) -> None:
    for kind, path in special.items():
        started = time.monotonic()
        with pytest.raises(UcsValidationError, match=f" is {kind.split(' ')[0]} {kind.split(' ')[1]}"):
            _files.read_regular(str(path))
        assert time.monotonic() - started < 1


def test_read_regular_refuses_a_link_swapped_in_after_the_lstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lstat saw a file; the open gets a link (a race): O_NOFOLLOW refuses it."""
    target = tmp_path / "target"
    target.write_text("other file")
    dest = tmp_path / "config"
    dest.write_text("x")
    real_lstat = os.lstat

    def lstat_then_swap(path: str) -> os.stat_result:
        result = real_lstat(path)
        if str(path) == str(dest):
            dest.unlink()
            dest.symlink_to(target)
        return result

    monkeypatch.setattr(os, "lstat", lstat_then_swap)
    with pytest.raises(UcsValidationError, match="is a symbolic link"):
        _files.read_regular(str(dest))


def test_read_regular_refuses_a_fifo_swapped_in_after_the_lstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "config"
    dest.write_text("x")
    real_lstat = os.lstat

    def lstat_then_swap(path: str) -> os.stat_result:
        result = real_lstat(path)
        if str(path) == str(dest):
            dest.unlink()
            os.mkfifo(dest)
        return result

    monkeypatch.setattr(os, "lstat", lstat_then_swap)
    with pytest.raises(UcsValidationError, match="is a FIFO"):
        _files.read_regular(str(dest))


def test_read_regular_refuses_huge_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "MAX_FILE_SIZE", 10)
    dest = tmp_path / "config"
    dest.write_bytes(b"x" * 11)
    with pytest.raises(UcsValidationError, match="larger than 10 bytes"):
        _files.read_regular(str(dest))


# --- write_file -----------------------------------------------------------------------------------


def write(path: Path, content: bytes, **kwargs: object) -> _files.WriteResult:
    kwargs.setdefault("release_delay", 0)
    return _files.write_file(str(path), content, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_new_file_has_the_mode_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        result = write(tmp_path / "config", b"key")
        result2 = write(tmp_path / "other", b"key", mode="0640")
    finally:
        os.umask(previous)
    assert result.changed and not result.conflict and result.backup_file is None
    assert mode_of(tmp_path / "config") == 0o600 and mode_of(tmp_path / "other") == 0o640
    assert result.state.checksum == hashlib.sha256(b"key").hexdigest() and result2.state.mode == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "other"], "no lock or temporary file left"


def test_replacement_is_a_new_inode_and_never_touches_a_link_target(tmp_path: Path, special: dict[str, Path]) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old")
    dest.chmod(0o644)
    inode = dest.stat().st_ino
    result = write(dest, b"new")
    assert result.changed and dest.read_bytes() == b"new" and dest.stat().st_ino != inode and mode_of(dest) == 0o600
    for path in special.values():
        before = sorted(p.name for p in tmp_path.iterdir())
        with pytest.raises(UcsValidationError, match="must be a regular file or absent"):
            write(path, b"key")
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    target = tmp_path / "target"
    assert target.read_bytes() == b"target content\n" and mode_of(target) == 0o644
    assert special["a symbolic link"].is_symlink()


def test_unchanged_content_and_attributes_write_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    first = write(dest, b"same")
    inode = dest.stat().st_ino
    again = write(dest, b"same", expected_checksum=first.state.checksum)
    assert not again.changed and not again.conflict and dest.stat().st_ino == inode


def test_mode_drift_alone_is_corrected_without_a_backup(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write(dest, b"same")
    dest.chmod(0o644)
    result = write(dest, b"same", backup=True)
    assert result.changed and result.backup_file is None and mode_of(dest) == 0o600


def test_symbolic_mode_applies_to_the_existing_file(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"x")
    dest.chmod(0o640)
    assert write(dest, b"y", mode="go-rwx").state.mode == 0o600
    assert write(tmp_path / "new", b"y", mode="g+r").state.mode == 0o640


def test_compare_and_swap(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    first = write(dest, b"one", expected_checksum=_files.ABSENT)
    assert first.changed
    # Someone else wrote meanwhile: nothing is written, the fresh state comes back.
    write(dest, b"theirs")
    stale = write(dest, b"mine", expected_checksum=first.state.checksum, backup=True)
    assert stale.conflict and not stale.changed and stale.state.content == b"theirs" and stale.backup_file is None
    assert dest.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["config"]
    assert write(tmp_path / "config", b"x", expected_checksum=_files.ABSENT).conflict
    assert write(tmp_path / "none", b"x", expected_checksum=first.state.checksum).conflict
    assert not (tmp_path / "none").exists()
    with pytest.raises(UcsValidationError, match="expected_checksum must be a sha256 hex digest"):
        write(dest, b"x", expected_checksum="abc")


def test_check_mode_predicts_and_creates_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old")
    dest.chmod(0o600)
    predicted = write(dest, b"new", check_mode=True, backup=True)
    assert predicted.changed and not predicted.conflict and predicted.backup_file is None
    assert not write(dest, b"old", check_mode=True).changed
    assert write(dest, b"new", check_mode=True, expected_checksum=_files.ABSENT).conflict
    assert write(tmp_path / "nodir" / "config", b"new", check_mode=True).changed
    (tmp_path / "config.lock").write_text("")  # a held lock does not matter: check mode takes none
    assert write(dest, b"new", check_mode=True).changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "config.lock"] and dest.read_bytes() == b"old"


def test_backup_is_exclusive_0600_unpredictable_and_holds_the_old_content(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old key")
    dest.chmod(0o644)
    names = set()
    for index in range(3):
        result = write(dest, f"new {index}".encode(), backup=True)
        backup = Path(str(result.backup_file))
        assert backup.parent == tmp_path and backup.name.startswith("config.") and backup.name.endswith("~")
        assert mode_of(backup) == 0o600 and not backup.is_symlink()
        names.add(backup.name)
    assert len(names) == 3
    assert Path(sorted(tmp_path.glob("config.*~"), key=os.path.getmtime)[0]).read_bytes() == b"old key"


def test_backup_never_goes_through_a_planted_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that exists already (a planted link) is never opened: O_EXCL moves on to a new name."""
    dest = tmp_path / "config"
    dest.write_bytes(b"old key")
    outside = tmp_path / "outside"
    outside.write_bytes(b"")
    outside.chmod(0o644)
    tokens = iter(["planted", "planted", "fresh1234"])
    monkeypatch.setattr(_files.secrets, "token_hex", lambda _n: next(tokens))
    (tmp_path / f"config.{time.strftime('%Y-%m-%d@%H:%M:%S')}.planted~").symlink_to(outside)
    monkeypatch.setattr(time, "strftime", lambda *_a: "STAMP")
    (tmp_path / "config.STAMP.planted~").symlink_to(outside)
    result = write(dest, b"new", backup=True)
    assert result.backup_file == str(tmp_path / "config.STAMP.fresh1234~")
    assert outside.read_bytes() == b"" and Path(result.backup_file).read_bytes() == b"old key"


@root_only
def test_owner_and_group_are_set_through_the_descriptor(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = write(dest, b"key", owner="nobody", group=str(NOBODY), backup=True)
    assert (dest.stat().st_uid, dest.stat().st_gid) == (NOBODY, NOBODY) and result.state.owner == "nobody"
    again = write(dest, b"key2", owner=NOBODY, group=NOBODY, backup=True)
    assert os.stat(str(again.backup_file)).st_uid == NOBODY and mode_of(Path(str(again.backup_file))) == 0o600
    # Owned by nobody, written by root without owner: refused, untouched.
    with pytest.raises(UcsValidationError, match="is owned by nobody"):
        write(dest, b"root's key")
    assert dest.read_bytes() == b"key2"


@root_only
def test_planted_file_in_a_sticky_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    dest = sticky / "config"
    dest.write_bytes(b"planted clusters")
    os.chown(dest, NOBODY, NOBODY)
    with pytest.raises(UcsValidationError, match="owned by nobody"):
        write(dest, b"key")
    assert dest.read_bytes() == b"planted clusters" and dest.stat().st_uid == NOBODY
    assert sorted(p.name for p in sticky.iterdir()) == ["config"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old")

    def broken_rename(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "Input/output error", src)

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(UcsError, match=r"cannot write .*config: Input/output error; it was left as it was"):
        write(dest, b"key", backup=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"] and dest.read_bytes() == b"old"


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path / "config", b"key")
    assert list(tmp_path.iterdir()) == []


# --- the lock -------------------------------------------------------------------------------------


def test_lock_is_kubectls_lock_file_and_is_removed_after(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    with _files.kubeconfig_lock(str(dest), 1) as lock:
        assert lock == f"{dest}.lock" and Path(lock).read_text() == f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n"
    assert not Path(lock).exists()


def test_held_lock_is_waited_for_then_taken(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    lock.write_text("")
    threading.Timer(0.3, lock.unlink).start()
    started = time.monotonic()
    result = write(dest, b"key", lock_timeout=5)
    assert result.changed and 0.25 < time.monotonic() - started < 3 and not lock.exists()


@pytest.mark.parametrize("holder", ["kubectl", "live", "other host"])
def test_held_lock_fails_after_the_timeout_naming_the_lock_file(tmp_path: Path, holder: str) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        lock.write_text(
            {"kubectl": "", "live": f"{sleeper.pid} {socket.gethostname()} ucs_cloud.fleet\n", "other host": "1 elsewhere ucs_cloud.fleet\n"}[holder]
        )
        started = time.monotonic()
        with pytest.raises(UcsError) as info:
            write(dest, b"key", lock_timeout=0.3)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert 0.25 < time.monotonic() - started < 2
    assert f"{lock} exists" in info.value.msg and f"remove {lock} and run again" in info.value.msg
    expected = {
        "kubectl": "It is empty, as kubectl leaves it.",
        "live": f"process {sleeper.pid} (ucs_cloud.fleet), which is still running",
        "other host": "which runs on elsewhere",
    }
    assert expected[holder] in info.value.msg
    assert lock.exists() and not dest.exists(), "a lock someone else holds is never removed"


def test_lock_of_a_killed_run_of_ours_is_broken(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid} {socket.gethostname()} ucs_cloud.fleet\n")
    started = time.monotonic()
    assert write(dest, b"key", lock_timeout=5).changed
    assert time.monotonic() - started < 1 and sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_lock_that_someone_replaced_is_not_removed(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    with _files.kubeconfig_lock(str(dest), 1) as lock:
        os.unlink(lock)
        Path(lock).write_text("")  # another writer's lock now
    assert Path(lock).exists()


def test_writers_serialise_on_the_lock(tmp_path: Path) -> None:
    """Threads doing read, merge, compare-and-swap on one file lose no line."""
    dest = tmp_path / "config"
    write(dest, b"")

    def add(line: bytes) -> None:
        while True:
            state = _files.read_regular(str(dest))
            result = write(dest, (state.content or b"") + line, expected_checksum=state.checksum or _files.ABSENT)
            if not result.conflict:
                return

    threads = [threading.Thread(target=add, args=(f"line {i}\n".encode(),)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(dest.read_bytes().splitlines()) == sorted(f"line {i}".encode() for i in range(8))
