"""The one planner (_plan.decide): what a file needs, for the module and the role alike."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Settings, build
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__settings import FLEET, VPC, params

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.timezone.utc)


def plan_of(text: Any, settings: Settings, now: datetime.datetime) -> planner.Plan:
    content = text.encode() if isinstance(text, str) else text
    return planner.decide(content, [], settings, now, path="/k")


def material(days: float = 365, *, start: datetime.datetime = NOW, name: str | None = None, fleet_id: str = FLEET, token: str | None = None) -> Any:
    """The fleet's entries as the module writes them (default names, stamped, normal form)."""
    name = name or f"ucs-fleet-{FLEET}"
    return make_kubeconfig(days=days, not_before=start, cluster=name, user=name, context=name, fleet_id=fleet_id, vpc_id=VPC, token=token, key_slot=5)


def text_of(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config)


def test_plan_without_existing_file_fetches() -> None:
    verdict = plan_of(None, build(params()), NOW)
    assert verdict == planner.Plan("the kubeconfig does not exist", True, True, True, None, [])


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
    verdict = plan_of(text, build(params()), NOW)
    assert verdict.fetch and verdict.reason == reason and verdict.info is None


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
        plan_of(text, build(params()), NOW)
    assert info.value.option == "dest"
    assert info.value.msg.startswith("dest /k holds something that is not a kubeconfig this collection can merge into")
    assert blocker in info.value.msg and "set standalone=true" in info.value.msg
    verdict = plan_of(text, build(params(standalone=True)), NOW)
    assert verdict.fetch and verdict.reason == f"the kubeconfig is not usable: {blocker}"


def test_plan_keeps_right_entries_without_a_call() -> None:
    verdict = plan_of(text_of(material().config), build(params()), NOW + datetime.timedelta(days=1))
    assert verdict.reason is None and verdict.fetch is False and not verdict.write
    assert verdict.info.fleet_id == FLEET and verdict.info.context_name == f"ucs-fleet-{FLEET}"


def test_plan_force_fetches_even_when_right() -> None:
    verdict = plan_of(text_of(material().config), build(params(force=True)), NOW + datetime.timedelta(days=1))
    assert verdict.fetch and verdict.reason == "force is set" and verdict.info is not None


def test_plan_rewrites_from_own_entries_without_a_call() -> None:
    """Namespace, current-context and normal form need no new certificate: fetch stays False."""
    config = material().config
    later = NOW + datetime.timedelta(days=1)
    verdict = plan_of(text_of(config), build(params(namespace="team-a")), later)
    assert verdict.fetch is False and verdict.reason == f"context 'ucs-fleet-{FLEET}' does not have namespace 'team-a'"
    config["current-context"] = "someone-else"
    verdict = plan_of(text_of(config), build(params()), later)
    assert verdict.fetch is False and verdict.reason == f"current-context is not 'ucs-fleet-{FLEET}'"
    # set_current_context=false leaves another current context alone.
    assert plan_of(text_of(config), build(params(set_current_context=False)), later).reason is None
    config["users"][0]["user"]["token"] = ""
    verdict = plan_of(text_of(config), build(params(set_current_context=False)), later)
    assert verdict.fetch is False and "not in the form kubectl needs" in verdict.reason


def test_plan_standalone_rewrites_a_file_holding_more_than_the_fleet_without_a_call() -> None:
    own = material().config
    later = NOW + datetime.timedelta(days=1)
    standalone = build(params(standalone=True))
    assert plan_of(text_of(own), standalone, later).reason is None
    # kubectl writes `preferences: {}` into every file it touches: no reason to rewrite.
    assert plan_of(text_of(own | {"preferences": {}}), standalone, later).reason is None
    more = own | {"contexts": [*own["contexts"], {"name": "other", "context": {"cluster": "x", "user": "y"}}]}
    verdict = plan_of(text_of(more), standalone, later)
    assert verdict.fetch is False and verdict.reason == "the file holds other entries than the fleet's, and it is to hold the fleet alone"
    assert plan_of(text_of(more), build(params()), later).reason is None


def test_plan_with_other_names_fetches_under_the_new_names() -> None:
    """Entries under names the user no longer asks for are not the fleet's (no rename by guess)."""
    text = text_of(material().config)
    verdict = plan_of(text, build(params(cluster_name="prod", user_name="prod", context_name="prod")), NOW)
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
    request = build(params(duration=days, renew_before=None))
    assert request.wanted.renew_before_days is None
    verdict = plan_of(text_of(material(days).config), request, NOW + datetime.timedelta(days=age))
    assert verdict.fetch is renew
    if renew:
        assert "expires on" in verdict.reason and verdict.info is not None
    else:
        assert verdict.reason is None


def test_plan_explicit_renew_before_wins() -> None:
    text = text_of(material(30).config)
    at = NOW + datetime.timedelta(days=15)
    assert plan_of(text, build(params(duration=30, renew_before=None)), at).fetch is False
    verdict = plan_of(text, build(params(duration=30, renew_before=20)), at)
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
    verdict = plan_of(text, build(params()), NOW + datetime.timedelta(days=at))
    assert verdict.fetch and verdict.reason.endswith(reason)
