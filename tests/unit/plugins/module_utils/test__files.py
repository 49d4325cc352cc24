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

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _file_lock, _files
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
    assert state.mode == 0o640 and state.uid == os.geteuid()
    missing = _files.read_regular(str(tmp_path / "nodir" / "config"))
    assert not missing.exists and missing.content is None and missing.checksum is None and missing.mode is None


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


def test_read_regular_refuses_huge_files_naming_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "config"
    with dest.open("wb") as handle:
        handle.truncate(32 * 1024 * 1024 + 1)
    with pytest.raises(UcsValidationError, match=r"is larger than 32 MiB \(33554432 bytes\), the largest kubeconfig this collection reads or writes"):
        _files.read_regular(str(dest))
    dest.write_bytes(b"x" * 11)
    monkeypatch.setattr(_files, "MAX_FILE_SIZE", 10)
    with pytest.raises(UcsValidationError, match=r"larger than 10 bytes \(10 bytes\)"):
        _files.read_regular(str(dest))


def test_a_file_just_under_the_cap_is_read(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"x" * _files.MAX_FILE_SIZE)
    assert len(_files.read_regular(str(dest)).content or b"") == _files.MAX_FILE_SIZE


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
    with pytest.raises(UcsError, match=r"cannot write .*config: input/output error; it was left as it was"):
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
    with _file_lock.kubeconfig_lock(str(dest), 1) as lock:
        assert lock == f"{dest}.lock" and Path(lock).read_text() == f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n"
    assert not Path(lock).exists()


def test_held_lock_is_waited_for_then_taken(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    kubectl_lock(lock)
    threading.Timer(0.3, lock.unlink).start()
    started = time.monotonic()
    result = write(dest, b"key", lock_timeout=5)
    assert result.changed and 0.25 < time.monotonic() - started < 3 and not lock.exists()


def kubectl_lock(lock: Path) -> None:
    """A lock as kubectl (client-go) makes it: empty, O_CREAT|O_EXCL, mode 0000 (seen with strace)."""
    os.close(os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))


