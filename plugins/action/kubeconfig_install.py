# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Write one host's kubeconfig for the role ucs_kubeconfig (the hosts whose plan needs it).

Reads the file again on the target, merges the fleet's entries into it on the controller, and
writes through kubeconfig_file: under kubectl's lock (``<path>.lock``) and only if the file still
has the checksum the merge was built from. When another writer got there first (kubectl, or the
role for another fleet in a concurrent play), the fresh file is merged again, a bounded number of
times, so that nobody's entries are lost. The result holds no key material.
"""

import base64
import binascii
import hashlib
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import render_kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._ucs_kubeconfig import PREFIX, plain_text, wanted_from

READ_MODULE = "ucs_cloud.fleet.kubeconfig_file_info"
WRITE_MODULE = "ucs_cloud.fleet.kubeconfig_file"
# Compare-and-swap rounds before giving up: each lost round means another writer succeeded.
MAX_ATTEMPTS = 5
# The tags that select the writing (--tags ucs_kubeconfig_fetch alone only checks).
WRITE_TAGS = ("all", "ucs_kubeconfig", "ucs_kubeconfig_write")


class InstallError(Exception):
    """Why this host's kubeconfig cannot be written (a message without secrets)."""


def downloaded(plan: t.Mapping[str, t.Any], fetched: t.Any) -> t.Optional[str]:
    """The fleet's kubeconfig from the fetch results; None when the plan needs no download."""
    if not plan["needs_fetch"]:
        return None
    found = next((item for item in fetched or [] if isinstance(item, dict) and item.get("fleet") == plan["fleet"]), None)
    if found is None or found.get("fetch_failed") or found.get("failed"):
        cause = (found or {}).get("msg") or "the download did not run"
        settings = plan["settings"]
        raise InstallError(f"no kubeconfig of fleet {settings['fleet_id']} for {plan['path']} ({plan['reason']}): {cause}")
    return plain_text(found.get("kubeconfig"))


def content_to_write(plan: t.Mapping[str, t.Any], existing: t.Optional[bytes], fleet: t.Optional[str]) -> str:
    """The text to write over ``existing``: merged entries, or the file as it is (attributes only)."""
    settings = plan["settings"]
    if not plan["needs_entries"]:
        if existing is None:
            raise InstallError(f"{plan['path']} was removed while the role was running; run it again")
        return existing.decode("utf-8")
    try:
        return render_kubeconfig(existing, fleet, wanted_from(settings), standalone=settings["standalone"])
    except UcsKubeconfigError as exc:
        # The fleet's own kubeconfig was checked when it was downloaded: the existing file is at fault.
        hint = f"; set {PREFIX}standalone=true to replace it, or fix the file" if existing is not None else ""
        raise InstallError(f"{plan['path']}: {exc.msg}{hint}") from None


def _decoded(data: t.Optional[str]) -> bytes:
    try:
        return base64.b64decode(data or "", validate=True)
    except (binascii.Error, ValueError):
        raise InstallError("a module returned content that is not base64") from None


class ActionModule(ActionBase):
    """kubeconfig_install: merge and write one host's kubeconfig, compare-and-swap."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _read(self, path: str, task_vars: t.Dict[str, t.Any]) -> t.Tuple[t.Optional[bytes], str]:
        state = self._execute_module(READ_MODULE, module_args={"path": path}, task_vars=task_vars)
        if state.get("failed"):
            raise InstallError(state.get("msg") or f"cannot read {path}")
        if not state.get("exists"):
            return None, "absent"
        content = _decoded(state.get("content"))
        return content, state.get("checksum") or hashlib.sha256(content).hexdigest()

    def _write(self, plan: t.Mapping[str, t.Any], fleet: t.Optional[str], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        settings, path = plan["settings"], plan["path"]
        # A file the plan saw missing needs no second read: "absent" makes the write fail with
        # a conflict (and the fresh content) if someone created it meanwhile.
        existing, checksum = self._read(path, task_vars) if plan["exists"] else (None, "absent")
        for _attempt in range(MAX_ATTEMPTS):
            args = {
                "path": path,
                "content": content_to_write(plan, existing, fleet),
                "expected_checksum": checksum,
                "mode": settings["mode"],
                "dir_mode": settings["dir_mode"],
                "backup": settings["backup"],
            }
            args.update({key: settings[key] for key in ("owner", "group") if settings[key] is not None})
            written = self._execute_module(WRITE_MODULE, module_args=args, task_vars=task_vars)
            if written.get("failed"):
                raise InstallError(written.get("msg") or f"cannot write {path}")
            if not written.get("conflict"):
                return written
            # Another writer replaced the file since it was read: merge into its version.
            existing = _decoded(written["content"]) if written.get("content") is not None else None
            checksum = written.get("checksum") or "absent"
        raise InstallError(f"{path} kept changing under other writers; {MAX_ATTEMPTS} merges lost the race")

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "?")
        plan, fetched = self._task.args.get("plan"), self._task.args.get("fetched")
        if not isinstance(plan, dict) or "settings" not in plan:
            return dict(result, failed=True, msg="kubeconfig_install needs plan: the result of ucs_cloud.fleet.kubeconfig_plan for this host")
        result.update(path=plan["path"], fleet=plan["fleet"], reason=plan["reason"], changed=False)
        if not plan["needs_write"]:
            return dict(result, msg="the kubeconfig is right")
        try:
            fleet = downloaded(plan, fetched)
            run_tags = set(task_vars.get("ansible_run_tags") or ["all"])
            if not run_tags.intersection(WRITE_TAGS):
                return dict(result, msg=f"not written (--tags without ucs_kubeconfig_write): {plan['reason']}")
            if self._task.check_mode:
                return dict(result, changed=True, msg=f"would write {plan['path']}: {plan['reason']}")
            try:
                written = self._write(plan, fleet, task_vars)
            finally:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        except InstallError as exc:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: {exc}")
        result.update(changed=bool(written.get("changed")), msg=f"wrote {plan['path']}: {plan['reason']}")
        for key in ("backup_file", "diff", "warnings"):
            if written.get(key):
                result[key] = written[key]
        return result
