# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Safe file handling for files that hold key material."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

# Key material is for the owner only unless the user says otherwise.
DEFAULT_MODE = 0o600

_OCTAL_MODE_RE = re.compile(r"^0?[0-7]{3,4}$")
_SYMBOLIC_MODE_RE = re.compile(r"^[ugoa]*[-+=]([rwxXst]*|[ugo])(,[ugoa]*[-+=]([rwxXst]*|[ugo]))*$")


def check_mode_option(mode: t.Any) -> t.Optional[int]:
    """Validate the ``mode`` option early; return it as an int when it is octal, else None.

    Raises UcsValidationError for a value AnsibleModule would only reject after the API call.
    """
    if mode is None:
        return None
    if isinstance(mode, int):
        if not 0 <= mode <= 0o7777:
            raise UcsValidationError(f"mode must be between 0000 and 07777, got {mode:o}")
        return mode
    text = str(mode)
    if _OCTAL_MODE_RE.match(text):
        return int(text, 8)
    if text == "preserve" or _SYMBOLIC_MODE_RE.match(text):
        return None
    raise UcsValidationError(f"mode {text!r} is invalid: use an octal string such as '0600' or a symbolic mode such as 'u=rw,go='")


def check_dest(dest: str) -> None:
    """Reject a dest that cannot be written, before any API call."""
    if os.path.isdir(dest):
        raise UcsValidationError(f"dest {dest} is a directory; name a file inside it")
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise UcsValidationError(f"dest {dest}: the directory {parent} does not exist")
    # Replacing a file atomically means creating a temporary file beside it.
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UcsValidationError(f"dest {dest}: the directory {parent} is not writable")
    if os.path.exists(dest) and not os.access(dest, os.R_OK):
        raise UcsValidationError(f"dest {dest} exists but is not readable")


def read_text(path: str) -> t.Optional[str]:
    """Return the file's text, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def write_atomically(module: t.Any, dest: str, content: bytes, backup: bool, final_mode: t.Optional[int]) -> t.Optional[str]:
    """Replace dest with content so that readers see the old file or the new one, never a part.

    The temporary file is created 0600 in dest's directory (same file system, so the rename is
    atomic) whatever the umask. An existing dest is tightened to the final mode first, because
    atomic_move copies the old file's permissions (and owner) onto the new one.

    Returns the backup file name, if one was made.
    """
    backup_file = None
    if os.path.exists(dest):
        if final_mode is not None and stat.S_IMODE(os.stat(dest).st_mode) != final_mode:
            os.chmod(dest, final_mode)
        if backup:
            # backup_local creates the copy with 0666 & ~umask and only then copies dest's mode
            # onto it: a tight umask keeps the old key private in between (and after a kill).
            old_umask = os.umask(0o077)
            try:
                backup_file = module.backup_local(dest)
            finally:
                os.umask(old_umask)
    fd, tmp_path = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(dest)), prefix=".ucs-kubeconfig-", suffix=".tmp")
    module.add_cleanup_file(tmp_path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise UcsValidationError(f"dest {dest}: cannot write the temporary file: {exc.strerror}") from None
    # atomic_move gives a new file 0666 & ~umask; a tight umask keeps the key private until
    # the final mode and owner are applied.
    old_umask = os.umask(0o077)
    try:
        module.atomic_move(tmp_path, dest, unsafe_writes=module.params.get("unsafe_writes", False))
    finally:
        os.umask(old_umask)
    return backup_file
