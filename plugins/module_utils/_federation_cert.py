# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The run of ucs_federation_cert, on top of the one engine (_settings, _plan): the module file
holds its documentation and main(). Takes the AnsibleModule for its params, warnings, check mode
and secrets; every decision is in the engine.
"""

import datetime
import os
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as check
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import LABELS_ENV, role_variable
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._client import ucs_client
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._endpoints import resolve_endpoint
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsResponseError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import ID_RE, Settings, build


def download(
    module: AnsibleModule, settings: Settings, now: datetime.datetime, target: t.Optional[planner.Target]
) -> t.Tuple[t.Any, t.Optional[check.KubeconfigInfo], Settings]:
    """Read the fleet (found by its name, when it is named so), then (not in check mode) download a
    kubeconfig: POST /cert for a connection in the given VPC, POST /kubeconfig for the existing
    one. Returns the accepted fleet kubeconfig, its info, and the settings with the fleet's ID."""
    if target is not None:
        # A certificate only for a write that can happen (owner, flags, free space, ...).
        files.check_write(target.dest, target.uid, target.gid, backup=settings.backup)
    params = module.params
    label = option_label()
    existing = federation.uses_existing_connection(settings, label)
    # The HTTP code is imported there only now: a run whose dest is right calls nothing.
    client = ucs_client(module, label)
    if settings.fleet_id is None:
        fleet = federation.find_fleet_by_name(client, t.cast(str, settings.fleet_name), label)
        fleet_id = federation.fleet_id_of(fleet)
        if not ID_RE.fullmatch(fleet_id):
            # It goes into the paths of the next requests: only an ID of the documented form does.
            raise UcsResponseError(f"The fleet named {settings.fleet_name!r} has no usable ID (metadata.uid) in the list of fleets")
        settings = settings.resolved(fleet_id)
    else:
        fleet = federation.read_fleet(client, settings, label)
    for warning in federation.check_federation(fleet, t.cast(str, settings.fleet_id)):
        module.warn(warning)
    if module.check_mode:
        return None, None, settings
    answer = federation.download_kubeconfig(client, settings) if existing else federation.create_federation_cert(client, settings)
    # A refusal names the request and its request id, as every other bad answer does.
    config, info, warnings = check.accept_download(answer, settings.wanted, settings.duration, now, refuse=getattr(answer, "refuse", None))
    if not params["return_content"]:
        # Defence in depth: even an accidental echo of these values is masked.
        module.no_log_values.update(kubeconfig.sensitive_values(config))
    for warning in warnings:
        module.warn(f"Fleet {settings.fleet_id}: {warning}")
    return config, info, settings


def write(
    settings: Settings, target: planner.Target, plan: planner.Plan, state: files.FileState, fleet: t.Any
) -> t.Tuple[files.WriteResult, t.Optional[bytes]]:
    """Merge the fleet's entries into dest (or take them out) under kubectl's lock, again if dest
    changed meanwhile; a file that would hold nothing else is removed."""

    def swap(content: t.Optional[bytes], expected: str) -> planner.Swap:
        if content is None:
            written = files.remove_file(target.dest, expected_checksum=expected, backup=settings.backup)
        else:
            files.make_directories(target.dest, settings.dir_mode, target.uid, target.gid)
            written = files.write_file(
                target.dest, content, mode=settings.mode, owner=target.uid, group=target.gid, backup=settings.backup, expected_checksum=expected
            )
        return planner.Swap(written.conflict, written.state.content, written.state.checksum, written)

    return planner.merge_and_swap(
        state.content,
        state.checksum,
        lambda existing: planner.content_to_write(existing, fleet, plan.entries, settings, path=target.dest),
        swap,
        path=target.dest,
    )


