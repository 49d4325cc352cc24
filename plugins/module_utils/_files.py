# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Files that hold key material: read without following links, replaced atomically under kubectl's lock.

Standard library only, Python 3.6+: the target modules kubeconfig_file and kubeconfig_file_info
import it on the managed hosts. The options (dest, mode, owner, group) are checked before any API
call by _file_options; the write checks the owner and mode again under the lock.

The rules (docs/reliability.md, "files"):

- a key file is only ever a regular file. A dest that is a symbolic link, a device, a FIFO, a
  socket or a directory is refused, never followed, opened, chmod-ed or replaced. The checks use
  lstat, then open with O_NOFOLLOW|O_NONBLOCK and fstat of the opened descriptor, so there is no
  window between the check and the use, and a FIFO never blocks;
- a write creates a new file (new inode) beside dest with O_EXCL, gives it its owner and mode
  through the descriptor (fchown/fchmod), writes and fsyncs it, then renames it over dest. Nothing
  is ever chmod-ed or chown-ed by name, so nothing is changed through a link;
- an existing dest owned by another user than the one who will own the new file is refused (see
  _file_options.check_owner): its content may have been planted by that user, and replacing it
  would take the file away from its owner;
- backups get unpredictable names and are created O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, from the
  content read through the descriptor already opened;
- writers take kubectl's lock (client-go clientcmd: "<file>.lock" created with O_CREATE|O_EXCL,
  removed after the write), re-read dest under it, and write only if dest still has the checksum
  the caller based its content on (compare-and-swap); otherwise nothing is written and the caller
  gets the fresh state to merge into again;
- a write that fails leaves no temporary file behind (it holds the key).
"""

import contextlib
import errno
import grp
import hashlib
import os
import pwd
import re
import secrets
import socket
import stat
import time
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import (
    DEFAULT_MODE,
    check_owner,
    not_regular,
    parse_mode,
    resolve_group,
    resolve_owner,
    user_name,
)

# Waiting for the lock of another writer (kubectl holds it for milliseconds).
DEFAULT_LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.05
# kubectl reads the kubeconfig before it takes the lock and, under the lock, deletes every entry it
# did not see then. Keeping the lock a moment after our rename makes a kubectl that read the old
# file fail loudly ("<file>.lock: file exists") instead of silently deleting the new entries.
RELEASE_DELAY = 0.2
# No kubeconfig is this large; a bigger dest is refused instead of read into memory.
MAX_FILE_SIZE = 16 * 1024 * 1024
# expected_checksum of a caller that saw no file at dest.
ABSENT = "absent"
TEMP_PREFIX = ".ucs-kubeconfig-"

_CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class FileState(t.NamedTuple):
    """What a path holds. Every field but path and directory_exists is None when it does not exist."""

    path: str
    exists: bool
    content: t.Optional[bytes]
    checksum: t.Optional[str]  # sha256 hex of content
    mode: t.Optional[int]
    uid: t.Optional[int]
    gid: t.Optional[int]
    owner: t.Optional[str]  # name of uid, None when it has none
    group: t.Optional[str]
    directory_exists: bool


class WriteResult(t.NamedTuple):
    """changed: dest was (or in check mode would be) written. conflict: dest no longer had the
    expected checksum, nothing was written, and state is the fresh file to merge into again."""

    changed: bool
    conflict: bool
    backup_file: t.Optional[str]
    state: FileState


# --- Reading -------------------------------------------------------------------------------------


def checksum_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _absent(path: str) -> FileState:
    return FileState(path, False, None, None, None, None, None, None, None, os.path.isdir(os.path.dirname(path) or "."))


def _name_of(lookup: t.Callable[[int], t.Any], number: int) -> t.Optional[str]:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return None


def _read_bounded(fd: int, path: str, option: str) -> bytes:
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_FILE_SIZE:
            raise UcsValidationError(f"{option} {path} is larger than {MAX_FILE_SIZE} bytes; no kubeconfig is", option=option)
        chunks.append(chunk)


def _existing(path: str, content: bytes, found: os.stat_result) -> FileState:
    """The FileState of a regular file whose content and stat (of the opened descriptor) are known."""
    return FileState(
        path=path,
        exists=True,
        content=content,
        checksum=checksum_of(content),
        mode=stat.S_IMODE(found.st_mode),
        uid=found.st_uid,
        gid=found.st_gid,
        owner=_name_of(pwd.getpwuid, found.st_uid),
        group=_name_of(grp.getgrgid, found.st_gid),
        directory_exists=True,
    )


def read_regular(path: str, option: str = "dest") -> FileState:
    """Read path if it is a regular file; an absent path is a FileState with exists=False.

    A symbolic link, a device, a FIFO, a socket or a directory raises UcsValidationError naming
    the option and what it is: lstat refuses it without opening it (opening a device can have
    effects), and the open itself uses O_NOFOLLOW|O_NONBLOCK with fstat of the descriptor, so a
    path swapped in between is refused too and a FIFO never blocks.
    """
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return _absent(path)
    except OSError as exc:
        raise UcsValidationError(f"cannot look at {option} {path}: {exc.strerror}", option=option) from None
    if not stat.S_ISREG(before.st_mode):
        raise not_regular(option, path, before.st_mode)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return _absent(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_regular(option, path, stat.S_IFLNK) from None
        raise UcsValidationError(f"cannot read {option} {path}: {exc.strerror}", option=option) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise not_regular(option, path, opened.st_mode)
        content = _read_bounded(fd, path, option)
    except OSError as exc:
        raise UcsValidationError(f"cannot read {option} {path}: {exc.strerror}", option=option) from None
    finally:
        os.close(fd)
    return _existing(path, content, opened)


# --- The lock ------------------------------------------------------------------------------------


def lock_path_of(path: str) -> str:
    """kubectl's lock file of a kubeconfig (client-go clientcmd lockName)."""
    return path + ".lock"


