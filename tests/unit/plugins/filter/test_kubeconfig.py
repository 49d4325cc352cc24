from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.ucs_cloud.fleet.plugins.filter import kubeconfig as filters
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import (
    FLEET_ID,
    NOW,
    SERVER,
    VPC_ID,
    leaked,
    make_kubeconfig,
)

DAY = datetime.timedelta(days=1)
MATERIAL = make_kubeconfig(fleet_id=FLEET_ID, vpc_id=VPC_ID)
FLEET_TEXT = kc.dump_kubeconfig(MATERIAL.config)
NAMES = ("ucs-fleet-a", "ucs-fleet-a-user", "ucs-fleet-a-ctx")
SECRETS = [*MATERIAL.secrets, "foreign-token-value-0123456789"]

FOREIGN = """\
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example.test
contexts:
- name: prod
  context: {cluster: prod, user: admin, namespace: apps}
current-context: prod
preferences: {}
users:
- name: admin
  user:
    token: foreign-token-value-0123456789
"""


def slurp(text: str | bytes) -> str:
    """What ansible.builtin.slurp returns as content."""
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filters, "_utcnow", lambda: NOW)


def status(content: Any, **kwargs: Any) -> dict[str, Any]:
    return filters.kubeconfig_status(content, FLEET_ID, *NAMES, **kwargs)


def merge(existing: Any, fleet: Any = FLEET_TEXT, **kwargs: Any) -> str:
    return filters.kubeconfig_merge(existing, fleet, *NAMES, **kwargs)


def test_filters_are_registered() -> None:
    assert set(filters.FilterModule().filters()) == {"kubeconfig_status", "kubeconfig_merge"}


# ----------------------------------------------------------------------------------------------
# kubeconfig_status


@pytest.mark.parametrize("content", [None, ""])
def test_status_of_a_missing_file(content: Any) -> None:
    assert status(content) == {"needs_update": True, "reason": "the kubeconfig is missing", "not_after": None, "server": None}


def test_status_after_merge_is_up_to_date() -> None:
    written = merge(slurp(FOREIGN))
    expected = {"needs_update": False, "reason": None, "not_after": "2027-06-01T11:00:00Z", "server": SERVER}
    assert status(slurp(written), renew_before=30, vpc_id=VPC_ID, expected_server=SERVER) == expected
    assert status(written, encoding="text") == expected
    # slurp output is one line, but wrapped base64 is accepted too.
    wrapped = "\n".join(slurp(written)[i : i + 76] for i in range(0, len(slurp(written)), 76))
    assert status(wrapped) == expected


def test_status_due_for_renewal_keeps_the_details(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filters, "_utcnow", lambda: NOW + 340 * DAY)
    result = status(slurp(merge(None)), renew_before="30")
    assert result == {
        "needs_update": True,
        "reason": "context 'ucs-fleet-a-ctx' expires on 2027-06-01T11:00:00Z (within 30 days)",
        "not_after": "2027-06-01T11:00:00Z",
        "server": SERVER,
    }


@pytest.mark.parametrize(
    ("content", "kwargs", "reason"),
    [
        (FOREIGN, {}, "context 'ucs-fleet-a-ctx' is missing"),
        ("clusters: [\n", {}, "the kubeconfig is not valid YAML (line 2, column 1)"),
        (b"\x00\xff\xfe binary", {}, "the kubeconfig is not UTF-8 text"),
        ("# nothing here\n", {}, "the kubeconfig is empty"),
        ("- just\n- a list\n", {}, "the kubeconfig must be a mapping at the top level, not a list"),
        (None, {"set_current": False}, "the kubeconfig is missing"),
        ("MERGED_NOT_CURRENT", {}, "current-context is not 'ucs-fleet-a-ctx'"),
        ("MERGED_NOT_CURRENT", {"set_current": "no"}, None),
        ("MERGED", {"vpc_id": "vpc-other"}, "context 'ucs-fleet-a-ctx' was issued for another VPC (vpc-0001)"),
        ("MERGED", {"expected_server": "https://other.example.test:5443"}, "the server of cluster 'ucs-fleet-a' differs from https://other.example.test:5443"),
        ("MERGED_BROKEN_KEY", {}, "users[1].user.client-key-data is not valid base64"),
    ],
)
def test_status_reasons(content: Any, kwargs: dict[str, Any], reason: str | None) -> None:
    if content == "MERGED":
        content = merge(slurp(FOREIGN))
    elif content == "MERGED_NOT_CURRENT":
        content = merge(slurp(FOREIGN), set_current=False)
    elif content == "MERGED_BROKEN_KEY":
        key_data = MATERIAL.config["users"][0]["user"]["client-key-data"]
        content = merge(slurp(FOREIGN)).replace(key_data, key_data[:10] + "!" + key_data[10:])
    result = status(None if content is None else slurp(content), **kwargs)
    assert result["reason"] == reason
    assert result["needs_update"] is (reason is not None)
    assert not leaked(str(result), SECRETS)


