"""_kubeconfig_check: kubectl's rules, accept_download() and check_entries(), the one decision path.

Every error message is checked in the test that provokes it: it names the field and the rule and
holds no secret of the kubeconfig it is about.
"""

from __future__ import annotations

import base64
import copy
import datetime
from typing import Any, Callable

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as ck
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_stamp as stamp
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import (
    FLEET_ID,
    KEY_TYPES,
    NOW,
    SERVER,
    VPC_ID,
    b64,
    key_pem,
    leaked,
    make_ca,
    make_kubeconfig,
)

DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
DELETE = object()
BASE = make_kubeconfig()
OTHER = make_kubeconfig(key_type="ec", key_slot=7, ca_slot=3)
CERT_B64 = BASE.config["users"][0]["user"]["client-certificate-data"]
KEY_B64 = BASE.config["users"][0]["user"]["client-key-data"]
NOT_PEM = b64("this is plain text, not PEM\n")
BROKEN_CERT_PEM = b64("-----BEGIN CERTIFICATE-----\nTUlJQm9uc2Vuc2U=\n-----END CERTIFICATE-----\n")
BROKEN_KEY_PEM = b64("-----BEGIN PRIVATE KEY-----\nTUlJQm9uc2Vuc2U=\n-----END PRIVATE KEY-----\n")
ENCRYPTED_KEY = b64(key_pem(BASE.key, password=b"passphrase-1234"))
SECRETS = [*BASE.secrets, *OTHER.secrets, ENCRYPTED_KEY]
WANTED = kc.FleetEntries(FLEET_ID, VPC_ID, "ucs-fleet", "ucs-fleet", "ucs-fleet", {}, True, None)


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


def accept(
    config: Any, *, duration: int = 365, now: datetime.datetime = NOW, wanted: kc.FleetEntries = WANTED
) -> tuple[dict[str, Any], ck.KubeconfigInfo, list[str]]:
    return ck.accept_download(config, wanted, duration, now)


def rejected(config: Any, **kwargs: Any) -> str:
    with pytest.raises(UcsKubeconfigError) as info:
        accept(config, **kwargs)
    msg = info.value.msg
    assert msg.startswith(f"UCS returned an unusable kubeconfig for fleet {FLEET_ID}: "), msg
    assert not leaked(msg, SECRETS), msg
    assert "\n" not in msg
    return msg


# ----------------------------------------------------------------------------------------------
# what kubectl cannot use is an error


