# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The options of a key file, checked before any API call: its path, mode, owner and group.

Standard library only, Python 3.6+: the target modules import it on the managed hosts
(kubeconfig_file directly, kubeconfig_file_info through _files, which reads and writes the file).

- check_dest(): the path names a regular file or nothing, in a writable directory, and an
  existing file belongs to the user who will own the new one (check_owner). A link is refused,
  never followed (lstat);
- resolve_owner() / resolve_group(): names or numbers to ids, refused when this user cannot give
  a file to them (owner_id() / group_id(): the lookup alone, for a reader that only compares);
- parse_mode(): an octal string or a symbolic mode as chmod reads it (computed by AnsibleModule's
  own parser); a YAML integer such as 600 (the decimal, not the octal, the user meant) is refused;
  loose_mode_warning() for a mode that gives the group or others access to the key.

Every text option is taken as written: surrounding whitespace and control characters (a trailing
newline from a YAML block scalar, a NUL) are refused naming the option, never stripped, and every
pattern must match the whole text (fullmatch).
"""

import fcntl
import grp
import os
import platform
import pwd
import re
import stat
import struct
import sys
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

# Key material is for the owner only unless the user says otherwise.
DEFAULT_MODE = 0o600

_OCTAL_MODE_RE = re.compile(r"(0o|0)?[0-7]{1,4}")
# chmod's grammar, checked before AnsibleModule computes the mode: Ansible's parser alone takes
# "u" (no operator) and an empty clause ("u=rw,") as "change nothing".
_SYMBOLIC_CLAUSE = r"[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+"
_SYMBOLIC_MODE_RE = re.compile(f"{_SYMBOLIC_CLAUSE}(?:,{_SYMBOLIC_CLAUSE})*")
_NUMBER_RE = re.compile(r"[0-9]+")
# C0 and C1 control characters and DEL: never part of a path, a name or a mode.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Inode flags (linux/fs.h) that make a rename over a file, or in a directory, fail even for root.
FS_IMMUTABLE_FL = 0x10
FS_APPEND_FL = 0x20


def _ioc_read(kind: int, number: int, size: int) -> int:
    """The number of a Linux _IOR ioctl: the direction bits sit higher on these architectures."""
    if platform.machine().lower().startswith(("ppc", "powerpc", "mips", "sparc", "alpha")):
        return (2 << 29) | (size << 16) | (kind << 8) | number
    return (2 << 30) | (size << 16) | (kind << 8) | number


# access() as the effective user (faccessat AT_EACCESS) where the system offers it.
_EFFECTIVE_IDS = os.access in os.supports_effective_ids
# FS_IOC_GETFLAGS is _IOR('f', 1, long); the kernel stores an int at the start of the buffer.
_FS_IOC_GETFLAGS = _ioc_read(ord("f"), 1, struct.calcsize("l"))


def check_text(value: str, option: str) -> str:
    """value as written, or UcsValidationError when it has surrounding whitespace or a control
    character: stripping would hide a typo (or a trailing newline) that the user must see."""
    if _CONTROL_RE.search(value):
        raise UcsValidationError(f"{option} {_shown(value)} contains a control character (a newline, a tab, a NUL ...)", option=option)
    if value != value.strip():
        raise UcsValidationError(f"{option} {_shown(value)} starts or ends with whitespace; write it without", option=option)
    return value


def _shown(value: str) -> str:
    """A value (never a secret here: a path, a name or a mode) quoted on one line, bounded."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# --- Early checks --------------------------------------------------------------------------------


def describe_kind(st_mode: int) -> str:
    """'a symbolic link', 'a FIFO (named pipe)' ... for messages."""
    for test, kind in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(st_mode):
            return kind
    return "not a regular file"


def not_regular(option: str, path: str, st_mode: int) -> UcsValidationError:
    """The error for a path that is not a regular file (check_dest here, read_regular in _files)."""
    return UcsValidationError(
        f"{option} {path} is {describe_kind(st_mode)}; it must be a regular file or absent: "
        "a file that holds a private key is never written through a link or into a special file",
        option=option,
    )


