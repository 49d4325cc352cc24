"""The role's Python side: settings (plugin_utils), the plan's decision, the fetch's secret
rule and the install's merge, without Ansible's executor (the system tests run them for real)."""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_install as install
from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_plan as plan
from ansible_collections.ucs_cloud.fleet.plugins.action.kubeconfig_fetch import role_secret
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils import _ucs_kubeconfig as role
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import FLEET_ID, NOW, VPC_ID, make_kubeconfig

NAME = f"ucs-fleet-{FLEET_ID}"

DEFAULTS: dict[str, Any] = {
    "fleet_id": FLEET_ID,
    "vpc_id": VPC_ID,
    "project_id": None,
    "subnet_id": None,
    "duration": 365,
    "renew_before": None,
    "path": "~/.kube/config",
    "owner": None,
    "group": None,
    "mode": "0600",
    "dir_mode": "0700",
    "backup": False,
    "standalone": False,
    "cluster_name": NAME,
    "user_name": NAME,
    "context_name": NAME,
    "set_current_context": True,
    "namespace": None,
    "controller": "localhost",
    **{name: None for name in role.FETCH_OPTIONS[2:] + role.SECRET_OPTIONS},
}


def settings(**changes: Any) -> tuple[role.Settings | None, list[str]]:
    values = {**DEFAULTS, **changes}
    return role.read_settings(lambda name: values.get(name[len(role.PREFIX) :]))


def good(**changes: Any) -> role.Settings:
    found, errors = settings(**changes)
    assert found is not None, errors
    return found


# --- settings -----------------------------------------------------------------------------------


def test_defaults_are_valid_and_give_the_fleet_key() -> None:
    found = good()
    assert found.fleet == f"{FLEET_ID}/{VPC_ID}"
    assert found.mode == 0o600 and found.dir_mode == 0o700
    assert found.wanted.renew_before_days is None and found.wanted.context_fields == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fleet_id": None}, "ucs_kubeconfig_fleet_id is not set (the ID of the fleet whose kubeconfig to install)"),
        ({"fleet_id": "  "}, "ucs_kubeconfig_fleet_id must not be blank"),
        ({"vpc_id": " "}, "ucs_kubeconfig_vpc_id must not be blank"),
        ({"path": "relative/config"}, "ucs_kubeconfig_path must be an absolute path, or start with ~"),
        ({"path": "/etc/kube/"}, "ucs_kubeconfig_path must be an absolute path"),
        ({"mode": 600}, "ucs_kubeconfig_mode must be a quoted octal string such as '0600'"),
        ({"mode": "rw-------"}, "ucs_kubeconfig_mode must be a quoted octal string"),
        ({"dir_mode": "777x"}, "ucs_kubeconfig_dir_mode must be a quoted octal string such as '0700'"),
        ({"cluster_name": "  "}, "ucs_kubeconfig_cluster_name must not be empty"),
        ({"context_name": ""}, "ucs_kubeconfig_context_name must not be empty"),
        ({"renew_before": -1}, "ucs_kubeconfig_renew_before must be a whole number of days, 0 or more"),
        ({"renew_before": True}, "ucs_kubeconfig_renew_before must be a whole number of days"),
        ({"renew_before": 400}, "ucs_kubeconfig_renew_before must be smaller than ucs_kubeconfig_duration (365)"),
        ({"duration": 0}, "ucs_kubeconfig_duration must be a whole number of days, from 1 to 1825"),
        ({"namespace": "Team_A"}, "ucs_kubeconfig_namespace 'Team_A' is not an RFC 1123 label"),
        ({"set_current_context": "maybe"}, "ucs_kubeconfig_set_current_context must be true or false"),
        ({"controller": ""}, "ucs_kubeconfig_controller is not set"),
    ],
)
def test_a_bad_setting_is_named_with_its_rule(changes: dict[str, Any], message: str) -> None:
    found, errors = settings(**changes)
    assert found is None
    assert any(error.startswith(message) for error in errors), errors


