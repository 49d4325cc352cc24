from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsResponseError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_check import Verdict
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)
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


def test_entries_default_to_the_fleet_name() -> None:
    request = federation.validate_request(params(renew_before=None))
    name = f"ucs-fleet-{FLEET}"
    assert request.wanted == federation.FleetEntries(FLEET, VPC, name, name, name, {}, True, None)
    assert request.standalone is False


def test_entries_as_the_options_say() -> None:
    request = federation.validate_request(
        params(cluster_name="prod-c", user_name="prod-u", context_name="prod", namespace="team-a", set_current_context=False, standalone=True)
    )
    assert request.wanted == federation.FleetEntries(FLEET, VPC, "prod-c", "prod-u", "prod", {"namespace": "team-a"}, False, 30, standalone=True)
    assert request.standalone is True


@pytest.mark.parametrize("option", ["cluster_name", "user_name", "context_name"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_entry_names_are_refused(option: str, value: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        federation.validate_request(params(**{option: value}))
    assert info.value.msg == f"{option} must not be empty" and info.value.option == option


@pytest.mark.parametrize("namespace", ["Team-A", "team_a", "-team", "team-", "a" * 64, "", "kube system"])
def test_namespace_must_be_a_label(namespace: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        federation.validate_request(params(namespace=namespace))
    assert info.value.option == "namespace" and "RFC 1123 label" in info.value.msg


@pytest.mark.parametrize("namespace", ["default", "a", "team-a", "a" * 63, "0ps"])
def test_namespace_accepted(namespace: str) -> None:
    assert federation.validate_request(params(namespace=namespace)).wanted.context_fields == {"namespace": namespace}


@pytest.mark.parametrize("duration", [1, 2, 7, 30])
def test_short_durations_need_no_renew_before(duration: int) -> None:
    """Unset renew_before is automatic: duration=1 and duration=7 must not fail on a default."""
    request = federation.validate_request(params(duration=duration, renew_before=None))
    assert request.duration == duration and request.wanted.renew_before_days is None


def test_explicit_renew_before_not_below_duration_stays_an_error() -> None:
    with pytest.raises(UcsValidationError) as info:
        federation.validate_request(params(duration=7, renew_before=7))
    assert info.value.option == "renew_before" and "leave it unset" in info.value.msg


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
        federation.read_fleet(NotFoundClient(), federation.validate_request(params()))
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
        federation.read_fleet(Forbidden(), federation.validate_request(params()))
    assert info.value is error


def material(days: float = 365, *, start: datetime.datetime = NOW, name: str | None = None, fleet_id: str = FLEET, token: str | None = None) -> Any:
    """The fleet's entries as the module writes them (default names, stamped, normal form)."""
    name = name or f"ucs-fleet-{FLEET}"
    return make_kubeconfig(days=days, not_before=start, cluster=name, user=name, context=name, fleet_id=fleet_id, vpc_id=VPC, token=token, key_slot=5)


def text_of(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config)


def test_plan_without_existing_file_fetches() -> None:
    verdict = federation.plan(None, federation.validate_request(params()), NOW)
    assert verdict == Verdict("the kubeconfig does not exist", True, None, None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", f"cluster 'ucs-fleet-{FLEET}' is missing"),
        ("# only a comment\n", f"cluster 'ucs-fleet-{FLEET}' is missing"),
        ("kind: Config\napiVersion: v1\n", f"cluster 'ucs-fleet-{FLEET}' is missing"),
        ("clusters: []\nusers: []\ncontexts: []\n", f"cluster 'ucs-fleet-{FLEET}' is missing"),
    ],
)
def test_plan_with_a_file_to_merge_into_fetches(text: str, reason: str) -> None:
    verdict = federation.plan(text, federation.validate_request(params()), NOW)
    assert verdict.fetch and verdict.reason == reason and verdict.blocker is None and verdict.info is None


@pytest.mark.parametrize(
    ("text", "blocker"),
    [
        ("not: [valid", "the kubeconfig is not valid YAML (line 1, column 12)"),
        ("- a list\n", "the kubeconfig must be a mapping at the top level, not a list"),
        ("clusters: {}\n", "clusters must be a list, not a mapping"),
        ("contexts: text\n", "contexts must be a list, not a string"),
        (b"\xff\xfe\x00", "the kubeconfig is not UTF-8 text"),
    ],
)
def test_plan_refuses_a_file_it_cannot_merge_into_unless_standalone(text: Any, blocker: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        federation.plan(text, federation.validate_request(params()), NOW)
    assert info.value.option == "dest"
    assert blocker in info.value.msg and "standalone=true" in info.value.msg
    verdict = federation.plan(text, federation.validate_request(params(standalone=True)), NOW)
    assert verdict.fetch and verdict.blocker == blocker and verdict.reason == f"the kubeconfig is not usable: {blocker}"


def test_plan_keeps_right_entries_without_a_call() -> None:
    verdict = federation.plan(text_of(material().config), federation.validate_request(params()), NOW + datetime.timedelta(days=1))
    assert verdict.reason is None and verdict.fetch is False and verdict.blocker is None
    assert verdict.info.fleet_id == FLEET and verdict.info.context_name == f"ucs-fleet-{FLEET}"


def test_plan_force_fetches_even_when_right() -> None:
    verdict = federation.plan(text_of(material().config), federation.validate_request(params(force=True)), NOW + datetime.timedelta(days=1))
    assert verdict.fetch and verdict.reason == "force is set" and verdict.info is not None


def test_plan_rewrites_from_own_entries_without_a_call() -> None:
    """Namespace, current-context and normal form need no new certificate: fetch stays False."""
    config = material().config
    later = NOW + datetime.timedelta(days=1)
    verdict = federation.plan(text_of(config), federation.validate_request(params(namespace="team-a")), later)
    assert verdict.fetch is False and verdict.reason == f"context 'ucs-fleet-{FLEET}' does not have namespace 'team-a'"
    config["current-context"] = "someone-else"
    verdict = federation.plan(text_of(config), federation.validate_request(params()), later)
    assert verdict.fetch is False and verdict.reason == f"current-context is not 'ucs-fleet-{FLEET}'"
    # set_current_context=false leaves another current context alone.
    assert federation.plan(text_of(config), federation.validate_request(params(set_current_context=False)), later).reason is None
    config["users"][0]["user"]["token"] = ""
    verdict = federation.plan(text_of(config), federation.validate_request(params(set_current_context=False)), later)
    assert verdict.fetch is False and "not in the form kubectl needs" in verdict.reason


def test_plan_standalone_rewrites_a_file_holding_more_than_the_fleet_without_a_call() -> None:
    own = material().config
    later = NOW + datetime.timedelta(days=1)
    standalone = federation.validate_request(params(standalone=True))
    assert federation.plan(text_of(own), standalone, later).reason is None
    # kubectl writes `preferences: {}` into every file it touches: no reason to rewrite.
    assert federation.plan(text_of(own | {"preferences": {}}), standalone, later).reason is None
    more = own | {"contexts": [*own["contexts"], {"name": "other", "context": {"cluster": "x", "user": "y"}}]}
    verdict = federation.plan(text_of(more), standalone, later)
    assert verdict.fetch is False and verdict.reason == "the file holds other entries than the fleet's, and it is to hold the fleet alone"
    assert federation.plan(text_of(more), federation.validate_request(params()), later).reason is None


def test_plan_with_other_names_fetches_under_the_new_names() -> None:
    """Entries under names the user no longer asks for are not the fleet's (no rename by guess)."""
    text = text_of(material().config)
    verdict = federation.plan(text, federation.validate_request(params(cluster_name="prod", user_name="prod", context_name="prod")), NOW)
    assert verdict.fetch and verdict.reason == "cluster 'prod' is missing"


@pytest.mark.parametrize(
    ("days", "age", "renew"),
    [
        # Unset renew_before: a third of the certificate's own lifetime ...
        (7, 4.5, False),  # 2.5 days left, window 2.33 days
        (7, 4.75, True),  # 2.25 days left
        (30, 19.5, False),  # window 10 days
        (30, 20.5, True),
        # ... at most 30 days.
        (365, 334.5, False),  # 30.5 days left
        (365, 335.5, True),  # 29.5 days left
        (1825, 1794.5, False),
        (1825, 1795.5, True),
    ],
)
def test_plan_renews_after_two_thirds_of_the_lifetime_by_default(days: int, age: float, renew: bool) -> None:
    request = federation.validate_request(params(duration=days, renew_before=None))
    assert request.wanted.renew_before_days is None
    verdict = federation.plan(text_of(material(days).config), request, NOW + datetime.timedelta(days=age))
    assert verdict.fetch is renew
    if renew:
        assert "expires on" in verdict.reason and verdict.info is not None
    else:
        assert verdict.reason is None


def test_plan_explicit_renew_before_wins() -> None:
    text = text_of(material(30).config)
    at = NOW + datetime.timedelta(days=15)
    assert federation.plan(text, federation.validate_request(params(duration=30, renew_before=None)), at).fetch is False
    verdict = federation.plan(text, federation.validate_request(params(duration=30, renew_before=20)), at)
    assert verdict.fetch and "within 20 days" in verdict.reason


@pytest.mark.parametrize(
    ("config_days", "fleet_id", "at", "reason"),
    [
        (365, FLEET, 400, "has expired"),
        (365, "another-fleet", 1, "belongs to another fleet (another-fleet)"),
    ],
)
def test_plan_fetches_for_expired_or_foreign_entries(config_days: int, fleet_id: str, at: int, reason: str) -> None:
    text = text_of(material(config_days, fleet_id=fleet_id).config)
    verdict = federation.plan(text, federation.validate_request(params()), NOW + datetime.timedelta(days=at))
    assert verdict.fetch and verdict.reason.endswith(reason)


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
    request = federation.validate_request(params(duration=30, renew_before=7))
    federation.read_fleet(client, request)
    federation.create_federation_cert(client, request)
    assert client.calls[0][:2] == ("GET", f"/v1/clustergroups/{FLEET}")
    assert client.calls[1] == (
        "POST",
        f"/v1/clustergroups/{FLEET}/cert",
        {"projectID": request.project_id, "vpcID": request.vpc_id, "subnetID": request.subnet_id, "duration": 30},
    )
