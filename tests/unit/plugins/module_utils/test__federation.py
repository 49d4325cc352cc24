from __future__ import annotations

import datetime
from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
FLEET = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"


def params(**overrides: Any) -> dict[str, Any]:
    base = {
        "fleet_id": FLEET,
        "project_id": "08d44be1ef00d22e2f6fc0061f54a2f1",
        "vpc_id": "11c9fe72-5a90-4295-bcfe-774726fb9066",
        "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b",
        "duration": 365,
        "renew_before": 30,
        "force": False,
        "timeout": 30,
        "retries": 3,
    }
    base.update(overrides)
    return base


def test_valid_request() -> None:
    request = federation.validate_request(params())
    assert request.fleet_id == FLEET and request.duration == 365 and request.force is False


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fleet_id": ""}, "fleet_id must not be empty"),
        ({"fleet_id": "   "}, "fleet_id must not be empty"),
        ({"fleet_id": "a/b"}, "fleet_id is malformed: it must be 1 to 64 letters"),
        ({"fleet_id": "../x"}, "fleet_id is malformed"),
        ({"fleet_id": "x" * 65}, "fleet_id is malformed"),
        ({"project_id": "p?q"}, "project_id is malformed"),
        ({"vpc_id": ""}, "vpc_id must not be empty"),
        ({"subnet_id": "sub net"}, "subnet_id is malformed"),
        ({"duration": 0}, "duration must be between 1 and 1825 days, got 0"),
        ({"duration": -1}, "duration must be between 1 and 1825 days, got -1"),
        ({"duration": 1826}, "duration must be between 1 and 1825 days, got 1826"),
        ({"renew_before": -1}, "renew_before must be 0 or more days"),
        ({"renew_before": 365}, "renew_before (365) must be smaller than duration (365)"),
        ({"timeout": 0}, "timeout must be between 1 and 600"),
        ({"timeout": 601}, "timeout must be between 1 and 600"),
        ({"retries": -1}, "retries must be between 0 and 10"),
        ({"retries": 11}, "retries must be between 0 and 10"),
        # Ansible's int type passes booleans through: duration true would be sent as JSON true.
        ({"duration": True, "renew_before": 0}, "duration must be a whole number, not a boolean (True)"),
        ({"renew_before": False}, "renew_before must be a whole number, not a boolean (False)"),
        ({"timeout": True}, "timeout must be a whole number, not a boolean (True)"),
        ({"retries": True}, "retries must be a whole number, not a boolean (True)"),
    ],
)
def test_invalid_requests(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        federation.validate_request(params(**overrides))
    assert message in info.value.msg


@pytest.mark.parametrize("duration", [1, 1825])
def test_duration_bounds_accepted(duration: int) -> None:
    assert federation.validate_request(params(duration=duration, renew_before=0)).duration == duration


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (["vpc_id"], "vpc_id is required"),
        (["project_id", "subnet_id"], "project_id, subnet_id are required"),
    ],
)
def test_connection_ids_required_only_to_create(missing: list[str], message: str) -> None:
    request = federation.validate_request(params(**dict.fromkeys(missing)))
    with pytest.raises(UcsValidationError) as info:
        federation.require_connection_ids(request)
    assert message in info.value.msg


def test_connection_ids_present() -> None:
    federation.require_connection_ids(federation.validate_request(params()))


def fed(status: Any = None, reason: Any = None, *, federation_id: Any = "f-1", kind: str = "Federation") -> dict[str, Any]:
    """A fleet document as ShowClusterGroup answers it, with one condition of type ``kind``."""
    condition: dict[str, Any] = {"type": kind}
    if status is not None:
        condition["status"] = status
    if reason is not None:
        condition["reason"] = reason
    return {"metadata": {"name": "prod"}, "spec": {"federationId": federation_id}, "status": {"conditions": [condition]}}


