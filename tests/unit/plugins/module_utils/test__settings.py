"""The one settings builder (_settings.build): every rule about an option, named in the caller's words."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import FleetEntries
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import build

FLEET = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"
VPC = "11c9fe72-5a90-4295-bcfe-774726fb9066"


def params(**overrides: Any) -> dict[str, Any]:
    base = {
        "fleet_id": FLEET,
        "project_id": "08d44be1ef00d22e2f6fc0061f54a2f1",
        "vpc_id": VPC,
        "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b",
        "duration": 365,
        "renew_before": 30,
        "force": False,
        "timeout": 30,
        "retries": 3,
        "mode": "0600",
    }
    base.update(overrides)
    return base


def test_valid_request() -> None:
    request = build(params())
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
        build(params(**overrides))
    assert message in info.value.msg


@pytest.mark.parametrize("duration", [1, 1825])
def test_duration_bounds_accepted(duration: int) -> None:
    assert build(params(duration=duration, renew_before=0)).duration == duration


def test_entries_default_to_the_fleet_name() -> None:
    request = build(params(renew_before=None))
    name = f"ucs-fleet-{FLEET}"
    assert request.wanted == FleetEntries(FLEET, VPC, name, name, name, {}, True, None)
    assert request.wanted.standalone is False


def test_entries_as_the_options_say() -> None:
    request = build(params(cluster_name="prod-c", user_name="prod-u", context_name="prod", namespace="team-a", set_current_context=False, standalone=True))
    assert request.wanted == FleetEntries(FLEET, VPC, "prod-c", "prod-u", "prod", {"namespace": "team-a"}, False, 30, standalone=True)
    assert request.wanted.standalone is True


@pytest.mark.parametrize("option", ["cluster_name", "user_name", "context_name"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_entry_names_are_refused(option: str, value: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        build(params(**{option: value}))
    assert info.value.msg == f"{option} must not be empty" and info.value.option == option


@pytest.mark.parametrize("namespace", ["Team-A", "team_a", "-team", "team-", "a" * 64, "", "kube system"])
def test_namespace_must_be_a_label(namespace: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        build(params(namespace=namespace))
    assert info.value.option == "namespace" and "RFC 1123 label" in info.value.msg


@pytest.mark.parametrize("namespace", ["default", "a", "team-a", "a" * 63, "0ps"])
def test_namespace_accepted(namespace: str) -> None:
    assert build(params(namespace=namespace)).wanted.context_fields == {"namespace": namespace}


@pytest.mark.parametrize("duration", [1, 2, 7, 30])
def test_short_durations_need_no_renew_before(duration: int) -> None:
    """Unset renew_before is automatic: duration=1 and duration=7 must not fail on a default."""
    request = build(params(duration=duration, renew_before=None))
    assert request.duration == duration and request.wanted.renew_before_days is None


def test_explicit_renew_before_not_below_duration_stays_an_error() -> None:
    with pytest.raises(UcsValidationError) as info:
        build(params(duration=7, renew_before=7))
    assert info.value.option == "renew_before" and "leave it unset" in info.value.msg


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (["vpc_id"], "vpc_id is required"),
        (["project_id", "subnet_id"], "project_id, subnet_id are required"),
    ],
)
def test_connection_ids_required_only_to_create(missing: list[str], message: str) -> None:
    request = build(params(**dict.fromkeys(missing)))
    with pytest.raises(UcsValidationError) as info:
        federation.require_connection_ids(request)
    assert message in info.value.msg


def test_connection_ids_present() -> None:
    federation.require_connection_ids(build(params()))
