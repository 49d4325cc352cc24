"""_lifecycle: the options, the decision for each state and the wait, with a scripted client and clock."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsValidationError

FLEET_ID = "7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3"


def fleet(federation_id: Optional[str] = None, condition: Optional[str] = None) -> Dict[str, Any]:
    spec = {"federationId": federation_id} if federation_id else {}
    conditions = [{"type": "Federation", "status": condition}] if condition else []
    return {"metadata": {"uid": FLEET_ID, "name": "prod"}, "spec": spec, "status": {"conditions": conditions}}


def job(phase: str, job_type: str = "CreateFederationContainer", uid: str = "job-2", reason: str = "") -> Dict[str, Any]:
    status = {"phase": phase, "startTime": "2026-12-07 10:00:00.000000 +0000 UTC"}
    if reason:
        status["reason"] = reason
    return {"kind": "Job", "metadata": {"uid": uid}, "spec": {"type": job_type, "subJobs": []}, "status": status}


def state_of(document: Optional[Dict[str, Any]]) -> Optional[federation.JobState]:
    return federation.job_state(document) if document else None


# --- options ----------------------------------------------------------------------------------------


BASE = {"fleet_id": FLEET_ID, "fleet_name": None, "timeout": 30, "retries": 3, "wait_timeout": 600, "wait_sleep": 5}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fleet_id": FLEET_ID + "\n"}, "fleet_id must not contain control characters"),
        ({"fleet_id": "../../v1/x"}, "fleet_id is malformed"),
        ({"fleet_id": None, "fleet_name": " prod"}, "fleet_name must not contain control characters"),
        ({"fleet_id": None, "fleet_name": ""}, "fleet_name must not be empty"),
        ({"timeout": 0}, "timeout must be between 1 and 600 seconds, got 0"),
        ({"retries": True}, "retries must be a whole number, not a boolean"),
    ],
)
def test_check_options_refuses(change: Dict[str, Any], message: str) -> None:
    with pytest.raises(UcsValidationError, match=message):
        lifecycle.check_options({**BASE, **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"wait_timeout": 0}, "wait_timeout must be between 1 and 7200 seconds, got 0"),
        ({"wait_sleep": 301}, "wait_sleep must be between 1 and 300 seconds, got 301"),
        ({"wait_timeout": True}, "wait_timeout must be a whole number, not a boolean"),
        ({"wait_timeout": 3, "wait_sleep": 5}, r"wait_sleep \(5\) must not be longer than wait_timeout \(3\)"),
    ],
)
def test_check_wait_options_refuses(change: Dict[str, Any], message: str) -> None:
    with pytest.raises(UcsValidationError, match=message):
        lifecycle.check_wait_options({**BASE, **change})


def test_check_options_names_role_variables() -> None:
    with pytest.raises(UcsValidationError, match=r"^ucs_kubeconfig_fleet_id is malformed"):
        lifecycle.check_options({**BASE, "fleet_id": "a/b"}, label=lambda option: f"ucs_kubeconfig_{option}")
    assert lifecycle.check_options(BASE) == lifecycle.Target(FLEET_ID, None)


# --- the decision -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "details", "document", "expected"),
    [
        ("present", fleet(), None, ("enable", True)),
        ("present", fleet(), job("Failed"), ("enable", True)),  # a failed job: try again
        ("present", fleet(), job("Success", "DeleteFederation"), ("enable", True)),
        ("present", fleet(), job("Running"), (None, True)),  # federationId appears at the end: wait for it
        ("present", fleet(), job("Provisioning"), (None, True)),  # an unknown word counts as running
        ("present", fleet("fed-1", "Creating"), job("Running"), (None, True)),
        ("present", fleet("fed-1", "True"), job("Success"), (None, False)),
        ("present", fleet("fed-1", "Available"), None, (None, False)),
        ("present", fleet("fed-1"), job("Running", "UpgradeFederation"), (None, False)),
        ("absent", fleet(), None, (None, False)),
        ("absent", fleet(), job("Failed"), (None, False)),
        ("absent", fleet("fed-1", "Available"), job("Success"), ("disable", True)),
        ("absent", fleet("fed-1", "Available"), None, ("disable", True)),
        ("absent", fleet("fed-1", "Deleting"), job("Running", "DeleteFederation"), (None, True)),
        ("absent", fleet("fed-1", "Deleting"), None, (None, True)),
        ("absent", fleet(), job("Running", "DeleteFederation"), (None, True)),
    ],
)
def test_decide(state: str, details: Dict[str, Any], document: Optional[Dict[str, Any]], expected: Tuple[Optional[str], bool]) -> None:
    decision = lifecycle.decide(state, details, state_of(document))
    assert (decision.action, decision.wait) == expected


@pytest.mark.parametrize(
    ("state", "details", "document", "message"),
    [
        ("present", fleet("fed-1", "Deleting"), None, "federation is being disabled \\(condition Federation: Deleting\\)"),
        ("present", fleet("fed-1"), job("Running", "DeleteFederation"), "federation is being disabled \\(DeleteFederation in phase 'Running'\\)"),
        ("present", fleet(), job("Running", "UpgradeFederation"), "a federation job is running \\(UpgradeFederation in phase 'Running'\\)"),
        ("absent", fleet("fed-1", "Creating"), None, "federation is being enabled \\(condition Federation: Creating\\)"),
        ("absent", fleet(), job("Initializing"), "federation is being enabled \\(CreateFederationContainer in phase 'Initializing'\\)"),
        ("absent", fleet("fed-1"), job("Weird", "RollbackFederation"), "a federation job is running \\(RollbackFederation in phase 'Weird'\\)"),
    ],
)
def test_decide_refuses_a_job_that_leads_elsewhere(state: str, details: Dict[str, Any], document: Optional[Dict[str, Any]], message: str) -> None:
    pattern = f"^Fleet {FLEET_ID} \\(prod\\): {message}. Nothing was changed; run again when it has finished$"
    with pytest.raises(lifecycle.UcsFederationBusyError, match=pattern):
        lifecycle.decide(state, details, state_of(document))


# --- waiting ------------------------------------------------------------------------------------------


class Script:
    """A client that answers progress and fleet reads from two scripts (the last answer repeats)."""

    def __init__(self, jobs: List[Any], fleets: List[Dict[str, Any]]) -> None:
        self.jobs = list(jobs)
        self.fleets = list(fleets)
        self.calls: List[str] = []

    @staticmethod
    def _next(script: List[Any]) -> Any:
        return script.pop(0) if len(script) > 1 else script[0]

    def get_json(self, path: str, what: str, expected: Tuple[int, ...] = (200,), query: Any = ()) -> Dict[str, Any]:
        if path.endswith("/progress"):
            self.calls.append("progress")
            answer = self._next(self.jobs)
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.calls.append("fleet")
        return self._next(self.fleets)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def waiter(script: Script, clock: Clock, previous: Optional[Dict[str, Any]] = None, timeout: float = 60, interval: float = 5) -> lifecycle.Waiter:
    return lifecycle.Waiter(script, fleet(), previous, timeout=timeout, interval=interval, sleep=clock.sleep, clock=clock)


NO_JOB = UcsApiError("no job", status=400, error_code="UCS.01080006")


def test_wait_enabled_through_the_phases() -> None:
    script = Script([job("Initializing"), job("Running"), job("Running"), job("Success")], [fleet(), fleet(), fleet(), fleet("fed-1", "True")])
    clock = Clock()
    outcome = waiter(script, clock).enabled()
    assert outcome.phase == "Success" and outcome.fleet["spec"]["federationId"] == "fed-1" and outcome.warnings == []
    assert [entry["phase"] for entry in outcome.progress] == ["Initializing", "Running", "Success"], "one entry per change"
    assert [entry["elapsed"] for entry in outcome.progress] == [0.0, 5.0, 15.0]
    assert clock.sleeps == [5, 5, 5]
    assert script.calls == ["progress", "fleet"] * 4


def test_wait_enabled_ignores_the_job_seen_before_the_call() -> None:
    old = job("Failed", uid="job-1", reason="an earlier attempt")
    script = Script([old, old, job("Running"), job("Success")], [fleet(), fleet(), fleet(), fleet("fed-1")])
    outcome = waiter(script, Clock(), previous=old).enabled()
    assert outcome.phase == "Success"
    assert [entry["phase"] for entry in outcome.progress] == [None, "Running", "Success"]


def test_wait_enabled_needs_the_federation_id_after_success() -> None:
    script = Script([job("Success")], [fleet(), fleet(), fleet("fed-1")])
    clock = Clock()
    assert waiter(script, clock).enabled().fleet["spec"]["federationId"] == "fed-1"
    assert clock.sleeps == [5, 5], "a Success before the fleet shows its federation is waited out"


def test_wait_enabled_while_the_fleet_says_creating() -> None:
    script = Script([job("Running"), job("Success")], [fleet("fed-1", "Creating"), fleet("fed-1", "Available")])
    assert waiter(script, Clock()).enabled().phase == "Success"


def test_wait_enabled_without_any_visible_job() -> None:
    script = Script([NO_JOB], [fleet(), fleet("fed-1", "Available")])
    outcome = waiter(script, Clock()).enabled()
    assert outcome.phase is None and outcome.fleet["spec"]["federationId"] == "fed-1"


def test_wait_enabled_fails_with_the_jobs_reason() -> None:
    failed = job("Failed", reason="sub-job CreateNetworkResource failed")
    failed["spec"]["subJobs"] = [{"spec": {"type": "CreateNetworkResource"}, "status": {"phase": "Failed", "reason": "ELB quota exceeded"}}]
    script = Script([job("Running"), failed], [fleet()])
    w = waiter(script, Clock())
    with pytest.raises(lifecycle.UcsFederationJobError) as raised:
        w.enabled()
    assert raised.value.msg == (
        f"Fleet {FLEET_ID} (prod): enabling federation failed: the job ended in phase 'Failed': "
        "sub-job CreateNetworkResource failed; CreateNetworkResource failed: ELB quota exceeded"
    )
    assert w.job is not None and w.job.phase == "Failed"


def test_wait_unknown_word_then_success_warns_once() -> None:
    script = Script([job("Initializing"), job("Provisioning"), job("Provisioning"), job("Success")], [fleet(), fleet(), fleet(), fleet("fed-1")])
    outcome = waiter(script, Clock()).enabled()
    assert outcome.phase == "Success"
    assert outcome.warnings == [
        f"Fleet {FLEET_ID} (prod): the federation job reports phase 'Provisioning', a word this module does not know; it is taken as still running"
    ]


def test_wait_times_out_naming_the_last_phase() -> None:
    script = Script([job("Initializing"), job("Provisioning")], [fleet()])
    clock = Clock()
    with pytest.raises(lifecycle.UcsWaitTimeoutError) as raised:
        waiter(script, clock, timeout=12, interval=5).enabled()
    assert raised.value.msg == (
        f"Fleet {FLEET_ID} (prod): timed out after 12 seconds (wait_timeout) waiting for federation to be enabled: "
        "the job's last phase seen was 'Provisioning' (a word this module does not know, taken as still running). "
        "The job goes on in the cloud: run again to keep waiting, or raise wait_timeout"
    )
    assert clock.sleeps == [5, 5, 2], "never sleeps past the timeout"
    assert clock.now == 112


def test_wait_times_out_without_a_job() -> None:
    clock = Clock()
    with pytest.raises(lifecycle.UcsWaitTimeoutError, match="no job of it was seen; the fleet's Federation condition says 'creating'"):
        waiter(Script([NO_JOB], [fleet("fed-1", "Creating")]), clock, timeout=1, interval=1).enabled()


def test_wait_disabled() -> None:
    script = Script([job("Running", "DeleteFederation"), job("Success", "DeleteFederation")], [fleet("fed-1", "Deleting"), fleet()])
    clock = Clock()
    outcome = waiter(script, clock).disabled()
    assert outcome.phase == "Success" and not outcome.fleet["spec"]
    assert [(entry["phase"], entry["condition"]) for entry in outcome.progress] == [("Running", "deleting"), ("Success", None)]
    assert clock.sleeps == [5]


def test_wait_disabled_fails_with_the_jobs_reason() -> None:
    script = Script([job("Failed", "DeleteFederation", reason="the federation holds resources")], [fleet("fed-1", "DeleteFailed")])
    with pytest.raises(lifecycle.UcsFederationJobError, match="disabling federation failed: the job ended in phase 'Failed': the federation holds resources"):
        waiter(script, Clock()).disabled()


def test_wait_disabled_ignores_the_enabling_job() -> None:
    script = Script([job("Success")], [fleet("fed-1", "Deleting"), fleet("fed-1", "Deleting"), fleet()])
    assert waiter(script, Clock()).disabled().phase == "Success"


def test_read_target_by_name_and_id() -> None:
    class Client:
        def __init__(self) -> None:
            self.paths: List[str] = []

        def get_json(self, path: str, what: str, expected: Tuple[int, ...] = (200,), query: Any = ()) -> Dict[str, Any]:
            self.paths.append(path)
            return {"items": [fleet()], "total": 1} if path == "/v1/clustergroups" else fleet("fed-1")

    client = Client()
    assert lifecycle.read_target(client, lifecycle.Target(None, "prod"))["metadata"]["uid"] == FLEET_ID
    assert lifecycle.read_target(client, lifecycle.Target(FLEET_ID, None))["spec"] == {"federationId": "fed-1"}
    assert client.paths == ["/v1/clustergroups", f"/v1/clustergroups/{FLEET_ID}"]
