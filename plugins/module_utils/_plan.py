# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The one planner and the one writer of a kubeconfig file, for the module and the role.

- ``decide()``: from the file in hand (its content and how its mode, owner and group differ
  from the wanted ones) and the settings: write or not, download or not, why, or refuse.
- ``diff()``: what a run changes, redacted (attributes and a summary of the fleet's entries).
- ``merge_and_swap()``: merge the fleet into the file and write it only if it did not change
  since it was read; merge again into a fresher file a bounded number of times. The module
  passes a local writer, the role's install step the target's (kubeconfig_file).
"""

import datetime
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _file_options as file_options
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsKubeconfigError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import DEFAULT_MODE, loose_mode_warning, parse_mode
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import render_kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import KubeconfigInfo, check_entries, format_time, summary
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_limits import KubeconfigTooLargeError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_remove import Removal, remove_fleet
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Label, Settings

# Compare-and-swap rounds before giving up: each lost round means another writer succeeded.
MERGE_ATTEMPTS = 5
# expected checksum of a writer that saw no file (kubeconfig_file's ``expected_checksum``).
ABSENT = "absent"


class Plan(t.NamedTuple):
    """What a file needs. ``reason`` None: nothing; ``entries``: the fleet's entries must be
    written (``fetch``: with a new certificate); only attributes otherwise."""

    reason: t.Optional[str]
    write: bool
    fetch: bool
    entries: bool
    info: t.Optional[KubeconfigInfo]  # the fleet's entries in the file, when they are valid
    warnings: t.List[str]
    removal: t.Optional[Removal] = None  # state absent: the fleet's entries found in the file
    removes_file: bool = False  # state absent: nothing else is in the file, which goes

    @property
    def not_after(self) -> t.Optional[str]:
        return format_time(self.info.not_after) if self.info is not None and self.info.not_after is not None else None


class Swap(t.NamedTuple):
    """One write attempt: written (``result``), or ``conflict`` with the file as it is now."""

    conflict: bool
    content: t.Optional[bytes]
    checksum: t.Optional[str]
    result: t.Any


def wanted_mode(settings: Settings, existing_mode: t.Optional[int]) -> int:
    """The mode the file must have: a symbolic mode applies to the file's own (0600 for a new file)."""
    return parse_mode(settings.mode, base=DEFAULT_MODE if existing_mode is None else existing_mode)


def unmergeable(path: str, problem: str, label: Label, too_large: bool = False) -> UcsValidationError:
    """The one message for a file the fleet cannot be merged into, whichever step found it. A file
    beyond this collection's size limits is no fault of the file: replacing it would lose every
    other context, so that is never advised."""
    if too_large:
        return UcsValidationError(f"{label('dest')} {path}: {problem}", option="dest")
    return UcsValidationError(
        f"{label('dest')} {path} holds something that is not a kubeconfig this collection can merge into ({problem}): "
        f"fix or remove it, or set {label('standalone')}=true to replace it",
        option="dest",
    )


def decide(
    content: t.Optional[bytes],
    drift: t.Sequence[str],
    settings: Settings,
    now: datetime.datetime,
    *,
    path: str,
    existing_mode: t.Optional[int] = None,
    label: Label = str,
) -> Plan:
    """Decide for one file; raises UcsValidationError (before any API call) for a file that
    cannot be merged into, unless the settings ask for a standalone file.

    Args:
        content: the file's bytes, None when it does not exist.
        drift: how its mode, owner and group differ from the wanted ones (``_files.attribute_drift``).
        existing_mode: its permission bits, for the loose-mode warning of a symbolic mode.
    """
    if settings.state == "absent":
        return _decide_absent(content, settings)
    mode = wanted_mode(settings, existing_mode)
    warnings = [warning for warning in [loose_mode_warning(mode, label("mode"))] if warning]
    verdict = check_entries(content, settings.wanted, now)
    if verdict.blocker is not None and not settings.wanted.standalone:
        raise unmergeable(path, verdict.blocker, label, verdict.too_large)
    reason, fetch = verdict.reason, verdict.fetch
    if settings.force and not fetch:
        reason, fetch = f"{label('force')} is set", True
    if fetch and verdict.info is not None:
        warnings.append(f"Renewing the federation kubeconfig of fleet {settings.label()} in {path}: {reason}")
    reasons = ([reason] if reason else []) + (list(drift) if content is not None else [])
    return Plan("; ".join(reasons) or None, bool(reasons), fetch, reason is not None, verdict.info, warnings)


def _decide_absent(content: t.Optional[bytes], settings: Settings) -> Plan:
    """State absent: the fleet's entries are to go; their file stays unless nothing else is in it."""
    if content is None:
        return Plan(None, False, False, False, None, [])
    try:
        removal, remaining = remove_fleet(content, settings.wanted)
    except UcsKubeconfigError:
        return Plan(None, False, False, False, None, [])  # not a kubeconfig at all: none of the fleet's entries can be in it
    if not removal.found:
        return Plan(None, False, False, False, None, [])
    goes = remaining is None
    reason = removal.describe() + ("; nothing else is in it, so the file is removed" if goes else "")
    return Plan(reason, True, False, True, None, [], removal, goes)


def content_to_write(existing: t.Optional[bytes], fleet: t.Any, entries: bool, settings: Settings, *, path: str, label: Label = str) -> t.Optional[bytes]:
    """The bytes to write over ``existing``: the fleet merged in, or (``entries`` false, only the
    attributes change) the file as it is. State absent: the file without the fleet's entries, or
    None when the file is to be removed (or is gone already)."""
    if settings.state == "absent":
        return None if existing is None else remove_fleet(existing, settings.wanted)[1]
    if not entries:
        if existing is None:
            raise UcsError(f"{path} was removed while it was being written; run again")
        return existing
    try:
        return render_kubeconfig(existing, fleet, settings.wanted).encode("utf-8")
    except UcsKubeconfigError as exc:
        # The fleet's own kubeconfig was checked when it was downloaded: the file is at fault.
        raise unmergeable(path, exc.msg, label, isinstance(exc, KubeconfigTooLargeError)) from None


def merge_and_swap(
    existing: t.Optional[bytes],
    checksum: t.Optional[str],
    make: t.Callable[[t.Optional[bytes]], t.Optional[bytes]],
    swap: t.Callable[[t.Optional[bytes], str], Swap],
    *,
    path: str,
) -> t.Tuple[t.Any, t.Optional[bytes]]:
    """Write ``make(existing)`` if the file still has ``checksum`` (None: remove the file); else
    make it again from the fresh file. Returns the writer's result and the bytes written."""
    for _attempt in range(MERGE_ATTEMPTS):
        content = make(existing)
        outcome = swap(content, checksum or ABSENT)
        if not outcome.conflict:
            return outcome.result, content
        existing, checksum = outcome.content, outcome.checksum
    raise UcsError(f"{path} kept changing under other writers: {MERGE_ATTEMPTS} merges lost the race; run again")


# --- the file of ucs_federation_cert: checked, planned, and the result of a run that finds it right


class Target(t.NamedTuple):
    """Where the kubeconfig is kept, checked before any API call."""

    dest: str
    uid: t.Optional[int]
    gid: t.Optional[int]


def check_target(settings: Settings) -> t.Optional[Target]:
    """Check dest, owner and group early: a run bound to fail must not issue a certificate."""
    uid, gid = file_options.resolve_owner(settings.owner), file_options.resolve_group(settings.group)
    if settings.dest is None:
        return None
    return Target(file_options.check_dest(settings.dest, uid=uid, create_parent=True), uid, gid)


def describe(result: t.Dict[str, t.Any], info: t.Optional[KubeconfigInfo]) -> None:
    """The fleet's entries in a result of ucs_federation_cert (no key material)."""
    if info is not None:
        shown = summary(info)
        for key in ("server", "context_name", "current_context", "auth", "not_before", "not_after", *info.context_fields):
            result[key] = shown[key]


def plan_for(settings: Settings, target: t.Optional[Target], state: t.Optional[files.FileState], now: datetime.datetime) -> Plan:
    if target is None or state is None:
        return Plan("no dest is set", True, True, True, None, [])
    drift = files.attribute_drift(state, wanted_mode(settings, state.mode), target.uid, target.gid)
    return decide(state.content, drift, settings, now, path=target.dest, existing_mode=state.mode)


def unchanged(settings: Settings, plan: Plan, dest: str, before: t.Mapping[str, t.Any], want_diff: bool) -> t.Dict[str, t.Any]:
    """The result of a run that finds dest right (the plan writes nothing): the module's, and its
    action plugin's, which decides such a run on the controller."""
    info = plan.info
    result = {
        "changed": False,
        "connection_created": False,
        "kubeconfig_downloaded": False,
        "reason": None,
        "fleet_id": settings.fleet_id or (info.fleet_id if info else None),
        "fleet_name": settings.fleet_name or (info.fleet_name if info else None),
        "dest": dest,
    }  # type: t.Dict[str, t.Any]
    describe(result, info)
    if want_diff:
        result["diff"] = diff(plan, settings, before, before, info, header=dest)
    return result


# --- what a run changes, redacted -----------------------------------------------------------------


def view(attributes: t.Mapping[str, t.Any], info: t.Optional[KubeconfigInfo]) -> t.Dict[str, t.Any]:
    """A file as a diff shows it: its mode, owner and group, and the fleet's entries (no key material)."""
    shown = {key: attributes[key] for key in ("mode", "owner", "group") if attributes.get(key) is not None}
    if info is not None:
        shown.update(summary(info))
    return shown


def predicted_attributes(settings: Settings, before: t.Mapping[str, t.Any], existing_mode: t.Optional[int]) -> t.Dict[str, t.Any]:
    """Mode, owner and group after a write: the wanted ones, else the file's own."""
    return {
        "mode": f"{wanted_mode(settings, existing_mode):04o}",
        "owner": settings.owner if settings.owner is not None else before.get("owner"),
        "group": settings.group if settings.group is not None else before.get("group"),
    }


def after_info(content: t.Optional[bytes], settings: Settings, now: datetime.datetime) -> t.Optional[KubeconfigInfo]:
    """The fleet's entries in bytes that were (or would be) written."""
    return check_entries(content, settings.wanted, now).info if content is not None else None


def diff(
    plan: Plan,
    settings: Settings,
    before: t.Mapping[str, t.Any],
    after: t.Mapping[str, t.Any],
    written_info: t.Optional[KubeconfigInfo],
    *,
    header: str,
) -> t.Dict[str, t.Any]:
    """Before and after for ``--diff``; ``written_info`` None with a download pending (check mode)
    describes the new certificate by what was asked for."""
    if plan.removal is not None:
        return _removal_diff(plan, before, header)
    old = view(before, plan.info)
    if not plan.write:
        new = old
    elif written_info is not None or not plan.entries:
        new = view(after, written_info if plan.entries else plan.info)
    else:
        new = view(after, None)
        new.update(fleet_id=settings.fleet_id, vpc_id=settings.vpc_id, certificate=f"new, valid for {settings.duration} days")
    return {"before": old, "after": new, "before_header": header, "after_header": header}


def _removal_diff(plan: Plan, before: t.Mapping[str, t.Any], header: str) -> t.Dict[str, t.Any]:
    removal = t.cast(Removal, plan.removal)
    old = dict(view(before, None), **{section: sorted(names) for section, names in removal.names.items() if names})
    if removal.current:
        old["current_context"] = "one of the fleet's contexts"
    new = {"state": "absent"} if plan.removes_file else view(before, None)
    return {"before": old, "after": new, "before_header": header, "after_header": header}
