from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import json
import os
import subprocess
import sys
from typing import Any, Callable

import pytest
import yaml
from cryptography.hazmat.primitives import hashes, serialization

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import (
    FLEET_ID,
    KEY_TYPES,
    NOW,
    SERVER,
    VPC_ID,
    b64,
    cert_pem,
    key_pem,
    leaked,
    make_ca,
    make_cert,
    make_key,
    make_kubeconfig,
    pem_lines,
)

DAY = datetime.timedelta(days=1)
MESSAGES: list[str] = []  # every message raised in this file, scanned once more at the end


def data_strings(config: Any) -> list[str]:
    """Every long string of a (possibly mutated) config plus the lines of any PEM in it."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) > 24:
            found.append(value)
            with contextlib.suppress(ValueError):
                found.extend(line for line in pem_lines(base64.b64decode(value.strip(), validate=False).decode("latin-1")) if len(line) > 24)

    walk(config)
    return found


def expect_error(config: Any, *fragments: str, secrets: list[str] = (), **kwargs: Any) -> str:
    with pytest.raises(UcsKubeconfigError) as info:
        kc.validate_kubeconfig(config, **{"now": NOW, **kwargs})
    msg = info.value.msg
    MESSAGES.append(msg)
    for fragment in fragments:
        assert fragment in msg, msg
    assert not leaked(msg, [*secrets, *data_strings(config)]), msg
    assert str(info.value) == msg and "\n" not in msg
    return msg


# ----------------------------------------------------------------------------------------------
# validate: every rule


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(config: dict[str, Any]) -> None:
        target = config
        for part in path[:-1]:
            target = target[part]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


DELETE = object()
OTHER = make_kubeconfig(key_type="ec", key_slot=7, ca_slot=3)
BASE = make_kubeconfig()
CERT_B64 = BASE.config["users"][0]["user"]["client-certificate-data"]
KEY_B64 = BASE.config["users"][0]["user"]["client-key-data"]
CA_B64 = BASE.config["clusters"][0]["cluster"]["certificate-authority-data"]
NOT_PEM = b64("this is plain text, not PEM\n")
BROKEN_CERT_PEM = b64("-----BEGIN CERTIFICATE-----\nTUlJQm9uc2Vuc2U=\n-----END CERTIFICATE-----\n")
BROKEN_KEY_PEM = b64("-----BEGIN PRIVATE KEY-----\nTUlJQm9uc2Vuc2U=\n-----END PRIVATE KEY-----\n")
ENCRYPTED_KEY = b64(key_pem(BASE.key, password=b"passphrase-1234"))

RULES = [
    ("kind missing", _set(("kind",), DELETE), ["kind must be 'Config'", "missing"]),
    ("kind wrong", _set(("kind",), "Pod"), ["kind must be 'Config', not 'Pod'"]),
    ("apiVersion wrong", _set(("apiVersion",), "v2"), ["apiVersion must be 'v1'"]),
    ("apiVersion number", _set(("apiVersion",), 1), ["apiVersion must be 'v1', not a number"]),
    ("clusters missing", _set(("clusters",), DELETE), ["clusters is missing"]),
    ("clusters not a list", _set(("clusters",), {"a": 1}), ["clusters must be a list, not a mapping"]),
    ("users empty", _set(("users",), []), ["users is empty"]),
    ("contexts entry not a mapping", _set(("contexts", 0), "demo"), ["contexts[0] must be a mapping"]),
    ("cluster name empty", _set(("clusters", 0, "name"), ""), ["clusters[0].name must be a non-empty string"]),
    ("user name not a string", _set(("users", 0, "name"), 5), ["users[0].name must be a non-empty string"]),
    (
        "duplicate user name",
        lambda c: c["users"].append(copy.deepcopy(c["users"][0])),
        ["users[1].name 'user' is already used by users[0]"],
    ),
    ("cluster body missing", _set(("clusters", 0, "cluster"), DELETE), ["clusters[0].cluster is missing"]),
    ("user body not a mapping", _set(("users", 0, "user"), ["x"]), ["users[0].user must be a mapping, not a list"]),
    ("context cluster missing", _set(("contexts", 0, "context", "cluster"), DELETE), ["contexts[0].context.cluster must be a non-empty string"]),
    ("context cluster unknown", _set(("contexts", 0, "context", "cluster"), "nope"), ["contexts[0].context.cluster names cluster 'nope'", "not in clusters"]),
    ("context user unknown", _set(("contexts", 0, "context", "user"), "nobody"), ["contexts[0].context.user names user 'nobody'", "not in users"]),
    (
        "another context dangling",
        lambda c: c["contexts"].append({"name": "other", "context": {"cluster": "cluster-demo", "user": "ghost"}}),
        ["contexts[1].context.user names user 'ghost'"],
    ),
    ("current-context missing", _set(("current-context",), DELETE), ["current-context is not set"]),
    ("current-context empty", _set(("current-context",), ""), ["current-context is not set"]),
    ("current-context not a string", _set(("current-context",), 3), ["current-context must be a string"]),
    ("current-context unknown", _set(("current-context",), "elsewhere"), ["current-context names context 'elsewhere'", "not in contexts"]),
    ("server missing", _set(("clusters", 0, "cluster", "server"), DELETE), ["clusters[0].cluster.server must be a non-empty string"]),
    ("server http", _set(("clusters", 0, "cluster", "server"), "http://federation.example.test"), ["clusters[0].cluster.server", "must be an https:// URL"]),
    ("server no scheme", _set(("clusters", 0, "cluster", "server"), "federation.example.test:5443"), ["clusters[0].cluster.server", "https"]),
    ("server no host", _set(("clusters", 0, "cluster", "server"), "https:///path"), ["clusters[0].cluster.server", "with a host"]),
    ("server bad port", _set(("clusters", 0, "cluster", "server"), "https://host:port/"), ["clusters[0].cluster.server is not a valid URL"]),
    ("server port out of range", _set(("clusters", 0, "cluster", "server"), "https://host:70000"), ["clusters[0].cluster.server is not a valid URL"]),
    ("server port zero", _set(("clusters", 0, "cluster", "server"), "https://host:0"), ["clusters[0].cluster.server is not a valid URL"]),
    (
        "CA missing",
        _set(("clusters", 0, "cluster", "certificate-authority-data"), DELETE),
        ["clusters[0].cluster has no certificate-authority-data", "insecure-skip-tls-verify is not true"],
    ),
    ("CA empty string", _set(("clusters", 0, "cluster", "certificate-authority-data"), ""), ["clusters[0].cluster has no certificate-authority-data"]),
    (
        "CA as a file only",
        lambda c: c["clusters"][0]["cluster"].update({"certificate-authority-data": None, "certificate-authority": "/etc/ca.pem"}),
        ["has no certificate-authority-data", "files are not supported"],
    ),
    (
        "CA not base64",
        _set(("clusters", 0, "cluster", "certificate-authority-data"), "not*base64!"),
        ["clusters[0].cluster.certificate-authority-data is not valid base64"],
    ),
    ("CA whitespace only", _set(("clusters", 0, "cluster", "certificate-authority-data"), "  \n"), ["clusters[0].cluster.certificate-authority-data is empty"]),
    ("CA not a string", _set(("clusters", 0, "cluster", "certificate-authority-data"), 12), ["certificate-authority-data must be a base64 string"]),
    (
        "CA not PEM",
        _set(("clusters", 0, "cluster", "certificate-authority-data"), NOT_PEM),
        ["clusters[0].cluster.certificate-authority-data is not a PEM certificate"],
    ),
    (
        "CA PEM does not parse",
        _set(("clusters", 0, "cluster", "certificate-authority-data"), BROKEN_CERT_PEM),
        ["certificate-authority-data holds a PEM certificate that does not parse"],
    ),
    (
        "insecure garbage",
        _set(("clusters", 0, "cluster", "insecure-skip-tls-verify"), "yes"),
        ["clusters[0].cluster.insecure-skip-tls-verify must be true or false"],
    ),
    ("insecure number", _set(("clusters", 0, "cluster", "insecure-skip-tls-verify"), 1), ["insecure-skip-tls-verify must be true or false"]),
    ("insecure list", _set(("clusters", 0, "cluster", "insecure-skip-tls-verify"), ["true"]), ["insecure-skip-tls-verify must be true or false"]),
    ("cert missing", _set(("users", 0, "user", "client-certificate-data"), DELETE), ["users[0].user has no client-certificate-data"]),
    (
        "cert as a file only",
        lambda c: c["users"][0]["user"].update({"client-certificate-data": "", "client-certificate": "/home/u/cert.pem"}),
        ["users[0].user has no client-certificate-data", "files are not supported"],
    ),
    (
        "token only",
        lambda c: c["users"][0].update({"user": {"token": "a-bearer-token-that-is-secret-0123456789"}}),
        ["users[0].user has no client-certificate-data"],
    ),
    ("key missing", _set(("users", 0, "user", "client-key-data"), DELETE), ["users[0].user has no client-key-data"]),
    (
        "key as a file only",
        lambda c: c["users"][0]["user"].update({"client-key-data": None, "client-key": "/home/u/key.pem"}),
        ["users[0].user has no client-key-data", "files are not supported"],
    ),
    (
        "cert not base64",
        _set(("users", 0, "user", "client-certificate-data"), CERT_B64[:-3] + "%%%"),
        ["users[0].user.client-certificate-data is not valid base64"],
    ),
    ("cert is a key", _set(("users", 0, "user", "client-certificate-data"), KEY_B64), ["users[0].user.client-certificate-data is not a PEM certificate"]),
    ("cert bad padding", _set(("users", 0, "user", "client-certificate-data"), CERT_B64 + "A"), ["users[0].user.client-certificate-data is not valid base64"]),
    (
        "cert inner space",
        _set(("users", 0, "user", "client-certificate-data"), CERT_B64[:40] + " " + CERT_B64[40:]),
        ["client-certificate-data is not valid base64"],
    ),
    ("key not base64", _set(("users", 0, "user", "client-key-data"), KEY_B64[:20] + "$" + KEY_B64[21:]), ["users[0].user.client-key-data is not valid base64"]),
    ("key is a certificate", _set(("users", 0, "user", "client-key-data"), CERT_B64), ["users[0].user.client-key-data is not a PEM private key"]),
    ("key not PEM", _set(("users", 0, "user", "client-key-data"), NOT_PEM), ["users[0].user.client-key-data is not a PEM private key"]),
    (
        "key PEM does not parse",
        _set(("users", 0, "user", "client-key-data"), BROKEN_KEY_PEM),
        ["users[0].user.client-key-data does not parse as a private key"],
    ),
    ("key encrypted", _set(("users", 0, "user", "client-key-data"), ENCRYPTED_KEY), ["users[0].user.client-key-data is encrypted"]),
    (
        "key of another pair",
        _set(("users", 0, "user", "client-key-data"), OTHER.config["users"][0]["user"]["client-key-data"]),
        ["users[0].user.client-key-data does not match the client certificate in users[0].user.client-certificate-data"],
    ),
    (
        "CA did not sign the client certificate",
        _set(("clusters", 0, "cluster", "certificate-authority-data"), OTHER.config["clusters"][0]["cluster"]["certificate-authority-data"]),
        ["users[0].user.client-certificate-data was not issued by the certificate authority in clusters[0].cluster.certificate-authority-data"],
    ),
]


@pytest.mark.parametrize(("mutate", "fragments"), [pytest.param(m, f, id=name) for name, m, f in RULES])
def test_each_rule_names_the_field_and_the_rule_without_secrets(mutate: Callable[[dict[str, Any]], None], fragments: list[str]) -> None:
    config = BASE.copy()
    mutate(config)
    expect_error(config, *fragments, secrets=BASE.secrets + OTHER.secrets)


def test_rules_report_the_real_index_of_the_entry() -> None:
    config = BASE.copy()
    config["users"].insert(0, {"name": "someone-else", "user": {"token": "t-0123456789abcdef0123456789"}})
    config["clusters"].insert(0, {"name": "another", "cluster": {"server": "https://other.example.test"}})
    config["users"][1]["user"]["client-key-data"] = OTHER.config["users"][0]["user"]["client-key-data"]
    expect_error(config, "users[1].user.client-key-data does not match the client certificate in users[1].user.client-certificate-data")


@pytest.mark.parametrize("config", [None, "text", ["a"], 3])
def test_validate_needs_a_mapping(config: Any) -> None:
    expect_error(config, "the kubeconfig must be a mapping")


# Ed25519 keys have no traditional (PKCS#1/SEC1) PEM format.
@pytest.mark.parametrize(("key_type", "fmt"), [("rsa", "pkcs8"), ("rsa", "traditional"), ("ec", "pkcs8"), ("ec", "traditional"), ("ed25519", "pkcs8")])
def test_key_types(key_type: str, fmt: str) -> None:
    material = make_kubeconfig(key_type=key_type)
    material.config["users"][0]["user"]["client-key-data"] = b64(key_pem(material.key, fmt=fmt))
    info = kc.validate_kubeconfig(material.config, now=NOW, expected_duration_days=365)
    assert info.server == SERVER
    assert (info.cluster_name, info.user_name, info.context_name, info.current_context) == ("cluster-demo", "user", "demo", "demo")
    assert info.not_before == NOW - datetime.timedelta(hours=1)
    assert info.not_after == NOW - datetime.timedelta(hours=1) + 365 * DAY
    assert info.not_after.tzinfo is not None
    assert info.insecure_skip_tls_verify is False and info.warnings == []
    assert info.cert_sha256 == material.cert.fingerprint(hashes.SHA256()).hex()
    assert info.fleet_id is None and info.vpc_id is None


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_key_mismatch_for_every_key_type(key_type: str) -> None:
    material = make_kubeconfig(key_type=key_type, cert_key=make_key(key_type, 9))
    expect_error(material.config, "users[0].user.client-key-data does not match the client certificate", secrets=material.secrets)


@pytest.mark.parametrize("ca_kind", ["rsa", "ed25519"])
def test_ca_key_types(ca_kind: str) -> None:
    ca = make_ca(10, ca_kind)
    material = make_kubeconfig(signer=ca)
    material.config["clusters"][0]["cluster"]["certificate-authority-data"] = b64(cert_pem(ca[0]))
    assert kc.validate_kubeconfig(material.config, now=NOW).server == SERVER


@pytest.mark.parametrize(
    ("now", "fragment"),
    [
        (NOW + 400 * DAY, "users[0].user.client-certificate-data has expired (not after 2027-06-01T11:00:00Z)"),
        (NOW - datetime.timedelta(hours=1) + 365 * DAY, "has expired"),
        (NOW - 2 * DAY, "users[0].user.client-certificate-data is not valid yet (not before 2026-06-01T11:00:00Z)"),
        (NOW - datetime.timedelta(hours=1, minutes=6), "is not valid yet"),
    ],
)
def test_validity_window(now: datetime.datetime, fragment: str) -> None:
    expect_error(BASE.copy(), fragment, now=now)


@pytest.mark.parametrize(
    "now",
    [
        NOW - datetime.timedelta(hours=1),  # exactly not_before
        NOW - datetime.timedelta(hours=1, minutes=4),  # a controller clock a little behind the issuer's
        NOW - datetime.timedelta(hours=1) + 365 * DAY - datetime.timedelta(seconds=1),
    ],
)
def test_validity_edges_accepted(now: datetime.datetime) -> None:
    assert kc.validate_kubeconfig(BASE.copy(), now=now).not_after == NOW - datetime.timedelta(hours=1) + 365 * DAY


def test_naive_now_is_utc_and_default_now_is_the_clock() -> None:
    assert kc.validate_kubeconfig(BASE.copy(), now=NOW.replace(tzinfo=None)).server == SERVER
    fresh = make_kubeconfig(not_before=datetime.datetime.now(datetime.timezone.utc) - DAY, days=30)
    assert kc.validate_kubeconfig(fresh.config).not_after > datetime.datetime.now(datetime.timezone.utc)
    stale = make_kubeconfig(not_before=datetime.datetime.now(datetime.timezone.utc) - 40 * DAY, days=30)
    expect_error(stale.config, "has expired", now=None)


@pytest.mark.parametrize(
    ("days", "expected", "ok"),
    [(30, 30, True), (30.9, 30, True), (29.1, 30, True), (31.5, 30, False), (28, 30, False), (365, 30, False), (1, 1, True)],
)
def test_duration_agreement(days: float, expected: int, ok: bool) -> None:
    material = make_kubeconfig(days=days)
    if ok:
        assert kc.validate_kubeconfig(material.config, now=NOW, expected_duration_days=expected)
    else:
        expect_error(
            material.config, "users[0].user.client-certificate-data is valid for", f"not the {expected} days requested", expected_duration_days=expected
        )


@pytest.mark.parametrize(
    ("value", "insecure"),
    [(True, True), (False, False), ("true", True), ("false", False), ("True", True), (" FALSE ", False), ("", False), (None, False)],
)
def test_insecure_skip_tls_verify_values(value: Any, insecure: bool) -> None:
    material = make_kubeconfig(insecure=value)
    info = kc.validate_kubeconfig(material.config, now=NOW)
    assert info.insecure_skip_tls_verify is insecure
    if insecure:
        assert len(info.warnings) == 2
        assert "clusters[0].cluster.insecure-skip-tls-verify is true" in info.warnings[0] and SERVER in info.warnings[0]
        assert "kubectl refuses" in info.warnings[1]
        assert not leaked(" ".join(info.warnings), material.secrets)
    else:
        assert info.warnings == []


def test_insecure_without_ca_needs_no_ca() -> None:
    material = make_kubeconfig(include_ca=False, insecure="true")
    info = kc.validate_kubeconfig(material.config, now=NOW)
    assert info.insecure_skip_tls_verify and len(info.warnings) == 1


def test_no_ca_and_not_insecure_is_an_error() -> None:
    expect_error(make_kubeconfig(include_ca=False, insecure="false").config, "has no certificate-authority-data")


def test_base64_tolerates_surrounding_whitespace_and_line_breaks() -> None:
    config = BASE.copy()
    user = config["users"][0]["user"]
    user["client-certificate-data"] = "\n  " + "\n".join(CERT_B64[i : i + 76] for i in range(0, len(CERT_B64), 76)) + "\r\n"
    user["client-key-data"] = " " + KEY_B64 + "\n"
    config["clusters"][0]["cluster"]["certificate-authority-data"] = CA_B64 + "\n"
    assert kc.validate_kubeconfig(config, now=NOW).user_name == "user"


def test_ca_bundle_and_intermediate_chain() -> None:
    root_cert, root_key = make_ca(20)
    intermediate_key = make_key("ec", 21)
    intermediate = make_cert("intermediate", intermediate_key, issuer=(root_cert, root_key), not_before=NOW - 30 * DAY, days=1000, ca=True)
    material = make_kubeconfig(signer=(intermediate, intermediate_key))
    other_ca = make_ca(22)[0]
    # A bundle whose signing CA is not the first certificate.
    material.config["clusters"][0]["cluster"]["certificate-authority-data"] = b64(cert_pem(other_ca) + cert_pem(intermediate))
    assert kc.validate_kubeconfig(material.config, now=NOW)
    # Leaf + intermediate in client-certificate-data, the root as CA.
    material.config["clusters"][0]["cluster"]["certificate-authority-data"] = b64(cert_pem(root_cert))
    expect_error(material.config, "was not issued by the certificate authority")
    material.config["users"][0]["user"]["client-certificate-data"] = b64(cert_pem(material.cert) + cert_pem(intermediate))
    assert kc.validate_kubeconfig(material.config, now=NOW)


def test_bundle_with_a_broken_second_certificate() -> None:
    config = BASE.copy()
    broken = base64.b64decode(BROKEN_CERT_PEM)
    config["clusters"][0]["cluster"]["certificate-authority-data"] = b64(base64.b64decode(CA_B64) + broken)
    expect_error(config, "certificate-authority-data holds a PEM certificate that does not parse as X.509 (certificate 2 of 2)")


def test_issued_by_fallback_for_old_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    # Targets with cryptography < 40 have no verify_directly_issued_by.
    for kind in ("rsa", "ec", "ed25519"):
        ca_cert, ca_key = make_ca(30, kind)
        cert = make_cert("x", make_key("ec"), issuer=(ca_cert, ca_key))
        stranger = make_ca(31, kind)[0]

        class OldCert:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def __getattr__(self, name: str) -> Any:
                if name == "verify_directly_issued_by":
                    raise AttributeError(name)
                return getattr(self._inner, name)

        assert kc._issued_by(OldCert(cert), ca_cert) is True
        assert kc._issued_by(OldCert(cert), stranger) is False
        assert kc._issued_by(OldCert(cert), cert) is False


def test_validate_another_context_does_not_need_current_context() -> None:
    config = BASE.copy()
    del config["current-context"]
    info = kc.validate_kubeconfig(config, now=NOW, context="demo")
    assert info.context_name == "demo" and info.current_context is None
    expect_error(config, "context 'nope' is not in contexts", context="nope")


def test_validate_does_not_change_its_input() -> None:
    config = BASE.copy()
    before = copy.deepcopy(config)
    kc.validate_kubeconfig(config, now=NOW)
    assert config == before


def test_info_repr_and_summary_hold_no_secrets() -> None:
    stamped = kc.stamp_identity(BASE.config, FLEET_ID, VPC_ID)
    info = kc.validate_kubeconfig(stamped, now=NOW)
    result = kc.summary(info)
    assert result == {
        "server": SERVER,
        "cluster_name": "cluster-demo",
        "user_name": "user",
        "context_name": "demo",
        "current_context": "demo",
        "not_before": "2026-06-01T11:00:00Z",
        "not_after": "2027-06-01T11:00:00Z",
        "cert_sha256": info.cert_sha256,
        "insecure_skip_tls_verify": False,
        "fleet_id": FLEET_ID,
        "vpc_id": VPC_ID,
    }
    assert len(info.cert_sha256) == 64
    assert not leaked(repr(info) + json.dumps(result), BASE.secrets)


def test_format_time() -> None:
    assert kc.format_time(datetime.datetime(2027, 11, 29, 2, 0, 0, 123456, tzinfo=datetime.timezone.utc)) == "2027-11-29T02:00:00Z"
    assert kc.format_time(datetime.datetime(2027, 11, 29, 3, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))) == "2027-11-29T02:00:00Z"
    assert kc.format_time(datetime.datetime(2027, 11, 29, 2, 0)) == "2027-11-29T02:00:00Z"


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
    MESSAGES.append(info.value.msg)
    assert fragment in info.value.msg
    assert isinstance(info.value, kc.KubeconfigSyntaxError) is syntax
    assert "c2VjcmV0" not in info.value.msg and "secret" not in info.value.msg.lower()


def test_parse_allow_empty() -> None:
    assert kc.parse_kubeconfig("  \n# comment only\n", allow_empty=True) == {}
    assert kc.parse_kubeconfig("", allow_empty=True) == {}


def test_parse_bounds_alias_bombs_and_cycles() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    with pytest.raises(UcsKubeconfigError, match="too large or too deeply nested"):
        kc.parse_kubeconfig(bomb)
    with pytest.raises(UcsKubeconfigError, match="too large or too deeply nested"):
        kc.parse_kubeconfig("a: &a [*a]\n")


# ----------------------------------------------------------------------------------------------
# stamp and renewal


def _extensions(config: dict[str, Any]) -> list[Any]:
    return config["clusters"][0]["cluster"]["extensions"]


def test_stamp_identity() -> None:
    original = BASE.copy()
    stamped = kc.stamp_identity(original, FLEET_ID, VPC_ID)
    assert original == BASE.config, "the input must not change"
    assert _extensions(stamped) == [{"name": "ucs_cloud.fleet", "extension": {"fleet-id": FLEET_ID, "vpc-id": VPC_ID}}]
    info = kc.validate_kubeconfig(stamped, now=NOW)
    assert (info.fleet_id, info.vpc_id) == (FLEET_ID, VPC_ID)


def test_stamp_replaces_an_old_stamp_and_keeps_other_extensions() -> None:
    config = BASE.copy()
    config["clusters"][0]["cluster"]["extensions"] = [
        {"name": "minikube", "extension": {"version": "v1"}},
        {"name": "ucs_cloud.fleet", "extension": {"fleet-id": "old"}},
    ]
    stamped = kc.stamp_identity(config, FLEET_ID, None)
    assert _extensions(stamped) == [{"name": "minikube", "extension": {"version": "v1"}}, {"name": "ucs_cloud.fleet", "extension": {"fleet-id": FLEET_ID}}]
    info = kc.validate_kubeconfig(stamped, now=NOW)
    assert (info.fleet_id, info.vpc_id) == (FLEET_ID, None)


def test_stamp_only_the_current_cluster() -> None:
    config = BASE.copy()
    config["clusters"].insert(0, {"name": "other", "cluster": {"server": "https://x.example.test"}})
    stamped = kc.stamp_identity(config, FLEET_ID, VPC_ID)
    assert "extensions" not in stamped["clusters"][0]["cluster"] and stamped["clusters"][1]["cluster"]["extensions"]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (_set(("current-context",), DELETE), "cannot stamp the kubeconfig: current-context is not set"),
        (_set(("contexts", 0, "context", "cluster"), "nope"), "cannot stamp the kubeconfig: clusters has no entry named 'nope'"),
        (_set(("clusters", 0, "cluster", "extensions"), "x"), "extensions must be a list"),
        (_set(("users",), "x"), "users must be a list"),
    ],
)
def test_stamp_errors(mutate: Callable[[dict[str, Any]], None], fragment: str) -> None:
    config = BASE.copy()
    mutate(config)
    with pytest.raises(UcsKubeconfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        kc.stamp_identity(config, FLEET_ID, VPC_ID)


@pytest.mark.parametrize(
    "extensions",
    [
        "not a list",
        [{"name": "ucs_cloud.fleet", "extension": "text"}],
        [{"name": "ucs_cloud.fleet", "extension": {"fleet-id": 5}}],
        [{"name": "ucs_cloud.fleet", "extension": {"fleet-id": ""}}],
        ["string entry"],
    ],
)
def test_malformed_stamp_means_no_identity(extensions: Any) -> None:
    config = BASE.copy()
    config["clusters"][0]["cluster"]["extensions"] = extensions
    assert kc.validate_kubeconfig(config, now=NOW).fleet_id is None


STAMPED_INFO = kc.validate_kubeconfig(kc.stamp_identity(BASE.config, FLEET_ID, VPC_ID), now=NOW)
EXPIRY = NOW - datetime.timedelta(hours=1) + 365 * DAY


@pytest.mark.parametrize(
    ("info", "wanted", "renew_before", "now", "reason"),
    [
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 30, NOW, None),
        (STAMPED_INFO, (FLEET_ID, None), 30, NOW, None),
        (STAMPED_INFO._replace(fleet_id=None, vpc_id=None), (FLEET_ID, VPC_ID), 30, NOW, "has no ucs_cloud.fleet identity"),
        (STAMPED_INFO, ("fleet-0002", VPC_ID), 30, NOW, "belongs to another fleet (fleet-0001)"),
        (STAMPED_INFO, (FLEET_ID, "vpc-0002"), 30, NOW, "was issued for another VPC (vpc-0001)"),
        (STAMPED_INFO._replace(vpc_id=None), (FLEET_ID, "vpc-0002"), 30, NOW, "was issued for another VPC"),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 30, EXPIRY - 31 * DAY, None),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 30, EXPIRY - 30 * DAY, "expires on 2027-06-01T11:00:00Z (within 30 days)"),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 30, EXPIRY - 29 * DAY, "expires on 2027-06-01T11:00:00Z (within 30 days)"),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 0, EXPIRY - datetime.timedelta(seconds=1), None),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 0, EXPIRY, "has expired"),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 30, EXPIRY + DAY, "has expired"),
        (STAMPED_INFO, (FLEET_ID, VPC_ID), 400, NOW, "expires on 2027-06-01T11:00:00Z (within 400 days)"),
    ],
)
def test_renewal_reason(info: kc.KubeconfigInfo, wanted: tuple[str, str | None], renew_before: int, now: datetime.datetime, reason: str | None) -> None:
    fleet_id, vpc_id = wanted
    assert kc.renewal_reason(info, fleet_id=fleet_id, vpc_id=vpc_id, renew_before_days=renew_before, now=now) == reason


# ----------------------------------------------------------------------------------------------
# dump and sensitive values


def test_dump_is_deterministic_and_round_trips() -> None:
    config = kc.stamp_identity(BASE.config, FLEET_ID, VPC_ID)
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
        kc.stamp_identity(BASE.config, FLEET_ID, VPC_ID),
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


def test_merge_and_dump_do_not_import_cryptography() -> None:
    """The role merges in one worker per host: importing cryptography there would cost ~50 ms each."""
    code = (
        "import sys\n"
        "from ansible_collections.ucs_cloud.fleet.plugins.filter import kubeconfig as f\n"
        "text = f.kubeconfig_merge(None, sys.stdin.read(), 'c', 'u', 'x')\n"
        "assert text.startswith('apiVersion: v1'), text[:20]\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'cryptography'))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    result = subprocess.run([sys.executable, "-c", code], input=kc.dump_kubeconfig(BASE.config), capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    # ... while validating a kubeconfig imports it on first use.
    assert kc.cryptography_import_error() is None
    assert "cryptography.x509" in sys.modules


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
# merge

FLEET = kc.stamp_identity(BASE.config, FLEET_ID, VPC_ID)
NAMES = {"cluster_name": "ucs-fleet", "user_name": "ucs-fleet", "context_name": "ucs-fleet"}


def existing_config() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {"colors": True},
        "clusters": [
            {"name": "prod", "cluster": {"server": "https://prod.example.test", "certificate-authority": "/etc/prod-ca.pem"}},
            {"name": "ucs-fleet", "cluster": {"server": "https://old.example.test"}},
            {"name": "dev", "cluster": {"server": "https://dev.example.test", "insecure-skip-tls-verify": True}},
        ],
        "users": [{"name": "admin", "user": {"token": "admin-token-secret-value"}}],
        "contexts": [
            {"name": "prod", "context": {"cluster": "prod", "user": "admin", "namespace": "apps"}},
            {"name": "dev", "context": {"cluster": "dev", "user": "admin"}},
        ],
        "current-context": "prod",
        "x-custom": ["kept"],
    }


def test_merge_keeps_foreign_entries_and_order() -> None:
    existing = existing_config()
    before = copy.deepcopy(existing)
    merged = kc.merge_kubeconfig(existing, FLEET, set_current=True, **NAMES)
    assert existing == before, "the input must not change"
    assert [c["name"] for c in merged["clusters"]] == ["prod", "ucs-fleet", "dev"]
    assert merged["clusters"][0] == before["clusters"][0] and merged["clusters"][2] == before["clusters"][2]
    assert merged["clusters"][1] == {"name": "ucs-fleet", "cluster": FLEET["clusters"][0]["cluster"]}
    assert [u["name"] for u in merged["users"]] == ["admin", "ucs-fleet"]
    assert merged["users"][0] == before["users"][0] and merged["users"][1]["user"] == FLEET["users"][0]["user"]
    assert merged["contexts"][:2] == before["contexts"]
    assert merged["contexts"][2] == {"name": "ucs-fleet", "context": {"cluster": "ucs-fleet", "user": "ucs-fleet"}}
    assert merged["current-context"] == "ucs-fleet"
    assert merged["preferences"] == {"colors": True} and merged["x-custom"] == ["kept"]
    info = kc.validate_kubeconfig(merged, now=NOW, context="ucs-fleet")
    assert (info.fleet_id, info.cluster_name, info.server) == (FLEET_ID, "ucs-fleet", SERVER)


def test_merge_replaces_same_names_in_place_and_drops_their_duplicates() -> None:
    existing = existing_config()
    existing["users"] = [{"name": "ucs-fleet", "user": {"token": "old"}}, {"name": "admin", "user": {}}, {"name": "ucs-fleet", "user": {"token": "dup"}}]
    existing["contexts"].insert(0, {"name": "ucs-fleet", "context": {"cluster": "x", "user": "y"}})
    merged = kc.merge_kubeconfig(existing, FLEET, set_current=False, **NAMES)
    assert [u["name"] for u in merged["users"]] == ["ucs-fleet", "admin"]
    assert merged["users"][0]["user"] == FLEET["users"][0]["user"]
    assert [c["name"] for c in merged["contexts"]] == ["ucs-fleet", "prod", "dev"]
    assert merged["current-context"] == "prod"


def test_merge_is_idempotent() -> None:
    once = kc.merge_kubeconfig(existing_config(), FLEET, set_current=True, **NAMES)
    twice = kc.merge_kubeconfig(once, FLEET, set_current=True, **NAMES)
    assert kc.dump_kubeconfig(once) == kc.dump_kubeconfig(twice)


@pytest.mark.parametrize(
    ("current", "set_current", "expected"),
    [("prod", True, "ucs-fleet"), ("prod", False, "prod"), (None, False, "ucs-fleet"), ("", False, "ucs-fleet"), ("ucs-fleet", False, "ucs-fleet")],
)
def test_merge_current_context(current: str | None, set_current: bool, expected: str) -> None:
    existing = existing_config()
    if current is None:
        del existing["current-context"]
    else:
        existing["current-context"] = current
    assert kc.merge_kubeconfig(existing, FLEET, set_current=set_current, **NAMES)["current-context"] == expected


@pytest.mark.parametrize("existing", [None, {}])
def test_merge_into_nothing_is_standalone(existing: Any) -> None:
    merged = kc.merge_kubeconfig(existing, FLEET, set_current=False, cluster_name="c", user_name="u", context_name="x")
    assert merged == {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": FLEET["clusters"][0]["cluster"]}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": FLEET["users"][0]["user"]}],
        "current-context": "x",
    }
    assert kc.validate_kubeconfig(merged, now=NOW).fleet_id == FLEET_ID


def test_merge_fills_missing_sections_and_keeps_context_extras() -> None:
    fleet = copy.deepcopy(FLEET)
    fleet["contexts"][0]["context"]["namespace"] = "karmada-system"
    merged = kc.merge_kubeconfig({"preferences": {}, "clusters": None}, fleet, set_current=True, **NAMES)
    assert merged["contexts"] == [{"name": "ucs-fleet", "context": {"cluster": "ucs-fleet", "user": "ucs-fleet", "namespace": "karmada-system"}}]
    assert merged["apiVersion"] == "v1" and merged["kind"] == "Config" and merged["preferences"] == {}


def test_merge_errors() -> None:
    with pytest.raises(UcsKubeconfigError, match="the existing kubeconfig: users must be a list"):
        kc.merge_kubeconfig({"users": {"a": 1}}, FLEET, set_current=True, **NAMES)
    broken = copy.deepcopy(FLEET)
    broken["current-context"] = "missing"
    with pytest.raises(UcsKubeconfigError, match="the fleet kubeconfig: contexts has no entry named 'missing'"):
        kc.merge_kubeconfig(None, broken, set_current=True, **NAMES)
    broken = copy.deepcopy(FLEET)
    broken["users"][0]["user"] = "x"
    with pytest.raises(UcsKubeconfigError, match=r"the fleet kubeconfig: users\[0\].user must be a mapping"):
        kc.merge_kubeconfig(None, broken, set_current=True, **NAMES)


# ----------------------------------------------------------------------------------------------
# check_entry: the reason a host needs an update


def merged_text(**overrides: Any) -> str:
    options = {"set_current": True, **NAMES, **overrides}
    return kc.dump_kubeconfig(kc.merge_kubeconfig(existing_config(), FLEET, **options))


STATUS_ARGS = {**NAMES, "fleet_id": FLEET_ID, "vpc_id": VPC_ID, "renew_before_days": 30, "now": NOW, "set_current": True}


def _edit(edit: Callable[[dict[str, Any]], None]) -> str:
    config = kc.parse_kubeconfig(merged_text())
    edit(config)
    return kc.dump_kubeconfig(config)


@pytest.mark.parametrize(
    ("existing", "overrides", "reason"),
    [
        (merged_text, {}, None),
        (lambda: kc.parse_kubeconfig(merged_text()), {}, None),
        (lambda: merged_text().encode(), {}, None),
        (merged_text, {"vpc_id": None}, None),
        (merged_text, {"expected_server": SERVER + "/"}, None),
        (lambda: None, {}, "the kubeconfig is missing"),
        (lambda: "clusters: [oops\n", {}, "the kubeconfig is not valid YAML (line 2, column 1)"),
        (lambda: "", {}, "the kubeconfig is empty"),
        (lambda: "- 1\n", {}, "the kubeconfig must be a mapping at the top level, not a list"),
        (lambda: "clusters: 3\n", {}, "clusters must be a list, not a number"),
        (lambda: "kind: Config\n", {}, "context 'ucs-fleet' is missing"),
        (lambda: merged_text(context_name="other"), {}, "context 'ucs-fleet' is missing"),
        (lambda: merged_text(cluster_name="other"), {}, "context 'ucs-fleet' does not use cluster 'ucs-fleet'"),
        (lambda: _edit(lambda c: c["clusters"].pop(1)), {}, "cluster 'ucs-fleet' is missing"),
        (lambda: merged_text(user_name="other"), {}, "user 'ucs-fleet' is missing"),
        (lambda: _edit(lambda c: c["contexts"][2]["context"].update(cluster="prod")), {}, "context 'ucs-fleet' does not use cluster 'ucs-fleet'"),
        (lambda: _edit(lambda c: c["contexts"][2]["context"].update(user="admin")), {}, "context 'ucs-fleet' does not use user 'ucs-fleet'"),
        (
            lambda: _edit(lambda c: c["users"][1]["user"].update({"client-key-data": OTHER.config["users"][0]["user"]["client-key-data"]})),
            {},
            "users[1].user.client-key-data does not match the client certificate in users[1].user.client-certificate-data",
        ),
        (
            lambda: _edit(lambda c: c["clusters"][1]["cluster"].update(server="http://x")),
            {},
            "clusters[1].cluster.server must be an https:// URL (the federation API server is reached over TLS)",
        ),
        (lambda: _edit(lambda c: c["clusters"][1].update(cluster="x")), {}, "clusters[1].cluster.server must be a non-empty string"),
        (merged_text, {"now": NOW + 340 * DAY}, "context 'ucs-fleet' expires on 2027-06-01T11:00:00Z (within 30 days)"),
        (merged_text, {"now": NOW + 400 * DAY}, "users[1].user.client-certificate-data has expired (not after 2027-06-01T11:00:00Z)"),
        (merged_text, {"fleet_id": "fleet-9"}, "context 'ucs-fleet' belongs to another fleet (fleet-0001)"),
        (merged_text, {"vpc_id": "vpc-9"}, "context 'ucs-fleet' was issued for another VPC (vpc-0001)"),
        (merged_text, {"expected_server": "https://elsewhere.example.test"}, "the server of cluster 'ucs-fleet' differs from https://elsewhere.example.test"),
        (lambda: merged_text(set_current=False), {}, "current-context is not 'ucs-fleet'"),
        (lambda: merged_text(set_current=False), {"set_current": False}, None),
    ],
)
def test_check_entry_reason(existing: Callable[[], Any], overrides: dict[str, Any], reason: str | None) -> None:
    result = kc.check_entry(existing(), **{**STATUS_ARGS, **overrides}).reason
    assert result == reason
    if result:
        MESSAGES.append(result)
        assert not leaked(result, BASE.secrets + OTHER.secrets + ["admin-token-secret-value"])


def test_check_entry_returns_info_even_when_renewal_is_due() -> None:
    status = kc.check_entry(merged_text(), **{**STATUS_ARGS, "now": NOW + 340 * DAY})
    assert status.reason and status.info is not None and status.info.server == SERVER
    status = kc.check_entry(merged_text(), **STATUS_ARGS)
    assert status.reason is None and status.info.not_after == EXPIRY


def test_check_entry_skips_only_the_rsa_consistency_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-run status check loads the key without the ~35 ms RSA check; a download keeps it."""
    calls: list[dict[str, Any]] = []
    real_load = serialization.load_pem_private_key

    def spy(data: bytes, password: Any, **options: Any) -> Any:
        calls.append(options)
        return real_load(data, password, **options)

    monkeypatch.setattr(serialization, "load_pem_private_key", spy)
    material = make_kubeconfig(key_type="rsa", fleet_id=FLEET_ID, vpc_id=VPC_ID)
    names = {"cluster_name": "cluster-demo", "user_name": "user", "context_name": "demo"}
    args = {**names, "fleet_id": FLEET_ID, "vpc_id": VPC_ID, "renew_before_days": 30, "now": NOW}
    assert kc.check_entry(material.config, **args).reason is None
    kc.validate_kubeconfig(material.config, now=NOW)
    assert calls == [{"unsafe_skip_rsa_key_validation": True}, {}]
    # The key must still match the certificate.
    other = make_kubeconfig(key_type="rsa", key_slot=1)
    material.config["users"][0]["user"]["client-key-data"] = other.config["users"][0]["user"]["client-key-data"]
    reason = kc.check_entry(material.config, **args).reason
    assert reason == "users[0].user.client-key-data does not match the client certificate in users[0].user.client-certificate-data"


def test_check_entry_ignores_broken_foreign_entries() -> None:
    config = kc.parse_kubeconfig(merged_text())
    config["clusters"].append("garbage")
    config["users"].append({"name": "weird", "user": None})
    config["contexts"].append({"name": 5})
    assert kc.check_entry(config, **STATUS_ARGS).reason is None


# ----------------------------------------------------------------------------------------------


def test_no_message_of_this_file_leaked_a_secret() -> None:
    # Runs last in file order: every message collected above, scanned against every secret made here.
    assert MESSAGES
    everything = BASE.secrets + OTHER.secrets + [CA_B64, ENCRYPTED_KEY]
    for msg in MESSAGES:
        assert not leaked(msg, everything), msg
