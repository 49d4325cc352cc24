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

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsKubeconfigError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import DEFAULT_MODE, loose_mode_warning, parse_mode
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import render_kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import KubeconfigInfo, check_entries, format_time, summary
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


def unmergeable(settings: Settings, path: str, problem: str, label: Label) -> UcsValidationError:
    """The one message for a file the fleet cannot be merged into, whichever step found it."""
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
    mode = wanted_mode(settings, existing_mode)
    warnings = [warning for warning in [loose_mode_warning(mode, label("mode"))] if warning]
    verdict = check_entries(content, settings.wanted, now)
    if verdict.blocker is not None and not settings.wanted.standalone:
        raise unmergeable(settings, path, verdict.blocker, label)
    reason, fetch = verdict.reason, verdict.fetch
    if settings.force and not fetch:
        reason, fetch = f"{label('force')} is set", True
    if fetch and verdict.info is not None:
        warnings.append(f"Renewing the federation kubeconfig of fleet {settings.fleet_id} in {path}: {reason}")
    reasons = ([reason] if reason else []) + (list(drift) if content is not None else [])
    return Plan("; ".join(reasons) or None, bool(reasons), fetch, reason is not None, verdict.info, warnings)


def content_to_write(existing: t.Optional[bytes], fleet: t.Any, entries: bool, settings: Settings, *, path: str, label: Label = str) -> bytes:
    """The bytes to write over ``existing``: the fleet merged in, or (``entries`` false, only the
    attributes change) the file as it is."""
    if not entries:
        if existing is None:
            raise UcsError(f"{path} was removed while it was being written; run again")
        return existing
    try:
        return render_kubeconfig(existing, fleet, settings.wanted).encode("utf-8")
    except UcsKubeconfigError as exc:
        # The fleet's own kubeconfig was checked when it was downloaded: the file is at fault.
        raise unmergeable(settings, path, exc.msg, label) from None


def merge_and_swap(
    existing: t.Optional[bytes], checksum: t.Optional[str], make: t.Callable[[t.Optional[bytes]], bytes], swap: t.Callable[[bytes, str], Swap], *, path: str
) -> t.Tuple[t.Any, bytes]:
    """Write ``make(existing)`` if the file still has ``checksum``; else make it again from the
    fresh file. Returns the writer's result and the bytes written."""
    for _attempt in range(MERGE_ATTEMPTS):
        content = make(existing)
        outcome = swap(content, checksum or ABSENT)
        if not outcome.conflict:
            return outcome.result, content
        existing, checksum = outcome.content, outcome.checksum
    raise UcsError(f"{path} kept changing under other writers: {MERGE_ATTEMPTS} merges lost the race; run again")


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
    old = view(before, plan.info)
    if not plan.write:
        new = old
    elif written_info is not None or not plan.entries:
        new = view(after, written_info if plan.entries else plan.info)
    else:
        new = view(after, None)
        new.update(fleet_id=settings.fleet_id, vpc_id=settings.vpc_id, certificate=f"new, valid for {settings.duration} days")
    return {"before": old, "after": new, "before_header": header, "after_header": header}