def test_status_for_another_fleet() -> None:
    result = filters.kubeconfig_status(slurp(merge(None)), "fleet-other", *NAMES)
    assert result["needs_update"] and result["reason"] == "context 'ucs-fleet-a-ctx' belongs to another fleet (fleet-0001)"


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((None, "", *NAMES), {}, "kubeconfig_status: fleet_id must be a non-empty string"),
        ((None, FLEET_ID, "", NAMES[1], NAMES[2]), {}, "cluster_name must be a non-empty string"),
        ((None, FLEET_ID, NAMES[0], None, NAMES[2]), {}, "user_name must be a non-empty string"),
        ((None, FLEET_ID, NAMES[0], NAMES[1], 5), {}, "context_name must be a non-empty string"),
        ((None, FLEET_ID, *NAMES), {"renew_before": -1}, "renew_before must be a whole number of days, 0 or more"),
        ((None, FLEET_ID, *NAMES), {"renew_before": "soon"}, "renew_before must be a whole number of days"),
        ((None, FLEET_ID, *NAMES), {"renew_before": True}, "renew_before must be a whole number of days"),
        ((None, FLEET_ID, *NAMES), {"set_current": "maybe"}, "set_current must be a boolean"),
        ((None, FLEET_ID, *NAMES), {"vpc_id": 7}, "vpc_id must be a non-empty string"),
        ((None, FLEET_ID, *NAMES), {"encoding": "hex"}, "encoding must be one of base64, text"),
        (("not base64 !", FLEET_ID, *NAMES), {}, "the input is not base64; pass the content of ansible.builtin.slurp, or set encoding='text'"),
        (({"content": "x"}, FLEET_ID, *NAMES), {}, "the input must be a string (the content of ansible.builtin.slurp) or null"),
    ],
)
def test_status_bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AnsibleFilterError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        filters.kubeconfig_status(*args, **kwargs)


def test_status_names_missing_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kc, "_import_cryptography", lambda: (None, "ImportError: No module named 'cryptography'"))
    with pytest.raises(AnsibleFilterError, match="kubeconfig_status needs the Python library cryptography on the controller"):
        status(None)


@pytest.mark.parametrize(("flag", "library"), [("HAS_YAML", "PyYAML")])
def test_status_names_a_missing_library(monkeypatch: pytest.MonkeyPatch, flag: str, library: str) -> None:
    monkeypatch.setattr(kc, flag, False)
    with pytest.raises(AnsibleFilterError, match=f"kubeconfig_status needs the Python library {library} on the controller"):
        status(None)


# ----------------------------------------------------------------------------------------------
# kubeconfig_merge


def test_merge_into_a_foreign_kubeconfig_keeps_everything_else() -> None:
    merged = yaml.safe_load(merge(slurp(FOREIGN)))
    foreign = yaml.safe_load(FOREIGN)
    assert merged["clusters"][0] == foreign["clusters"][0] and merged["users"][0] == foreign["users"][0]
    assert merged["contexts"][0] == foreign["contexts"][0]
    assert [c["name"] for c in merged["clusters"]] == ["prod", "ucs-fleet-a"]
    assert merged["contexts"][1] == {"name": "ucs-fleet-a-ctx", "context": {"cluster": "ucs-fleet-a", "user": "ucs-fleet-a-user"}}
    assert merged["users"][1] == {"name": "ucs-fleet-a-user", "user": MATERIAL.config["users"][0]["user"]}
    assert merged["current-context"] == "ucs-fleet-a-ctx" and merged["preferences"] == {}


def test_merge_is_stable_and_idempotent() -> None:
    once = merge(slurp(FOREIGN))
    assert merge(slurp(FOREIGN)) == once
    assert merge(slurp(once)) == once
    assert merge(once, encoding="text") == once
    assert merge(slurp(FOREIGN), fleet=yaml.safe_load(FLEET_TEXT)) == once