ERRORS = [
    ("cluster body not a mapping", _set(("clusters", 0, "cluster"), ["x"]), "clusters[0].cluster must be a mapping, not a list"),
    ("duplicate user names", lambda c: c["users"].append(copy.deepcopy(c["users"][0])), "users[1].name 'user' is already used by users[0]"),
    ("dangling context", _set(("contexts", 0, "context", "user"), "nobody"), "contexts[0].context.user names user 'nobody', which is not in users"),
    ("server missing", _set(("clusters", 0, "cluster", "server"), DELETE), "clusters[0].cluster.server must be a non-empty string"),
    ("server http", _set(("clusters", 0, "cluster", "server"), "http://federation.example.test"), "must be an https:// URL with a host"),
    ("server no host", _set(("clusters", 0, "cluster", "server"), "https:///path"), "must be an https:// URL with a host"),
    ("server bad port", _set(("clusters", 0, "cluster", "server"), "https://host:port/"), "clusters[0].cluster.server is not a valid URL"),
    ("server port out of range", _set(("clusters", 0, "cluster", "server"), "https://host:70000"), "clusters[0].cluster.server is not a valid URL"),
    ("CA not base64", _set(("clusters", 0, "cluster", "certificate-authority-data"), "not*base64!"), "certificate-authority-data is not valid base64"),
    ("CA not a string", _set(("clusters", 0, "cluster", "certificate-authority-data"), 12), "certificate-authority-data must be a base64 string"),
    ("CA not PEM", _set(("clusters", 0, "cluster", "certificate-authority-data"), NOT_PEM), "certificate-authority-data is not a PEM certificate"),
    ("CA does not parse", _set(("clusters", 0, "cluster", "certificate-authority-data"), BROKEN_CERT_PEM), "holds a PEM certificate that does not parse"),
    ("insecure garbage", _set(("clusters", 0, "cluster", "insecure-skip-tls-verify"), "sometimes"), "insecure-skip-tls-verify must be true or false"),
    ("insecure list", _set(("clusters", 0, "cluster", "insecure-skip-tls-verify"), ["true"]), "insecure-skip-tls-verify must be true or false"),
    ("no credentials at all", _set(("users", 0, "user"), {"token": "", "client-key-data": ""}), "users[0].user has no credentials"),
    ("certificate without key", _set(("users", 0, "user", "client-key-data"), DELETE), "users[0].user has no client-key-data"),
    ("key without certificate", _set(("users", 0, "user", "client-certificate-data"), ""), "users[0].user has no client-certificate-data"),
    ("certificate as a file", _set(("users", 0, "user"), {"client-certificate": "/c.pem", "client-key": "/k.pem"}), "client-certificate names a file"),
    ("token and password", _set(("users", 0, "user"), {"token": "tok-0123456789", "username": "u", "password": "p"}), "both a token and a username/password"),
    ("token not a string", _set(("users", 0, "user"), {"token": 5}), "users[0].user.token must be a string, not a number"),
    ("cert not base64", _set(("users", 0, "user", "client-certificate-data"), CERT_B64[:-3] + "%%%"), "client-certificate-data is not valid base64"),
    ("cert is a key", _set(("users", 0, "user", "client-certificate-data"), KEY_B64), "client-certificate-data is not a PEM certificate"),
    ("key is a certificate", _set(("users", 0, "user", "client-key-data"), CERT_B64), "client-key-data is not a PEM private key"),
    ("key does not parse", _set(("users", 0, "user", "client-key-data"), BROKEN_KEY_PEM), "client-key-data does not parse as a private key"),
    ("key encrypted", _set(("users", 0, "user", "client-key-data"), ENCRYPTED_KEY), "client-key-data is encrypted"),
    (
        "key of another pair",
        _set(("users", 0, "user", "client-key-data"), OTHER.config["users"][0]["user"]["client-key-data"]),
        "users[0].user.client-key-data does not match the client certificate in users[0].user.client-certificate-data",
    ),
]


@pytest.mark.parametrize(("mutate", "fragment"), [pytest.param(m, f, id=name) for name, m, f in ERRORS])
def test_what_kubectl_cannot_use_is_an_error(mutate: Callable[[dict[str, Any]], None], fragment: str) -> None:
    config = BASE.copy()
    mutate(config)
    assert fragment in rejected(config)


@pytest.mark.parametrize(("days", "not_before", "fragment"), [(10, NOW - 20 * DAY, "has expired"), (365, NOW + 16 * MINUTE, "more than 15 minutes ahead")])
def test_expired_or_far_future_certificates_are_errors(days: float, not_before: datetime.datetime, fragment: str) -> None:
    assert fragment in rejected(make_kubeconfig(days=days, not_before=not_before).config)


def test_errors_use_the_real_index_of_the_entry() -> None:
    config = BASE.copy()
    config["users"].insert(0, {"name": "someone-else", "user": {"token": "t-0123456789abcdef0123456789"}})
    config["users"][1]["user"]["client-key-data"] = OTHER.config["users"][0]["user"]["client-key-data"]
    assert "users[1].user.client-key-data does not match" in rejected(config)


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_key_types_and_formats(key_type: str, fmt: str) -> None:
    if key_type == "ed25519" and fmt == "traditional":
        pytest.skip("Ed25519 keys have no traditional OpenSSL format")
    material = make_kubeconfig(key_type=key_type, key_slot=3)
    material.config["users"][0]["user"]["client-key-data"] = b64(key_pem(material.key, fmt=fmt))
    _config, info, _warnings = accept(material.config)
    assert info.auth == "client certificate"


# ----------------------------------------------------------------------------------------------
# what kubectl accepts is accepted, normalised, with a warning where a person should know


