# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Files that hold key material: read without following links, replaced atomically under kubectl's lock.

Standard library only, Python 3.6+: the target modules kubeconfig_file and kubeconfig_file_info
import it on the managed hosts. The options (dest, mode, owner, group) are checked before any API
call by _file_options, and check_write() says before any download whether a write would fail;
the write checks the owner and mode again under the lock.

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
- our lock file is never empty, so that a stale one is told from kubectl's (_file_lock);
- a write that fails leaves no temporary file behind (it holds the key) and no lock of ours, and
  its error names the cause (no space left on device, an immutable file ...).
"""

import contextlib
import errno
import grp
import hashlib
import os
import pwd
import re
import secrets
import stat
import time
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_lock import DEFAULT_LOCK_TIMEOUT, inspect_lock, kubeconfig_lock, lock_path_of, write_all
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import (
    DEFAULT_MODE,
    FS_APPEND_FL,
    FS_IMMUTABLE_FL,
    cause,
    check_dest,
    check_owner,
    check_text,
    directory_problem,
    inode_flags,
    not_regular,
    parse_mode,
    resolve_group,
    resolve_owner,
    user_name,
)

# kubectl reads the kubeconfig before it takes the lock and, under the lock, deletes every entry it
# did not see then. Keeping the lock a moment after our rename makes a kubectl that read the old
# file fail loudly ("<file>.lock: file exists") instead of silently deleting the new entries.
RELEASE_DELAY = 0.2
# The largest kubeconfig read or written: kubectl loads 4,000 contexts with RSA keys (20 MB) in
# about a second, and this collection merges them (docs/reliability.md, "large kubeconfigs").
MAX_FILE_SIZE = 32 * 1024 * 1024
# What the fleet's cluster, user and context add to a file, at most (a fresh fleet kubeconfig with
# an RSA 4096 key is about 10 KiB): the free space a merge needs beyond the existing file.
FLEET_ENTRIES_ALLOWANCE = 32 * 1024
# expected_checksum of a caller that saw no file at dest.
ABSENT = "absent"
TEMP_PREFIX = ".ucs-kubeconfig-"

_CHECKSUM_RE = re.compile(r"[0-9a-f]{64}")

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class FileState(t.NamedTuple):
    """What a path holds. Every field but path is None when it does not exist."""

    path: str
    exists: bool
    content: t.Optional[bytes]
    checksum: t.Optional[str]  # sha256 hex of content
    mode: t.Optional[int]
    uid: t.Optional[int]
    gid: t.Optional[int]
    owner: t.Optional[str]  # name of uid, None when it has none
    group: t.Optional[str]


class WriteResult(t.NamedTuple):
    """changed: dest was (or in check mode would be) written. conflict: dest no longer had the
    expected checksum, nothing was written, and state is the fresh file to merge into again."""

    changed: bool
    conflict: bool
    backup_file: t.Optional[str]
    state: FileState
    previous: t.Optional[FileState] = None  # the file as read under the lock, before the write


def attributes(state: t.Optional[FileState]) -> t.Dict[str, t.Any]:
    """Mode, owner and group of a file as results and diffs show them (a number where the id has
    no name); empty when there is no file."""
    if state is None or not state.exists:
        return {}
    return {
        "mode": f"{state.mode:04o}",
        "owner": state.owner if state.owner is not None else str(state.uid),
        "group": state.group if state.group is not None else str(state.gid),
    }


def size_text(size: int) -> str:
    """A size for messages: 33554432 -> '32 MiB'."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + " " + unit
    return f"{size} bytes"


# --- Reading -------------------------------------------------------------------------------------


def checksum_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def absent_state(path: str) -> FileState:
    return FileState(path, False, None, None, None, None, None, None, None)


def _name_of(lookup: t.Callable[[int], t.Any], number: int) -> t.Optional[str]:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return None


def too_large(option: str, path: str, subject: t.Optional[str] = None) -> UcsValidationError:
    """The refusal of a file (or content, the subject) larger than MAX_FILE_SIZE, naming the cap."""
    return UcsValidationError(
        f"{subject or option + ' ' + path} is larger than {size_text(MAX_FILE_SIZE)} ({MAX_FILE_SIZE} bytes), "
        "the largest kubeconfig this collection reads or writes",
        option=option,
    )


def _read_bounded(fd: int, path: str, option: str) -> bytes:
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, 1024 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_FILE_SIZE:
            raise too_large(option, path)
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
    )


