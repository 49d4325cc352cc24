# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Write one host's kubeconfig for the role ucs_kubeconfig, and report the host's outcome.

Merges the fleet's entries on the controller into the file as the plan read it, and writes
through kubeconfig_file on the target: under kubectl's lock (``<path>.lock``) and only if the
file still has the checksum the plan read (compare and swap, the module's own loop in
``_plan.merge_and_swap``). The result holds no key material and is shown at every verbosity:
the path, why it was (or would be) written, the certificate's expiry, and whether it was written.
"""

import base64
import binascii
import datetime
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import role_variable
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import format_time
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Settings
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._role import failure, left_alone, read_variables, relabel

WRITE_MODULE = "ucs_cloud.fleet.kubeconfig_file"
ARGUMENT_SPEC = {
    "plan": {"type": "dict", "required": True},
    "fetched": {"type": "list", "elements": "raw", "default": []},
}


def downloaded(plan: t.Mapping[str, t.Any], fetched: t.Iterable[t.Any], check_mode: bool = False) -> t.Optional[str]:
    """The fleet's kubeconfig from the fetch results; None when the plan needs no download (or,
    in check mode, when the fetch made its read calls only)."""
    if not plan["needs_fetch"]:
        return None
    found = next((item for item in fetched or [] if isinstance(item, dict) and item.get("fleet") == plan["fleet"]), None)
    if found is not None and check_mode and not found.get("failed"):
        return None
    if found is None or found.get("failed") or not found.get("kubeconfig"):
        cause = (found or {}).get("msg") or "its download did not run"
        raise UcsError(f"not written ({plan['reason']}): no kubeconfig of {cause}")
    return str.__str__(str(found["kubeconfig"]))


def warning_text(warning: t.Any) -> str:
    """A module's warning as text: a string, or ansible-core 2.19's WarningSummary (event.msg)."""
    return str(getattr(getattr(warning, "event", None), "msg", None) or warning)


def _decoded(data: t.Any) -> t.Optional[bytes]:
    if data is None:
        return None
    try:
        return base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError):
        raise UcsError("a module returned content that is not base64") from None


class ActionModule(ActionBase):
    """kubeconfig_install: merge and write one host's kubeconfig, compare-and-swap."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _swap(self, settings: Settings, path: str, task_vars: t.Dict[str, t.Any]) -> t.Callable[[bytes, str], planner.Swap]:
        def swap(content: t.Optional[bytes], expected: str) -> planner.Swap:
            args = {"path": path, "expected_checksum": expected, "backup": settings.backup}  # type: t.Dict[str, t.Any]
            if content is None:
                args["state"] = "absent"  # state absent, and nothing else was in the file
            else:
                args.update(content=content.decode("utf-8"), mode=settings.mode, dir_mode=f"{settings.dir_mode:04o}", warn_loose_mode=False)
                args.update((key, value) for key, value in (("owner", settings.owner), ("group", settings.group)) if value is not None)
            written = self._execute_module(WRITE_MODULE, module_args=args, task_vars=task_vars)
            if written.get("failed"):
                raise UcsError(failure(written, f"cannot write {path}"))
            return planner.Swap(bool(written.get("conflict")), _decoded(written.get("content")), written.get("checksum"), written)

        return swap

    def _write(self, plan: t.Mapping[str, t.Any], fleet: t.Optional[str], task_vars: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        settings = read_variables(lambda name: self._templar.template(task_vars[name]) if name in task_vars else None).settings
        path, now = plan["path"], datetime.datetime.now(datetime.timezone.utc)

        def make(existing: t.Optional[bytes]) -> t.Optional[bytes]:
            return planner.content_to_write(existing, fleet, plan["needs_entries"], settings, path=path, label=role_variable)

        try:
            written, content = planner.merge_and_swap(
                _decoded(plan.get("content")), plan.get("checksum"), make, self._swap(settings, path, task_vars), path=path
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        info = planner.after_info(content, settings, now)
        report = {"changed": bool(written.get("changed")), "written": bool(written.get("changed"))}
        if info is not None and info.not_after is not None:
            report["not_after"] = format_time(info.not_after)
        if written.get("backup_file"):
            report["backup_file"] = written["backup_file"]
        if written.get("warnings"):
            report["warnings"] = list(written["warnings"])
        attributes = {key: written.get(key) for key in ("mode", "owner", "group")}
        if settings.state == "absent":
            report["diff"] = plan["diff"]  # the entries that went, as the plan named them
        elif plan["needs_entries"]:
            report["diff"] = dict(plan["diff"], after=planner.view(attributes, info))
        else:
            report["diff"] = dict(plan["diff"], after=dict(plan["diff"]["before"], **planner.view(attributes, None)))
        return report

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "?")
        checked = ArgumentSpecValidator(ARGUMENT_SPEC).validate({name: value for name, value in self._task.args.items() if name in ARGUMENT_SPEC})
        plan = checked.validated_parameters.get("plan") or {}
        if checked.error_messages or "needs_write" not in plan:
            problem = "; ".join(checked.error_messages) or "plan must be the result of ucs_cloud.fleet.kubeconfig_plan for this host"
            return dict(result, failed=True, msg=f"kubeconfig_install: {problem}")
        if not plan["needs_write"]:
            return dict(result, **left_alone(plan))
        # Shown at every verbosity, as debug shows its message: the one report of each host.
        result.update(_ansible_verbose_always=True, changed=False, written=False, path=plan["path"], reason=plan["reason"], not_after=plan["not_after"])
        notes = list(plan.get("notes") or [])
        if notes:
            result["warnings"] = notes
        try:
            fleet = downloaded(plan, checked.validated_parameters["fetched"], self._task.check_mode)
            if self._task.check_mode:
                if self._task.diff:
                    result["diff"] = plan["diff"]
                return dict(result, changed=True, msg=f"would write {plan['path']}: {plan['reason']}")
            report = self._write(plan, fleet, task_vars)
        except UcsError as exc:
            return dict(result, failed=True, msg=f"ucs_kubeconfig on {host}: {exc.msg}")
        # The plan has warned of a loose mode already (the write is told not to repeat it).
        written = [relabel(warning_text(warning)) for warning in report.pop("warnings", [])]
        result["warnings"] = notes + [warning for warning in written if warning not in notes]
        diff = report.pop("diff")
        if self._task.diff:
            result["diff"] = diff
        result.update(report)
        result["msg"] = f"{'wrote' if result['written'] else 'left'} {plan['path']}: {plan['reason']}"
        return result
