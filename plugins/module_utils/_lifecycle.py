# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The federation's lifecycle as ucs_federation and ucs_fleet_info run it: options, decision, wait.

Nothing here knows AnsibleModule: the client, the clock and ``sleep`` are passed in, so every
decision and every wait runs in plain pytest without sleeping.
"""

import time
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import check_connection, check_fleet, check_text, check_whole

PRESENT, ABSENT = "present", "absent"
DEFAULT_WAIT_TIMEOUT = 600
MAX_WAIT_TIMEOUT = 7200
DEFAULT_WAIT_SLEEP = 5
MAX_WAIT_SLEEP = 300
# The Federation condition's words while the federation is being created or removed
# (ListClusterGroup documents them); compared without case.
CREATING, DELETING = "creating", "deleting"

Label = t.Callable[[str], str]


class UcsFederationBusyError(federation.UcsFederationStateError):
    """A federation job that leads elsewhere is running: nothing is started, nothing is waited for."""


class UcsFederationJobError(UcsError):
    """The federation job failed; the message carries its reason."""


class UcsWaitTimeoutError(UcsError):
    """``wait_timeout`` passed; the message names the last phase seen."""


class Target(t.NamedTuple):
    fleet_id: t.Optional[str]
    fleet_name: t.Optional[str]


class Decision(t.NamedTuple):
    action: t.Optional[str]  # "enable", "disable" or None (nothing to change)
    wait: bool  # whether something leads to the wanted state (a job we start or one that runs)
    reason: str


class Outcome(t.NamedTuple):
    fleet: t.Dict[str, t.Any]  # as last read
    phase: t.Optional[str]  # the last phase of the job seen, if any
    progress: t.List[t.Dict[str, t.Any]]
    warnings: t.List[str]


# --- options ------------------------------------------------------------------------------------------


def check_options(params: t.Mapping[str, t.Any], label: Label = str) -> Target:
    """The fleet options and connection numbers of ucs_fleet_info and ucs_federation, before any call."""
    check_text(params, label)
    fleet_id, fleet_name = check_fleet(params, label, required=False)
    check_connection(params, label)
    return Target(fleet_id, fleet_name)


def check_wait_options(params: t.Mapping[str, t.Any], label: Label = str) -> None:
    check_whole(params, "wait_timeout", 1, MAX_WAIT_TIMEOUT, unit=" seconds", label=label)
    check_whole(params, "wait_sleep", 1, MAX_WAIT_SLEEP, unit=" seconds", label=label)
    if params["wait_sleep"] > params["wait_timeout"]:
        raise UcsValidationError(
            f"{label('wait_sleep')} ({params['wait_sleep']}) must not be longer than {label('wait_timeout')} ({params['wait_timeout']})",
            option="wait_sleep",
        )


def read_target(client: t.Any, target: Target) -> t.Dict[str, t.Any]:
    """The fleet's details, by ID (one read) or by name (the paged list)."""
    if target.fleet_id:
        return client.get_json(federation.fleet_path(target.fleet_id), what=f"read fleet {target.fleet_id}")
    return federation.find_fleet_by_name(client, t.cast(str, target.fleet_name))


# --- the decision ---------------------------------------------------------------------------------------


def _condition_word(fleet: t.Mapping[str, t.Any]) -> str:
    condition = federation.federation_condition(fleet) or {}
    return str(condition.get("status") or "").strip().lower()


def _label(fleet: t.Mapping[str, t.Any]) -> str:
    name, uid = federation.fleet_name_of(fleet), federation.fleet_id_of(fleet)
    return f"{uid} ({name})" if name else uid


def _busy(fleet: t.Mapping[str, t.Any], what: str) -> UcsFederationBusyError:
    return UcsFederationBusyError(f"Fleet {_label(fleet)}: {what}. Nothing was changed; run again when it has finished")


