#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kubeconfig_file_info
short_description: Read a kubeconfig file and its attributes in one round trip
version_added: 0.1.0
description:
  - Returns whether a kubeconfig file exists, its mode, owner and group, whether its directory
    exists, and its content (base64, as M(ansible.builtin.slurp) returns it).
  - One module run instead of M(ansible.builtin.stat) plus M(ansible.builtin.slurp), so that
    inspecting many hosts costs one round trip per host. The
    P(ucs_cloud.fleet.ucs_kubeconfig#role) role uses it to decide, on the controller, whether a
    host's kubeconfig must be written.
  - Fails when the path exists but is not a regular file (a directory, a symbolic link, a
    device, a FIFO, a socket), since a kubeconfig cannot be written there safely. Such a path is
    never followed or opened for reading (so a FIFO never blocks the module), and the file that
    is read is checked again through the opened descriptor.
  - RV(checksum) is what M(ucs_cloud.fleet.kubeconfig_file) takes as O(ucs_cloud.fleet.kubeconfig_file#module:expected_checksum),
    so that a write based on this content never overwrites a change made since.
  - With O(mode), O(owner) or O(group), also says in RV(drift) how the file's attributes differ
    from them, in the words M(ucs_cloud.fleet.kubeconfig_file) decides a rewrite by. Names are
    looked up on the target, where they exist.
  - With O(mode), O(owner) or O(group), also says in RV(write_blocker) whether
    M(ucs_cloud.fleet.kubeconfig_file), run by the same user (after C(become)), would fail to
    write the file, and why, so that a caller can refuse before it downloads anything (each
    download issues a client certificate that cannot be revoked).
  - Refuses a file larger than 32 MiB, naming the cap. The content travels base64-encoded in
    the result (a third larger than the file).
  - The content holds the client key of every user in the file. Register the result with
    C(no_log=true).
  - Needs only the Python standard library on the target.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description:
      - The kubeconfig file on the target. C(~) is the home of the connecting (or become) user
        (E(HOME) of the module's process).
    type: path
    required: true
  mode:
    description:
      - The permissions the file should have, compared with its own into RV(drift). Read as
        O(ucs_cloud.fleet.kubeconfig_file#module:mode) reads it, a quoted octal string
        (V('0600')) or a symbolic mode (V(u=rw,go=)) applied to the file's mode; an integer that
        does not read as the octal meant is refused, with the advice to quote it.
      - Not set, the mode is not compared.
    type: raw
  owner:
    description:
      - Name or number of the user who should own the file, compared into RV(drift).
      - A name that has no user on the target fails the module, naming the option.
      - Not set, the owner is not compared.
    type: str
  group:
    description:
      - Name or number of the group the file should have, compared into RV(drift).
      - A name that has no group on the target fails the module, naming the option.
      - Not set, the group is not compared.
    type: str
  backup:
    description:
      - Whether the write would keep a backup of the file. Counts only in the free space that
        RV(write_blocker) asks for.
    type: bool
    default: false
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.slurp
  - module: ucs_cloud.fleet.kubeconfig_file
"""

EXAMPLES = r"""
---
# mode "go-rwx" applies to the file's own mode, as kubeconfig_file applies it: the drift is then
# only the access of the group and of other users (a mode 0400 file has none).
- name: Read the kubeconfig of the connecting user, and whether others may read its keys
  ucs_cloud.fleet.kubeconfig_file_info:
    path: ~/.kube/config
    mode: go-rwx
  register: kubeconfig_file
  no_log: true

- name: Refuse a kubeconfig that other users can read
  ansible.builtin.assert:
    that: kubeconfig_file.drift | length == 0
    fail_msg: "{{ kubeconfig_file.path }}: {{ kubeconfig_file.drift | join('; ') }}; its keys are not private"
    success_msg: "{{ kubeconfig_file.path }}: {{ 'mode ' ~ kubeconfig_file.mode if kubeconfig_file.exists else 'missing' }}"
"""

RETURN = r"""
path:
  description: The path that was read, absolute, with C(~) and variables expanded.
  returned: always
  type: str
  sample: /home/ops/.kube/config
exists:
  description: Whether the file exists.
  returned: always
  type: bool
  sample: true
directory_exists:
  description: Whether the directory of RV(path) exists (so writing the file needs no new directory).
  returned: always
  type: bool
  sample: true
mode:
  description: Permission bits of the file, as a four-digit octal string.
  returned: when RV(exists) is true
  type: str
  sample: "0600"
uid:
  description: Numeric owner of the file.
  returned: when RV(exists) is true
  type: int
  sample: 1000
gid:
  description: Numeric group of the file.
  returned: when RV(exists) is true
  type: int
  sample: 1000
owner:
  description: Name of the owner, or null when the UID has no name on the target.
  returned: when RV(exists) is true
  type: str
  sample: ops
group:
  description: Name of the group, or null when the GID has no name on the target.
  returned: when RV(exists) is true
  type: str
  sample: ops
size:
  description: Size of the file in bytes.
  returned: when RV(exists) is true
  type: int
  sample: 5523
state:
  description: V(file), the type of the path read (added by Ansible from the file's attributes).
  returned: when RV(exists) is true
  type: str
  sample: file
checksum:
  description: SHA-256 of the file's content (hex).
  returned: when RV(exists) is true
  type: str
  sample: 0b5e2c9c1bcf4b7e7a8f4c6a3f5d2e1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e
content:
  description:
    - The file's bytes, base64-encoded. Holds key material.
  returned: when RV(exists) is true
  type: str
  sample: YXBpVmVyc2lvbjogdjEK
drift:
  description:
    - How the file's mode, owner and group differ from O(mode), O(owner) and O(group), one
      phrase each, the wanted value last; an empty list when they match or the file does not
      exist.
    - Not in the result when none of O(mode), O(owner) and O(group) is set.
  returned: when O(mode), O(owner) or O(group) is set
  type: list
  elements: str
  sample: ["mode 0644, not 0600", "owner root (uid 0), not ops (uid 1000)"]
write_blocker:
  description:
    - Why M(ucs_cloud.fleet.kubeconfig_file) with the same O(path), O(owner) and O(group), run by
      this user, would fail to write the file; null when nothing is known to stop it. The
      message is the one that module (and M(ucs_cloud.fleet.ucs_federation_cert) for O(path) as
      its O(ucs_cloud.fleet.ucs_federation_cert#module:dest)) fails with, naming the option.
    - "It checks, without writing anything: the owner and group (only root gives a file to
      another user or group; an existing file owned by another user than the one who would own
      the new one is refused); a directory (or, when it is missing, the nearest existing parent)
      that this user can write, not read-only, not immutable or append-only; a file that is not
      immutable or append-only (chattr +i, +a, where the file system reports inode flags); a
      lock file C(<path>.lock) that is not a stale lock of ours and is older than the 30 s a
      write waits for it; free space and inodes for the new file beside the old one (the
      existing size plus 32 KiB for the fleet's entries), its lock file and, with O(backup), the
      backup, where statvfs measures them."
  returned: when O(mode), O(owner) or O(group) is set
  type: str
  sample: "path /home/ops/.kube/config: the directory /home/ops/.kube is not writable"
"""

import base64
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _file_options as file_options
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError


def argument_spec() -> dict:
    return {
        "path": {"type": "path", "required": True},
        # No defaults: an attribute that is not given is not compared.
        "mode": {"type": "raw"},
        "owner": {"type": "str"},
        "group": {"type": "str"},
        "backup": {"type": "bool", "default": False},
    }


def run(params: dict, result: dict) -> dict:
    """Fill result with what path holds and, when attributes are wanted, their drift and what
    would stop a write; UcsError."""
    wanted = any(params[name] is not None for name in ("mode", "owner", "group"))
    # Checked before the file is read, whether it exists or not: a typo is an error either way.
    if params["mode"] is not None:
        file_options.parse_mode(params["mode"])
    uid = file_options.owner_id(params["owner"])
    gid = file_options.group_id(params["group"])
    state = files.read_regular(result["path"], "path")
    if state.exists:
        content = state.content or b""
        result.update(
            exists=True,
            mode=f"{state.mode:04o}",
            uid=state.uid,
            gid=state.gid,
            owner=state.owner,
            group=state.group,
            size=len(content),
            checksum=state.checksum,
            content=base64.b64encode(content).decode("ascii"),
        )
    if wanted:
        # A symbolic mode applies to the file's own mode, as kubeconfig_file applies it.
        mode = None if params["mode"] is None else file_options.parse_mode(params["mode"], base=state.mode if state.exists else None)
        result["drift"] = files.attribute_drift(state, mode, uid, gid)
        result["write_blocker"] = files.write_blocker(result["path"], params["owner"], params["group"], option="path", backup=params["backup"])
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    # type=path expanded ~ from this process's HOME; relative paths are made absolute here.
    path = os.path.abspath(module.params["path"])
    result = {"changed": False, "path": path, "exists": False, "directory_exists": os.path.isdir(os.path.dirname(path))}
    try:
        run(module.params, result)
    except UcsError as exc:
        module.fail_json(msg=exc.msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