@contextlib.contextmanager
def kubeconfig_lock(
    path: str,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    *,
    poll: float = LOCK_POLL,
    clock: t.Callable[[], float] = time.monotonic,
    sleep: t.Callable[[float], None] = time.sleep,
) -> t.Iterator[str]:
    """Hold kubectl's lock of path: "<path>.lock", created with O_CREAT|O_EXCL, removed after.

    The lock file names our process and host (kubectl's is empty). A lock of ours whose process
    no longer runs on this host (a killed run) is broken at once; any other lock is waited for at
    most timeout seconds, then UcsError names the lock file and what to do if it is stale.
    """
    lock_path = lock_path_of(path)
    deadline = clock() + timeout
    while True:
        try:
            fd = os.open(lock_path, _CREATE_FLAGS, 0o600)
            break
        except FileExistsError:
            if _break_if_stale(lock_path):
                continue
            if clock() >= deadline:
                raise UcsError(_lock_timeout_message(path, lock_path, timeout)) from None
            sleep(min(poll, max(deadline - clock(), 0.0)) or poll)
        except OSError as exc:
            raise UcsError(f"cannot create the lock file {lock_path} of {path}: {exc.strerror}") from None
    marker = f"{os.getpid()} {socket.gethostname()} ucs_cloud.fleet\n".encode()
    try:
        os.write(fd, marker)
        mine = os.fstat(fd)
    finally:
        os.close(fd)
    try:
        yield lock_path
    finally:
        # Remove it only if it is still ours, never a lock someone put in its place (an inode
        # number is reused at once, so the content, our process id, is compared too).
        with contextlib.suppress(OSError, UcsError):
            found = read_regular(lock_path, "lock file")
            if found.exists and found.content == marker and os.lstat(lock_path).st_ino == mine.st_ino:
                os.unlink(lock_path)


def _lock_holder(content: t.Optional[bytes]) -> t.Optional[t.Tuple[int, str]]:
    """(pid, host) of a lock file of ours, None for any other (kubectl's is empty)."""
    words = (content or b"").decode("utf-8", "replace").split()
    if len(words) == 3 and words[2] == "ucs_cloud.fleet" and words[0].isdigit():
        return int(words[0]), words[1]
    return None


def _break_if_stale(lock_path: str) -> bool:
    """Remove a lock of ours left by a process that no longer runs on this host; True if removed.

    The lock is first renamed aside, so that of two waiters only one removes it, and a lock taken
    meanwhile by a live writer is put back, never removed.
    """
    try:
        stale = read_regular(lock_path, "lock file")
    except UcsError:
        return False
    holder = _lock_holder(stale.content)
    if holder is None or holder[1] != socket.gethostname() or _alive(holder[0]):
        return False
    aside = f"{lock_path}.{secrets.token_hex(8)}.stale"
    try:
        os.rename(lock_path, aside)
    except OSError:
        return False
    try:
        moved = read_regular(aside, "lock file")
        if moved.content == stale.content:
            return True
        # A live writer's lock: give it back (unless yet another writer holds the lock by now).
        with contextlib.suppress(OSError):
            os.link(aside, lock_path)
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)


