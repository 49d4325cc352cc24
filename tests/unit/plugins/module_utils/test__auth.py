from __future__ import annotations

import pickle
from typing import Any, Optional

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _auth as auth
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import federation_cert_argument_spec
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

SK = "sk-SECRET-0123456789"
TOKEN = "MIIsecretTOKENvalue"
SEC_TOKEN = "gQpTEMPORARYsecuritytoken"
PASSWORD = "pa55w0rd-SECRET"
SECRETS = (SK, TOKEN, SEC_TOKEN, PASSWORD)

AKSK = {"access_key": "AKID0001", "secret_key": SK, "domain_id": "dom-1"}
TOKEN_SET = {"auth_token": TOKEN}
PASSWORD_SET = {"username": "alice", "password": PASSWORD, "domain_name": "acme", "iam_endpoint": "https://iam.example.com"}


def params(auth_method: str = "auto", **values: Any) -> dict[str, Any]:
    # Like module.params: every option present, unset ones None.
    base: dict[str, Any] = dict.fromkeys(
        ("access_key", "secret_key", "security_token", "domain_id", "auth_token", "username", "password", "domain_name", "iam_endpoint", "region")
    )
    base["auth_method"] = auth_method
    base.update(values)
    return base


def resolve_error(p: dict[str, Any]) -> str:
    with pytest.raises(UcsValidationError) as info:
        auth.resolve_credentials(p)
    message = info.value.msg
    for secret in SECRETS:
        assert secret not in message
        assert secret not in repr(info.value)
        assert secret not in str(info.value.to_fail_kwargs())
    return message


# iam_token_url


@pytest.mark.parametrize(
    ("endpoint", "region", "expected"),
    [
        ("https://iam.eu-de.otc.t-systems.com", None, "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("https://iam.eu-de.otc.t-systems.com/", None, "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("https://iam.eu-de.otc.t-systems.com/v3", None, "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("https://iam.eu-de.otc.t-systems.com/v3/", None, "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("https://iam.eu-de.otc.t-systems.com/v3/auth/tokens", None, "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("HTTPS://IAM.Example.COM:8443/v3", None, "https://iam.example.com:8443/v3/auth/tokens"),
        ("https://127.0.0.1:40123/v3", None, "https://127.0.0.1:40123/v3/auth/tokens"),
        ("https://[::1]:40123", None, "https://[::1]:40123/v3/auth/tokens"),
        ("https://proxy.example.com/identity", None, "https://proxy.example.com/identity/v3/auth/tokens"),
        ("https://iam.example.com", "eu-de", "https://iam.example.com/v3/auth/tokens"),  # explicit endpoint wins
        (None, "eu-de", "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"),
        ("", "eu-nl", "https://iam.eu-nl.otc.t-systems.com/v3/auth/tokens"),
        (None, "eu-ch2", "https://iam.eu-ch2.otc.t-systems.com/v3/auth/tokens"),
        (None, "cn-north-4", "https://iam.cn-north-4.myhuaweicloud.com/v3/auth/tokens"),
        (None, "ap-southeast-1", "https://iam.ap-southeast-1.myhuaweicloud.com/v3/auth/tokens"),
    ],
)
def test_iam_token_url(endpoint: Optional[str], region: Optional[str], expected: str) -> None:
    assert auth.iam_token_url(endpoint, region) == expected


@pytest.mark.parametrize(
    ("endpoint", "region", "message"),
    [
        (None, None, "set iam_endpoint"),
        ("", "", "or region"),
        ("http://iam.example.com", None, "iam_endpoint must be an https:// URL"),
        ("iam.example.com", None, "iam_endpoint must be an https:// URL"),
        ("https://", None, "iam_endpoint must name a host"),
        ("https://iam.example.com/v3?x=1", None, "must not contain a query string"),
        ("https://iam.example.com/v3#frag", None, "must not contain a fragment"),
        ("https://user:pw@iam.example.com", None, "must not contain user information"),
        ("https://iam.example.com:99999", None, "not a valid URL"),
        ("https://iam.example.com/a b", None, "white space"),
        (None, "eu-de/../evil", "is not a region id"),
        (None, "EU-DE", "is not a region id"),
    ],
)
def test_iam_token_url_errors(endpoint: Optional[str], region: Optional[str], message: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        auth.iam_token_url(endpoint, region)
    assert message in info.value.msg
    assert "pw" not in info.value.msg


def test_user_info_is_never_echoed() -> None:
    with pytest.raises(UcsValidationError) as info:
        auth.validate_endpoint_url(f"https://alice:{PASSWORD}@ucs.example.com", "endpoint")
    assert PASSWORD not in info.value.msg and info.value.option == "endpoint"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ucs.myhuaweicloud.com", "https://ucs.myhuaweicloud.com"),
        ("https://ucs.myhuaweicloud.com/", "https://ucs.myhuaweicloud.com"),
        (" https://ucs.example.com/prefix/ ", "https://ucs.example.com/prefix"),
    ],
)
def test_validate_endpoint_url(url: str, expected: str) -> None:
    assert auth.validate_endpoint_url(url, "endpoint") == expected