def test_key_value_extra_vars_are_strings() -> None:
    found = good(renew_before="5", duration="10", set_current_context="false", backup="yes")
    assert found.wanted.renew_before_days == 5 and found.duration == 10
    assert found.wanted.set_current is False and found.backup is True


def test_fetch_args_hold_only_set_options_and_no_secret() -> None:
    found = good(endpoint="https://ucs.example", validate_certs=False, timeout=0, region="", secret_key="s3cr3t", password="pw")
    assert found.fetch_args == {
        "fleet_id": FLEET_ID,
        "vpc_id": VPC_ID,
        "duration": 365,
        "endpoint": "https://ucs.example",
        "validate_certs": False,
        "timeout": 0,
    }
    assert "s3cr3t" not in repr(found.public()) + repr(found.fetch_args)


def test_plain_text_copies_str_subclasses() -> None:
    class Unsafe(str):
        def __str__(self) -> str:  # pylint: disable=invalid-str-returned
            return self  # as Ansible's unsafe text does on ansible-core 2.16

    assert role.plain_text(Unsafe("x")).__class__ is str
    assert role.wanted_from(good().public()).cluster_name.__class__ is str


# --- the plan -----------------------------------------------------------------------------------


def state(config: dict[str, Any] | None, file_mode: str = "0600", **extra: Any) -> dict[str, Any]:
    if config is None:
        return {"path": "/home/ops/.kube/config", "exists": False}
    data = yaml.safe_dump(config).encode()
    return {
        "path": "/home/ops/.kube/config",
        "exists": True,
        "content": base64.b64encode(data).decode(),
        "mode": file_mode,
        "uid": 1000,
        "gid": 1000,
        "owner": "ops",
        "group": "ops",
        **extra,
    }


def fleet_file(**options: Any) -> dict[str, Any]:
    options = {
        "cluster": NAME,
        "user": NAME,
        "context": NAME,
        "fleet_id": FLEET_ID,
        "vpc_id": VPC_ID,
        "not_before": NOW - datetime.timedelta(days=1),
        "token": None,
        **options,
    }
    return make_kubeconfig(**options).config


def test_missing_file_needs_a_download() -> None:
    result = plan.decide(good(), state(None), NOW)
    assert result["needs_write"] and result["needs_fetch"] and result["needs_entries"]
    assert result["path"] == "/home/ops/.kube/config" and result["checksum"] is None
    assert result["reason"] == "the kubeconfig does not exist"


def test_right_file_needs_nothing_and_the_plan_holds_no_key() -> None:
    config = fleet_file()
    result = plan.decide(good(), state(config), NOW)
    assert not result["needs_write"] and not result["needs_fetch"] and result["reason"] is None
    assert result["checksum"] == hashlib.sha256(yaml.safe_dump(config).encode()).hexdigest()
    key = config["users"][0]["user"]["client-key-data"]
    assert key not in repr(result) and "content" not in result


def test_the_read_module_is_asked_for_the_drift_of_the_wanted_attributes() -> None:
    # kubeconfig_file_info compares them on the target (its own tests hold the rule and the words).
    assert plan.read_args(good(path="/k", mode="0640")) == {"path": "/k", "mode": "0640"}
    assert plan.read_args(good(path="/k", owner="1000", group="ops")) == {"path": "/k", "mode": "0600", "owner": "1000", "group": "ops"}


def test_drift_and_namespace_need_a_write_but_no_download() -> None:
    words = ["mode 0644, not 0600", "owner ops (uid 1000), not root (uid 0)"]
    drift = plan.decide(good(owner="root"), state(fleet_file(), "0644", drift=words), NOW)
    assert drift["needs_write"] and not drift["needs_fetch"] and not drift["needs_entries"]
    assert drift["reason"] == "mode 0644, not 0600; owner ops (uid 1000), not root (uid 0)"
    assert not plan.decide(good(), state(fleet_file(), drift=[]), NOW)["needs_write"]
    namespace = plan.decide(good(namespace="team-a"), state(fleet_file()), NOW)
    assert namespace["needs_entries"] and not namespace["needs_fetch"]
    assert "namespace 'team-a'" in namespace["reason"]


