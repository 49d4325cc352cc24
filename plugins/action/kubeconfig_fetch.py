# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Download one fleet's kubeconfig for the role ucs_kubeconfig (run_once, looped per fleet).

Why an action and not ucs_federation_cert itself: a task that names an option, even one that
ends up omitted, cancels module_defaults for it. This action belongs to the action group
ucs_cloud.fleet.ucs, so module_defaults reach it as its own arguments; it then passes to the
module exactly the options that are set, highest first: the role's variables, module_defaults,
and (left to the module) the environment variables.

A download of an earlier batch (serial) or an earlier run of the role in the same play is used
again while its certificate is not due for renewal: one certificate per fleet per play. A
result that carries the key is no_log.
"""

import datetime
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import LABELS_ENV, role_variable
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import expiry_reason, parse_time
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._role import CONNECTION_OPTIONS, SECRET_OPTIONS, failure, is_set, role_secret

MODULE = "ucs_cloud.fleet.ucs_federation_cert"
ARGUMENT_SPEC = {
    "plan": {"type": "dict", "required": True},
    "hosts": {"type": "list", "elements": "str", "default": []},
    "earlier": {"type": "list", "elements": "raw", "default": []},
}

display = Display()


def reusable(plan: t.Mapping[str, t.Any], earlier: t.Iterable[t.Any], now: datetime.datetime) -> t.Optional[t.Dict[str, t.Any]]:
    """A download made earlier in the run with the same options (the fleet, its connection and
    the duration) whose certificate is not due for renewal (by the plan's renew_before, else a
    third of its lifetime), or None."""
    renew_before = plan["fetch_args"].get("renew_before")
    for item in earlier:
        if not isinstance(item, dict) or item.get("fetch_args") != plan["fetch_args"] or not item.get("kubeconfig") or item.get("failed"):
            continue
        not_before, not_after = parse_time(item.get("not_before")), parse_time(item.get("not_after"))
        if not_after is None or expiry_reason(not_before, not_after, renew_before, now) is None:
            return item
    return None


class ActionModule(ActionBase):
    """kubeconfig_fetch: ucs_federation_cert with return_content, for one fleet."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def module_args(self, plan: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
        # module_defaults arrive as this action's own arguments (the lowest layer we pass).
        args = {name: value for name, value in self._task.args.items() if name in CONNECTION_OPTIONS + SECRET_OPTIONS and is_set(value)}
        args.update(plan["fetch_args"])
        this_host = task_vars.get("inventory_hostname", "")
        for name in SECRET_OPTIONS:
            own = self._templar.template(task_vars.get(role_variable(name)))
            value = role_secret(name, own, task_vars.get("hostvars"), this_host, plan.get("host") or this_host)
            if is_set(value):
                args[name] = value
        args["return_content"] = True
        return args

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        own_args = {name: value for name, value in self._task.args.items() if name in ARGUMENT_SPEC}
        checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate(own_args)
        plan = checked.validated_parameters.get("plan") or {}
        if checked.error_messages or "fetch_args" not in plan or "fleet" not in plan:
            problem = "; ".join(checked.error_messages) or "plan must be the result of ucs_cloud.fleet.kubeconfig_plan for a host of the fleet"
            return dict(result, failed=True, msg=f"kubeconfig_fetch: {problem}")
        fleet, hosts = plan["fleet"], checked.validated_parameters["hosts"] or [plan.get("host")]
        result.update(changed=False, fleet=fleet, hosts=hosts, fetch_args=plan["fetch_args"])
        earlier = reusable(plan, checked.validated_parameters["earlier"], datetime.datetime.now(datetime.timezone.utc))
        if earlier is not None:
            self._task.no_log = True  # as for a download (see below)
            result.update({key: earlier.get(key) for key in ("kubeconfig", "not_before", "not_after")}, reused=True, _ansible_no_log=True)
            return result
        # A result that carries the key is no_log, and Ansible then hides its loop label too:
        # say which fleet is being fetched on a line of its own (fleet and VPC are not secrets).
        display.display(f"ucs_kubeconfig: downloading the kubeconfig of fleet {fleet} for {', '.join(hosts)}")
        # The module returns the key only under no_log.
        no_log = self._task.no_log
        self._task.no_log = True
        args = self.module_args(plan, task_vars)
        environment = self._task.environment
        # The module's messages then name the role's variables (ucs_kubeconfig_ca_path ...).
        self._task.environment = [*(environment if isinstance(environment, list) else [environment] if environment else []), {LABELS_ENV: "role"}]
        try:
            answer = self._execute_module(MODULE, module_args=args, task_vars=task_vars)
        except Exception:
            self._task.no_log = no_log
            raise
        finally:
            self._task.environment = environment
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if answer.get("kubeconfig") is None:
            self._task.no_log = no_log
        # Otherwise the task stays no_log: ansible-core 2.16 censors a loop's overall result
        # (what the tree and junit callbacks keep) only by the no_log it gathers from the items.
        if answer.get("failed"):
            secrets = [str(value) for name, value in args.items() if name in SECRET_OPTIONS and value]
            return dict(result, failed=True, msg=f"fleet {fleet} for {', '.join(hosts)}: {failure(answer, 'the download failed', secrets)}")
        result.update(reused=False, not_before=answer.get("not_before"), not_after=answer.get("not_after"), warnings=answer.get("warnings") or [])
        if answer.get("kubeconfig") is not None:
            result.update(kubeconfig=answer["kubeconfig"], _ansible_no_log=True)
        return result