def test_a_certificate_from_another_ca_than_the_server_ca_is_accepted_quietly() -> None:
    # The API server checks client certificates against its own --client-ca-file.
    config = make_kubeconfig(signer=make_ca(5)).config
    _config, info, warnings = accept(config)
    assert info.not_after is not None and warnings == []


def test_the_api_example_shape_with_empty_fields_is_normalised() -> None:
    # The reference's 201 example: certificate-authority-data "" and token "" next to the certificate.
    config = make_kubeconfig(include_ca=False, token="").config
    config["clusters"][0]["cluster"]["certificate-authority-data"] = ""
    own, _info, warnings = accept(config)
    assert own["clusters"][0]["cluster"].keys() == {"server", "extensions"}
    assert "token" not in own["users"][0]["user"]
    assert any("system's trusted CAs" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("flag", "with_ca", "kept"),
    [("true", False, True), ("True", False, True), (True, False, True), ("false", True, False), ("", True, False), ("true", True, False)],
)
def test_insecure_flag_written_as_kubectl_needs(flag: Any, with_ca: bool, kept: bool) -> None:
    own, info, warnings = accept(make_kubeconfig(include_ca=with_ca, insecure=flag).config)
    cluster = own["clusters"][0]["cluster"]
    assert cluster.get("insecure-skip-tls-verify") is (True if kept else None)
    assert not ("insecure-skip-tls-verify" in cluster and "certificate-authority-data" in cluster), "kubectl refuses both"
    assert info.insecure_skip_tls_verify is kept
    if kept:
        assert any("will not verify the identity" in warning for warning in warnings)
    if with_ca and flag == "true":
        assert any("insecure flag was dropped" in warning for warning in warnings)


def test_a_token_user_is_accepted_without_expiry() -> None:
    config = BASE.copy()
    config["users"][0]["user"] = {"token": "bearer-0123456789abcdef"}
    own, info, warnings = accept(config)
    assert (info.auth, info.not_after, info.cert_sha256) == ("token", None, None)
    assert own["users"][0]["user"] == {"token": "bearer-0123456789abcdef"}
    assert any("renewed only with force" in warning for warning in warnings)
    # The kept file of a token user is never due by time, only by identity.
    text = kc.render_kubeconfig(None, own, WANTED)
    assert ck.check_entries(text, WANTED, NOW + 5000 * DAY) == ck.Verdict(None, False, ck.check_entries(text, WANTED, NOW).info, None)


def test_a_single_context_without_current_context_is_selected() -> None:
    config = BASE.copy()
    del config["current-context"]
    own, info, _warnings = accept(config)
    assert own["current-context"] == WANTED.context_name and info.server == SERVER


@pytest.mark.parametrize(("days", "warned"), [(365, False), (365.5, False), (90, True), (366.5, True)])
def test_validity_other_than_requested_warns_and_is_reported(days: float, warned: bool) -> None:
    _own, info, warnings = accept(make_kubeconfig(days=days).config)
    assert any("not the 365 days requested" in warning for warning in warnings) is warned
    assert info.not_after == info.not_before + datetime.timedelta(days=days)


def test_clock_skew_up_to_fifteen_minutes_warns() -> None:
    _own, _info, warnings = accept(make_kubeconfig(not_before=NOW + 14 * MINUTE).config)
    assert any("ahead of this host's clock" in warning for warning in warnings)
    assert not any("ahead" in warning for warning in accept(BASE.copy())[2])


def test_renew_before_that_covers_the_whole_lifetime_warns() -> None:
    _own, _info, warnings = accept(make_kubeconfig(days=20).config, duration=365, wanted=WANTED._replace(renew_before_days=30))
    assert any("every run will renew it" in warning for warning in warnings)