@pytest.mark.parametrize("holder", ["kubectl", "live", "other host"])
def test_held_lock_fails_after_the_timeout_naming_the_lock_file(tmp_path: Path, holder: str) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        if holder == "kubectl":
            kubectl_lock(lock)
        else:
            lock.write_text({"live": f"{sleeper.pid} {socket.gethostname()} ucs_cloud.fleet\n", "other host": "1 elsewhere ucs_cloud.fleet\n"}[holder])
        started = time.monotonic()
        with pytest.raises(UcsError) as info:
            write(dest, b"key", lock_timeout=0.3)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert 0.25 < time.monotonic() - started < 2
    assert f"{lock} exists" in info.value.msg and f"remove {lock} and run again" in info.value.msg
    expected = {
        "kubectl": "It is empty with mode 0000, as kubectl makes it; it is 0 s old.",
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
    with _file_lock.kubeconfig_lock(str(dest), 1) as lock:
        os.unlink(lock)
        kubectl_lock(Path(lock))  # another writer's lock now
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


# --- our locks never outlive us (issue 23) --------------------------------------------------------


def enospc(*_args: object, **_kwargs: object) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("in_place", [False, True], ids=["unnamed file then link", "O_EXCL in place"])
def test_lock_is_never_seen_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    """At the moment the lock's name exists, it already holds our process id and host."""
    if in_place:
        monkeypatch.setattr(_file_lock, "_O_TMPFILE", 0)
    dest = tmp_path / "config"
    seen = []
    real_link, real_open = os.link, os.open

    def link(*args: object, **kwargs: object) -> None:
        real_link(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(Path(f"{dest}.lock").read_bytes())

    def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:
        fd = real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]
        if str(path).endswith(".lock") and flags & os.O_CREAT:
            seen.append(Path(f"{dest}.lock").read_bytes())  # created in place: empty for a moment
        return fd

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "open", open_)
    with _file_lock.kubeconfig_lock(str(dest), 1) as lock:
        assert Path(lock).read_bytes() == f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n".encode()
    assert seen == ([b""] if in_place else [f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n".encode()])
    assert not Path(lock).exists()


@pytest.mark.parametrize("in_place", [False, True], ids=["unnamed file then link", "O_EXCL in place"])
def test_a_full_disk_leaves_no_lock_and_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    if in_place:
        monkeypatch.setattr(_file_lock, "_O_TMPFILE", 0)
    monkeypatch.setattr(os, "write", enospc)
    dest = tmp_path / "config"
    with pytest.raises(UcsError, match=rf"^cannot create the lock file {dest}\.lock of {dest}: no space left on device; {dest} was left as it was$"):
        write(dest, b"key")
    assert list(tmp_path.iterdir()) == []


def test_a_file_system_without_hard_links_gets_the_lock_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert write(tmp_path / "config", b"key").changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


@pytest.mark.parametrize("step", ["fsync", "rename"])
def test_a_full_disk_during_the_write_leaves_no_lock_and_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old")
    monkeypatch.setattr(os, step, enospc)
    with pytest.raises(UcsError, match=rf"^cannot write {dest}: no space left on device; it was left as it was$"):
        write(dest, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"] and dest.read_bytes() == b"old"


def empty_lock_of_an_earlier_release(lock: Path, age: float) -> None:
    """What ucs_cloud.fleet before this rule left on a full disk: created 0600, its name never written."""
    lock.write_bytes(b"")
    lock.chmod(0o600)
    os.utime(lock, (time.time() - age, time.time() - age))


def test_an_empty_lock_left_by_a_failed_run_of_ours_is_broken_at_once(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    empty_lock_of_an_earlier_release(Path(f"{dest}.lock"), age=60)
    started = time.monotonic()
    assert write(dest, b"key", lock_timeout=30).changed
    assert time.monotonic() - started < 1 and sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_a_fresh_empty_lock_that_is_not_kubectls_is_broken_once_it_is_old_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer of ours that has just created its lock in place has not written its name yet."""
    monkeypatch.setattr(_file_lock, "LEGACY_LOCK_AGE", 0.5)
    dest = tmp_path / "config"
    empty_lock_of_an_earlier_release(Path(f"{dest}.lock"), age=0)
    started = time.monotonic()
    assert write(dest, b"key", lock_timeout=5).changed
    assert 0.4 < time.monotonic() - started < 2


def test_kubectls_empty_lock_is_respected_however_old(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    kubectl_lock(lock)
    os.utime(lock, (time.time() - 3600, time.time() - 3600))
    with pytest.raises(UcsError, match="It is empty with mode 0000, as kubectl makes it; it is 3600 s old"):
        write(dest, b"key", lock_timeout=0.2)
    assert lock.exists() and not dest.exists()


def test_a_lock_replaced_while_it_is_broken_is_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between our look at a stale lock and our rename, kubectl took the lock: its lock stays."""
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    empty_lock_of_an_earlier_release(lock, age=60)
    real_rename = os.rename

    def swap_then_rename(src: str, dst: str) -> None:
        if src == str(lock):
            lock.unlink()
            kubectl_lock(lock)
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", swap_then_rename)
    assert _file_lock._break_if_stale(str(lock)) is False
    assert lock.exists() and stat.S_IMODE(lock.stat().st_mode) == 0 and [p.name for p in tmp_path.iterdir()] == ["config.lock"]


def test_a_stale_lock_that_cannot_be_read_again_is_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "config.lock"
    empty_lock_of_an_earlier_release(lock, age=60)
    real_read = _file_lock.read_lock

    def unreadable_aside(path: str) -> object:
        if path.endswith(".stale"):
            raise OSError(errno.EIO, "Input/output error")
        return real_read(path)

    monkeypatch.setattr(_file_lock, "read_lock", unreadable_aside)
    assert _file_lock._break_if_stale(str(lock)) is False
    assert [p.name for p in tmp_path.iterdir()] == ["config.lock"]


def test_a_lock_path_that_is_a_directory_is_never_broken(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    Path(f"{dest}.lock").mkdir()
    with pytest.raises(UcsError, match="is locked"):
        write(dest, b"key", lock_timeout=0.1)
    assert Path(f"{dest}.lock").is_dir()


# --- check_write: would the write fail? (before any download) ------------------------------------


class FakeStatvfs:
    """os.statvfs of a file system with `free` blocks of 4 KiB and `inodes` free inodes."""

    def __init__(self, free: int, inodes: int = 1000, blocks: int = 1000) -> None:
        self.f_frsize = self.f_bsize = 4096
        self.f_blocks, self.f_bfree, self.f_bavail = blocks, free, free
        self.f_files, self.f_ffree, self.f_favail = (1000 if blocks else 0), inodes, inodes
        self.f_flag = 0


def test_check_write_returns_the_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _files.check_write("config") == str(tmp_path / "config")
    assert _files.check_write(str(tmp_path / "new" / "dir" / "config"), option="path") == str(tmp_path / "new" / "dir" / "config")
    assert _files.write_blocker(str(tmp_path / "config")) is None


def test_check_write_refuses_what_check_dest_refuses(tmp_path: Path) -> None:
    with pytest.raises(UcsValidationError, match=r"^path must not be empty"):
        _files.check_write("", option="path")
    blocker = _files.write_blocker(f"{tmp_path}/config\n", option="path")
    assert blocker == f"path '{tmp_path}/config\\n' contains a control character (a newline, a tab, a NUL ...)"
    with pytest.raises(UcsValidationError, match=r"^owner 'nosuch-x': no such user"):
        _files.check_write(str(tmp_path / "config"), "nosuch-x")


def test_no_room_for_the_file_and_its_lock_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"x" * 10000)  # 3 blocks; the new file about 11 (32 KiB more), its lock 1
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=12))
    assert _files.write_blocker(str(dest)) is None
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=11))
    assert _files.write_blocker(str(dest)) == (
        f"dest {dest}: no space left on device: the file system of {tmp_path} has 44 KiB free, "
        "and writing the kubeconfig needs about 48 KiB (the new file beside the old one, its lock file)"
    )
    # With the exact size of the new content (10 blocks), and a backup of the old one (3 more).
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=13))
    assert _files.write_blocker(str(dest), size=4096 * 10) is None
    assert "56 KiB (the new file beside the old one, its lock file, the backup)" in str(_files.write_blocker(str(dest), size=4096 * 10, backup=True))
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=1000, inodes=1))
    assert "has no free inodes for the 2 files a write creates" in str(_files.write_blocker(str(dest)))
    # A file system that does not count its blocks (f_blocks 0) is not measured.
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=0, inodes=0, blocks=0))
    assert _files.write_blocker(str(dest)) is None