@pytest.mark.parametrize("value", [None, "", "  ", 42])
def test_validate_endpoint_url_empty(value: Any) -> None:
    with pytest.raises(UcsValidationError, match="endpoint must be an https:// URL"):
        auth.validate_endpoint_url(value, "endpoint")


# resolve_credentials: valid sets


def test_aksk() -> None:
    creds = auth.resolve_credentials(params(**AKSK))
    assert (creds.method, creds.access_key, creds.secret_key, creds.domain_id, creds.security_token) == ("aksk", "AKID0001", SK, "dom-1", None)
    assert not creds.is_temporary


def test_temporary_aksk() -> None:
    creds = auth.resolve_credentials(params(**AKSK, security_token=SEC_TOKEN))
    assert creds.method == "aksk" and creds.security_token == SEC_TOKEN and creds.is_temporary
    assert "temporary AK/SK" in creds.describe()


def test_token() -> None:
    creds = auth.resolve_credentials(params(**TOKEN_SET))
    assert (creds.method, creds.auth_token) == ("token", TOKEN)


def test_password_with_endpoint() -> None:
    creds = auth.resolve_credentials(params(**PASSWORD_SET))
    assert (creds.method, creds.username, creds.password, creds.domain_name) == ("password", "alice", PASSWORD, "acme")
    assert creds.iam_token_url == "https://iam.example.com/v3/auth/tokens"


def test_password_with_region() -> None:
    creds = auth.resolve_credentials(params(**{**PASSWORD_SET, "iam_endpoint": None}, region="eu-de"))
    assert creds.iam_token_url == "https://iam.eu-de.otc.t-systems.com/v3/auth/tokens"


def test_missing_keys_count_as_unset() -> None:
    assert auth.resolve_credentials({"auth_token": TOKEN}).method == "token"


def test_empty_strings_count_as_unset() -> None:
    # An exported but empty environment variable must not make a conflict.
    creds = auth.resolve_credentials(params(**AKSK, username="", password="", auth_token=""))
    assert creds.method == "aksk"


def test_secondary_options_of_other_methods_do_not_conflict() -> None:
    # OS_AUTH_URL, OS_USER_DOMAIN_NAME, region are commonly exported for other tools.
    creds = auth.resolve_credentials(params(**AKSK, domain_name="acme", iam_endpoint="https://iam.example.com", region="eu-de"))
    assert creds.method == "aksk"
    assert auth.resolve_credentials(params(**TOKEN_SET, domain_id="dom-1", domain_name="acme")).method == "token"


@pytest.mark.parametrize(
    ("method", "expected"),
    [("aksk", "aksk"), ("token", "token"), ("password", "password")],
)
def test_explicit_method_ignores_other_methods(method: str, expected: str) -> None:
    everything = params(method, **AKSK, **TOKEN_SET, **PASSWORD_SET, security_token=SEC_TOKEN)
    creds = auth.resolve_credentials(everything)
    assert creds.method == expected
    if expected != "aksk":
        assert creds.access_key is None and creds.secret_key is None and creds.security_token is None
    if expected != "token":
        assert creds.auth_token is None
    if expected != "password":
        assert creds.password is None and creds.username is None


# resolve_credentials: errors


@pytest.mark.parametrize(
    ("values", "present", "missing"),
    [
        ({"access_key": "AK"}, "access_key is set", "secret_key and domain_id are missing"),
        ({"secret_key": SK}, "secret_key is set", "access_key and domain_id are missing"),
        ({"access_key": "AK", "secret_key": SK}, "access_key and secret_key are set", "domain_id is missing"),
        ({"access_key": "AK", "domain_id": "d"}, "access_key and domain_id are set", "secret_key is missing"),
        ({"secret_key": SK, "domain_id": "d"}, "secret_key and domain_id are set", "access_key is missing"),
        ({"access_key": "AK", "security_token": SEC_TOKEN}, "access_key and security_token are set", "secret_key and domain_id are missing"),
        ({"username": "alice"}, "username is set", "password and domain_name are missing"),
        ({"password": PASSWORD}, "password is set", "username and domain_name are missing"),
        ({"username": "alice", "password": PASSWORD}, "username and password are set", "domain_name is missing"),
        ({"username": "alice", "domain_name": "acme"}, "username and domain_name are set", "password is missing"),
    ],
)
def test_partial_sets_in_auto(values: dict[str, Any], present: str, missing: str) -> None:
    message = resolve_error(params(**values))
    assert present in message and missing in message
    assert "environment variables" in message and ("HUAWEICLOUD_SDK_" in message or "OS_" in message)


@pytest.mark.parametrize(
    ("method", "values", "fragment"),
    [
        ("aksk", {}, "access_key, secret_key and domain_id are required for AK/SK authentication"),
        ("aksk", {"access_key": "AK", "secret_key": SK}, "domain_id is missing"),
        ("aksk", {**PASSWORD_SET, "access_key": "AK"}, "secret_key and domain_id are missing"),
        ("token", {**AKSK}, "auth_token is required for IAM token authentication"),
        ("password", {**AKSK}, "username, password and domain_name are required"),
        ("password", {"username": "alice", "password": PASSWORD}, "domain_name is missing"),
        ("password", {"username": "alice", "password": PASSWORD, "domain_name": "acme"}, "set iam_endpoint"),
    ],
)
def test_explicit_method_must_be_complete(method: str, values: dict[str, Any], fragment: str) -> None:
    assert fragment in resolve_error(params(method, **values))


