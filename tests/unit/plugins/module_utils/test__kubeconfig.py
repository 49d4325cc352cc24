"""_kubeconfig: the PyYAML half (parse, walk, normalise, stamp, render, dump, secrets)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files, _kubeconfig_limits
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_stamp as stamp
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_limits import KubeconfigTooLargeError
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import (
    FLEET_ID,
    SERVER,
    VPC_ID,
    leaked,
    make_kubeconfig,
    pem_lines,
)

BASE = make_kubeconfig()
KEY_B64 = BASE.config["users"][0]["user"]["client-key-data"]
WANTED = kc.FleetEntries(FLEET_ID, VPC_ID, "ucs-fleet", "ucs-fleet", "ucs-fleet", {}, True, None)


def stamped_base() -> dict[str, Any]:
    config = BASE.copy()
    config["clusters"][0]["cluster"] = stamp.stamped(config["clusters"][0]["cluster"], WANTED)
    return config


# ----------------------------------------------------------------------------------------------
# parse


def test_parse_yaml_json_bytes_and_mapping() -> None:
    text = kc.dump_kubeconfig(BASE.config)
    assert kc.parse_kubeconfig(text) == BASE.config
    assert kc.parse_kubeconfig(text.encode()) == BASE.config
    assert kc.parse_kubeconfig("\ufeff".encode() + text.encode()) == BASE.config
    assert kc.parse_kubeconfig(json.dumps(BASE.config)) == BASE.config
    # JSON with tab indentation, which YAML would reject.
    assert kc.parse_kubeconfig(json.dumps(BASE.config, indent="\t")) == BASE.config
    copied = kc.parse_kubeconfig(BASE.config)
    assert copied == BASE.config
    copied["clusters"][0]["cluster"]["server"] = "changed"
    assert BASE.config["clusters"][0]["cluster"]["server"] == SERVER


def test_parse_turns_str_subclasses_and_tuples_into_plain_values() -> None:
    class Unsafe(str):
        pass

    result = kc.parse_kubeconfig({Unsafe("kind"): Unsafe("Config"), "list": (1, Unsafe("x"))})
    assert result == {"kind": "Config", "list": [1, "x"]}
    assert all(value.__class__ is str for value in (next(iter(result)), result["kind"], result["list"][1]))


@pytest.mark.parametrize(
    ("source", "fragment", "syntax"),
    [
        ("not: [valid", "the kubeconfig is not valid YAML (line 1, column 12)", True),
        ("users:\n- user: {client-key-data: c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=\n  name: x\n", "the kubeconfig is not valid YAML (line", True),
        ("a: b\n\tc: 'c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA='\n", "not valid YAML", True),
        ("---\na: 1\n---\nb: 2\n", "not valid YAML", True),
        ("a: 2020-13-45\n", "the kubeconfig is not valid YAML", True),
        ("{'json': broken c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=", "not valid YAML", True),
        (b"\xff\xfe kind: Config", "the kubeconfig is not UTF-8 text", True),
        ("", "the kubeconfig is empty", False),
        ("# just a comment\n", "the kubeconfig is empty", False),
        ("- a list\n", "the kubeconfig must be a mapping at the top level, not a list", False),
        ("just text", "the kubeconfig must be a mapping at the top level, not a string", False),
        (42, "the kubeconfig must be YAML or JSON text or a mapping, not a number", False),
        (None, "the kubeconfig must be YAML or JSON text or a mapping, not null", False),
    ],
)
def test_parse_errors_never_echo_the_document(source: Any, fragment: str, syntax: bool) -> None:
    with pytest.raises(UcsKubeconfigError) as info:
        kc.parse_kubeconfig(source)
    assert fragment in info.value.msg
    assert isinstance(info.value, kc.KubeconfigSyntaxError) is syntax
    assert "c2VjcmV0" not in info.value.msg and "secret" not in info.value.msg.lower()


def test_parse_allow_empty() -> None:
    assert kc.parse_kubeconfig("  \n# comment only\n", allow_empty=True) == {}
    assert kc.parse_kubeconfig("", allow_empty=True) == {}


def test_parse_bounds_alias_bombs_and_cycles() -> None:
    """Alias bombs and cycles are refused as kubectl refuses them: invalid, not too large."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    started = time.monotonic()
    with pytest.raises(UcsKubeconfigError, match="more than kubectl accepts") as bombed:
        kc.parse_kubeconfig(bomb)
    assert time.monotonic() - started < 2 and not isinstance(bombed.value, KubeconfigTooLargeError)
    with pytest.raises(UcsKubeconfigError, match="contains itself through a YAML alias") as cycle:
        kc.parse_kubeconfig("a: &a [*a]\n")
    assert not isinstance(cycle.value, KubeconfigTooLargeError)
    # A few shared anchors, as people write them, stay fine.
    shared = "defaults: &d {server: 'https://x:6443'}\nclusters:\n" + "".join(f"- name: c{i}\n  cluster: *d\n" for i in range(50))
    assert len(kc.parse_kubeconfig(shared)["clusters"]) == 50