def read_regular(path: str, option: str = "dest") -> FileState:
    """Read path if it is a regular file; an absent path is a FileState with exists=False.

    A symbolic link, a device, a FIFO, a socket or a directory raises UcsValidationError naming
    the option and what it is: lstat refuses it without opening it (opening a device can have
    effects), and the open itself uses O_NOFOLLOW|O_NONBLOCK with fstat of the descriptor, so a
    path swapped in between is refused too and a FIFO never blocks. A file larger than
    MAX_FILE_SIZE is refused, naming the cap, before it is read whole.
    """
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return absent_state(path)
    except OSError as exc:
        raise UcsValidationError(f"cannot look at {option} {path}: {cause(exc)}", option=option) from None
    if not stat.S_ISREG(before.st_mode):
        raise not_regular(option, path, before.st_mode)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return absent_state(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise not_regular(option, path, stat.S_IFLNK) from None
        raise UcsValidationError(f"cannot read {option} {path}: {cause(exc)}", option=option) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise not_regular(option, path, opened.st_mode)
        if opened.st_size > MAX_FILE_SIZE:
            raise too_large(option, path)
        content = _read_bounded(fd, path, option)
    except OSError as exc:
        raise UcsValidationError(f"cannot read {option} {path}: {cause(exc)}", option=option) from None
    finally:
        os.close(fd)
    return _existing(path, content, opened)


# --- Before any download: would the write fail? ---------------------------------------------------


def check_write(
    path: t.Any,
    owner: t.Any = None,
    group: t.Any = None,
    *,
    option: str = "dest",
    backup: bool = False,
    size: t.Optional[int] = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> str:
    """Say, before anything is downloaded or created, whether this process (its effective user,
    after become) can write a kubeconfig at path with owner and group; return path absolute.

    Raises UcsValidationError naming the option for: the rules of check_dest (the path, a
    missing or unwritable directory, an existing file owned by another user) and of
    resolve_owner / resolve_group; an immutable or append-only file or directory (where the file
    system reports inode flags); a lock file that will not be released in time (not ours to
    break and already older than lock_timeout); too little free space or too few inodes for the
    new file beside the old one, its lock and the backup (where statvfs measures them); a file
    larger than MAX_FILE_SIZE. size: the new file's size when it is known, else the existing
    file's plus FLEET_ENTRIES_ALLOWANCE.
    """
    uid = resolve_owner(owner)
    resolve_group(group)  # its rules are all there is to check about the group
    dest = check_dest(path, option, uid=uid, create_parent=True)
    directory = os.path.dirname(dest)
    missing = 0
    while not os.path.isdir(directory):
        missing += 1
        directory = os.path.dirname(directory)
    try:
        existing = os.lstat(dest)  # check_dest: a regular file, if anything
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise UcsValidationError(f"{option} {dest}: cannot look at it: {cause(exc)}", option=option) from None
    if existing is not None:
        _check_file_flags(dest, option)
    if missing == 0:
        _check_lock(dest, option, lock_timeout)
    old_size = existing.st_size if existing is not None else 0
    new_size = size if size is not None else old_size + FLEET_ENTRIES_ALLOWANCE
    if size is not None and size > MAX_FILE_SIZE:
        raise too_large(option, dest)
    _check_space(dest, directory, option, new_size=new_size, backup_size=old_size if backup else 0, new_directories=missing)
    return dest


def write_blocker(path: t.Any, owner: t.Any = None, group: t.Any = None, **options: t.Any) -> t.Optional[str]:
    """check_write's message, or None when the write can go ahead."""
    try:
        check_write(path, owner, group, **options)
    except UcsValidationError as exc:
        return exc.msg
    return None


def _check_file_flags(dest: str, option: str) -> None:
    flags = inode_flags(dest) or 0
    for flag, word, command in ((FS_IMMUTABLE_FL, "immutable", "chattr +i"), (FS_APPEND_FL, "append-only", "chattr +a")):
        if flags & flag:
            raise UcsValidationError(
                f"{option} {dest} is {word} ({command}): it cannot be replaced, even by root. "
                f"Remove the flag (chattr -{command[-1]} {dest}) if the kubeconfig is to be kept up to date",
                option=option,
            )


def _check_lock(dest: str, option: str, timeout: float) -> None:
    lock_path = lock_path_of(dest)
    found = inspect_lock(lock_path)
    if found is None or found.stale or found.age <= timeout:
        return
    raise UcsValidationError(
        f"{option} {dest} is locked: {lock_path} is {found.who}, and it is {found.age:.0f} s old, older than the {timeout:g} s "
        f"a write waits for it. If no kubectl or other writer is running, the lock is stale: remove {lock_path} and run again",
        option=option,
    )


def _check_space(dest: str, directory: str, option: str, *, new_size: int, backup_size: int, new_directories: int) -> None:
    """Refuse when the file system of directory has too little room, where statvfs measures it."""
    try:
        found = os.statvfs(directory)
    except OSError:
        return
    root = os.geteuid() == 0
    if found.f_blocks > 0 and found.f_frsize > 0:
        unit = found.f_frsize
        # The new file is written beside the old one; the lock takes a block; so does each directory.
        blocks = -(-new_size // unit) + 1 + -(-backup_size // unit) + new_directories
        free = found.f_bfree if root else found.f_bavail
        if free < blocks:
            parts = "the new file beside the old one, its lock file" + (", the backup" if backup_size else "")
            raise UcsValidationError(
                f"{option} {dest}: no space left on device: the file system of {directory} has {size_text(free * unit)} free, "
                f"and writing the kubeconfig needs about {size_text(blocks * unit)} ({parts})",
                option=option,
            )
    if found.f_files > 0:
        inodes = 2 + (1 if backup_size else 0) + new_directories
        if (found.f_ffree if root else found.f_favail) < inodes:
            raise UcsValidationError(
                f"{option} {dest}: no space left on device: the file system of {directory} has no free inodes for the {inodes} files a write creates",
                option=option,
            )


# --- Writing -------------------------------------------------------------------------------------


def make_directories(path: str, dir_mode: int, uid: t.Optional[int] = None, gid: t.Optional[int] = None) -> bool:
    """Create the missing directories of path (as kubectl creates ~/.kube), each given dir_mode, uid
    and gid through its descriptor; return whether any was created. A directory created meanwhile
    by someone else is used as it is, like mkdir -p. UcsError names the cause of a failure."""
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
        except OSError as exc:
            raise UcsError(f"cannot create the directory {directory} of {path}: {cause(exc)}{_obstacle(directory)}") from None
        try:
            fd = os.open(directory, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0))
            try:
                if uid is not None or gid is not None:
                    os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
                os.fchmod(fd, dir_mode)
            finally:
                os.close(fd)
        except OSError as exc:
            raise UcsError(f"cannot set the owner and mode of the new directory {directory}: {cause(exc)}") from None
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


def _fsync_directory(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _obstacle(path: str) -> str:
    """Why path cannot be replaced or created, when flags or the directory say it (' (...)'), else ''."""
    flags = inode_flags(path) or 0
    for flag, word in ((FS_IMMUTABLE_FL, "immutable (chattr +i)"), (FS_APPEND_FL, "append-only (chattr +a)")):
        if flags & flag:
            return f" ({path} is {word})"
    directory = os.path.dirname(path) or "."
    problem = directory_problem(directory)
    return f" (the directory {directory} {problem})" if problem else ""


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
    the content changes. In check mode nothing at all is created, not even the lock. Content larger
    than MAX_FILE_SIZE is refused: the next run could not read it. WriteResult.previous is the
    file as read under the lock, so that a caller needs no read of its own.
    """
    expected_checksum = check_expected_checksum(expected_checksum)
    uid = resolve_owner(owner)
    gid = resolve_group(group)
    if not isinstance(mode, str):
        parse_mode(mode)  # refuses an integer such as 600 before anything happens
    if len(content) > MAX_FILE_SIZE:
        raise too_large(option, path, f"the new content of {option} {path}")
    if check_mode:
        state = read_regular(path, option)
        return decide(state, content, mode=mode, uid=uid, gid=gid, expected=expected_checksum, option=option)[0]._replace(previous=state)
    with kubeconfig_lock(path, lock_timeout):
        state = read_regular(path, option)
        result, wanted_mode, new_uid, new_gid = decide(state, content, mode=mode, uid=uid, gid=gid, expected=expected_checksum, option=option)
        if not result.changed or result.conflict:
            return result._replace(previous=state)
        keep_backup = backup and state.exists and state.content != content
        new_state, backup_file = _replace(path, content, mode=wanted_mode, uid=new_uid, gid=new_gid, old=state if keep_backup else None)
        if release_delay > 0:
            time.sleep(release_delay)
        return WriteResult(True, False, backup_file, new_state, state)


def check_expected_checksum(value: t.Optional[str], option: str = "expected_checksum") -> t.Optional[str]:
    """A sha256 hex digest (lower case) or ABSENT, as written; None stays None (no compare-and-swap)."""
    if value is None:
        return None
    text = check_text(str(value), option).lower()
    if text != ABSENT and not _CHECKSUM_RE.fullmatch(text):
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


def decide(
    state: FileState,
    content: bytes,
    *,
    mode: t.Union[int, str, None],
    uid: t.Optional[int],
    gid: t.Optional[int],
    expected: t.Optional[str],
    option: str = "dest",
) -> t.Tuple[WriteResult, int, int, int]:
    """Whether writing content over state changes anything: (result, mode, uid, gid to write).
    Raises UcsValidationError for a file owned by another user (check_owner)."""
    new_uid, new_gid = _new_owner(state, uid, gid)
    if state.exists:
        check_owner(state.path, t.cast(int, state.uid), new_uid, option)
    if expected is not None and (state.checksum or ABSENT) != expected:
        return WriteResult(False, True, None, state), 0, new_uid, new_gid
    wanted_mode = parse_mode(mode, "mode", base=state.mode if state.exists else DEFAULT_MODE)
    same = state.exists and state.content == content and not attribute_drift(state, wanted_mode, new_uid, new_gid)
    return WriteResult(not same, False, None, state), wanted_mode, new_uid, new_gid


def _replace(path: str, content: bytes, *, mode: int, uid: int, gid: int, old: t.Optional[FileState]) -> t.Tuple[FileState, t.Optional[str]]:
    """Write a new file beside path and rename it over path; with old, back up its content first.

    Any failure removes what was created (the temporary file holds the key; a backup that is not
    reported would be an orphan copy of the old one), and its error names the cause.
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
            write_all(fd, content)
            os.fsync(fd)
            written = os.fstat(fd)
        finally:
            os.close(fd)
        if old is not None:
            backup_file = _backup(directory, base, old, (uid, gid), created)
        os.rename(tmp_path, path)
        done = True
    except OSError as exc:
        hint = _obstacle(path) if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS) else ""
        raise UcsError(f"cannot write {path}: {cause(exc)}{hint}; it was left as it was") from None
    finally:
        if not done:
            for name in created:
                with contextlib.suppress(OSError):
                    os.unlink(name)
    _fsync_directory(directory)
    return _existing(path, content, written), backup_file


def _backup(directory: str, base: str, old: FileState, owner: t.Tuple[int, int], created: t.List[str]) -> str:
    """Keep ``old``'s content in "<path>.<time>.<random>~", 0600, created exclusively (in ``created``)."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S")
    fd, name = _create_exclusive(directory, lambda: f"{base}.{stamp}.{secrets.token_hex(8)}~")
    created.append(name)
    try:
        if (os.fstat(fd).st_uid, os.fstat(fd).st_gid) != owner:
            os.fchown(fd, *owner)
        write_all(fd, t.cast(bytes, old.content))
        os.fsync(fd)
    finally:
        os.close(fd)
    return name


def remove_file(
    path: str, *, expected_checksum: t.Optional[str] = None, backup: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, option: str = "dest"
) -> WriteResult:
    """Remove path under kubectl's lock, only if it still has expected_checksum (compare and swap,
    as write_file: a conflict returns the fresh state); with backup, keep its content first. A
    path owned by another user than the running one is refused, as for a write."""
    expected_checksum = check_expected_checksum(expected_checksum)
    with kubeconfig_lock(path, lock_timeout):
        state = read_regular(path, option)
        if expected_checksum is not None and (state.checksum or ABSENT) != expected_checksum:
            return WriteResult(False, True, None, state, state)
        if not state.exists:
            return WriteResult(False, False, None, state, state)
        check_owner(path, t.cast(int, state.uid), None, option)
        directory, created = os.path.dirname(path) or ".", []  # type: t.Tuple[str, t.List[str]]
        try:
            backup_file = _backup(directory, os.path.basename(path), state, (os.geteuid(), t.cast(int, state.gid)), created) if backup else None
            os.unlink(path)
        except OSError as exc:
            for name in created:
                with contextlib.suppress(OSError):
                    os.unlink(name)
            raise UcsError(f"cannot remove {path}: {cause(exc)}; it was left as it was") from None
        _fsync_directory(directory)
        return WriteResult(True, False, backup_file, absent_state(path), state)