def test_new_directories_count_from_the_nearest_existing_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def statvfs(path: str) -> FakeStatvfs:
        asked.append(path)
        return FakeStatvfs(free=11)

    monkeypatch.setattr(os, "statvfs", statvfs)
    assert _files.write_blocker(str(tmp_path / "a" / "b" / "config")) is None  # 8 blocks + lock + 2 directories
    assert asked == [str(tmp_path)]
    monkeypatch.setattr(os, "statvfs", lambda _path: FakeStatvfs(free=11))
    assert "needs about 48 KiB" in str(_files.write_blocker(str(tmp_path / "a" / "b" / "c" / "config")))


def test_content_larger_than_the_cap_is_refused_before_and_at_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "MAX_FILE_SIZE", 100)
    dest = tmp_path / "config"
    assert "is larger than 100 bytes (100 bytes), the largest kubeconfig" in str(_files.write_blocker(str(dest), size=101))
    with pytest.raises(UcsValidationError, match=rf"^the new content of dest {dest} is larger than 100 bytes"):
        write(dest, b"x" * 101)
    assert list(tmp_path.iterdir()) == []


def test_a_lock_older_than_the_wait_is_a_blocker_unless_we_would_break_it(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    lock = Path(f"{dest}.lock")
    kubectl_lock(lock)
    assert _files.write_blocker(str(dest)) is None, "kubectl holds its lock for milliseconds: wait for it"
    os.utime(lock, (time.time() - 45, time.time() - 45))
    assert _files.write_blocker(str(dest)) == (
        f"dest {dest} is locked: {lock} is empty with mode 0000, as kubectl makes it, and it is 45 s old, older than the 30 s a write waits "
        f"for it. If no kubectl or other writer is running, the lock is stale: remove {lock} and run again"
    )
    lock.unlink()
    empty_lock_of_an_earlier_release(lock, age=45)
    assert _files.write_blocker(str(dest)) is None, "an empty lock of ours is broken at once"
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid} {socket.gethostname()} ucs_cloud.fleet\n")
    os.utime(lock, (time.time() - 45, time.time() - 45))
    assert _files.write_blocker(str(dest)) is None


