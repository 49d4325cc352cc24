# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ucs_federation_cert: a run that finds its kubeconfig right is decided on the controller.

The module ships its HTTP, signing, IAM and writing code to the target on every run; building
and compiling that payload is most of what a run that changes nothing costs. Such a run needs
only the file: this action answers it with the module's own result, read with
kubeconfig_file_info (the role's plan step reads the same way) and decided by the module's
planner. Every other run, and every run it cannot decide exactly as the module would, runs the
module.

Exactly means: the module would see what this process sees. Its options fall back to environment
variables read where it runs, and it needs PyYAML and cryptography where it runs. So the action
decides only on a local connection without become or a task environment, with the controller's
own Python as the target's; the options go through the module's argument spec, settings builder
and endpoint check. It first decides with the module's own functions on dest as this process sees
it, so that a run that writes, downloads or fails goes to the module without a read first.
"""

import datetime
import os
import sys
import typing as t

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import federation_cert_argument_spec, unset_blank_values
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._endpoints import resolve_endpoint
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Settings, build
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._target_file import READ_MODULE, read_args, target_file

PATH_INFO = ("uid", "gid", "owner", "group", "mode", "state", "size", "secontext")


def _now() -> datetime.datetime:
    # A function of its own so that tests can move the clock.
    return datetime.datetime.now(datetime.timezone.utc)


def settings_to_decide(args: t.Mapping[str, t.Any]) -> t.Optional[Settings]:
    """The settings of a run the controller can decide from the file alone, or None (the module
    runs, and reports any error in the options itself)."""
    spec = federation_cert_argument_spec()
    validated = ArgumentSpecValidator(spec).validate(dict(args))
    if validated.error_messages:
        return None
    params = validated.validated_parameters
    unset_blank_values(params, spec)
    if params["state"] != "present" or params["force"] or params["return_content"]:
        return None
    dest = params["dest"]
    # type=path expanded ~ and variables as the module would; a relative path is the module's.
    if dest is None or not os.path.isabs(dest):
        return None
    try:
        settings = build(params)
        resolve_endpoint(params["endpoint"], params["region"], params.get("iam_endpoint"))
    except UcsError:
        return None
    return settings


def writes_nothing(settings: Settings, now: datetime.datetime) -> bool:
    """Whether the module would find dest right, decided here with its own functions: on a local
    connection this process sees dest as the module would. A run that writes, downloads or fails
    is the module's, with no read on the target first."""
    try:
        target = t.cast(planner.Target, planner.check_target(settings))
        state = files.read_regular(target.dest)
        return state.exists and not planner.plan_for(settings, target, state, now).write
    except UcsError:
        return False


def same_python(interpreter: t.Optional[str]) -> bool:
    """Whether interpreter is the controller's Python with its packages: the same program in the
    same directory (a virtual environment is its bin directory)."""
    if not interpreter:
        return False
    try:
        return os.path.samefile(interpreter, sys.executable) and os.path.samefile(os.path.dirname(interpreter), os.path.dirname(sys.executable))
    except OSError:
        return False


class ActionModule(ActionBase):
    """ucs_federation_cert: decide a run that changes nothing here, run the module otherwise."""

    _supports_check_mode = True
    _supports_async = True

    def _host_vars(self, task_vars: t.Mapping[str, t.Any]) -> t.Mapping[str, t.Any]:
        if self._task.delegate_to:
            return (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        return task_vars

    def _target_python(self, task_vars: t.Mapping[str, t.Any]) -> t.Optional[str]:
        """The interpreter the read ran with: the configured one, else the discovered one."""
        host_vars = self._host_vars(task_vars)
        # ansible_python_interpreter, else ANSIBLE_PYTHON_INTERPRETER or ansible.cfg, as AnsiballZ takes it.
        configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        if isinstance(configured, str):
            configured = str(self._templar.template(configured))
            if not configured.startswith("auto"):
                return configured
        discovered = self._discovered_interpreter or (host_vars.get("ansible_facts") or {}).get("discovered_interpreter_python")
        return str(discovered) if discovered else None

    def _sees_controller(self) -> bool:
        """Whether the module would run as this process does: the same user and environment."""
        if self._task.async_val or self._play_context.become or getattr(self._connection, "transport", None) != "local":
            return False
        return not any(environment for environment in self._task.environment or [])

    def _decide(self, task_vars: t.Dict[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
        """The module's result for a run whose kubeconfig is right, else None."""
        if not self._sees_controller():
            return None
        settings = settings_to_decide(self._task.args)
        # The module needs PyYAML and cryptography where it runs: decided here only when that is
        # the controller's own Python (so a missing library fails today, not at the renewal).
        # Known before the read unless the interpreter is yet to be discovered (by the read).
        interpreter = self._target_python(task_vars)
        if settings is None or (interpreter is not None and not same_python(interpreter)):
            return None
        now = _now()
        if not writes_nothing(settings, now):
            return None
        try:
            state = self._execute_module(READ_MODULE, module_args=read_args(settings), task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if interpreter is None and not same_python(self._target_python(task_vars)):
            return None
        # A file the module would refuse to work on (write_blocker) gets the module's own message.
        if state.get("failed") or "path" not in state or state.get("write_blocker") or not state.get("exists"):
            return None
        try:
            found = target_file(state)
            plan = found.plan(settings, now)
        except UcsError:
            return None
        if plan.write:
            return None
        result = planner.unchanged(settings, plan, found.path, found.attributes, bool(self._task.diff))
        # AnsibleModule adds these to a result that names a path (add_path_info): the module's
        # result has them for dest, the read's for the same file.
        result.update((key, state[key]) for key in PATH_INFO if key in state)
        if plan.warnings:
            result["warnings"] = plan.warnings
        if state.get("ansible_facts"):
            result["ansible_facts"] = state["ansible_facts"]  # the interpreter discovered for the read
        return result

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        decided = self._decide(task_vars)
        if decided is not None:
            return merge_hash(result, decided)
        wrap_async = self._task.async_val and not getattr(self._connection, "has_native_async", False)
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