def test_accepted_kubeconfig_is_named_stamped_and_never_changes_its_input() -> None:
    config = BASE.copy()
    own, info, _warnings = accept(config, wanted=WANTED._replace(context_fields={"namespace": "team-a"}))
    assert config == BASE.config
    assert [own[s][0]["name"] for s in ("clusters", "users", "contexts")] == ["ucs-fleet"] * 3
    assert own["contexts"][0]["context"] == {"cluster": "ucs-fleet", "user": "ucs-fleet", "namespace": "team-a"}
    assert stamp.read_identity(own["clusters"][0]["cluster"]) == (FLEET_ID, VPC_ID, None)
    assert (info.fleet_id, info.vpc_id, info.context_fields["namespace"], info.context_name) == (FLEET_ID, VPC_ID, "team-a", "ucs-fleet")
    summary = ck.summary(info)
    assert summary["not_after"] == ck.format_time(info.not_after) and not leaked(repr(summary) + repr(info), SECRETS)


# ----------------------------------------------------------------------------------------------
# renewal


@pytest.mark.parametrize(
    ("lifetime", "renew_before", "remaining", "due"),
    [
        (365, None, 31, False),
        (365, None, 30, True),
        (30, None, 11, False),  # a third of 30 days
        (30, None, 10, True),
        (7, None, 2.3, True),  # a third of 7 days is 2.33
        (7, None, 2.4, False),
        (365, 5, 6, False),
        (365, 5, 5, True),
        (365, 0, 0.01, False),
    ],
)
def test_renewal_window(lifetime: float, renew_before: int | None, remaining: float, due: bool) -> None:
    own = accept(make_kubeconfig(days=lifetime).config, duration=int(max(lifetime, 1)))[0]
    not_after = NOW - datetime.timedelta(hours=1) + datetime.timedelta(days=lifetime)
    verdict = ck.check_entries(
        kc.render_kubeconfig(None, own, WANTED), WANTED._replace(renew_before_days=renew_before), not_after - datetime.timedelta(days=remaining)
    )
    assert (verdict.reason is not None) is due, verdict.reason
    assert verdict.fetch is due


def test_expired_file_needs_a_new_certificate() -> None:
    own = accept(BASE.copy())[0]
    verdict = ck.check_entries(kc.render_kubeconfig(None, own, WANTED), WANTED, NOW + 400 * DAY)
    assert verdict.reason == "cluster 'ucs-fleet' has expired" and verdict.fetch and verdict.info is not None


# ----------------------------------------------------------------------------------------------
# check_entries: the decision for a file (module dest, role host)


def good_text(**wanted: Any) -> str:
    return kc.render_kubeconfig(None, accept(BASE.copy())[0], WANTED._replace(**wanted))


