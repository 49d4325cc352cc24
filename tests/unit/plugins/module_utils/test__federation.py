from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import build
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__settings import FLEET, params


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
    request = build(params(duration=30, renew_before=7))
    federation.read_fleet(client, request)
    federation.create_federation_cert(client, request)
    assert client.calls[0][:2] == ("GET", f"/v1/clustergroups/{FLEET}")
    assert client.calls[1] == (
        "POST",
        f"/v1/clustergroups/{FLEET}/cert",
        {"projectID": request.project_id, "vpcID": request.vpc_id, "subnetID": request.subnet_id, "duration": 30},
    )