def test_limits_of_this_collection_are_their_own_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_NODES or MAX_DEPTH the file may still be one kubectl loads: KubeconfigTooLargeError,
    so that no caller advises replacing it, and the message names the limit."""
    deep = "a: " + "[" * 70 + "]" * 70 + "\n"
    with pytest.raises(KubeconfigTooLargeError, match="nested deeper than 64 levels, the most this collection reads"):
        kc.parse_kubeconfig(deep)
    monkeypatch.setattr(_kubeconfig_limits, "MAX_NODES", 50)
    with pytest.raises(KubeconfigTooLargeError, match="holds more than 50 values, the most this collection reads"):
        kc.parse_kubeconfig({"clusters": [{"name": f"c{i}", "cluster": {}} for i in range(20)]})
    with pytest.raises(KubeconfigTooLargeError, match="the existing kubeconfig: the kubeconfig holds more than 50 values"):
        kc.render_kubeconfig({"clusters": [{"name": f"c{i}", "cluster": {}} for i in range(20)]}, None, WANTED)


def test_max_nodes_covers_every_document_the_file_cap_lets_in() -> None:
    """A YAML value takes at least two bytes ("1,"), so 32 MiB without aliases never passes MAX_NODES."""
    assert _kubeconfig_limits.MAX_NODES * 2 >= _files.MAX_FILE_SIZE


# ----------------------------------------------------------------------------------------------
# dump and sensitive values


def test_dump_is_deterministic_and_round_trips() -> None:
    config = stamped_base()
    text = kc.dump_kubeconfig(config)
    assert kc.dump_kubeconfig(kc.parse_kubeconfig(text)) == text
    assert kc.dump_kubeconfig(copy.deepcopy(config)) == text
    assert kc.parse_kubeconfig(text) == config
    assert "&id" not in text and "*id" not in text


def test_dump_key_order() -> None:
    config = {
        "custom": {"b": 1, "a": 2},
        "users": [{"user": {"token": "t"}, "name": "u"}],
        "preferences": {},
        "current-context": "c",
        "contexts": [{"context": {"user": "u", "cluster": "k"}, "name": "c"}],
        "clusters": [{"cluster": {"server": "https://h"}, "name": "k"}],
        "kind": "Config",
        "apiVersion": "v1",
    }
    text = kc.dump_kubeconfig(config)
    assert [line.split(":")[0] for line in text.splitlines() if line and not line.startswith((" ", "-"))] == [
        "apiVersion",
        "kind",
        "clusters",
        "contexts",
        "current-context",
        "preferences",
        "users",
        "custom",
    ]
    assert "- name: k\n  cluster:\n    server: https://h\n" in text
    assert "- name: c\n  context:\n    user: u\n    cluster: k\n" in text
    assert "custom:\n  b: 1\n  a: 2\n" in text


def test_dump_writes_shared_values_in_full_unicode_and_long_lines() -> None:
    shared = {"server": "https://h", "note": "Grüße " + "x " * 100}
    text = kc.dump_kubeconfig({"apiVersion": "v1", "clusters": [{"name": "a", "cluster": shared}, {"name": "b", "cluster": shared}]})
    assert "&" not in text and "Grüße" in text
    # Long values stay on one line (no folding at 80 columns).
    assert text.count(f"note: '{shared['note']}'\n") == 2


def test_dump_is_valid_for_kubectl_style_readers() -> None:
    text = kc.dump_kubeconfig(BASE.config)
    assert yaml.safe_load(text) == BASE.config
    assert text.startswith("apiVersion: v1\nkind: Config\nclusters:\n- name: cluster-demo\n")


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML without libyaml")
def test_pure_python_and_libyaml_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml is used when PyYAML has it: a host with and one without must read and write alike."""
    shared = {"server": "https://h", "note": "Grüße " + "x " * 100}
    configs = [
        stamped_base(),
        {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "a", "cluster": shared}, {"name": "b", "cluster": shared}]},
    ]
    outputs = []
    for loader, dumper in ((yaml.SafeLoader, yaml.SafeDumper), (yaml.CSafeLoader, yaml.CSafeDumper)):
        # The module's own dumper, on the base under test.
        monkeypatch.setattr(kc, "_SafeLoader", loader)
        monkeypatch.setattr(kc, "_Dumper", type("Dumper", (dumper,), {"ignore_aliases": kc._Dumper.ignore_aliases}))
        texts = [kc.dump_kubeconfig(config) for config in configs]
        assert [kc.parse_kubeconfig(text) for text in texts] == configs
        with pytest.raises(kc.KubeconfigSyntaxError, match=r"not valid YAML \(line 1, column 12\)"):
            kc.parse_kubeconfig("not: [valid")
        outputs.append(texts)
    assert outputs[0] == outputs[1]