def test_expiring_other_vpc_and_renew_window() -> None:
    soon = fleet_file(days=20)
    assert plan.decide(good(renew_before=30), state(soon), NOW)["needs_fetch"]
    assert not plan.decide(good(renew_before=10), state(soon), NOW)["needs_fetch"]
    assert plan.decide(good(vpc_id="vpc-other"), state(fleet_file()), NOW)["needs_fetch"]


def test_unparsable_file_fails_in_merge_mode_only() -> None:
    garbage = {
        "path": "/k",
        "exists": True,
        "content": base64.b64encode(b"clusters: [unclosed\n").decode(),
        "mode": "0600",
        "uid": 0,
        "gid": 0,
        "owner": "root",
        "group": "root",
    }
    failed = plan.decide(good(), garbage, NOW)
    assert failed["failed"] and "ucs_kubeconfig_standalone=true" in failed["msg"] and "not valid YAML" in failed["msg"]
    assert plan.decide(good(standalone=True), garbage, NOW)["needs_fetch"]


# --- the download's secrets ------------------------------------------------------------------------


class HostVars(dict):
    """hostvars: inventory variables per host."""


@pytest.mark.parametrize(
    ("own", "mine_inventory", "theirs", "expected"),
    [
        ("play", None, None, "play"),  # play/role value, no inventory value anywhere
        ("play", None, "theirs", "play"),  # play/role value wins over the fleet host's inventory
        ("mine", "mine", "theirs", "theirs"),  # this host's own inventory value: the fleet host's own wins
        ("mine", "mine", None, "mine"),  # the fleet host has none in its inventory: same play-wide
        (None, None, "theirs", "theirs"),
    ],
)
def test_secret_of_the_fleets_first_host(own: Any, mine_inventory: Any, theirs: Any, expected: Any) -> None:
    hostvars = HostVars(
        me={"ucs_kubeconfig_secret_key": mine_inventory} if mine_inventory else {}, other={"ucs_kubeconfig_secret_key": theirs} if theirs else {}
    )
    assert role_secret("secret_key", own, hostvars, "me", "other") == expected
    assert role_secret("secret_key", own, hostvars, "me", "me") == own


# --- the install ---------------------------------------------------------------------------------


def a_plan(**changes: Any) -> dict[str, Any]:
    result = plan.decide(good(**changes.pop("settings", {})), state(None), NOW)
    result.update(changes)
    return result


def test_download_of_the_fleet_or_the_cause() -> None:
    wanted = a_plan()
    assert install.downloaded(wanted, [{"fleet": "other/", "kubeconfig": "x"}, {"fleet": wanted["fleet"], "kubeconfig": "text"}]) == "text"
    with pytest.raises(
        install.InstallError, match=r"no kubeconfig of fleet fleet-0001 for /home/ops/.kube/config \(the kubeconfig does not exist\): federation is off"
    ):
        install.downloaded(wanted, [{"fleet": wanted["fleet"], "fetch_failed": True, "msg": "federation is off"}])
    with pytest.raises(install.InstallError, match="the download did not run"):
        install.downloaded(wanted, [])
    assert install.downloaded(a_plan(needs_fetch=False), []) is None


def test_merge_keeps_other_entries_and_attributes_only_keeps_the_bytes() -> None:
    fleet = yaml.safe_dump(fleet_file())
    other = make_kubeconfig(cluster="other", user="other", context="other").config
    existing = yaml.safe_dump(other).encode()
    merged = yaml.safe_load(install.content_to_write(a_plan(), existing, fleet))
    assert {c["name"] for c in merged["contexts"]} == {"other", NAME} and merged["current-context"] == NAME
    attributes_only = a_plan(needs_entries=False)
    assert install.content_to_write(attributes_only, existing, None) == existing.decode()
    with pytest.raises(install.InstallError, match="removed while the role was running"):
        install.content_to_write(attributes_only, None, None)


def test_unmergeable_file_names_the_way_out() -> None:
    with pytest.raises(install.InstallError, match="ucs_kubeconfig_standalone=true"):
        install.content_to_write(a_plan(), b"- just\n- a list\n", yaml.safe_dump(fleet_file()))
