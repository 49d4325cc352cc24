# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""kubectl's lock of a kubeconfig, as this collection takes it, and how a stale one is told apart.

Standard library only, Python 3.6+ (target modules import it through _files).

client-go (kubectl, and every tool built on its clientcmd) creates "<file>.lock" with
O_CREATE|O_EXCL and mode 0000, writes nothing into it, and removes it after the write; it never
waits and never breaks a lock: it fails with "<file>.lock: file exists". The rules here
(docs/reliability.md, "files"):

- our lock file is never empty: it is born holding our process id and host, written into an
  unnamed file (O_TMPFILE) that link() then names, which fails if the name exists, as O_EXCL
  does. A full disk fails before the name exists; a killed process leaves nothing. Where the file
  system has neither, the lock is created O_EXCL with mode 0600 and filled at once, and removed
  again if filling it fails;
- a lock we created is removed whatever fails while we hold it, and only while it is still ours
  (same inode and content);
- a lock that names our process on this host, dead, is stale (a killed run): broken at once;
- an empty lock with mode 0000 is kubectl's: waited for, never broken, however old;
- an empty lock with any other mode is ours, left by a run that died or failed between creating
  it and writing its name (releases before this rule did that on a full disk, and the O_EXCL
  fallback does it for microseconds): stale once it is LEGACY_LOCK_AGE old, broken at once then;
- a stale lock is renamed aside before it is removed, so that of two waiters only one removes it,
  and a lock someone took meanwhile (another inode, mode, size or mtime) is put back.
"""

import contextlib
import errno
import os
import re
import secrets
import socket
import stat
import time
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import cause, not_regular

# Waiting for the lock of another writer (kubectl holds it for milliseconds).
DEFAULT_LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.05
# An empty lock that is not kubectl's (mode 0000) is a run of ours that died between creating the
# lock and writing its name in it, which takes microseconds: older than this, it is stale.
LEGACY_LOCK_AGE = 2.0
# A lock file holds one line; anything longer is not ours.
_MAX_LOCK_SIZE = 4096

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
# An unnamed file in a directory (Linux); 0 where the system has none.
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
# open(O_TMPFILE) where the file system or kernel (before 3.11) has no unnamed files.
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
# link() of /proc/self/fd/N where /proc is missing or the file system has no hard links.
_NO_LINK = (errno.ENOENT, errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.EMLINK)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def lock_path_of(path: str) -> str:
    """kubectl's lock file of a kubeconfig (client-go clientcmd lockName)."""
    return path + ".lock"


def _marker() -> bytes:
    """What our lock file holds: who to ask whether it is still held."""
    return f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n".encode()