class _Seen(t.NamedTuple):
    enabled: bool  # spec.federationId is set
    condition: str  # the Federation condition's status, lower case
    job: t.Optional[federation.JobState]
    running: bool  # the job has not finished (an unknown phase word counts as running)
    phase: str  # the job for messages


def decide(state: str, fleet: t.Mapping[str, t.Any], job: t.Optional[federation.JobState]) -> Decision:
    """What to do for ``state`` given the fleet's details and its federation job (None: no job).

    A job whose phase is an unknown word counts as running. Raises UcsFederationBusyError when a
    job that leads elsewhere runs: starting another one would fight it.
    """
    seen = _Seen(
        enabled=federation.has_federation(fleet),
        condition=_condition_word(fleet),
        job=job,
        running=job is not None and not job.finished,
        phase=f"{job.job_type or 'job'} in phase {job.phase or '(none)'!r}" if job is not None else "",
    )
    return _decide_present(fleet, seen) if state == PRESENT else _decide_absent(fleet, seen)


def _running(seen: _Seen, kind: str) -> bool:
    return seen.running and seen.job is not None and seen.job.kind == kind


def _decide_present(fleet: t.Mapping[str, t.Any], seen: _Seen) -> Decision:
    if _running(seen, "enable"):
        return Decision(None, True, f"federation is being enabled ({seen.phase})")
    if _running(seen, "disable") or seen.condition == DELETING:
        raise _busy(fleet, f"federation is being disabled ({seen.phase or 'condition Federation: Deleting'})")
    if seen.enabled:
        return Decision(None, False, "federation is enabled")
    if seen.running:
        raise _busy(fleet, f"a federation job is running ({seen.phase})")
    return Decision("enable", True, "federation is not enabled")


def _decide_absent(fleet: t.Mapping[str, t.Any], seen: _Seen) -> Decision:
    if _running(seen, "disable"):
        return Decision(None, True, f"federation is being disabled ({seen.phase})")
    if _running(seen, "enable") or seen.condition == CREATING:
        raise _busy(fleet, f"federation is being enabled ({seen.phase or 'condition Federation: Creating'})")
    if not seen.enabled:
        return Decision(None, False, "federation is not enabled")
    if seen.condition == DELETING:
        return Decision(None, True, "federation is being disabled (condition Federation: Deleting)")
    if seen.running:
        raise _busy(fleet, f"a federation job is running ({seen.phase})")
    return Decision("disable", True, "federation is enabled")


