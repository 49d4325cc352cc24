#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: kubeconfig_file
short_description: Write a kubeconfig file safely, under kubectl's lock, only if it did not change meanwhile
version_added: 0.2.0
description:
  - Replaces a kubeconfig file with new content, mode, owner and group, atomically, the way the
    P(ucs_cloud.fleet.ucs_kubeconfig#role) role installs a fleet's kubeconfig. The write side of
    M(ucs_cloud.fleet.kubeconfig_file_info).
  - Takes kubectl's lock of the file (C(<path>.lock), created exclusively, removed after the
    write), so that it never interleaves with C(kubectl config) or another run of this module, and
    reads the file again under the lock. Our lock file is never empty (it holds the process and
    host that made it); kubectl's is empty with mode V(0000) and is waited for. A lock of ours
    whose process is gone, or an empty one that is not kubectl's (left by a failed run of an
    earlier release), is broken at once.
  - With O(expected_checksum), writes only if the file still has that checksum (compare and
    swap). Otherwise nothing is written, RV(conflict) is true and RV(content) holds the file as it
    is now, so that the caller merges its entries into it again.
  - The file is only ever a regular file. A O(path) that is a symbolic link, a device, a FIFO, a
    socket or a directory is refused, never followed. The new file is created beside O(path)
    (a new inode), given its owner and mode through its descriptor, then renamed over O(path).
  - An existing O(path) owned by another user than the one who would own the new file (O(owner),
    else the user the module runs as) is refused. Its content may have been planted there by that
    user (in a sticky directory such as C(/tmp)), and replacing it would take it away from them.
    Set O(owner) to that user to replace it for them.
  - Creates the directory of O(path) when it is missing, with O(dir_mode), O(owner) and
    O(group), as kubectl creates C(~/.kube).
  - Before it creates anything, refuses a write that would fail, naming the cause, by the rules
    of RV(ucs_cloud.fleet.kubeconfig_file_info#module:write_blocker) (with the exact size of
    O(content)). A write that still fails names the cause (for example C(no space left on
    device)) and leaves the file, and no lock or temporary file, behind.
  - Content larger than 32 MiB is refused, because no later run could read it.
  - Needs only the Python standard library on the target.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the file and predicts RV(changed) and RV(conflict); creates nothing, not even the lock file.
  diff_mode:
    support: full
    details: Shows the checksum, mode, owner and group before and after; never the content.
  platform:
    platforms: posix