def test_documents_need_no_cryptography() -> None:
    """_kubeconfig is the PyYAML-only half: parsing, merging and dumping never import cryptography."""
    code = (
        "import sys\n"
        "from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc\n"
        "wanted = kc.FleetEntries('f', None, 'c', 'u', 'x', {'namespace': 'dev'}, True, None)\n"
        "text = kc.render_kubeconfig(None, sys.stdin.read(), wanted)\n"
        "assert text.startswith('apiVersion: v1'), text[:20]\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'cryptography'))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    result = subprocess.run([sys.executable, "-c", code], input=kc.dump_kubeconfig(BASE.config), capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_sensitive_values() -> None:
    config = BASE.copy()
    config["users"].append({"name": "second", "user": {"token": "bearer-token-0123456789", "password": "pa55word", "username": "admin"}})
    config["users"].append({"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": "idtok-abc", "client-id": "public"}}}})
    config["users"].append("malformed")
    values = kc.sensitive_values(config)
    key_pem_text = base64.b64decode(KEY_B64).decode()
    assert KEY_B64 in values and key_pem_text in values
    assert {line for line in pem_lines(key_pem_text) if len(line) > 16} <= values
    assert {"bearer-token-0123456789", "pa55word", "idtok-abc"} <= values
    assert "" not in values and "admin" not in values and "public" not in values
    assert all(value.strip() for value in values)
    # The API's example sends "token": "" - an empty value must never be masked.
    assert "" not in kc.sensitive_values(BASE.config)


@pytest.mark.parametrize("config", [{}, {"users": "x"}, {"users": [{"user": "x"}]}, {"users": [{"user": {"client-key-data": "@@not base64@@"}}]}, None])
def test_sensitive_values_of_malformed_configs(config: Any) -> None:
    values = kc.sensitive_values(config)
    assert values <= {"@@not base64@@"}


# ----------------------------------------------------------------------------------------------
# the walker and the context of an API answer