def cause(exc: OSError) -> str:
    """The reason of a failed system call in the words of a sentence ("no space left on device")."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def user_name(uid: int) -> str:
    """'name (uid N)' for messages, 'uid N' for a uid without a name."""
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_dest(path: t.Any, option: str = "dest", *, uid: t.Optional[int] = None, create_parent: bool = False) -> str:
    """Check a key file's path before any API call; return it absolute and normalised.

    Refuses an empty path, a path ending in '/', a '..' through a directory that does not exist,
    a parent that is missing (unless create_parent: then its nearest existing ancestor must be a
    writable directory), not a directory or not writable, and an existing dest that is not a
    regular file (lstat: a link is refused, not followed) or is owned by another user than uid
    (default: the running user; see check_owner). Raises UcsValidationError naming the option.
    """
    result = _absolute_path(path, option)
    parent = os.path.dirname(result)
    if not os.path.isdir(parent):
        _check_missing_parent(path, parent, option, create_parent)
        return result
    # Replacing a file atomically means creating a temporary file and the lock file beside it.
    problem = directory_problem(parent)
    if problem:
        raise UcsValidationError(f"{option} {path}: the directory {parent} {problem}", option=option)
    try:
        found = os.lstat(result)
    except FileNotFoundError:
        return result
    except OSError as exc:
        raise UcsValidationError(f"{option} {path}: cannot look at it: {exc.strerror}", option=option) from None
    if not stat.S_ISREG(found.st_mode):
        raise not_regular(option, result, found.st_mode)
    check_owner(result, found.st_uid, uid, option)
    return result


def inode_flags(path: str, directory: bool = False) -> t.Optional[int]:
    """The inode flags of path (chattr/lsattr), None where the system or the filesystem does not
    report them. Opened without following a link and without blocking; never a special file."""
    if not sys.platform.startswith("linux"):
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        opened = os.fstat(fd)
        if not (stat.S_ISDIR(opened.st_mode) if directory else stat.S_ISREG(opened.st_mode)):
            return None
        answer = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(struct.calcsize("l")))
        return int(struct.unpack_from("i", answer)[0])
    except OSError:
        return None
    finally:
        os.close(fd)


def directory_problem(directory: str) -> t.Optional[str]:
    """Why this process cannot create, rename and remove files in directory (the end of a
    sentence that starts with the directory), or None. As the effective user (the become user;
    access() alone asks about the real one)."""
    flags = inode_flags(directory, directory=True) or 0
    if flags & FS_IMMUTABLE_FL:
        return "is immutable (chattr +i): nothing can be created in it; remove the flag with chattr -i"
    if flags & FS_APPEND_FL:
        return "is append-only (chattr +a): files can be added to it but never renamed or removed, and a kubeconfig is replaced by a rename"
    if os.access(directory, os.W_OK | os.X_OK, effective_ids=_EFFECTIVE_IDS):
        return None
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "is on a read-only file system"
    except OSError:
        pass
    return "is not writable"


def _absolute_path(path: t.Any, option: str) -> str:
    if not isinstance(path, str) or not path.strip():
        raise UcsValidationError(f"{option} must not be empty: name the file to write", option=option)
    check_text(path, option)
    raw = os.path.expanduser(path)
    if raw.endswith("/"):
        raise UcsValidationError(f"{option} {path} ends with '/': name a file, not a directory", option=option)
    raw = os.path.join(os.getcwd(), raw)
    name = os.path.basename(raw)
    if name in (".", ".."):
        raise UcsValidationError(f"{option} {path} names a directory ('{name}'): name a file", option=option)
    parts = raw.split("/")
    if ".." not in parts:
        return os.path.normpath(raw)
    # The kernel resolves 'a/missing/..' only if a/missing exists; os.path.normpath would not care.
    for index, part in enumerate(parts):
        if part == ".." and not os.path.isdir("/".join(parts[:index]) or "/"):
            missing = "/".join(parts[:index])
            raise UcsValidationError(f"{option} {path} goes through '..' after {missing}, which is not an existing directory", option=option)
    # Resolved as the kernel does: a link is followed before its '..'.
    return os.path.join(os.path.realpath(os.path.dirname(raw)), name)


def _check_missing_parent(path: str, parent: str, option: str, create_parent: bool) -> None:
    if os.path.lexists(parent):
        raise UcsValidationError(f"{option} {path}: {parent} is not a directory", option=option)
    if not create_parent:
        raise UcsValidationError(f"{option} {path}: the directory {parent} does not exist", option=option)
    ancestor = parent
    while not os.path.lexists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise UcsValidationError(f"{option} {path}: {ancestor} is not a directory", option=option)
    problem = directory_problem(ancestor)
    if problem:
        raise UcsValidationError(f"{option} {path}: cannot create {parent}, {ancestor} {problem}", option=option)


def check_owner(path: str, file_uid: int, uid: t.Optional[int], option: str = "dest") -> None:
    """Refuse an existing dest owned by another user than the one who will own the new file.

    Such a file may have been planted (in a sticky directory such as /tmp, say), and its content
    must not be merged into or backed up as ours; replacing it would also take the file away from
    its owner. The user decides: set owner to that user, or remove the file.
    """
    wanted = os.geteuid() if uid is None else uid
    if file_uid != wanted:
        raise UcsValidationError(
            f"{option} {path} is owned by {user_name(file_uid)}, not by {user_name(wanted)}, who would own the new file: "
            f"its content cannot be trusted and replacing it would take it from its owner. "
            f"Set owner to {user_name(file_uid).split(' ')[0]} if that user should own the kubeconfig, or remove the file",
            option=option,
        )


def owner_id(owner: t.Any, option: str = "owner") -> t.Optional[int]:
    """The uid of owner (a name, a numeric string or an int), None when unset; unknown names and
    empty strings are refused. Only a lookup: whether this user may give a file to it is
    resolve_owner's rule (a reader such as kubeconfig_file_info only compares)."""
    return _resolve_id(owner, option, pwd.getpwnam, "user")


def group_id(group: t.Any, option: str = "group") -> t.Optional[int]:
    """The gid of group, None when unset; see owner_id."""
    return _resolve_id(group, option, grp.getgrnam, "group")


