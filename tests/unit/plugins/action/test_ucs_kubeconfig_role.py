"""The role's Python side: its variables (read through the module's spec and builder), the plan of
a host, the download's reuse and secret rule, the tags and the write's inputs, without Ansible's
executor (the system tests run them for real)."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play

from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_fetch as fetch
from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_install as install
from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_plan as plan
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils import _role as role
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import FLEET_ID, NOW, VPC_ID, file_info_answer, make_kubeconfig

NAME = f"ucs-fleet-{FLEET_ID}"


def variables(**changes: Any) -> dict[str, Any]:
    values = {"ucs_kubeconfig_fleet_id": FLEET_ID, "ucs_kubeconfig_vpc_id": VPC_ID}
    values.update({f"ucs_kubeconfig_{name}": value for name, value in changes.items()})
    return values


def good(**changes: Any) -> role.RoleSettings:
    return role.read_variables(variables(**changes).get)


# --- the variables --------------------------------------------------------------------------------


def test_defaults_come_from_the_module_spec() -> None:
    found = good()
    settings = found.settings
    assert settings.fleet == f"{FLEET_ID}/{VPC_ID}" and settings.dest == "~/.kube/config"
    assert settings.mode == "0600" and settings.dir_mode == 0o700 and settings.duration == 365
    assert settings.wanted.renew_before_days is None and settings.wanted.context_fields == {}
    assert found.params["controller"] == "localhost" and found.given == {"fleet_id", "vpc_id"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fleet_id": None}, "ucs_kubeconfig_fleet_id is not set"),
        ({"fleet_id": "  "}, "ucs_kubeconfig_fleet_id must not be empty"),
        ({"fleet_id": "abc\n"}, "ucs_kubeconfig_fleet_id must not contain control characters"),
        ({"vpc_id": " vpc"}, "ucs_kubeconfig_vpc_id must not contain control characters (a line break, a tab, NUL) or begin or end with white space"),
        ({"path": "relative/config"}, "ucs_kubeconfig_path must be an absolute path, or start with ~"),
        ({"path": "/etc/kube/"}, "ucs_kubeconfig_path must be an absolute path"),
        ({"mode": 600}, "ucs_kubeconfig_mode 600 is an integer"),
        ({"mode": "rw-------"}, "ucs_kubeconfig_mode 'rw-------' is invalid"),
        ({"dir_mode": "777x"}, "ucs_kubeconfig_dir_mode '777x' is invalid"),
        ({"cluster_name": "  "}, "ucs_kubeconfig_cluster_name must not be empty"),
        ({"context_name": ""}, "ucs_kubeconfig_context_name must not be empty"),
        ({"renew_before": -1}, "ucs_kubeconfig_renew_before must be 0 or more days, got -1"),
        ({"renew_before": 400}, "ucs_kubeconfig_renew_before (400) must be smaller than ucs_kubeconfig_duration (365)"),
        ({"duration": 0}, "ucs_kubeconfig_duration must be between 1 and 1825 days, got 0"),
        ({"duration": "ten"}, "argument 'ucs_kubeconfig_duration' is of type"),
        ({"namespace": "Team_A"}, "ucs_kubeconfig_namespace 'Team_A' is not an RFC 1123 label"),
        ({"set_current_context": "maybe"}, "argument 'ucs_kubeconfig_set_current_context' is of type"),
        ({"auth_method": "kerberos"}, "value of ucs_kubeconfig_auth_method must be one of: auto, aksk, token, password"),
        ({"timeout": 0}, "ucs_kubeconfig_timeout must be between 1 and 600 seconds, got 0"),
    ],
)
def test_a_bad_variable_is_named_with_its_rule(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        good(**changes)
    assert info.value.msg.startswith(message), info.value.msg


def test_extra_vars_given_as_strings_and_whole_floats_are_typed_as_the_module_types_them() -> None:
    settings = good(renew_before="5", duration="10", set_current_context="false", backup="yes").settings
    assert settings.wanted.renew_before_days == 5 and settings.duration == 10
    assert settings.wanted.set_current is False and settings.backup is True


def test_symbolic_modes_are_taken_as_the_module_takes_them() -> None:
    assert good(mode="u=rw,go=").settings.mode == "u=rw,go="


def test_standalone_reaches_the_wanted_entries() -> None:
    assert good(standalone=True).settings.wanted.standalone is True


def test_fetch_args_hold_only_set_options_and_no_secret() -> None:
    found = good(endpoint="https://ucs.example", validate_certs=False, timeout=5, region="", secret_key="s3cr3t", password="pw", namespace="team-a")
    assert found.fetch_args() == {
        "fleet_id": FLEET_ID,
        "vpc_id": VPC_ID,
        "duration": 365,
        "endpoint": "https://ucs.example",
        "validate_certs": False,
        "timeout": 5,
    }


def test_unknown_variables_are_named_with_the_closest_known_one() -> None:
    warnings = role.unknown_variables(["ucs_kubeconfig_namspace", "ucs_kubeconfig_path", "ucs_kubeconfig_result", "ucs_kubeconfig_zzz", "other"])
    assert warnings == [
        "ucs_kubeconfig: the variable ucs_kubeconfig_namspace is not a variable of the role, so it has no effect; did you mean ucs_kubeconfig_namespace?",
        "ucs_kubeconfig: the variable ucs_kubeconfig_zzz is not a variable of the role, so it has no effect",
    ]


@pytest.mark.parametrize(("strategy", "refused"), [("linear", False), ("free", True), ("ansible.builtin.host_pinned", True), ("debug", False)])
def test_strategies_whose_hosts_do_not_wait_are_refused(strategy: str, refused: bool) -> None:
    message = role.unshared_strategy(strategy)
    assert bool(message) is refused
    if refused:
        assert f"strategy {strategy}" in message


@pytest.mark.parametrize(
    ("plan_tags", "only", "skip"),
    [
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["all"], []),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["ucs_kubeconfig_plan"], []),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["ucs_kubeconfig_write"], []),
        (["kubecfg", "ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["kubecfg"], []),
        (["kubecfg", "ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["all"], ["kubecfg"]),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["tagged"], []),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write"], ["all"], ["tagged"]),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write", "always"], ["ucs_kubeconfig_plan"], ["all"]),
        (["ucs_kubeconfig", "ucs_kubeconfig_plan", "ucs_kubeconfig_write", "never"], ["all"], []),
        (["ucs_kubeconfig_plan"], ["untagged"], []),
    ],
)
def test_the_write_step_runs_by_ansibles_own_tag_rule(plan_tags: list[str], only: list[str], skip: list[str]) -> None:
    tags = [tag for tag in plan_tags if tag != role.PLAN_TAG]
    play = Play.load({"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "write", "meta": "noop", "tags": tags}]}, loader=DataLoader())
    write = play.tasks[0].block[0]
    expected = write.evaluate_tags(set(only), set(skip), {})
    assert role.write_will_run(plan_tags, {"ansible_run_tags": only, "ansible_skip_tags": skip}) is expected


def test_target_messages_are_relabelled_with_the_variable() -> None:
    assert role.relabel("owner 'bob': no such user on this host") == "ucs_kubeconfig_owner 'bob': no such user on this host"
    assert role.relabel("path /x is a directory") == "ucs_kubeconfig_path /x is a directory"
    assert role.relabel("cannot read it") == "cannot read it"


# --- the plan -----------------------------------------------------------------------------------


def state(config: dict[str, Any] | None, file_mode: str = "0600", **extra: Any) -> dict[str, Any]:
    return file_info_answer("/home/ops/.kube/config", None if config is None else yaml.safe_dump(config).encode(), file_mode, **extra)


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


def test_missing_file_needs_a_download_and_carries_nothing() -> None:
    result = plan.decide(good(), state(None), NOW)
    assert result["needs_write"] and result["needs_fetch"] and result["needs_entries"]
    assert result["path"] == "/home/ops/.kube/config" and result["checksum"] is None
    assert result["reason"] == "the kubeconfig does not exist" and "content" not in result and "_ansible_no_log" not in result


def test_right_file_needs_nothing_and_the_plan_holds_no_key() -> None:
    config = fleet_file()
    result = plan.decide(good(), state(config), NOW)
    assert not result["needs_write"] and not result["needs_fetch"] and result["reason"] is None
    key = config["users"][0]["user"]["client-key-data"]
    assert key not in repr(result) and "content" not in result and "_ansible_no_log" not in result
    assert result["not_after"] and result["msg"] == "the kubeconfig is right"


def test_a_host_left_alone_ends_at_its_plan_whose_result_is_its_report() -> None:
    """The role includes its write step only where a plan writes; elsewhere the plan's result is
    what the role registers and shows, the report kubeconfig_install gives for such a plan."""
    right = plan.decide(good(mode="0644"), state(fleet_file(), "0644"), NOW)
    report = role.left_alone(right)
    assert report["_ansible_verbose_always"] and report["written"] is False and report["changed"] is False
    assert report["msg"] == f"/home/ops/.kube/config is right; its certificate expires on {right['not_after']}"
    assert report["warnings"] == right["notes"] and report["warnings"], "a loose mode that is asked for warns"
    assert not set(report) & set(role.WRITE_KEYS) and report["path"] == right["path"] and report["reason"] is None
    audit = plan.decide(good(), state(None), NOW, writes=False)
    assert role.left_alone(audit)["msg"].startswith("not written, the tags of this run leave out the write step")


def test_a_file_to_write_travels_to_the_write_step_under_no_log() -> None:
    read = state(fleet_file())
    result = plan.decide(good(namespace="team-a"), read, NOW)
    assert result["needs_write"] and not result["needs_fetch"] and result["needs_entries"]
    assert result["content"] == read["content"] and result["_ansible_no_log"] is True


def test_the_read_module_is_asked_for_the_drift_of_the_wanted_attributes() -> None:
    assert plan.read_args(good(path="/k", mode="0640").settings) == {"path": "/k", "mode": "0640", "backup": False}
    assert plan.read_args(good(path="/k", owner="1000", group="ops", backup=True).settings) == {
        "path": "/k",
        "mode": "0600",
        "backup": True,
        "owner": "1000",
        "group": "ops",
    }


def test_drift_and_namespace_need_a_write_but_no_download_and_show_a_diff() -> None:
    words = ["mode 0644, not 0600", "owner ops (uid 1000), not root (uid 0)"]
    drift = plan.decide(good(owner="root"), state(fleet_file(), "0644", drift=words), NOW)
    assert drift["needs_write"] and not drift["needs_fetch"] and not drift["needs_entries"]
    assert drift["reason"] == "mode 0644, not 0600; owner ops (uid 1000), not root (uid 0)"
    assert (drift["diff"]["before"]["mode"], drift["diff"]["after"]["mode"]) == ("0644", "0600")
    assert (drift["diff"]["before"]["owner"], drift["diff"]["after"]["owner"]) == ("ops", "root")
    assert not plan.decide(good(), state(fleet_file(), drift=[]), NOW)["needs_write"]
    namespace = plan.decide(good(namespace="team-a"), state(fleet_file()), NOW)
    assert namespace["needs_entries"] and not namespace["needs_fetch"] and "namespace 'team-a'" in namespace["reason"]
    assert (namespace["diff"]["before"]["namespace"], namespace["diff"]["after"]["namespace"]) == (None, "team-a")


def test_a_loose_symbolic_mode_warns_as_the_module_warns() -> None:
    result = plan.decide(good(mode="go+r"), state(fleet_file(), drift=["mode 0600, not 0644"]), NOW)
    assert result["notes"] == [
        "ucs_kubeconfig_mode 0644 gives its group and all other users access to a file that holds a private key; '0600' keeps it to its owner"
    ]


def test_expiring_other_vpc_force_and_renew_window() -> None:
    soon = fleet_file(days=20)
    renewing = plan.decide(good(renew_before=30), state(soon), NOW)
    assert renewing["needs_fetch"] and renewing["notes"][0].startswith(f"Renewing the federation kubeconfig of fleet {FLEET_ID}")
    assert not plan.decide(good(renew_before=10), state(soon), NOW)["needs_fetch"]
    assert plan.decide(good(vpc_id="vpc-other"), state(fleet_file()), NOW)["needs_fetch"]
    forced = plan.decide(good(force=True), state(fleet_file()), NOW)
    assert forced["needs_fetch"] and forced["reason"] == "ucs_kubeconfig_force is set"


def test_the_tags_leave_out_the_write_so_nothing_is_downloaded() -> None:
    result = plan.decide(good(), state(None), NOW, writes=False)
    assert not result["needs_write"] and not result["needs_fetch"]
    assert result["msg"] == "not written, the tags of this run leave out the write step (the kubeconfig does not exist)"


def test_unparsable_file_fails_in_merge_mode_only() -> None:
    garbage = dict(state(fleet_file()), content=base64.b64encode(b"clusters: [unclosed\n").decode())
    with pytest.raises(UcsValidationError) as info:
        plan.decide(good(), garbage, NOW)
    assert "ucs_kubeconfig_standalone=true" in info.value.msg and "not valid YAML" in info.value.msg
    assert info.value.msg.startswith("ucs_kubeconfig_path /home/ops/.kube/config holds something that is not a kubeconfig")
    assert plan.decide(good(standalone=True), garbage, NOW)["needs_fetch"]


def test_content_that_is_not_base64_is_an_error() -> None:
    with pytest.raises(UcsError, match="not base64"):
        plan.decide(good(), dict(state(fleet_file()), content="%%%"), NOW)


# --- the download ---------------------------------------------------------------------------------


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
    assert role.role_secret("secret_key", own, hostvars, "me", "other") == expected
    assert role.role_secret("secret_key", own, hostvars, "me", "me") == own


def a_plan(**changes: Any) -> dict[str, Any]:
    result = plan.decide(good(**changes.pop("settings", {})), state(None), NOW)
    result.update(changes)
    return result


def download(fetch_args: dict[str, Any], not_after: datetime.datetime, **extra: Any) -> dict[str, Any]:
    start = not_after - datetime.timedelta(days=365)
    return {
        "fetch_args": fetch_args,
        "kubeconfig": "text",
        "not_before": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "not_after": f"{not_after:%Y-%m-%dT%H:%M:%SZ}",
        **extra,
    }


def test_a_download_of_the_same_options_is_used_again_while_it_is_not_due() -> None:
    wanted = a_plan()
    valid = download(wanted["fetch_args"], NOW + datetime.timedelta(days=300))
    assert fetch.reusable(wanted, [valid], NOW) is valid
    assert fetch.reusable(wanted, [download(wanted["fetch_args"], NOW + datetime.timedelta(days=10))], NOW) is None  # due: within a third
    assert fetch.reusable(wanted, [download(dict(wanted["fetch_args"], duration=30), NOW + datetime.timedelta(days=300))], NOW) is None
    assert fetch.reusable(wanted, [dict(valid, failed=True)], NOW) is None
    assert fetch.reusable(wanted, [{"skipped": True}, "junk"], NOW) is None
    strict = a_plan(settings={"renew_before": 320})
    assert fetch.reusable(strict, [download(strict["fetch_args"], NOW + datetime.timedelta(days=300))], NOW) is None


# --- the write ------------------------------------------------------------------------------------


def test_download_of_the_fleet_or_the_cause() -> None:
    wanted = a_plan()
    assert install.downloaded(wanted, [{"fleet": "other/", "kubeconfig": "x"}, {"fleet": wanted["fleet"], "kubeconfig": "text"}]) == "text"
    cause = f"fleet {wanted['fleet']} for h1: federation is off"
    with pytest.raises(UcsError, match=r"^not written \(the kubeconfig does not exist\): no kubeconfig of fleet .* for h1: federation is off$"):
        install.downloaded(wanted, [{"fleet": wanted["fleet"], "failed": True, "msg": cause}])
    with pytest.raises(UcsError, match="its download did not run"):
        install.downloaded(wanted, [])
    assert install.downloaded(a_plan(needs_fetch=False), []) is None
    # In check mode the download makes read calls only: no kubeconfig, and none needed.
    assert install.downloaded(wanted, [{"fleet": wanted["fleet"]}], check_mode=True) is None


def test_a_failure_keeps_what_the_module_printed_masked() -> None:
    result = {"failed": True, "msg": "MODULE FAILURE", "module_stderr": "/bin/sh: 1: /opt/py/python3.13: not found\n", "module_stdout": "s3cr3t-value\n"}
    message = role.failure(result, "cannot read", secrets=["s3cr3t-value"])
    assert message == "MODULE FAILURE; the module printed: /bin/sh: 1: /opt/py/python3.13: not found ********"
    assert role.failure({"failed": True, "msg": "owner 'bob': no such user on this host"}, "x") == "ucs_kubeconfig_owner 'bob': no such user on this host"