def test_entries_strict_names_every_broken_entry() -> None:
    config = {"clusters": [{"name": "a", "cluster": {}}, {"name": "a", "cluster": {}}]}
    with pytest.raises(UcsKubeconfigError, match=r"clusters\[1\]\.name 'a' is already used by clusters\[0\]"):
        kc.entries(config, "clusters", strict=True)
    for item, fragment in (
        ("x", r"clusters\[0\] must be a mapping, not a string"),
        ({"cluster": {}}, "clusters\\[0\\].name must be a non-empty string"),
        ({"name": "a"}, r"clusters\[0\]\.cluster must be a mapping, not null"),
    ):
        with pytest.raises(UcsKubeconfigError, match=fragment):
            kc.entries({"clusters": [item]}, "clusters", strict=True)


def test_entries_loose_skips_foreign_junk_and_keeps_the_first_duplicate() -> None:
    config = {"users": ["junk", {"name": 3}, {"name": "u", "user": "broken"}, {"name": "v", "user": {"token": "a"}}, {"name": "v", "user": {"token": "b"}}]}
    found = kc.entries(config, "users", strict=False)
    assert [(entry.path, entry.name, dict(entry.body)) for entry in found] == [("users[2]", "u", {}), ("users[3]", "v", {"token": "a"})]
    assert kc.entries({}, "users", strict=False) == []
    with pytest.raises(UcsKubeconfigError, match="users must be a list, not a mapping"):
        kc.entries({"users": {"u": 1}}, "users", strict=False)


def test_select_context_uses_the_only_context_when_none_is_current() -> None:
    config = BASE.copy()
    del config["current-context"]
    context, cluster, user = kc.select_context(config)
    assert (context.name, cluster.name, user.name) == ("demo", "cluster-demo", "user")
    del config["kind"], config["apiVersion"]  # kubectl defaults both
    assert kc.select_context(config)[0].name == "demo"


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda c: c.update(kind="Pod"), "kind must be 'Config', not 'Pod'"),
        (lambda c: c.update(apiVersion=1), "apiVersion must be 'v1', not a number"),
        (lambda c: c.update({"current-context": "nope"}), "current-context names context 'nope', which is not in contexts"),
        (lambda c: c.update({"current-context": 5}), "current-context must be a string, not a number"),
        (
            lambda c: (c.pop("current-context"), c["contexts"].append({"name": "b", "context": {"cluster": "cluster-demo", "user": "user"}})),
            "current-context is not set and there are 2 contexts",
        ),
        (lambda c: c["contexts"][0]["context"].update(cluster="ghost"), "contexts[0].context.cluster names cluster 'ghost', which is not in clusters"),
        (lambda c: c["contexts"][0]["context"].pop("user"), "contexts[0].context.user must be a non-empty string"),
        (lambda c: c.update(users=[]), "contexts[0].context.user names user 'user', which is not in users"),
    ],
)
def test_select_context_errors(mutate: Any, fragment: str) -> None:
    config = BASE.copy()
    mutate(config)
    with pytest.raises(UcsKubeconfigError) as info:
        kc.select_context(config)
    assert fragment in info.value.msg
    assert not leaked(info.value.msg, BASE.secrets)


# ----------------------------------------------------------------------------------------------
# normalise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (None, False),
        ("true", True),
        ("True", True),
        (" TRUE ", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("", False),
        ("0", False),
    ],
)
def test_insecure_flag_becomes_a_boolean_or_goes(value: Any, expected: bool) -> None:
    body, notes = kc.normal_cluster(kc.Entry("clusters[0]", "c", {"server": SERVER, "insecure-skip-tls-verify": value}))
    assert body.get("insecure-skip-tls-verify", False) is expected
    assert ("insecure-skip-tls-verify" in body) is expected, "false is left out, true is a real boolean"
    assert notes == []


def test_insecure_flag_that_is_no_boolean_is_an_error() -> None:
    with pytest.raises(UcsKubeconfigError, match=r"clusters\[2\]\.cluster\.insecure-skip-tls-verify must be true or false"):
        kc.normal_cluster(kc.Entry("clusters[2]", "c", {"insecure-skip-tls-verify": "maybe"}))