def _create_lock(lock_path: str, marker: bytes) -> os.stat_result:
    """Create lock_path already holding marker; FileExistsError when it exists.

    The marker goes into an unnamed file (O_TMPFILE) that link() then names: the lock never
    exists empty, a full disk fails before it exists, and a killed process leaves nothing. Where
    the file system has no unnamed files or hard links, the lock is created O_EXCL and filled,
    and removed again if filling it fails.
    """
    directory = os.path.dirname(lock_path) or "."
    if not _O_TMPFILE:
        return _create_lock_in_place(lock_path, marker)
    try:
        fd = os.open(directory, os.O_WRONLY | _O_TMPFILE | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if exc.errno not in _NO_TMPFILE:
            raise
        return _create_lock_in_place(lock_path, marker)
    try:
        write_all(fd, marker)
        directory_fd = os.open(directory, _DIRECTORY_FLAGS)
        try:
            # dst_dir_fd makes Python call linkat(), which AT_SYMLINK_FOLLOW lets resolve /proc's link.
            os.link(f"/proc/self/fd/{fd}", os.path.basename(lock_path), dst_dir_fd=directory_fd, follow_symlinks=True)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            return _create_lock_in_place(lock_path, marker)
        finally:
            os.close(directory_fd)
        return os.fstat(fd)
    finally:
        os.close(fd)


def _create_lock_in_place(lock_path: str, marker: bytes) -> os.stat_result:
    fd = os.open(lock_path, _CREATE_FLAGS, 0o600)
    try:
        write_all(fd, marker)
        return os.fstat(fd)
    except BaseException:
        # Created exclusively a moment ago: ours to remove, so that it never outlives us empty.
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def kubeconfig_lock(
    path: str,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    *,
    poll: float = LOCK_POLL,
    clock: t.Callable[[], float] = time.monotonic,
    sleep: t.Callable[[float], None] = time.sleep,
) -> t.Iterator[str]:
    """Hold kubectl's lock of path: "<path>.lock", created exclusively, removed after.

    The lock file names our process and host (kubectl's is empty). A stale lock of ours (its
    process no longer runs on this host, or it was left empty: see LockFinding) is broken at
    once; any other lock is waited for at most timeout seconds, then UcsError names the lock file
    and what to do if it is stale. Whatever fails, a lock we created is removed.
    """
    lock_path = lock_path_of(path)
    marker = _marker()
    deadline = clock() + timeout
    while True:
        try:
            mine = _create_lock(lock_path, marker)
            break
        except FileExistsError:
            if _break_if_stale(lock_path):
                continue
            if clock() >= deadline:
                raise UcsError(_lock_timeout_message(path, lock_path, timeout)) from None
            sleep(min(poll, max(deadline - clock(), 0.0)) or poll)
        except OSError as exc:
            raise UcsError(f"cannot create the lock file {lock_path} of {path}: {cause(exc)}; {path} was left as it was") from None
    try:
        yield lock_path
    finally:
        # Remove it only if it is still ours, never a lock someone put in its place (an inode
        # number is reused at once, so the content, our process id, is compared too).
        with contextlib.suppress(OSError, UcsError):
            found = read_lock(lock_path)
            if found is not None and found[0] == marker and found[1].st_ino == mine.st_ino:
                os.unlink(lock_path)


class LockFinding(t.NamedTuple):
    """What a lock file found at "<path>.lock" is.

    stale: a lock of ours that nobody holds (its process is gone from this host, or it is empty
    but not kubectl's and older than LEGACY_LOCK_AGE): broken at once. who: in words, for
    messages. age: seconds since it was written. identity: what must not change while it is
    broken (inode, mode, size, mtime).
    """

    stale: bool
    who: str
    age: float
    identity: t.Tuple[int, int, int, int]
    content: bytes


def _lock_holder(content: t.Optional[bytes]) -> t.Optional[t.Tuple[int, str]]:
    """(pid, host) of a lock file of ours, None for any other (kubectl's is empty)."""
    words = (content or b"").decode("utf-8", "replace").split()
    if len(words) == 3 and words[2] == "ucs_cloud.fleet" and re.fullmatch(r"[0-9]+", words[0]):
        return int(words[0]), words[1]
    return None


def read_lock(lock_path: str) -> t.Optional[t.Tuple[bytes, os.stat_result]]:
    """The content and stat of the lock file, None when there is none. A lock path that is not a
    regular file raises UcsValidationError: kubectl cannot take such a lock either."""
    try:
        fd = os.open(lock_path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_regular("lock file", lock_path, stat.S_IFLNK) from None
        raise UcsError(f"cannot read the lock file {lock_path}: {cause(exc)}") from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise not_regular("lock file", lock_path, found.st_mode)
        return os.read(fd, _MAX_LOCK_SIZE), found
    finally:
        os.close(fd)


def inspect_lock(lock_path: str) -> t.Optional[LockFinding]:
    """The lock file at lock_path, None when there is none (see read_lock)."""
    read = read_lock(lock_path)
    if read is None:
        return None
    content, found = read
    identity = (found.st_ino, found.st_mode, found.st_size, found.st_mtime_ns)
    age = max(time.time() - found.st_mtime, 0.0)
    holder = _lock_holder(content)
    if holder is not None:
        pid, host = holder
        if host != socket.gethostname():
            return LockFinding(False, f"created by process {pid} (ucs_cloud.fleet), which runs on {host}", age, identity, content)
        if _alive(pid):
            return LockFinding(False, f"created by process {pid} (ucs_cloud.fleet), which is still running", age, identity, content)
        return LockFinding(True, f"left by process {pid} (ucs_cloud.fleet), which no longer runs", age, identity, content)
    if content:
        return LockFinding(False, "created by another program", age, identity, content)
    if stat.S_IMODE(found.st_mode) == 0:
        return LockFinding(False, "empty with mode 0000, as kubectl makes it", age, identity, content)
    # Not kubectl's: a run of ours that died between creating it and writing its name into it.
    old = age >= LEGACY_LOCK_AGE
    who = f"empty with mode {stat.S_IMODE(found.st_mode):04o} (kubectl's is 0000), left by a run of ucs_cloud.fleet that failed"
    return LockFinding(old, who, age, identity, content)


def _break_if_stale(lock_path: str) -> bool:
    """Remove a stale lock of ours (see LockFinding); True if removed.

    The lock is first renamed aside, so that of two waiters only one removes it, and a lock taken
    meanwhile by someone else is put back, never removed.
    """
    try:
        stale = inspect_lock(lock_path)
    except UcsError:
        return False
    if stale is None or not stale.stale:
        return False
    aside = f"{lock_path}.{secrets.token_hex(8)}.stale"
    try:
        os.rename(lock_path, aside)
    except OSError:
        return False
    try:
        with contextlib.suppress(OSError, UcsError):
            moved = read_lock(aside)
            if moved is not None and moved[0] == stale.content:
                found = moved[1]
                if (found.st_ino, found.st_mode, found.st_size, found.st_mtime_ns) == stale.identity:
                    return True
        # Someone's live lock, or one we cannot read: give it back (unless yet another writer
        # holds the lock by now).
        with contextlib.suppress(OSError):
            os.link(aside, lock_path)
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)


def _lock_timeout_message(path: str, lock_path: str, timeout: float) -> str:
    holder = ""
    with contextlib.suppress(OSError, ValueError, UcsError):
        found = inspect_lock(lock_path)
        if found is not None:
            holder = f" It is {found.who}; it is {found.age:.0f} s old."
    return (
        f"{path} is locked: {lock_path} exists, so another program (kubectl, or another run of ucs_cloud.fleet) is writing it; "
        f"waited {timeout:g} s.{holder} If no such program is running, the lock is stale (left by a killed process): "
        f"remove {lock_path} and run again."
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