def resolve_owner(owner: t.Any, option: str = "owner") -> t.Optional[int]:
    """The uid of owner (a name, a numeric string or an int), None when unset.

    Unknown names, empty strings, and (when not running as root) another user than the running
    one are refused before any API call.
    """
    uid = owner_id(owner, option)
    if uid is not None and os.geteuid() != 0 and uid != os.geteuid():
        raise UcsValidationError(f"{option} {owner}: only root can give a file to another user; this runs as {user_name(os.geteuid())}", option=option)
    return uid


def resolve_group(group: t.Any, option: str = "group") -> t.Optional[int]:
    """The gid of group (a name, a numeric string or an int), None when unset; see resolve_owner."""
    gid = group_id(group, option)
    if gid is not None and os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise UcsValidationError(f"{option} {group}: this user ({user_name(os.geteuid())}) is not a member of it and cannot give a file to it", option=option)
    return gid


def _resolve_id(value: t.Any, option: str, lookup: t.Callable[[str], t.Any], kind: str) -> t.Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise UcsValidationError(f"{option} must be a {kind} name or number, not a boolean", option=option)
    if isinstance(value, int):
        number = value
    else:
        text = str(value)
        if not text.strip():
            raise UcsValidationError(f"{option} must not be empty: leave it unset to keep the running {kind}", option=option)
        check_text(text, option)
        # ASCII digits only: str.isdigit() and int() also take other scripts' digits.
        if not _NUMBER_RE.fullmatch(text):
            try:
                return int(lookup(text)[2])
            except KeyError:
                raise UcsValidationError(f"{option} {text!r}: no such {kind} on this host", option=option) from None
        number = int(text)
    if number < 0:
        raise UcsValidationError(f"{option} {value}: not a valid {kind} number", option=option)
    return number


# --- Modes ---------------------------------------------------------------------------------------


def _sensible(mode: int) -> bool:
    """Whether an integer reads as a permission someone meant: nothing above 0777, no class with
    write but no read, no class with more than the one before it (ansible-lint's risky-octal)."""
    if not 0 <= mode <= 0o777:
        return False
    user, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
    for perms in (user, group, other):
        if perms & 2 and not perms & 4:
            return False
    return other <= group <= user


class _ModeOf(t.NamedTuple):
    """The one attribute of an os.stat_result that AnsibleModule's symbolic-mode parser reads."""

    st_mode: int


def parse_mode(value: t.Any, option: str = "mode", base: t.Optional[int] = None, directory: bool = False) -> int:
    """The permission bits a mode option means. None means DEFAULT_MODE (0600).

    Accepts an octal string ('0600', '600', '0o600'), a symbolic mode as chmod and Ansible read it
    ('u=rw,go=', applied to base, default 0600; 'X' counts base's execute bits, or always for a
    directory), and an integer only when it reads as the octal the user meant: YAML reads
    `mode: 600` as the decimal 600, which is 01130, so such a value is refused with the advice to
    quote it. A class-less clause ('+r') leaves the bits of the umask alone, as chmod does.
    """
    if value is None:
        return DEFAULT_MODE
    if isinstance(value, bool):
        raise UcsValidationError(f"{option} must be a quoted octal string such as '0600' or a symbolic mode such as 'u=rw,go=', not a boolean", option=option)
    if isinstance(value, int):
        if _sensible(value):
            return value
        digits = str(value)
        if re.fullmatch(r"[0-7]{3}", digits):
            advice = f"write {option}: '0{digits}' (quoted) for the mode {digits}"
        else:
            advice = f"write it as a quoted octal string such as {option}: '0600'"
        raise UcsValidationError(
            f"{option} {value} is an integer: YAML read it as the decimal number {value}, which is the mode 0{value:o} (octal), "
            f"surely not what was meant; {advice}",
            option=option,
        )
    text = str(value)
    if not text.strip():
        raise UcsValidationError(f"{option} must not be empty: leave it unset for '0600'", option=option)
    check_text(text, option)
    if _OCTAL_MODE_RE.fullmatch(text):
        return int(text, 8)
    start = DEFAULT_MODE if base is None else base
    try:
        if not _SYMBOLIC_MODE_RE.fullmatch(text):
            raise ValueError(text)
        kind = stat.S_IFDIR if directory else stat.S_IFREG
        return int(AnsibleModule._symbolic_mode_to_octal(_ModeOf(kind | start), text))
    except ValueError:
        raise UcsValidationError(
            f"{option} {_shown(text)} is invalid: use a quoted octal string such as '0600' or a symbolic mode such as 'u=rw,go='", option=option
        ) from None


def loose_mode_warning(mode: int, option: str = "mode") -> t.Optional[str]:
    """A warning when mode gives the group or others any access to the key file, else None."""
    who = [name for name, bits in (("its group", 0o070), ("all other users", 0o007)) if mode & bits]
    if not who:
        return None
    return f"{option} {mode:04o} gives {' and '.join(who)} access to a file that holds a private key; '0600' keeps it to its owner"