def test_ca_data_with_insecure_keeps_the_ca() -> None:
    body, notes = kc.normal_cluster(kc.Entry("clusters[0]", "c", {"server": SERVER, "certificate-authority-data": "Q0E=", "insecure-skip-tls-verify": "true"}))
    assert body == {"server": SERVER, "certificate-authority-data": "Q0E="}
    assert len(notes) == 1 and "insecure flag was dropped" in notes[0]


def test_empty_fields_are_left_out() -> None:
    cluster = kc.Entry("clusters[0]", "c", {"server": SERVER, "certificate-authority-data": "", "proxy-url": None})
    user = kc.Entry("users[0]", "u", {"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5", "token": ""})
    assert kc.normal_cluster(cluster)[0] == {"server": SERVER}
    assert kc.normal_user(user) == {"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5"}


# ----------------------------------------------------------------------------------------------
# stamp


def test_stamp_replaces_an_old_stamp_and_keeps_other_extensions() -> None:
    body = {"server": SERVER, "extensions": [{"name": "other", "extension": {"a": 1}}, {"name": stamp.IDENTITY_EXTENSION, "extension": {"fleet-id": "old"}}]}
    result = stamp.stamped(body, WANTED._replace(vpc_id=None))
    assert result["extensions"] == [{"name": "other", "extension": {"a": 1}}, {"name": stamp.IDENTITY_EXTENSION, "extension": {"fleet-id": FLEET_ID}}]
    assert body["extensions"][1]["extension"] == {"fleet-id": "old"}, "the input must not change"
    assert stamp.read_identity(stamp.stamped({}, WANTED)) == (FLEET_ID, VPC_ID, None)
    named = WANTED._replace(fleet_name="production")
    assert stamp.read_identity(stamp.stamped({}, named)) == (FLEET_ID, VPC_ID, "production")
    assert stamp.is_the_fleets(stamp.stamped({}, named), named._replace(fleet_id=None)) and not stamp.is_the_fleets({}, named._replace(fleet_id=None))
    with pytest.raises(UcsKubeconfigError, match="extensions must be a list"):
        stamp.stamped({"extensions": {}}, WANTED)


@pytest.mark.parametrize(
    "extensions", [None, "x", [{"name": stamp.IDENTITY_EXTENSION, "extension": "x"}], [{"name": stamp.IDENTITY_EXTENSION, "extension": {"fleet-id": 5}}]]
)
def test_malformed_stamp_means_no_identity(extensions: Any) -> None:
    assert stamp.read_identity({"extensions": extensions}) == (None, None, None)


# ----------------------------------------------------------------------------------------------
# render: merge the fleet's entries into a shared kubeconfig


def existing_config() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {"colors": True},
        "clusters": [
            {"name": "prod", "cluster": {"server": "https://prod.example.test", "certificate-authority": "/etc/prod-ca.pem"}},
            {"name": "ucs-fleet", "cluster": {"server": "https://old.example.test"}},
            {"name": "dev", "cluster": {"server": "https://dev.example.test", "insecure-skip-tls-verify": True}},
            "junk that is not ours",
        ],
        "users": [{"name": "admin", "user": {"token": "admin-token-secret-value"}}],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "admin", "namespace": "apps"}},
            {"name": "ucs-fleet", "context": {"cluster": "old", "user": "old", "namespace": "mine"}},
        ],
        "current-context": "prod",
        "x-custom": ["kept"],
    }


def test_render_keeps_foreign_entries_in_place() -> None:
    existing = existing_config()
    before = copy.deepcopy(existing)
    merged = yaml.safe_load(kc.render_kubeconfig(kc.dump_kubeconfig(existing), stamped_base(), WANTED))
    assert existing == before, "the input must not change"
    assert [c["name"] if isinstance(c, dict) else c for c in merged["clusters"]] == ["prod", "ucs-fleet", "dev", "junk that is not ours"]
    assert merged["clusters"][0] == before["clusters"][0] and merged["clusters"][2] == before["clusters"][2]
    assert merged["clusters"][1]["cluster"] == stamped_base()["clusters"][0]["cluster"]
    assert merged["users"][0] == before["users"][0] and merged["users"][1]["user"] == kc.normal_user(kc.Entry("", "", BASE.config["users"][0]["user"]))
    assert merged["contexts"][0] == before["contexts"][0]
    # The user's namespace on the fleet's context is kept when none is wanted.
    assert merged["contexts"][1] == {"name": "ucs-fleet", "context": {"cluster": "ucs-fleet", "user": "ucs-fleet", "namespace": "mine"}}
    assert merged["current-context"] == "ucs-fleet"
    assert merged["preferences"] == {"colors": True} and merged["x-custom"] == ["kept"]