def remove(module: AnsibleModule, settings: Settings, now: datetime.datetime) -> t.Dict[str, t.Any]:
    """State absent: take the fleet's entries out of dest; no API call, so no credentials."""
    target = planner.check_target(settings)
    if target is None:
        raise UcsValidationError("dest is required with state=absent: name the kubeconfig to take the fleet's entries out of", option="dest")
    state = files.read_regular(target.dest)
    plan = planner.decide(state.content, [], settings, now, path=target.dest, existing_mode=state.mode)
    result = {"changed": plan.write, "reason": plan.reason, "fleet_id": settings.fleet_id, "fleet_name": settings.fleet_name, "dest": target.dest}
    if plan.write and not module.check_mode:
        written, _content = write(settings, target, plan, state, None)
        result["changed"] = written.changed
        if written.backup_file:
            result["backup_file"] = written.backup_file
    if module._diff:
        result["diff"] = planner.diff(plan, settings, files.attributes(state), {}, None, header=target.dest)
    return result


def keep(
    module: AnsibleModule, settings: Settings, target: planner.Target, plan: planner.Plan, state: files.FileState, *, fleet: t.Any, result: t.Dict[str, t.Any]
) -> t.Tuple[files.FileState, t.Optional[bytes]]:
    """Write dest where the plan says so (not in check mode); return its state and the content
    it holds (or, in check mode, would hold where that is known without a download)."""
    result["dest"] = target.dest
    if plan.write and not module.check_mode:
        written, content = write(settings, target, plan, state, fleet)
        result["changed"] = written.changed
        if written.backup_file:
            result["backup_file"] = written.backup_file
        return written.state, content
    if plan.entries and not plan.fetch:
        return state, planner.content_to_write(state.content, None, plan.entries, settings, path=target.dest)  # the exact prediction
    return state, None


def option_label() -> t.Callable[[str], str]:
    """How messages name options: by the role's variables when the role runs the module."""
    return role_variable if os.environ.get(LABELS_ENV) == "role" else str


def run(module: AnsibleModule, now: datetime.datetime) -> t.Dict[str, t.Any]:
    params = module.params
    settings = build(params, option_label())
    if settings.state == "absent":
        return remove(module, settings, now)
    if params["return_content"] and not module.no_log:
        raise UcsValidationError("return_content=true returns the client key: set no_log: true on the task", option="return_content")
    # Before anything else, and also when no call is needed: a run that would send credentials to
    # a guessed host must fail today, not months later at the first renewal.
    resolve_endpoint(params["endpoint"], params["region"], params.get("iam_endpoint"), option_label())
    target = planner.check_target(settings)
    state = files.read_regular(target.dest) if target else None
    plan = planner.plan_for(settings, target, state, now)
    for warning in plan.warnings:
        module.warn(warning)
    if target is not None and state is not None and not plan.write:
        return planner.unchanged(settings, plan, target.dest, files.attributes(state), module._diff)
    result = {"changed": plan.write, "connection_created": False, "kubeconfig_downloaded": False, "reason": plan.reason}
    fleet, info = None, plan.info
    if plan.fetch:
        fleet, info, settings = download(module, settings, now, target)
    # /cert creates (or reuses) the connection in the VPC; /kubeconfig uses the existing one.
    result.update(connection_created=fleet is not None and settings.vpc_id is not None, kubeconfig_downloaded=fleet is not None)
    result.update(fleet_id=settings.fleet_id or (info.fleet_id if info else None), fleet_name=settings.fleet_name or (info.fleet_name if info else None))
    after = state
    if target is not None and state is not None:
        after, content = keep(module, settings, target, plan, state, fleet=fleet, result=result)
        # Describe dest as written: the merge may keep a namespace or another current context.
        info = planner.after_info(content, settings, now) or info
    planner.describe(result, info)
    if params["return_content"] and fleet is not None:
        result["kubeconfig"] = kubeconfig.dump_kubeconfig(fleet)
    if module._diff:
        before = files.attributes(state)
        predicted = (
            planner.predicted_attributes(settings, before, state.mode if state else None) if module.check_mode or after is None else files.attributes(after)
        )
        written_info = info if (fleet is not None or not plan.fetch) else None
        result["diff"] = planner.diff(plan, settings, before, predicted, written_info, header=target.dest if target else "kubeconfig")
    return result
