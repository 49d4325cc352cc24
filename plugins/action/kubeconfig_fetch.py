# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Download one fleet's kubeconfig for the role ucs_kubeconfig (run_once, looped per fleet).

Why an action and not ucs_federation_cert itself: a task that names an option, even one that
ends up omitted, cancels module_defaults for it. This action belongs to the action group
ucs_cloud.fleet.ucs, so module_defaults reach it as its own arguments; it then passes to the
module exactly the options that are set, highest first: the role's variables, module_defaults,
and (left to the module) the environment variables.

A failed download is not a failed task: it fails only the hosts of that fleet, in
kubeconfig_install, with the cause. A successful one carries the key, so its result is no_log.
"""

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._ucs_kubeconfig import CONNECTION_OPTIONS, PREFIX, SECRET_OPTIONS, is_set

MODULE = "ucs_cloud.fleet.ucs_federation_cert"

display = Display()


def role_secret(name: str, own: t.Any, hostvars: t.Any, this_host: str, fleet_host: str) -> t.Any:
    """The value of a secret role variable for the fleet's first host ``fleet_host``.

    This task runs once, in the context of ``this_host``: play, role and extra variables are the
    same for every host, but inventory variables may differ per host (group_vars of a fleet).
    The value of this context wins unless it is just this host's own inventory value (or unset)
    and the fleet's host has an inventory value of its own.
    """
    if hostvars is None or fleet_host == this_host:
        return own
    var = PREFIX + name
    try:
        theirs = hostvars[fleet_host].get(var)
        mine_inventory = hostvars[this_host].get(var)
    except KeyError:
        return own
    if is_set(theirs) and (not is_set(own) or own == mine_inventory):
        return theirs
    return own


class ActionModule(ActionBase):
    """kubeconfig_fetch: ucs_federation_cert with return_content, for one fleet."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def module_args(self, plan: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
        # module_defaults arrive as this action's own arguments (the lowest layer we pass).
        args = {name: value for name, value in self._task.args.items() if name in CONNECTION_OPTIONS and is_set(value)}
        args.update(plan["fetch_args"])
        this_host = task_vars.get("inventory_hostname", "")
        for name in SECRET_OPTIONS:
            own = self._templar.template(task_vars.get(PREFIX + name))
            value = role_secret(name, own, task_vars.get("hostvars"), this_host, plan.get("host") or this_host)
            if is_set(value):
                args[name] = value
        args["return_content"] = True
        return args

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        plan = self._task.args.get("plan")
        if not isinstance(plan, dict) or "fetch_args" not in plan or "fleet" not in plan:
            return dict(result, failed=True, msg="kubeconfig_fetch needs plan: the result of ucs_cloud.fleet.kubeconfig_plan for a host of the fleet")
        result.update(changed=False, fleet=plan["fleet"])
        # A result that carries the key is no_log, and Ansible then hides its loop label too:
        # say which fleet is being fetched on a line of its own (fleet and VPC are not secrets).
        display.display(f"ucs_kubeconfig: downloading the kubeconfig of fleet {plan['fleet']} (for {plan.get('host')} and its other hosts)")
        # The module returns the key only under no_log.
        no_log = self._task.no_log
        self._task.no_log = True
        try:
            answer = self._execute_module(MODULE, module_args=self.module_args(plan, task_vars), task_vars=task_vars)
        except Exception:
            self._task.no_log = no_log
            raise
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if answer.get("kubeconfig") is None:
            self._task.no_log = no_log
        # Otherwise the task stays no_log: ansible-core 2.16 censors a loop's overall result
        # (what the tree and junit callbacks keep) only by the no_log it gathers from the items.
        if answer.get("failed"):
            # Not a failure of this task: only the fleet's hosts fail (kubeconfig_install).
            result.update(fetch_failed=True, msg=f"fleet {plan['fleet']}: {answer.get('msg') or 'the download failed'}")
            return result
        result.update(fetch_failed=False, not_after=answer.get("not_after"), warnings=answer.get("warnings") or [])
        if answer.get("kubeconfig") is not None:
            result.update(kubeconfig=answer["kubeconfig"], _ansible_no_log=True)
        return result