def test_missing_option_names_its_environment_variables() -> None:
    message = resolve_error(params(access_key="AK", domain_id="d"))
    assert "HUAWEICLOUD_SDK_SK" in message and "OS_SECRET_KEY" in message


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ({**AKSK, **PASSWORD_SET}, ["access_key (AK/SK) and username (IAM password) are both set", "set auth_method or remove one"]),
        ({**AKSK, **TOKEN_SET}, ["access_key (AK/SK) and auth_token (IAM token) are both set"]),
        ({**TOKEN_SET, **PASSWORD_SET}, ["auth_token (IAM token) and username (IAM password) are both set"]),
        ({**AKSK, **TOKEN_SET, **PASSWORD_SET}, ["access_key (AK/SK), auth_token (IAM token) and username (IAM password) are all set"]),
        ({"secret_key": SK, "password": PASSWORD}, ["secret_key (AK/SK) and password (IAM password) are both set"]),
        ({"security_token": SEC_TOKEN, "auth_token": TOKEN}, ["security_token (AK/SK) and auth_token (IAM token)"]),
    ],
)
def test_conflicts_in_auto(values: dict[str, Any], fragments: list[str]) -> None:
    message = resolve_error(params(**values))
    for fragment in fragments:
        assert fragment in message
    assert "environment variables (HUAWEICLOUD_SDK_*, OS_*)" in message


def test_nothing_set() -> None:
    message = resolve_error(params())
    assert message.startswith("No credentials") and "environment variables" in message


@pytest.mark.parametrize("method", ["auto", "aksk"])
def test_security_token_without_aksk(method: str) -> None:
    message = resolve_error(params(method, security_token=SEC_TOKEN, domain_id="d"))
    assert "security_token is set but access_key and secret_key are missing" in message


def test_unknown_auth_method() -> None:
    assert "auth_method must be one of" in resolve_error(params("kerberos", **AKSK))


def test_bad_iam_endpoint_in_password_set() -> None:
    message = resolve_error(params(**{**PASSWORD_SET, "iam_endpoint": "http://iam.example.com"}))
    assert "iam_endpoint must be an https:// URL" in message


# Credentials never show secrets


@pytest.mark.parametrize(
    "values",
    [{**AKSK}, {**AKSK, "security_token": SEC_TOKEN}, {**TOKEN_SET}, {**PASSWORD_SET}],
)
def test_credentials_repr_redacts(values: dict[str, Any]) -> None:
    creds = auth.resolve_credentials(params(**values))
    for text in (repr(creds), str(creds), f"{creds}", creds.describe(), repr([creds]), repr({"c": creds})):
        for secret in SECRETS:
            assert secret not in text
    assert "<redacted>" in repr(creds)
    assert creds.sensitive_values() == {v for v in values.values() if v in SECRETS}


def test_credentials_repr_shows_identifiers() -> None:
    creds = auth.resolve_credentials(params(**AKSK))
    assert repr(creds) == "Credentials(method='aksk', access_key='AKID0001', domain_id='dom-1', secret_key=<redacted>)"


def test_credentials_cannot_be_pickled() -> None:
    creds = auth.resolve_credentials(params(**AKSK))
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_credentials_reject_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown authentication method"):
        auth.Credentials("kerberos")


def test_option_env_is_what_the_argspec_falls_back_to() -> None:
    spec = federation_cert_argument_spec()
    for option, names in auth.OPTION_ENV.items():
        fallback = spec[option].get("fallback")
        assert fallback is not None, option
        assert tuple(fallback[1]) == names, option


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("", False), ("  ", False), ("\n\t", False), ("x", True), (" x ", True), (0, True), (False, True)]
)
def test_one_blank_rule(value: Any, expected: bool) -> None:
    """None and blank strings are unset, for credentials, endpoints and region alike (AWX injects blank fields)."""
    assert auth.is_set(value) is expected


@pytest.mark.parametrize("region", ["eu-de\nx", "eu-de\n-x", "eu-de/..", "eu", "EU-DE", "eu_de", "eu-de-", 5, None])
def test_region_must_match_whole(region: Any) -> None:
    with pytest.raises(UcsValidationError) as info:
        auth.check_region(region)
    assert info.value.option == "region" and "is not a region id such as eu-de or ap-southeast-1" in info.value.msg


@pytest.mark.parametrize(("region", "expected"), [("la-north-2", "la-north-2"), (" ap-southeast-1 ", "ap-southeast-1"), ("cn-north-4\n", "cn-north-4")])
def test_region_is_used_without_surrounding_white_space(region: str, expected: str) -> None:
    """What is used (and put in a URL) is the region id alone; a line break never reaches a host name."""
    assert auth.check_region(region) == expected
    assert auth.iam_endpoint_for_region(region) == f"https://iam.{expected}.myhuaweicloud.com"