options:
  path:
    description:
      - The kubeconfig file on the target. C(~) is the home of the connecting (or become) user.
    type: path
    required: true
    aliases: [dest]
  content:
    description:
      - The whole kubeconfig to write (YAML text). It holds key material and is never logged.
      - Required with O(state=present).
    type: str
  state:
    description:
      - V(present) writes O(content); V(absent) removes the file under the same lock (with
        O(expected_checksum), only if it still has that checksum), keeping a copy with
        O(backup=true).
    type: str
    choices: [present, absent]
    default: present
  expected_checksum:
    description:
      - SHA-256 (hex) of the file that O(content) was built from, as RV(ucs_cloud.fleet.kubeconfig_file_info#module:checksum)
        returned it, or V(absent) when there was no file.
      - When O(path) no longer matches, nothing is written and RV(conflict) is true.
      - Not set, the file is replaced whatever it holds now.
    type: str
  mode:
    description:
      - Permissions of the file, as a quoted octal string (V('0600')) or a symbolic mode
        (V(u=rw,go=)), applied to the existing file's mode, or V(0600) for a new file.
      - An integer that does not read as the octal meant is refused, with the advice to quote it.
        YAML reads C(mode=600) as the decimal 600, which is the mode V(01130).
      - A mode that gives the group or other users any access is written, with a warning
        (unless O(warn_loose_mode=false)).
    type: raw
    default: "0600"
  warn_loose_mode:
    description:
      - Warn when O(mode) gives the group or other users any access to the file.
      - The C(ucs_cloud.fleet.ucs_kubeconfig) role sets V(false) when it writes, since it has warned
        already, in its plan and naming its own variable. From ansible-core 2.21 on, the warnings
        of a module that an action plugin runs reach the job output whatever the plugin returns,
        so the role could not replace this one with its own.
    type: bool
    default: true
  owner:
    description:
      - Name or number of the user who owns the file. Checked before anything is written.
      - Not set, the user the module runs as.
    type: str
  group:
    description:
      - Name or number of the group of the file. Checked before anything is written.
      - Not set, the existing file's group (when the user may keep it), else the user's group.
    type: str
  backup:
    description:
      - When the content changes, keep the previous file as C(<path>.<time>.<random>~), mode
        V(0600), created exclusively under an unpredictable name.
    type: bool
    default: false
  dir_mode:
    description:
      - Permissions of the directories created for O(path), as O(mode) takes them.
    type: raw
    default: "0700"
  lock_timeout:
    description:
      - Seconds to wait for the lock file held by another writer. After that the module fails,
        naming the lock file and what to do if it is stale (left by a killed process).
      - A lock that is already older than this when the module starts, and is not a stale lock
        of ours, is refused at once.
    type: float
    default: 30
notes:
  - Register the result with C(no_log=true) when O(expected_checksum) is set. On a conflict,
    RV(content) holds the file's key material.
seealso:
  - module: ucs_cloud.fleet.kubeconfig_file_info
  - module: ansible.builtin.copy
  - name: kubectl's lock file (client-go clientcmd)
    description: kubectl creates C(<file>.lock) exclusively before it writes a kubeconfig.
    link: https://github.com/kubernetes/client-go/blob/master/tools/clientcmd/loader.go
"""

EXAMPLES = r"""
---
- name: Read the kubeconfig of the connecting user
  ucs_cloud.fleet.kubeconfig_file_info:
    path: ~/.kube/config
  register: current
  no_log: true

- name: Write the merged kubeconfig, unless it changed since it was read
  ucs_cloud.fleet.kubeconfig_file:
    path: ~/.kube/config
    content: "{{ merged_kubeconfig }}"
    expected_checksum: "{{ current.checksum | default('absent') }}"
    mode: "0600"
    backup: true
  register: written
  no_log: true

- name: Install a standalone kubeconfig for another user
  ucs_cloud.fleet.kubeconfig_file:
    path: /home/ops/.kube/ucs-fleet.yaml
    content: "{{ fleet_kubeconfig }}"
    owner: ops
    group: ops
    mode: u=rw,go=
  become: true
"""

RETURN = r"""
path:
  description: The file, absolute, with C(~) expanded.
  returned: always
  type: str
  sample: /home/ops/.kube/config
changed:
  description: Whether the file was (in check mode, would be) written.
  returned: always
  type: bool
conflict:
  description:
    - Whether the file no longer had O(expected_checksum); then nothing was written and
      RV(content) holds the file as it is now.
  returned: always
  type: bool
  sample: false
checksum:
  description: SHA-256 of the file's content now (in check mode, of O(content) when it would be written); null when there is no file.
  returned: always
  type: str
  sample: 0b5e2c9c1bcf4b7e7a8f4c6a3f5d2e1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e
mode:
  description: Permissions of the file now, as a four-digit octal string; null when there is no file.
  returned: always
  type: str
  sample: "0600"
owner:
  description: Owner of the file now (name, or the number when it has no name); null when there is no file.
  returned: always
  type: str
  sample: ops
group:
  description: Group of the file now (name, or the number when it has no name); null when there is no file.
  returned: always
  type: str
  sample: ops
uid:
  description: Numeric owner of the file now.
  returned: when the file exists
  type: int
  sample: 1000
gid:
  description: Numeric group of the file now.
  returned: when the file exists
  type: int
  sample: 1000
size:
  description: Size of the file now, in bytes.
  returned: when the file exists
  type: int
  sample: 5523
state:
  description: V(file) when the file exists now, V(absent) when not (check mode, or a conflict on a missing file).
  returned: always
  type: str
  sample: file
backup_file:
  description: The backup of the previous content.
  returned: when O(backup=true) and the content changed
  type: str
  sample: /home/ops/.kube/config.2026-12-01@02:00:00.9f86d081884c7d65~
content:
  description: The file as it is now, base64-encoded. Holds key material.
  returned: when RV(conflict) is true and the file exists
  type: str
  sample: YXBpVmVyc2lvbjogdjEK
"""

import base64
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _file_options as file_options
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError


def argument_spec() -> dict:
    return {
        "path": {"type": "path", "required": True, "aliases": ["dest"]},
        "content": {"type": "str", "no_log": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "expected_checksum": {"type": "str"},
        "mode": {"type": "raw", "default": "0600"},
        "warn_loose_mode": {"type": "bool", "default": True},
        "owner": {"type": "str"},
        "group": {"type": "str"},
        "backup": {"type": "bool", "default": False},
        "dir_mode": {"type": "raw", "default": "0700"},
        "lock_timeout": {"type": "float", "default": 30.0},
    }


def _view(state: "files.FileState") -> dict:
    """What the result and the diff say about a file: never its content."""
    if not state.exists:
        return {"checksum": None, "mode": None, "owner": None, "group": None}
    return {"checksum": state.checksum, **files.attributes(state)}


def run(module: AnsibleModule) -> dict:
    params = module.params
    # Every check before anything is created.
    uid = file_options.resolve_owner(params["owner"])
    gid = file_options.resolve_group(params["group"])
    path = file_options.check_dest(params["path"], "path", uid=uid, create_parent=True)
    mode = params["mode"]
    dir_mode = file_options.parse_mode(params["dir_mode"], "dir_mode", base=0o700, directory=True)
    warning = file_options.loose_mode_warning(file_options.parse_mode(mode))
    if warning and params["warn_loose_mode"]:
        module.warn(warning)
    expected = files.check_expected_checksum(params["expected_checksum"])
    content = params["content"].encode("utf-8")
    if len(content) > files.MAX_FILE_SIZE:
        raise files.too_large("content", path, f"content for {path}")

    result = {"path": path, "changed": False, "conflict": False}
    try:
        # What would make the write fail (flags, space, a stuck lock), said before anything is created.
        files.check_write(path, uid, gid, option="path", backup=params["backup"], size=len(content), lock_timeout=params["lock_timeout"])
    except UcsError:
        # Only a write that is due may fail so: the file is read here only on this path, since the
        # caller read it once to plan and write_file reads it once more, under the lock.
        if files.decide(files.read_regular(path, "path"), content, mode=mode, uid=uid, gid=gid, expected=expected, option="path")[0].changed:
            raise
    created = False
    if not module.check_mode:
        created = files.make_directories(path, dir_mode, uid, gid)
    # The file is read once, under the lock (the caller read it once to plan).
    written = files.write_file(
        path,
        content,
        mode=mode,
        owner=uid,
        group=gid,
        backup=params["backup"],
        expected_checksum=expected,
        check_mode=module.check_mode,
        lock_timeout=params["lock_timeout"],
        option="path",
    )
    before = t.cast(files.FileState, written.previous)
    result["changed"] = written.changed or created
    result["conflict"] = written.conflict
    state = written.state
    if module.check_mode and written.changed:
        predicted = file_options.parse_mode(mode, base=state.mode if state.exists else file_options.DEFAULT_MODE)
        after = dict(_view(state), checksum=files.checksum_of(content), mode=f"{predicted:04o}")
    else:
        after = _view(state)
    result.update(after)
    if written.backup_file:
        result["backup_file"] = written.backup_file
    if written.conflict and state.exists:
        result["content"] = base64.b64encode(state.content or b"").decode("ascii")
    if module._diff:
        result["diff"] = {"before": _view(before), "after": after, "before_header": path, "after_header": path}
    return result


def remove(module: AnsibleModule) -> dict:
    """state=absent: remove the file if it still has expected_checksum."""
    params = module.params
    path = file_options.check_dest(params["path"], "path")
    expected = files.check_expected_checksum(params["expected_checksum"])
    if module.check_mode:
        before = files.read_regular(path, "path")
        conflict = expected is not None and (before.checksum or files.ABSENT) != expected
        after = before if conflict or not before.exists else files.absent_state(path)
        written = files.WriteResult(before.exists and not conflict, conflict, None, after, before)
    else:
        written = files.remove_file(path, expected_checksum=expected, backup=params["backup"], lock_timeout=params["lock_timeout"], option="path")
    state = written.state
    result = {"path": path, "changed": written.changed, "conflict": written.conflict, **_view(state)}
    if written.backup_file:
        result["backup_file"] = written.backup_file
    if written.conflict and state.exists:
        result["content"] = base64.b64encode(state.content or b"").decode("ascii")
    if module._diff:
        result["diff"] = {"before": _view(written.previous or state), "after": _view(state), "before_header": path, "after_header": path}
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, required_if=[("state", "present", ["content"])])
    try:
        result = remove(module) if module.params["state"] == "absent" else run(module)
    except UcsError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
