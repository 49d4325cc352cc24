# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Decide, for one host, what its kubeconfig needs (the first step of the role ucs_kubeconfig).

Runs in the host's forked worker: reads the file on the target with kubeconfig_file_info (one
round trip; ``~`` is resolved there, from the HOME of the target process, and the mode, owner
and group are compared there) and decides on the controller with the module's planner.

A host whose file must be written carries the file's content to the write step, so that the
file is read twice in all (here, and under the lock when it is written); that result holds key
material and is no_log. Every other result holds none.
"""

import datetime
import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import role_variable
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._role import (
    RoleSettings,
    failure,
    left_alone,
    read_variables,
    relabel,
    unknown_variables,
    unshared_strategy,
    write_will_run,
)
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._target_file import READ_MODULE, read_args, target_file

display = Display()


def _now() -> datetime.datetime:
    # A function of its own so that tests can move the clock.
    return datetime.datetime.now(datetime.timezone.utc)


def decide(role: RoleSettings, state: t.Mapping[str, t.Any], now: datetime.datetime, writes: bool = True) -> t.Dict[str, t.Any]:
    """The plan of one host from its settings and what kubeconfig_file_info read; raises UcsError.

    ``writes`` false: the write step will not run (tags), so nothing is downloaded either.
    """
    settings, found = role.settings, target_file(state)
    path, content, before = found.path, found.content, found.attributes
    plan = found.plan(settings, now, role_variable)
    if plan.write and writes and state.get("write_blocker"):
        # Refused before any download, with the message the module gives: a certificate only for
        # a write that can happen.
        raise UcsError(relabel(str(state["write_blocker"])))
    written_info = None
    if plan.entries and not plan.fetch:
        # A rewrite from the file's own entries is predicted exactly, as the module predicts it.
        rewritten = planner.content_to_write(content, None, True, settings, path=path, label=role_variable)
        written_info = planner.after_info(rewritten, settings, now)
    predicted = planner.predicted_attributes(settings, before, found.mode)
    result = {
        "changed": False,
        "path": path,
        "fleet": settings.fleet,
        "needs_write": plan.write and writes,
        "needs_fetch": plan.fetch and writes,
        "needs_entries": plan.entries,
        "reason": plan.reason,
        "not_after": plan.not_after,
        "exists": content is not None,
        "checksum": state.get("checksum"),
        "notes": plan.warnings,
        "diff": planner.diff(plan, settings, before, predicted, written_info, header=path),
        "fetch_args": role.fetch_args(),
        "msg": plan.reason or "the kubeconfig is right",
    }  # type: t.Dict[str, t.Any]
    if plan.write and not writes:
        result["msg"] = f"not written, the tags of this run leave out the write step ({plan.reason})"
    elif plan.write and content is not None:
        # The write needs the file as it was read; it holds keys, so this result is no_log.
        result.update(content=state["content"], _ansible_no_log=True)
    return result


class ActionModule(ActionBase):
    """kubeconfig_plan: read this host's kubeconfig and say what it needs."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _variable(self, task_vars: t.Mapping[str, t.Any], name: str) -> t.Any:
        # Role defaults and inventories may hold templates.
        return self._templar.template(task_vars[name]) if name in task_vars else None

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "?")
        if self._task.args:
            return dict(result, failed=True, msg=f"kubeconfig_plan takes no options; it reads the role's {role_variable('')}* variables")
        for warning in unknown_variables(task_vars):
            display.warning(warning)  # the same text for every host: Ansible shows it once
        refused = unshared_strategy(self._task.get_play().strategy)
        if refused:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: {refused}")
        try:
            role = read_variables(lambda name: self._variable(task_vars, name))
            try:
                state = self._execute_module(READ_MODULE, module_args=read_args(role.settings), task_vars=task_vars)
            finally:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            if state.get("failed") or "path" not in state:
                raise UcsError(failure(state, f"cannot read {role.settings.dest}"))
            plan = decide(role, state, _now(), write_will_run(self._task.tags, task_vars))
        except UcsError as exc:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: {exc.msg}")
        plan["host"] = host
        # A host that needs no write ends here (the role includes its write step only where it
        # writes), so this result is its report.
        result.update(plan if plan["needs_write"] else left_alone(plan))
        return result