def _lock_timeout_message(path: str, lock_path: str, timeout: float) -> str:
    holder = ""
    with contextlib.suppress(OSError, ValueError, UcsError):
        state = read_regular(lock_path, "lock file")
        found = _lock_holder(state.content)
        if found is not None:
            running = "is still running" if found[1] == socket.gethostname() and _alive(found[0]) else f"runs on {found[1]}"
            holder = f" It was created by process {found[0]} (ucs_cloud.fleet), which {running}."
        elif state.exists and not state.content:
            holder = " It is empty, as kubectl leaves it."
        if state.exists:
            holder += f" It is {time.time() - os.lstat(lock_path).st_mtime:.0f} s old."
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


# --- Writing -------------------------------------------------------------------------------------


def make_directories(path: str, dir_mode: int, uid: t.Optional[int] = None, gid: t.Optional[int] = None) -> bool:
    """Create the missing directories of path (as kubectl creates ~/.kube), each given dir_mode, uid
    and gid through its descriptor; return whether any was created. A directory created meanwhile
    by someone else is used as it is, like mkdir -p."""
    missing = []
    directory = os.path.dirname(path)
    while not os.path.lexists(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue
        fd = os.open(directory, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0))
        try:
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, dir_mode)
        finally:
            os.close(fd)
    return bool(missing)


def _create_exclusive(directory: str, make_name: t.Callable[[], str]) -> t.Tuple[int, str]:
    """Create a new file 0600 with an unpredictable name: O_CREAT|O_EXCL|O_NOFOLLOW."""
    for _attempt in range(16):
        name = os.path.join(directory, make_name())
        try:
            return os.open(name, _CREATE_FLAGS, 0o600), name
        except FileExistsError:
            continue
    raise UcsError(f"cannot create a new file in {directory}: every name tried exists")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_owner(state: FileState, uid: t.Optional[int], gid: t.Optional[int]) -> t.Tuple[int, int]:
    """The uid and gid of the new file: the requested ones, else the running user and the existing
    file's group when it can keep it (else the running group)."""
    new_uid = os.geteuid() if uid is None else uid
    if gid is not None:
        return new_uid, gid
    if state.exists and state.gid is not None and (os.geteuid() == 0 or state.gid == os.getegid() or state.gid in os.getgroups()):
        return new_uid, state.gid
    return new_uid, os.getegid()


def write_file(
    path: str,
    content: bytes,
    *,
    mode: t.Union[int, str, None] = DEFAULT_MODE,
    owner: t.Union[str, int, None] = None,
    group: t.Union[str, int, None] = None,
    backup: bool = False,
    expected_checksum: t.Optional[str] = None,
    check_mode: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    option: str = "dest",
    release_delay: float = RELEASE_DELAY,
) -> WriteResult:
    """Replace path with content, mode, owner and group, under kubectl's lock.

    expected_checksum: the checksum of the file the caller built content from (ABSENT when it saw
    none), or None to write whatever path holds now. When path no longer has it, nothing is written
    and WriteResult.conflict is True with the fresh state, so that the caller merges again.

    mode: an int, an octal string or a symbolic mode (applied to the existing file's mode, 0600 for
    a new file). The new file is a new inode, owned by owner (default: the running user), given its
    owner and mode through its descriptor before the rename; an existing path owned by someone else
    is refused (check_owner). backup: keep the old content in "<path>.<time>.<random>~", 0600, when
    the content changes. In check mode nothing at all is created, not even the lock.
    """
    expected_checksum = check_expected_checksum(expected_checksum)
    uid = resolve_owner(owner)
    gid = resolve_group(group)
    if not isinstance(mode, str):
        parse_mode(mode)  # refuses an integer such as 600 before anything happens
    if check_mode:
        return _decide(path, content, mode=mode, uid=uid, gid=gid, expected=expected_checksum, option=option)[0]
    with kubeconfig_lock(path, lock_timeout):
        result, wanted_mode, new_uid, new_gid = _decide(path, content, mode=mode, uid=uid, gid=gid, expected=expected_checksum, option=option)
        if not result.changed or result.conflict:
            return result
        state = result.state
        keep_backup = backup and state.exists and state.content != content
        new_state, backup_file = _replace(path, content, mode=wanted_mode, uid=new_uid, gid=new_gid, old=state if keep_backup else None)
        if release_delay > 0:
            time.sleep(release_delay)
        return WriteResult(True, False, backup_file, new_state)