def edited(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    config = yaml.safe_load(text)
    change(config)
    return kc.dump_kubeconfig(config)


CASES = [
    ("no file", lambda: None, {}, "the kubeconfig does not exist", True),
    ("empty file", lambda: "", {}, "cluster 'ucs-fleet' is missing", True),
    ("right", good_text, {}, None, False),
    ("other fleet", good_text, {"fleet_id": "fleet-9"}, "belongs to another fleet (fleet-0001)", True),
    ("other VPC", good_text, {"vpc_id": "vpc-9"}, "was issued for another VPC (vpc-0001)", True),
    ("VPC not asked", good_text, {"vpc_id": None}, None, False),
    ("no stamp", lambda: edited(good_text(), lambda c: c["clusters"][0]["cluster"].pop("extensions")), {}, "has no ucs_cloud.fleet identity", True),
    ("user missing", lambda: edited(good_text(), lambda c: c.update(users=[])), {}, "user 'ucs-fleet' is missing", True),
    (
        "key mismatch",
        lambda: edited(good_text(), lambda c: c["users"][0]["user"].update({"client-key-data": OTHER.config["users"][0]["user"]["client-key-data"]})),
        {},
        "does not match",
        True,
    ),
    ("not yaml", lambda: "a: [", {}, "the kubeconfig is not usable: the kubeconfig is not valid YAML (line 1, column 5)", True),
    ("namespace wanted", good_text, {"context_fields": {"namespace": "team-a"}}, "context 'ucs-fleet' does not have namespace 'team-a'", False),
    ("namespace kept", lambda: good_text(context_fields={"namespace": "team-a"}), {}, None, False),
    ("not current", lambda: edited(good_text(), lambda c: c.update({"current-context": "else"})), {}, "current-context is not 'ucs-fleet'", False),
    ("not current allowed", lambda: edited(good_text(), lambda c: c.update({"current-context": "else"})), {"set_current": False}, None, False),
    ("context missing", lambda: edited(good_text(), lambda c: c.update(contexts=[])), {"set_current": False}, "context 'ucs-fleet' is missing", False),
    (
        "context elsewhere",
        lambda: edited(good_text(), lambda c: c["contexts"][0]["context"].update(user="x")),
        {},
        "context 'ucs-fleet' does not use user 'ucs-fleet'",
        False,
    ),
    (
        "string flag",
        lambda: edited(good_text(), lambda c: c["clusters"][0]["cluster"].update({"insecure-skip-tls-verify": "false"})),
        {},
        "not in the form kubectl needs",
        False,
    ),
    ("empty field", lambda: edited(good_text(), lambda c: c["users"][0]["user"].update(token="")), {}, "not in the form kubectl needs", False),
    ("standalone alone", good_text, {"standalone": True}, None, False),
    (
        "standalone with more",
        lambda: edited(good_text(), lambda c: c["clusters"].append({"name": "other", "cluster": {"server": "https://o"}})),
        {"standalone": True},
        "holds other entries than the fleet's",
        False,
    ),
    ("standalone with an extra key", lambda: edited(good_text(), lambda c: c.update({"x-tool": 1})), {"standalone": True}, "holds other entries", False),
]


@pytest.mark.parametrize(("existing", "wanted", "reason", "fetch"), [pytest.param(e, w, r, f, id=name) for name, e, w, r, f in CASES])
def test_check_entries(existing: Callable[[], Any], wanted: dict[str, Any], reason: str | None, fetch: bool) -> None:
    verdict = ck.check_entries(existing(), WANTED._replace(**wanted), NOW)
    if reason is None:
        assert verdict.reason is None
    else:
        assert verdict.reason is not None and reason in verdict.reason
        assert not leaked(verdict.reason, SECRETS)
    assert verdict.fetch is fetch


def test_rewrite_verdicts_are_fixed_by_render_without_a_new_certificate() -> None:
    for name, existing, wanted, reason, fetch in CASES:
        if reason is None or fetch:
            continue
        target = WANTED._replace(**wanted)
        rewritten = kc.render_kubeconfig(existing(), None, target)
        assert ck.check_entries(rewritten, target, NOW).reason is None, name


def test_check_entries_ignores_broken_foreign_entries_and_reports_blockers() -> None:
    text = edited(good_text(), lambda c: (c["clusters"].insert(0, "junk"), c["users"].append({"name": "x", "user": "broken"})))
    assert ck.check_entries(text, WANTED, NOW).reason is None
    blocked = ck.check_entries("clusters: oops\n", WANTED, NOW)
    assert blocked.blocker == "clusters must be a list, not a string" and blocked.fetch


def test_the_per_run_check_skips_only_the_rsa_consistency_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A download is checked in full; entries without a valid seal are checked again each run,
    without the RSA consistency check; sealed ones need no key at all (see the seal tests)."""
    material = make_kubeconfig(key_type="rsa")
    calls: list[dict[str, Any]] = []
    real = ck._lib().serialization.load_pem_private_key

    def spy(data: bytes, password: Any, **options: Any) -> Any:
        calls.append(options)
        return real(data, password, **options)

    own = accept(material.config)[0]
    monkeypatch.setattr(ck._lib().serialization, "load_pem_private_key", spy)
    ck._load_key_parameters.cache_clear()
    monkeypatch.setattr(ck, "_load_key_parameters", lambda: ("data", "password", "unsafe_skip_rsa_key_validation"))
    accept(material.config)
    ck.check_entries(kc.render_kubeconfig(None, own, WANTED), WANTED, NOW)
    assert calls == [{}]
    unsealed = make_kubeconfig(key_type="rsa", cluster=WANTED.cluster_name, user=WANTED.user_name, context=WANTED.context_name, fleet_id=WANTED.fleet_id)
    ck.check_entries(unsealed.config, WANTED, NOW)
    assert calls == [{}, {"unsafe_skip_rsa_key_validation": True}]


def test_a_base64_field_may_hold_line_breaks_as_go_allows() -> None:
    config = BASE.copy()
    wrapped = "\n".join(CERT_B64[i : i + 64] for i in range(0, len(CERT_B64), 64)) + "\n"
    config["users"][0]["user"]["client-certificate-data"] = wrapped
    assert accept(config)[1].cert_sha256 == accept(BASE.copy())[1].cert_sha256
    assert base64.b64decode(CERT_B64)  # the factory's own data is plain base64


# ----------------------------------------------------------------------------------------------
# the seal: a later run trusts the facts checked at download only while nothing changed


def sealed_file(config: dict[str, Any] | None = None) -> dict[str, Any]:
    own = accept(config or BASE.config)[0]
    return yaml.safe_load(kc.render_kubeconfig(None, own, WANTED))


def test_sealed_entries_are_judged_without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    written = sealed_file()
    full = ck.check_entries(kc.dump_kubeconfig(written), WANTED, NOW)

    def unavailable() -> Any:
        raise AssertionError("cryptography was needed")

    monkeypatch.setattr(ck, "_lib", unavailable)
    quick = ck.check_entries(kc.dump_kubeconfig(written), WANTED, NOW)
    assert quick == full and quick.reason is None and quick.info.not_after is not None


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("another key", lambda c: c["users"][0]["user"].__setitem__("client-key-data", OTHER.config["users"][0]["user"]["client-key-data"])),
        ("another server", lambda c: c["clusters"][0]["cluster"].__setitem__("server", "https://elsewhere.example.test")),
        ("a later expiry", lambda c: c["clusters"][0]["cluster"]["extensions"][-1]["extension"].__setitem__("not-after", "2099-01-01T00:00:00Z")),
        ("no seal", lambda c: c["clusters"][0]["cluster"]["extensions"][-1]["extension"].pop("seal")),
    ],
)
def test_a_change_breaks_the_seal_and_the_entries_are_checked_in_full(what: str, change: Callable[[dict[str, Any]], Any]) -> None:
    written = sealed_file()
    change(written)
    verdict = ck.check_entries(kc.dump_kubeconfig(written), WANTED, NOW)
    if what == "another key":
        assert verdict.fetch and "does not match the client certificate" in verdict.reason
    else:
        assert verdict.info is not None and verdict.info.not_after == ck.check_entries(kc.dump_kubeconfig(sealed_file()), WANTED, NOW).info.not_after


def test_a_token_user_is_sealed_too(monkeypatch: pytest.MonkeyPatch) -> None:
    token = copy.deepcopy(BASE.config)
    token["users"][0]["user"] = {"token": "tok-0123456789abcdef"}
    written = sealed_file(token)
    monkeypatch.setattr(ck, "_lib", lambda: pytest.fail("cryptography was needed"))
    verdict = ck.check_entries(kc.dump_kubeconfig(written), WANTED, NOW)
    assert verdict.reason is None and verdict.info.auth == "token" and verdict.info.not_after is None


@pytest.mark.parametrize(
    "text",
    [
        "2027-11-29T02:00:00",  # no zone
        "2027-11-29T02:00:00Z\n",
        " 2027-11-29T02:00:00Z",
        "2027-11-29 02:00:00Z",
        "2027-13-29T02:00:00Z",  # no 13th month
        "2027-02-30T02:00:00Z",
        "2027-11-29T02:00:00+00:00",
        "27-11-29T02:00:00Z",
        "",
        None,
        1796696999,
        datetime.datetime(2027, 11, 29, tzinfo=datetime.timezone.utc),
    ],
)
def test_parse_time_reads_only_what_format_time_writes(text: Any) -> None:
    assert ck.parse_time(text) is None


def test_parse_time_reads_back_format_time() -> None:
    for moment in (NOW, NOW + 400 * DAY, datetime.datetime(2000, 2, 29, 23, 59, 59, tzinfo=datetime.timezone.utc)):
        written = ck.format_time(moment)
        assert ck.parse_time(written) == moment.replace(microsecond=0)
        assert ck.format_time(ck.parse_time(written)) == written
