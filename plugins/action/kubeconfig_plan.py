# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decide, for one host, what its kubeconfig needs (the first step of the role ucs_kubeconfig).

Runs in the host's forked worker: reads the file on the target with kubeconfig_file_info (one
round trip; ``~`` is resolved there, once, from the HOME of the target process, and the mode,
owner and group are compared there) and decides on the controller. The result holds no key
material, so the task needs no no_log.
"""

import base64
import binascii
import datetime
import hashlib
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import check_entries, format_time
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._ucs_kubeconfig import PREFIX, Settings, read_settings

READ_MODULE = "ucs_cloud.fleet.kubeconfig_file_info"


def _now() -> datetime.datetime:
    # A function of its own so that tests can move the clock.
    return datetime.datetime.now(datetime.timezone.utc)


def read_args(settings: Settings) -> t.Dict[str, t.Any]:
    """The options of kubeconfig_file_info: the path, and the attributes it reports the drift from."""
    args = {"path": settings.path, "mode": f"{settings.mode:04o}"}  # type: t.Dict[str, t.Any]
    if settings.owner is not None:
        args["owner"] = settings.owner
    if settings.group is not None:
        args["group"] = settings.group
    return args


def decide(settings: Settings, state: t.Mapping[str, t.Any], now: datetime.datetime) -> t.Dict[str, t.Any]:
    """The plan of one host from its checked settings and what kubeconfig_file_info read."""
    content = None
    if state.get("exists"):
        try:
            content = base64.b64decode(state.get("content") or "", validate=True)
        except (binascii.Error, ValueError):
            return {"failed": True, "msg": f"{READ_MODULE} returned content that is not base64"}
    verdict = check_entries(content, settings.wanted, now)
    if verdict.blocker is not None and not settings.standalone:
        return {
            "failed": True,
            "msg": f"{state['path']}: the existing kubeconfig is not usable ({verdict.blocker}); set {PREFIX}standalone=true to replace it, or fix the file",
        }
    # kubeconfig_file_info compared mode, owner and group on the target (read_args), by the rule
    # kubeconfig_file writes by: owner and group names exist there, not here.
    drift = list(state.get("drift") or []) if content is not None else []
    reasons = ([verdict.reason] if verdict.reason else []) + drift
    return {
        "changed": False,
        "path": state["path"],
        "fleet": settings.fleet,
        "needs_write": bool(reasons),
        "needs_fetch": bool(verdict.reason) and verdict.fetch,
        "needs_entries": verdict.reason is not None,
        "reason": "; ".join(reasons) or None,
        "not_after": format_time(verdict.info.not_after) if verdict.info and verdict.info.not_after else None,
        "exists": content is not None,
        "checksum": hashlib.sha256(content).hexdigest() if content is not None else None,
        "settings": settings.public(),
        "fetch_args": settings.fetch_args,
        "msg": "; ".join(reasons) if reasons else "the kubeconfig is right",
    }


class ActionModule(ActionBase):
    """kubeconfig_plan: read this host's kubeconfig and say what it needs."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _variable(self, task_vars: t.Mapping[str, t.Any], name: str) -> t.Any:
        # Role defaults hold templates ("ucs-fleet-{{ ucs_kubeconfig_fleet_id }}").
        return self._templar.template(task_vars[name]) if name in task_vars else None

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "?")
        if self._task.args:
            return dict(result, failed=True, msg=f"kubeconfig_plan takes no options; it reads the role's {PREFIX}* variables")
        settings, errors = read_settings(lambda name: self._variable(task_vars, name))
        if settings is None:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: " + "; ".join(errors))
        try:
            state = self._execute_module(READ_MODULE, module_args=read_args(settings), task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if state.get("failed") or "path" not in state:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: {state.get('msg') or 'cannot read ' + settings.path}")
        plan = decide(settings, state, _now())
        plan["host"] = host
        if plan.get("failed"):
            plan["msg"] = f"ucs_kubeconfig on {host}: {plan['msg']}"
        result.update(plan)
        return result