def check_expected_checksum(value: t.Optional[str], option: str = "expected_checksum") -> t.Optional[str]:
    """A sha256 hex digest (lower case) or ABSENT; None stays None (no compare-and-swap)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text != ABSENT and not _CHECKSUM_RE.match(text):
        raise UcsValidationError(f"{option} must be a sha256 hex digest or '{ABSENT}'", option=option)
    return text


def attribute_drift(state: FileState, mode: t.Optional[int], uid: t.Optional[int], gid: t.Optional[int]) -> t.List[str]:
    """How an existing file differs from the wanted mode, owner and group, in words; [] when not."""
    if not state.exists:
        return []
    drift = []
    if mode is not None and state.mode != mode:
        drift.append(f"mode {state.mode:04o}, not {mode:04o}")
    if uid is not None and state.uid != uid:
        drift.append(f"owner {user_name(t.cast(int, state.uid))}, not {user_name(uid)}")
    if gid is not None and state.gid != gid:
        drift.append(f"group {_group_name(t.cast(int, state.gid))}, not {_group_name(gid)}")
    return drift


def _group_name(gid: int) -> str:
    try:
        return f"{grp.getgrgid(gid).gr_name} (gid {gid})"
    except KeyError:
        return f"gid {gid}"


def _decide(
    path: str, content: bytes, *, mode: t.Union[int, str, None], uid: t.Optional[int], gid: t.Optional[int], expected: t.Optional[str], option: str
) -> t.Tuple[WriteResult, int, int, int]:
    state = read_regular(path, option)
    new_uid, new_gid = _new_owner(state, uid, gid)
    if state.exists:
        check_owner(path, t.cast(int, state.uid), new_uid, option)
    if expected is not None and (state.checksum or ABSENT) != expected:
        return WriteResult(False, True, None, state), 0, new_uid, new_gid
    wanted_mode = parse_mode(mode, "mode", base=state.mode if state.exists else DEFAULT_MODE)
    same = state.exists and state.content == content and not attribute_drift(state, wanted_mode, new_uid, new_gid)
    return WriteResult(not same, False, None, state), wanted_mode, new_uid, new_gid


def _replace(path: str, content: bytes, *, mode: int, uid: int, gid: int, old: t.Optional[FileState]) -> t.Tuple[FileState, t.Optional[str]]:
    """Write a new file beside path and rename it over path; with old, back up its content first.

    Any failure removes what was created (the temporary file holds the key; a backup that is not
    reported would be an orphan copy of the old one).
    """
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    created = []  # type: t.List[str]
    backup_file = None
    done = False
    try:
        fd, tmp_path = _create_exclusive(directory, lambda: f"{TEMP_PREFIX}{secrets.token_hex(8)}.tmp")
        created.append(tmp_path)
        try:
            opened = os.fstat(fd)
            if (opened.st_uid, opened.st_gid) != (uid, gid):
                os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            _write_all(fd, content)
            os.fsync(fd)
            written = os.fstat(fd)
        finally:
            os.close(fd)
        if old is not None:
            stamp = time.strftime("%Y-%m-%d@%H:%M:%S")
            bfd, backup_file = _create_exclusive(directory, lambda: f"{base}.{stamp}.{secrets.token_hex(8)}~")
            created.append(backup_file)
            try:
                if (os.fstat(bfd).st_uid, os.fstat(bfd).st_gid) != (uid, gid):
                    os.fchown(bfd, uid, gid)
                _write_all(bfd, t.cast(bytes, old.content))
                os.fsync(bfd)
            finally:
                os.close(bfd)
        os.rename(tmp_path, path)
        done = True
    except OSError as exc:
        raise UcsError(f"cannot write {path}: {exc.strerror}; it was left as it was") from None
    finally:
        if not done:
            for name in created:
                with contextlib.suppress(OSError):
                    os.unlink(name)
    _fsync_directory(directory)
    return _existing(path, content, written), backup_file