def test_merge_without_set_current_keeps_the_current_context() -> None:
    assert yaml.safe_load(merge(slurp(FOREIGN), set_current=False))["current-context"] == "prod"
    assert yaml.safe_load(merge(None, set_current=False))["current-context"] == "ucs-fleet-a-ctx"


@pytest.mark.parametrize("existing", [None, "", slurp(""), slurp("# empty\n")])
def test_merge_without_a_file_is_standalone(existing: Any) -> None:
    result = yaml.safe_load(merge(existing))
    assert [c["name"] for c in result["clusters"]] == ["ucs-fleet-a"]
    assert [u["name"] for u in result["users"]] == ["ucs-fleet-a-user"]
    assert result["current-context"] == "ucs-fleet-a-ctx"
    info = kc.validate_kubeconfig(result, now=NOW)
    assert (info.fleet_id, info.vpc_id, info.server) == (FLEET_ID, VPC_ID, SERVER)


@pytest.mark.parametrize("existing", [slurp(FOREIGN), slurp("not: [yaml"), slurp(b"\xff\xfe")])
def test_standalone_ignores_the_existing_file(existing: str) -> None:
    assert merge(existing, standalone=True) == merge(None)


def test_merge_refuses_a_file_that_is_not_yaml_without_quoting_it() -> None:
    broken = "users:\n- name: admin\n  user: {token: foreign-token-value-0123456789\n"
    with pytest.raises(AnsibleFilterError) as info:
        merge(slurp(broken))
    assert str(info.value) == "the existing kubeconfig is not valid YAML; set ucs_kubeconfig_standalone=true or fix the file"
    assert not leaked(str(info.value), SECRETS)


@pytest.mark.parametrize(
    ("existing", "fragment"),
    [
        ("- a list\n", "the existing kubeconfig cannot be merged into (the kubeconfig must be a mapping at the top level, not a list)"),
        ("users: {admin: {token: foreign-token-value-0123456789}}\n", "the existing kubeconfig: users must be a list, not a mapping"),
    ],
)
def test_merge_refuses_a_file_it_cannot_merge_into(existing: str, fragment: str) -> None:
    with pytest.raises(AnsibleFilterError) as info:
        merge(slurp(existing))
    assert fragment in str(info.value) and "ucs_kubeconfig_standalone=true" in str(info.value)
    assert not leaked(str(info.value), SECRETS)


@pytest.mark.parametrize(
    ("fleet", "fragment"),
    [
        (None, "kubeconfig_merge: fleet_kubeconfig is empty"),
        ("", "kubeconfig_merge: fleet_kubeconfig is empty"),
        ("clusters: [", "fleet_kubeconfig is not usable: the kubeconfig is not valid YAML"),
        (FLEET_TEXT.replace("current-context: demo", "current-context: gone"), "the fleet kubeconfig: contexts has no entry named 'gone'"),
    ],
)
def test_merge_bad_fleet_kubeconfig(fleet: Any, fragment: str) -> None:
    with pytest.raises(AnsibleFilterError) as info:
        merge(None, fleet=fleet)
    assert fragment in str(info.value)
    assert "standalone" not in str(info.value)
    assert not leaked(str(info.value), SECRETS)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"standalone": "perhaps"}, "standalone must be a boolean"),
        ({"set_current": None}, "set_current must be a boolean"),
        ({"encoding": "gzip"}, "encoding must be one of base64, text"),
    ],
)
def test_merge_bad_arguments(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(AnsibleFilterError, match=fragment):
        merge(None, **kwargs)
    with pytest.raises(AnsibleFilterError, match="cluster_name must be a non-empty string"):
        filters.kubeconfig_merge(None, FLEET_TEXT, " ", "u", "c")
    with pytest.raises(AnsibleFilterError, match="the input is not base64"):
        merge("%%%")


def test_merge_names_missing_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kc, "HAS_YAML", False)
    with pytest.raises(AnsibleFilterError, match="kubeconfig_merge needs the Python library PyYAML on the controller"):
        merge(None)


def test_merge_does_not_need_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kc, "_import_cryptography", lambda: (None, "ImportError: No module named 'cryptography'"))
    assert merge(None).startswith("apiVersion: v1\n")