def test_unwritable_directory_is_a_blocker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda *_args, **_kwargs: False)
    assert _files.write_blocker(str(tmp_path / "config")) == f"dest {tmp_path / 'config'}: the directory {tmp_path} is not writable"


def chattr(path: Path, flag: str) -> None:
    proc = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"chattr {flag} does not work here: {proc.stderr.strip()}")


@root_only
@pytest.mark.parametrize(("flag", "word"), [("+i", "immutable"), ("+a", "append-only")])
def test_immutable_and_append_only_files_are_blockers_and_name_the_cause_at_the_write(tmp_path: Path, flag: str, word: str) -> None:
    dest = tmp_path / "config"
    dest.write_bytes(b"old")
    dest.chmod(0o600)
    chattr(dest, flag)
    try:
        assert _files.write_blocker(str(dest), option="path") == (
            f"path {dest} is {word} (chattr {flag}): it cannot be replaced, even by root. "
            f"Remove the flag (chattr -{flag[1]} {dest}) if the kubeconfig is to be kept up to date"
        )
        with pytest.raises(UcsError, match=rf"^cannot write {dest}: operation not permitted \({dest} is {word} \(chattr \{flag}\)\); it was left as it was$"):
            write(dest, b"new")
        assert dest.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["config"]
    finally:
        chattr(dest, "-" + flag[1])


@root_only
@pytest.mark.parametrize(("flag", "words"), [("+i", "is immutable (chattr +i): nothing can be created in it"), ("+a", "is append-only (chattr +a)")])
def test_immutable_and_append_only_directories_are_blockers(tmp_path: Path, flag: str, words: str) -> None:
    directory = tmp_path / "kube"
    directory.mkdir()
    chattr(directory, flag)
    try:
        assert str(_files.write_blocker(str(directory / "config"))).startswith(f"dest {directory / 'config'}: the directory {directory} {words}")
        below = directory / "sub" / "config"
        assert str(_files.write_blocker(str(below))).startswith(f"dest {below}: cannot create {below.parent}, {directory} {words}")
    finally:
        chattr(directory, "-" + flag[1])


def test_decide_tells_a_write_from_a_no_op_without_writing(tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write(dest, b"same")
    state = _files.read_regular(str(dest))
    assert not _files.decide(state, b"same", mode="0600", uid=None, gid=None, expected=None)[0].changed
    assert _files.decide(state, b"other", mode="0600", uid=None, gid=None, expected=None)[0].changed
    assert _files.decide(state, b"other", mode="0600", uid=None, gid=None, expected=_files.ABSENT)[0].conflict


def test_a_directory_that_cannot_be_created_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "mkdir", enospc)
    with pytest.raises(UcsError, match=rf"^cannot create the directory {tmp_path / 'kube'} of {tmp_path / 'kube' / 'config'}: no space left on device$"):
        _files.make_directories(str(tmp_path / "kube" / "config"), 0o700)


@pytest.mark.parametrize("value", ["absent\n", " absent", "a" * 64 + "\n", "a" * 63, "a" * 64 + "\x00"])
def test_expected_checksum_is_taken_as_written(value: str) -> None:
    with pytest.raises(UcsValidationError, match=r"^expected_checksum "):
        _files.check_expected_checksum(value)
    assert _files.check_expected_checksum("A" * 64) == "a" * 64