@pytest.mark.parametrize(("current", "set_current", "expected"), [("prod", True, "ucs-fleet"), ("prod", False, "prod"), (None, False, "ucs-fleet")])
def test_render_current_context(current: str | None, set_current: bool, expected: str) -> None:
    existing = existing_config()
    if current is None:
        del existing["current-context"]
    merged = yaml.safe_load(kc.render_kubeconfig(existing, stamped_base(), WANTED._replace(set_current=set_current)))
    assert merged["current-context"] == expected


def test_render_namespace_and_rewrite_from_own_entries() -> None:
    first = kc.render_kubeconfig(None, stamped_base(), WANTED)
    again = kc.render_kubeconfig(first, None, WANTED._replace(context_fields={"namespace": "team-a"}))
    config = yaml.safe_load(again)
    assert config["contexts"] == [{"name": "ucs-fleet", "context": {"cluster": "ucs-fleet", "user": "ucs-fleet", "namespace": "team-a"}}]
    assert config["users"] == yaml.safe_load(first)["users"], "no new certificate: the user's entry is the same"
    with pytest.raises(UcsKubeconfigError, match="has no cluster and user 'ucs-fleet' to keep"):
        kc.render_kubeconfig(kc.dump_kubeconfig(existing_config() | {"users": []}), None, WANTED)


def test_render_is_idempotent_and_standalone_drops_the_rest() -> None:
    once = kc.render_kubeconfig(existing_config(), stamped_base(), WANTED)
    assert kc.render_kubeconfig(once, stamped_base(), WANTED) == once
    alone = yaml.safe_load(kc.render_kubeconfig(existing_config(), stamped_base(), WANTED, standalone=True))
    assert [c["name"] for c in alone["clusters"]] == ["ucs-fleet"] and "x-custom" not in alone
    assert yaml.safe_load(kc.render_kubeconfig("", stamped_base(), WANTED)) == alone


def test_render_errors_name_the_existing_file() -> None:
    with pytest.raises(UcsKubeconfigError, match="the existing kubeconfig: clusters must be a list, not a string"):
        kc.render_kubeconfig({"clusters": "x"}, stamped_base(), WANTED)
    with pytest.raises(kc.KubeconfigSyntaxError):
        kc.render_kubeconfig("not: [yaml", stamped_base(), WANTED)


def test_read_context_fields_checks_the_namespace_rule() -> None:
    assert kc.read_context_fields({}.get) == ({}, [])
    assert kc.read_context_fields({"namespace": "team-a"}.get) == ({"namespace": "team-a"}, [])
    for bad in ("", "Team", "-a", "a" * 64, "a_b", "team-a\n"):
        fields, errors = kc.read_context_fields({"namespace": bad}.get, lambda key: "ucs_kubeconfig_" + key)
        assert fields == {} and [option for option, _message in errors] == ["namespace"]
        assert errors[0][1].startswith("ucs_kubeconfig_namespace ") and "is not an RFC 1123 label" in errors[0][1]


def test_text_whose_str_returns_itself_is_read_with_libyaml() -> None:
    """ansible-core 2.16's AnsibleUnsafeText.__str__ returns itself; libyaml refuses anything but str."""

    class Unsafe(str):
        def __str__(self) -> str:  # pylint: disable=invalid-str-returned
            return self

    text = Unsafe(kc.dump_kubeconfig(BASE.config))
    assert kc.parse_kubeconfig(text) == BASE.config
    assert next(iter(kc.parse_kubeconfig({Unsafe("kind"): Unsafe("Config")}).values())).__class__ is str
