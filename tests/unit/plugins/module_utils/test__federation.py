from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsResponseError
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
        (fed("Failed", "FederationInstalling"), False, "not available (condition Federation: Failed (FederationInstalling))"),
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


@pytest.mark.parametrize(("status", "reason"), [("Mystery", None), ("Mystery", "Something"), (None, None), ("", "")])
def test_unknown_state_word_is_a_warning_not_a_refusal(status: Any, reason: Any) -> None:
    state = federation.federation_state(fed(status, reason))
    assert state.enabled is True
    assert state.warning is not None and "does not know" in state.warning
    warnings = federation.check_federation(fed(status, reason), FLEET)
    assert warnings == [f"Fleet {FLEET} (prod): {state.warning}"]


@pytest.mark.parametrize(
    ("status", "reason", "label"),
    [
        # The probe of issue 22: the reference's negative status with an installing reason.
        ("Unavailable", "FederationInstalling", "Unavailable (FederationInstalling)"),
        ("False", "Installing", "False (Installing)"),
        ("False", "Enabling", "False (Enabling)"),
        ("Installing", None, "Installing"),
        ("Running", "Enabling", "Running (Enabling)"),
        ("Pending", None, "Pending"),
        ("", "FederationUpgrading", "no status (FederationUpgrading)"),
        ("Unknown", "Creating", "Unknown (Creating)"),
    ],
)
def test_federation_being_installed_says_wait_and_run_again(status: Any, reason: Any, label: str) -> None:
    """Not "Enable federation": it is being enabled. Refused before /cert, with what to do."""
    state = federation.federation_state(fed(status, reason))
    assert state.enabled is False and state.in_progress is True and state.warning is None
    with pytest.raises(federation.UcsFederationStateError) as info:
        federation.check_federation(fed(status, reason), FLEET)
    assert info.value.msg == (
        f"Fleet {FLEET} (prod): federation is not ready yet (condition Federation: {label}): it is being installed or changed. "
        "Wait until it is available (UCS console: Fleets > the fleet), then run again."
    )
    assert "Enable federation" not in info.value.msg


@pytest.mark.parametrize(("status", "reason"), [("True", "FederationInstalling"), ("Available", "Upgrading"), ("Failed", "Installing"), ("Error", "Updating")])
def test_a_definite_status_wins_over_a_transitional_reason(status: str, reason: str) -> None:
    state = federation.federation_state(fed(status, reason))
    assert state.in_progress is False and state.enabled is (status in ("True", "Available"))


@pytest.mark.parametrize(
    ("fleet", "problem"),
    [
        # The probes of issue 23: these ended in "'str' object has no attribute 'get'".
        ({"metadata": "prod", "spec": {"federationId": "f-1"}}, "has metadata as a string, not an object"),
        ({"spec": {"federationId": "f-1"}, "status": {"conditions": 3}}, "has status.conditions as a number, not an array"),
        ({"metadata": {"name": ["prod"]}, "spec": {"federationId": "f-1"}}, "has metadata.name as an array, not a string"),
        ({"spec": "f-1"}, "has spec as a string, not an object"),
        ({"spec": {"federationId": 42}}, "has spec.federationId as a number, not a string"),
        ({"spec": {"federationId": "f-1"}, "status": []}, "has status as an array, not an object"),
        ({"spec": {"federationId": "f-1"}, "status": {"conditions": ["Federation"]}}, "has status.conditions[0] as a string, not an object"),
        ({"spec": {"federationId": "f-1"}, "status": {"conditions": [{"type": True}]}}, "has status.conditions[0].type as a boolean, not a string"),
        (fed(["Available"]), "has status.conditions[0].status as an array, not a string"),
        (fed("Available", {"why": 1}), "has status.conditions[0].reason as an object, not a string"),
    ],
)
def test_every_fleet_field_read_is_typed(fleet: dict[str, Any], problem: str) -> None:
    """With a JsonAnswer of UcsClient the error names the request and the request id (test__http.py); here the field."""
    with pytest.raises(UcsResponseError) as info:
        federation.check_federation(fleet, FLEET)
    assert info.value.msg == f"The answer {problem}"


def test_nulls_and_absent_fields_are_not_type_errors() -> None:
    fleet = {"metadata": None, "spec": {"federationId": "f-1"}, "status": {"conditions": [None, {"type": "Federation", "status": None, "reason": None}]}}
    assert federation.federation_state(fleet).warning is not None
    assert federation.check_federation({"metadata": {"name": None}, "spec": {"federationId": "f-1"}, "status": None}, FLEET) == []


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


class NotFoundClient:
    endpoint = "https://ucs-intl.myhuaweicloud.com"

    def get_json(self, path: str, what: str) -> dict[str, Any]:
        raise UcsApiError(
            f"Failed to {what}: HTTP 404 UCS.01100005: not found (request id r404)",
            status=404,
            method="GET",
            url=self.endpoint + path,
            error_code="UCS.01100005",
            error_msg="not found",
            request_id="r404",
        )


def test_unknown_fleet_says_what_to_check() -> None:
    """Issue 22: a 404 for a fleet names the fleet ID, the account (domain) and the site of the endpoint (region)."""
    with pytest.raises(UcsApiError) as info:
        federation.read_fleet(NotFoundClient(), build(params()))
    assert info.value.msg == (
        f"Failed to read fleet {FLEET}: HTTP 404 UCS.01100005: not found (request id r404). Check fleet_id, and that the fleet belongs to the "
        "account (domain) of the credentials and to the UCS site of ucs-intl.myhuaweicloud.com (endpoint, region): "
        "UCS answers 404 for a fleet of another account or site"
    )
    assert info.value.to_fail_kwargs() == {
        "msg": info.value.msg,
        "http_status": 404,
        "http_method": "GET",
        "http_url": f"https://ucs-intl.myhuaweicloud.com/v1/clustergroups/{FLEET}",
        "error_code": "UCS.01100005",
        "error_msg": "not found",
        "request_id": "r404",
    }


def test_other_read_errors_pass_unchanged() -> None:
    error = UcsApiError("Failed to read fleet: HTTP 403", status=403)

    class Forbidden:
        def get_json(self, path: str, what: str) -> dict[str, Any]:
            raise error

    with pytest.raises(UcsApiError) as info:
        federation.read_fleet(Forbidden(), build(params()))
    assert info.value is error


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def get_json(self, path: str, what: str) -> dict[str, Any]:
        self.calls.append(("GET", path, what))
        return {"spec": {"federationId": "x"}}

    def post_json(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
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