@pytest.mark.parametrize(
    ("fleet", "enabled", "text"),
    [
        # No federationId: positive evidence that federation is off, whatever the condition says.
        ({"spec": {}}, False, "federation is not enabled"),
        ({}, False, "federation is not enabled"),
        ({"spec": {"federationId": ""}}, False, "federation is not enabled"),
        (fed("Available", federation_id=None), False, "no spec.federationId"),
        # The reference's own example words, and the Kubernetes negative.
        (fed("Unavailable", "FederationUnavailable"), False, "not available (condition Federation: Unavailable (FederationUnavailable))"),
        (fed("False", "Enabling"), False, "condition Federation: False (Enabling)"),
        (fed("unavailable"), False, "not available"),
        (fed("Failed"), False, "not available"),
        (fed("Error"), False, "not available"),
        (fed("Disabled"), False, "not available"),
        # A reason that is an explicit negative counts when the status is no known word.
        (fed("", "FederationUnavailable"), False, "not available"),
        (fed("Weird", "FederationFailed"), False, "not available"),
        # Known positives, and no condition at all.
        (fed("True"), True, "enabled"),
        (fed("Available", "FederationAvailable"), True, "enabled"),
        (fed("true"), True, "enabled"),
        (fed("True", "FederationUnavailable"), True, "enabled"),
        ({"spec": {"federationId": "f-1"}}, True, "enabled"),
        ({"spec": {"federationId": "f-1"}, "status": {"conditions": None}}, True, "enabled"),
        (fed("False", kind="Policy"), True, "enabled"),
        (fed("Unavailable", kind="federation"), False, "not available"),
    ],
)
def test_federation_state(fleet: dict[str, Any], enabled: bool, text: str) -> None:
    state = federation.federation_state(fleet)
    assert state.enabled is enabled
    assert text in state.description
    assert state.warning is None


@pytest.mark.parametrize(("status", "reason"), [("Installing", None), ("Running", "Enabling"), ("Mystery", "Something"), (None, None), ("", "")])
def test_unknown_state_word_is_a_warning_not_a_refusal(status: Any, reason: Any) -> None:
    state = federation.federation_state(fed(status, reason))
    assert state.enabled is True
    assert state.warning is not None and "does not know" in state.warning
    warnings = federation.check_federation(fed(status, reason), FLEET)
    assert warnings == [f"Fleet {FLEET}: {state.warning}"]


def test_check_federation_returns_no_warning_when_healthy() -> None:
    assert federation.check_federation(fed("True"), FLEET) == []
    assert federation.check_federation({"spec": {"federationId": "f-1"}}, FLEET) == []


def test_check_federation_tells_what_to_do() -> None:
    with pytest.raises(federation.UcsFederationStateError) as info:
        federation.check_federation({"metadata": {"name": "prod"}, "spec": {}}, FLEET)
    assert f"Fleet {FLEET} (prod): federation is not enabled" in info.value.msg
    assert "Enable federation" in info.value.msg
    with pytest.raises(federation.UcsFederationStateError) as info:
        federation.check_federation(fed("Unavailable", "FederationUnavailable"), FLEET)
    assert "Unavailable (FederationUnavailable)" in info.value.msg and "Enable federation" in info.value.msg


def test_plan_without_existing_file_fetches() -> None:
    decision = federation.plan(None, federation.validate_request(params()), NOW)
    assert decision.fetch and decision.reason == "dest does not exist" and decision.current is None


@pytest.mark.parametrize("text", ["", "not: [valid", "- a list\n", "kind: Config\napiVersion: v1\n"])
def test_plan_with_unusable_file_fetches(text: str) -> None:
    decision = federation.plan(text, federation.validate_request(params()), NOW)
    assert decision.fetch and decision.reason.startswith("the kubeconfig at dest is not usable")


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def get_json(self, path: str, what: str) -> dict[str, Any]:
        self.calls.append(("GET", path, what))
        return {"spec": {"federationId": "x"}}

    def post_json(self, path: str, body: dict[str, Any], what: str, expected: tuple[int, ...]) -> dict[str, Any]:
        self.calls.append(("POST", path, body))
        return {}


def test_api_calls_use_documented_paths_and_body() -> None:
    client = FakeClient()
    request = federation.validate_request(params(duration=30, renew_before=7))
    federation.read_fleet(client, request)
    federation.create_federation_cert(client, request)
    assert client.calls[0][:2] == ("GET", f"/v1/clustergroups/{FLEET}")
    assert client.calls[1] == (
        "POST",
        f"/v1/clustergroups/{FLEET}/cert",
        {"projectID": request.project_id, "vpcID": request.vpc_id, "subnetID": request.subnet_id, "duration": 30},
    )