def job_identity(job: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[t.Tuple[str, str]]:
    """What tells one job from the next (uid, start time); None when the answer carries neither."""
    if not job:
        return None
    metadata = job.get("metadata") if isinstance(job.get("metadata"), dict) else {}
    status = job.get("status") if isinstance(job.get("status"), dict) else {}
    identity = (str(metadata.get("uid") or ""), str(status.get("startTime") or ""))
    return identity if any(identity) else None


# --- waiting ---------------------------------------------------------------------------------------------


class Waiter:
    """Polls the fleet and its job until the wanted state, a failure or ``timeout`` seconds.

    Args:
        client: the UCS client (reads only).
        fleet: the fleet's details as read before any change.
        previous_job: the job seen before a change was requested: until another job shows up,
            the progress call may still answer it, and its outcome is not ours.
        timeout, interval: ``wait_timeout`` and ``wait_sleep``.
        sleep, clock: injected for tests (clock is monotonic).
    """

    def __init__(
        self,
        client: t.Any,
        fleet: t.Dict[str, t.Any],
        previous_job: t.Optional[t.Dict[str, t.Any]],
        *,
        timeout: float,
        interval: float,
        sleep: t.Callable[[float], t.Any] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.fleet = fleet
        self.fleet_id = federation.fleet_id_of(fleet)
        self.stale = job_identity(previous_job)
        self.timeout = timeout
        self.interval = interval
        self.sleep = sleep
        self.clock = clock
        self.started = clock()
        self.progress = []  # type: t.List[t.Dict[str, t.Any]]
        self.warnings = []  # type: t.List[str]
        self.job = None  # type: t.Optional[federation.JobState]

    def _read(self) -> t.Optional[federation.JobState]:
        """The fleet's job, then its details; None for no job, or only the one seen before the change."""
        document = federation.read_federation_progress(self.client, self.fleet_id)
        if document is not None and self.stale is not None and job_identity(document) == self.stale:
            document = None
        state = federation.job_state(document) if document is not None else None
        self.fleet = self.client.get_json(federation.fleet_path(self.fleet_id), what=f"read fleet {self.fleet_id}")
        self._note(state, federation.sub_job_phases(document) if document is not None else {})
        return state

    def _note(self, state: t.Optional[federation.JobState], sub_jobs: t.Dict[str, str]) -> None:
        """Keep an entry of the progress whenever what is seen changes; warn once per unknown word."""
        entry = {"phase": state.phase if state else None, "sub_jobs": sub_jobs, "condition": _condition_word(self.fleet) or None}
        if not self.progress or {key: self.progress[-1][key] for key in entry} != entry:
            self.progress.append({"elapsed": round(self.clock() - self.started, 1), **entry})
        if state is not None and state.outcome == federation.UNKNOWN:
            warning = (
                f"Fleet {_label(self.fleet)}: the federation job reports phase {state.phase!r}, a word this module does not know; it is taken as still running"
            )
            if warning not in self.warnings:
                self.warnings.append(warning)
        if state is not None:
            self.job = state

    def _pause(self, doing: str) -> None:
        remaining = self.started + self.timeout - self.clock()
        if remaining <= 0:
            last = self.job.phase if self.job is not None else None
            seen = f"the job's last phase seen was {last!r}" if last else "no job of it was seen"
            if self.job is not None and self.job.outcome == federation.UNKNOWN:
                seen += " (a word this module does not know, taken as still running)"
            condition = _condition_word(self.fleet)
            if condition:
                seen += f"; the fleet's Federation condition says {condition!r}"
            raise UcsWaitTimeoutError(
                f"Fleet {_label(self.fleet)}: timed out after {self.timeout} seconds (wait_timeout) waiting for federation to be {doing}: "
                f"{seen}. The job goes on in the cloud: run again to keep waiting, or raise wait_timeout"
            )
        self.sleep(min(self.interval, remaining))

    def _failed(self, doing: str, state: federation.JobState) -> UcsFederationJobError:
        reason = f": {state.reason}" if state.reason else " (the job gives no reason)"
        return UcsFederationJobError(f"Fleet {_label(self.fleet)}: {doing} federation failed: the job ended in phase {state.phase!r}{reason}")

    def enabled(self) -> Outcome:
        """Wait until the enabling job succeeded and the fleet has its spec.federationId."""

        def done(state: t.Optional[federation.JobState]) -> bool:
            ready = federation.has_federation(self.fleet) and _condition_word(self.fleet) != CREATING
            return ready and (state is None or state.kind != "enable" or state.outcome == federation.SUCCEEDED)

        return self._wait("enable", ("enabling", "enabled"), done)

    def disabled(self) -> Outcome:
        """Wait until the fleet has no spec.federationId any more (or its disabling job failed)."""
        return self._wait("disable", ("disabling", "disabled"), lambda _state: not federation.has_federation(self.fleet))

    def _wait(self, kind: str, words: t.Tuple[str, str], done: t.Callable[[t.Optional[federation.JobState]], bool]) -> Outcome:
        """Read until done(job), failing when a job of this kind failed; words: (failing, timing out)."""
        while True:
            state = self._read()
            if state is not None and state.kind == kind and state.outcome == federation.FAILED:
                raise self._failed(words[0], state)
            if done(state):
                return self._outcome()
            self._pause(words[1])

    def _outcome(self) -> Outcome:
        return Outcome(self.fleet, self.job.phase if self.job is not None else None, self.progress, self.warnings)
