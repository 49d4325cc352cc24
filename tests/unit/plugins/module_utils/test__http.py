from __future__ import annotations

import datetime
import email.utils
import gzip
import http.client
import io
import json
import re
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as u3

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _errors as errors_module
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http, _http_answer, _http_retry
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import Credentials
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import (
    UcsApiError,
    UcsAuthError,
    UcsConnectionError,
    UcsError,
    UcsResponseError,
    UcsValidationError,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import sign_request

ENDPOINT = "https://ucs.example.com"
IAM_URL = "https://iam.example.com/v3/auth/tokens"
FLEET_PATH = "/v1/clustergroups/f1"
CERT_PATH = FLEET_PATH + "/cert"
NOW = datetime.datetime(2026, 11, 29, 12, 0, 0, tzinfo=datetime.timezone.utc)

SK = "SK-secret-0123456789abcdef"
SECURITY_TOKEN = "SECURITY-TOKEN-secret-xyz"
AUTH_TOKEN = "AUTH-TOKEN-secret-MIIabc"
PASSWORD = "PASSWORD-secret-p4ss"
SUBJECT_TOKEN = "SUBJECT-TOKEN-secret-MIIdef"
SUBJECT_TOKEN_2 = "SUBJECT-TOKEN-secret-second"
SECRETS = (SK, SECURITY_TOKEN, AUTH_TOKEN, PASSWORD, SUBJECT_TOKEN, SUBJECT_TOKEN_2)

CREDENTIALS = {
    "aksk": lambda: Credentials("aksk", access_key="AKID0001", secret_key=SK, domain_id="dom-1"),
    "temporary": lambda: Credentials("aksk", access_key="AKTMP001", secret_key=SK, domain_id="dom-1", security_token=SECURITY_TOKEN),
    "token": lambda: Credentials("token", auth_token=AUTH_TOKEN),
    "password": lambda: Credentials("password", username="alice", password=PASSWORD, domain_name="acme", iam_token_url=IAM_URL),
}


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CA bundle or proxy of the machine running the tests: the client reads these itself."""
    for name in (
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


# A scripted transport: a real requests.Session with this adapter mounted, so requests prepares
# the requests as it would for the network, but nothing leaves the process.


class Reply:
    def __init__(self, status: int, body: Union[bytes, str, dict, list, None] = None, headers: Optional[dict[str, str]] = None) -> None:
        self.status = status
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        self.body = body.encode() if isinstance(body, str) else (body or b"")
        self.headers = headers or {}

    def build(self, request: requests.PreparedRequest) -> requests.Response:
        # A streamed answer, as HTTPAdapter builds it: the client reads response.raw itself.
        response = requests.Response()
        response.status_code = self.status
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(self.body), headers=self.headers, status=self.status, preload_content=False, decode_content=False)
        response.headers = CaseInsensitiveDict(self.headers)
        response.url = request.url or ""
        response.request = request
        response.reason = http.client.responses.get(self.status, "")
        response.encoding = "utf-8"
        return response


Step = Union[Reply, BaseException, Callable[[requests.PreparedRequest], Any]]


class ScriptedAdapter(BaseAdapter):
    """Answers from a script and records what was sent: ``calls`` is (method, path, status or exception name) per request."""

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self.steps = list(steps)
        self.requests: list[requests.PreparedRequest] = []
        self.options: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, Union[int, str]]] = []

    def send(
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None
    ) -> Any:
        self.requests.append(request)
        self.options.append({"timeout": timeout, "verify": verify})
        if not self.steps:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        step = self.steps.pop(0)
        if callable(step) and not isinstance(step, Reply):
            step = step(request)
        call = (request.method or "", urlsplit(request.url or "").path)
        if isinstance(step, BaseException):
            self.calls.append((*call, type(step).__name__))
            raise step
        self.calls.append((*call, step.status))
        return step.build(request)

    def close(self) -> None:
        pass


class Harness:
    def __init__(self, steps: list[Step], creds: str = "token", **kwargs: Any) -> None:
        self.adapter = ScriptedAdapter(steps)
        session = requests.Session()
        # Hermetic: no REQUESTS_CA_BUNDLE or proxy settings from the environment of the test run.
        session.trust_env = False
        session.mount("https://", self.adapter)
        session.mount("http://", self.adapter)
        self.now = 1000.0
        self.wall = NOW.timestamp()
        self.sleeps: list[float] = []
        self.messages: list[str] = []
        self.credentials = CREDENTIALS[creds]()

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.now += seconds
            self.wall += seconds

        options: dict[str, Any] = {
            "timeout": 30,
            "retries": 3,
            "sleep": sleep,
            "clock": lambda: self.now,
            "wall_clock": lambda: self.wall,
            "random": lambda: 0.5,
            "on_retry": self.messages.append,
            "session": session,
        }
        options.update(kwargs)
        self.client = _http.UcsClient(ENDPOINT, self.credentials, **options)

    @property
    def requests(self) -> list[requests.PreparedRequest]:
        return self.adapter.requests

    @property
    def calls(self) -> list[tuple[str, str, Union[int, str]]]:
        return self.adapter.calls

    def done(self) -> None:
        assert self.adapter.steps == [], "scripted steps left over"


def ucs_error(code: str, msg: str, status: int = 400, request_id: str = "req-1", **headers: str) -> Reply:
    return Reply(status, {"error_code": code, "error_msg": msg}, {"X-Request-Id": request_id, **headers})


def iam_ok(token: str = SUBJECT_TOKEN) -> Reply:
    return Reply(201, {"token": {"expires_at": "2026-11-30T12:00:00.000000Z"}}, {"X-Subject-Token": token})


def refused() -> requests.exceptions.ConnectionError:
    reason = u3.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def connect_timeout() -> requests.exceptions.ConnectTimeout:
    reason = u3.ConnectTimeoutError(None, "Connection to ucs.example.com timed out. (connect timeout=30)")
    return requests.exceptions.ConnectTimeout(u3.MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def read_timeout() -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(u3.ReadTimeoutError(None, "/x", "Read timed out. (read timeout=30)"))  # type: ignore[arg-type]


def dropped() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(u3.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection")))


def cut_off() -> requests.exceptions.ChunkedEncodingError:
    return requests.exceptions.ChunkedEncodingError(u3.ProtocolError("Response ended prematurely"))


def tls_untrusted() -> requests.exceptions.SSLError:
    reason = u3.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)")
    return requests.exceptions.SSLError(u3.MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def tls_other() -> requests.exceptions.SSLError:
    return requests.exceptions.SSLError(u3.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"))


def assert_no_secrets(*texts: Any) -> None:
    for text in texts:
        rendered = text if isinstance(text, str) else repr(text)
        for secret in SECRETS:
            assert secret not in rendered, f"secret leaked into {rendered[:200]}"


def scan_error(harness: Harness, exc: UcsError) -> None:
    # No chained exception: requests' exceptions hold the prepared request (headers, IAM body).
    assert exc.__context__ is None and exc.__cause__ is None
    assert_no_secrets(exc.msg, str(exc), repr(exc), exc.to_fail_kwargs(), vars(exc), harness.messages, harness.calls, repr(harness.client))
    signature = [r.headers.get("Authorization") for r in harness.requests if r.headers.get("Authorization")]
    for value in signature:
        assert value not in exc.msg


# Plain success


def test_get_json_200_token() -> None:
    h = Harness([Reply(200, {"metadata": {"name": "fleet"}}, {"X-Request-Id": "r1"})])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"metadata": {"name": "fleet"}}
    (request,) = h.requests
    assert (request.method, request.url, request.body) == ("GET", ENDPOINT + FLEET_PATH, None)
    assert request.headers["X-Auth-Token"] == AUTH_TOKEN
    assert request.headers["User-Agent"] == f"ucs_cloud.fleet/{_http.COLLECTION_VERSION}"
    assert request.headers["Accept"] == "application/json"
    assert "Content-Type" not in request.headers and "Authorization" not in request.headers and "X-Domain-Id" not in request.headers
    assert h.adapter.options == [{"timeout": (30, 30), "verify": True}]
    assert h.calls == [("GET", FLEET_PATH, 200)]
    assert h.sleeps == [] and h.messages == []
    h.done()


def test_post_json_201_sends_json_body() -> None:
    h = Harness([Reply(201, {"kind": "Config"})])
    body = {"projectID": "p", "vpcID": "v", "subnetID": "s", "duration": 365, "note": "ü"}
    assert h.client.post_json(CERT_PATH, body, "create the federation connection of fleet f1") == {"kind": "Config"}
    (request,) = h.requests
    assert request.method == "POST" and request.url == ENDPOINT + CERT_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == body
    assert request.body == json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    assert h.calls == [("POST", CERT_PATH, 201)]


def test_post_without_body_sends_empty_object() -> None:
    h = Harness([Reply(200, {})])
    assert h.client.post_json("/v1/x", None, "do x") == {}
    assert h.requests[0].body == b"{}"


def test_endpoint_with_path_prefix() -> None:
    h = Harness([Reply(200, {})])
    h.client = _http.UcsClient("https://gw.example.com/ucs/", h.credentials, session=h.client._session)
    h.client.get_json("/v1/clustergroups", "list fleets")
    assert h.requests[0].url == "https://gw.example.com/ucs/v1/clustergroups"


@pytest.mark.parametrize(
    ("kwargs", "verify", "warning"),
    [
        ({}, True, None),
        ({"validate_certs": False}, False, "validate_certs is false: the identity of the UCS endpoint is not checked. Use this for testing only."),
        ({"ca_path": "/etc/ucs/ca.pem"}, "/etc/ucs/ca.pem", None),
        # One rule: validate_certs=false wins (UCS_CA_PATH may be set for every job), and the warning says so.
        (
            {"validate_certs": False, "ca_path": "/ca.pem"},
            False,
            "validate_certs is false, so ca_path is ignored: the identity of the UCS endpoint is not checked. Use this for testing only.",
        ),
    ],
)
def test_tls_verification_option(kwargs: dict[str, Any], verify: Union[bool, str], warning: Optional[str]) -> None:
    h = Harness([Reply(200, {})], timeout=7, **kwargs)
    h.client.get_json("/v1/x", "x")
    assert h.adapter.options == [{"timeout": (7, 7), "verify": verify}]
    assert _http.tls_warning(kwargs.get("validate_certs", True), kwargs.get("ca_path")) == warning


def test_environment_ca_bundle_applies_only_without_ca_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """trust_env is off, so the client itself keeps REQUESTS_CA_BUNDLE (and CURL_CA_BUNDLE) working."""
    monkeypatch.setenv("CURL_CA_BUNDLE", "/curl.pem")
    assert _http.tls_verify(True, None) == "/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/requests.pem")
    assert _http.tls_verify(True, None) == "/requests.pem"
    assert _http.tls_verify(True, "/ca.pem") == "/ca.pem"
    assert _http.tls_verify(False, "/ca.pem") is False


def test_user_agent_version_matches_galaxy() -> None:
    galaxy = (Path(__file__).resolve().parents[4] / "galaxy.yml").read_text()
    version = re.search(r"^version:\s*(\S+)", galaxy, re.MULTILINE)
    assert version is not None and version.group(1) == _http.COLLECTION_VERSION


# AK/SK


def verify_signature(request: requests.PreparedRequest) -> dict[str, str]:
    """Re-sign the request as sent, from its signed headers only, and compare."""
    authorization = request.headers["Authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    access = authorization.split("Access=")[1].split(",")[0]
    headers = {name: request.headers[name] for name in signed}
    again = sign_request(request.method or "", request.url or "", headers, request.body, access, SK, request.headers["X-Sdk-Date"])
    assert again["Authorization"] == authorization
    return {"signed": ";".join(signed), "access": access}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_aksk_headers_are_signed(method: str) -> None:
    h = Harness([Reply(200, {})], creds="aksk")
    if method == "GET":
        h.client.get_json(FLEET_PATH, "read fleet f1")
    else:
        h.client.post_json(CERT_PATH, {"duration": 1}, "create cert")
    (request,) = h.requests
    assert request.headers["Host"] == "ucs.example.com"
    assert request.headers["X-Domain-Id"] == "dom-1"
    assert request.headers["X-Sdk-Date"] == "20261129T120000Z"
    assert "X-Security-Token" not in request.headers and "X-Auth-Token" not in request.headers
    info = verify_signature(request)
    assert info["access"] == "AKID0001"
    expected = "accept;host;user-agent;x-domain-id;x-sdk-date" if method == "GET" else "accept;content-type;host;user-agent;x-domain-id;x-sdk-date"
    assert info["signed"] == expected


def test_aksk_signature_matches_official_sdk() -> None:
    sdk_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")
    sdk_credentials = pytest.importorskip("huaweicloudsdkcore.auth.credentials")
    h = Harness([Reply(201, {})], creds="temporary")
    h.client.post_json(CERT_PATH, {"duration": 365}, "create cert")
    (request,) = h.requests
    parts = urlsplit(request.url or "")
    headers = {name: request.headers[name] for name in ("Accept", "Content-Type", "Host", "User-Agent", "X-Sdk-Date")}
    sdk = sdk_request.SdkRequest(
        method="POST",
        schema="https",
        host=parts.netloc,
        resource_path=parts.path,
        query_params=parse_qsl(parts.query),
        header_params=headers,
        body=request.body,
    )
    sdk_credentials.GlobalCredentials("AKTMP001", SK, "dom-1").with_security_token(SECURITY_TOKEN).sign_request(sdk)
    assert sdk.header_params["Authorization"] == request.headers["Authorization"]


def test_temporary_credentials_send_security_token() -> None:
    h = Harness([Reply(200, {})], creds="temporary")
    h.client.get_json(FLEET_PATH, "read fleet f1")
    (request,) = h.requests
    assert request.headers["X-Security-Token"] == SECURITY_TOKEN
    assert "x-security-token" in verify_signature(request)["signed"]


def test_aksk_signs_every_attempt_afresh() -> None:
    h = Harness([Reply(503), Reply(200, {})], creds="aksk", random=lambda: 1.0)
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == [1.0]
    first, second = h.requests
    assert first.headers["X-Sdk-Date"] != second.headers["X-Sdk-Date"]
    assert first.headers["Authorization"] != second.headers["Authorization"]
    verify_signature(first)
    verify_signature(second)


# IAM password


def test_password_obtains_token_once_for_two_calls() -> None:
    h = Harness([iam_ok(), Reply(200, {"a": 1}), Reply(201, {"b": 2})], creds="password")
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"a": 1}
    assert h.client.post_json(CERT_PATH, {"duration": 1}, "create cert") == {"b": 2}
    iam, get, post = h.requests
    assert iam.method == "POST" and iam.url == IAM_URL
    assert "X-Auth-Token" not in iam.headers and "Authorization" not in iam.headers
    assert json.loads(iam.body) == {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": "alice", "password": PASSWORD, "domain": {"name": "acme"}}}},
            "scope": {"domain": {"name": "acme"}},
        }
    }
    assert get.headers["X-Auth-Token"] == SUBJECT_TOKEN and post.headers["X-Auth-Token"] == SUBJECT_TOKEN
    assert h.calls == [("POST", "/v3/auth/tokens", 201), ("GET", FLEET_PATH, 200), ("POST", CERT_PATH, 201)]
    h.done()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_password_reauthenticates_once_on_401(method: str) -> None:
    expired = Reply(401, {"error_code": "APIGW.0307", "error_msg": "The token expires."})
    h = Harness([iam_ok(), expired, iam_ok(SUBJECT_TOKEN_2), Reply(200, {"ok": True})], creds="password")
    call = h.client.get_json if method == "GET" else (lambda path, what: h.client.post_json(path, {"duration": 1}, what))
    assert call(CERT_PATH, "do it") == {"ok": True}
    assert [r.headers.get("X-Auth-Token") for r in h.requests] == [None, SUBJECT_TOKEN, None, SUBJECT_TOKEN_2]
    assert [c[2] for c in h.calls] == [201, 401, 201, 200]
    assert len(h.messages) == 1 and "obtaining a new IAM token" in h.messages[0]
    assert h.sleeps == []
    h.done()


def test_password_reauthenticates_only_once() -> None:
    rejected = Reply(401, {"error_code": "APIGW.0307", "error_msg": "The token expires."}, {"X-Request-Id": "r9"})
    h = Harness([iam_ok(), rejected, iam_ok(SUBJECT_TOKEN_2), rejected], creds="password")
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert [c[2] for c in h.calls] == [201, 401, 201, 401]
    assert "HTTP 401 APIGW.0307: The token expires. (request id r9)" in info.value.msg
    assert "user alice in domain acme" in info.value.msg
    scan_error(h, info.value)
    h.done()


def test_iam_rejects_password() -> None:
    body = {"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}}
    h = Harness([Reply(401, body, {"X-Openstack-Request-Id": "req-iam"})], creds="password")
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        "Failed to obtain an IAM token for user alice in domain acme: HTTP 401: The username or password is wrong. (request id req-iam). "
        "IAM rejected the username/password for domain acme: check username, password and domain_name"
    )
    assert info.value.to_fail_kwargs()["http_url"] == IAM_URL
    assert h.calls == [("POST", "/v3/auth/tokens", 401)]
    scan_error(h, info.value)


def test_iam_answer_without_token() -> None:
    h = Harness([Reply(201, {"token": {}})], creds="password")
    with pytest.raises(UcsAuthError, match="without an X-Subject-Token header"):
        h.client.get_json(FLEET_PATH, "read fleet f1")


def test_iam_server_error_is_retried_like_a_read() -> None:
    """A token request creates nothing a repetition could duplicate: 5xx are retried, and the message says running again is safe."""
    h = Harness([Reply(503, "<html>Service Unavailable</html>")] * 4, creds="password")
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        "Failed to obtain an IAM token for user alice in domain acme after 4 attempts: HTTP 503: <html>Service Unavailable</html>. "
        "Check iam_endpoint (or region). Running again is safe: this request changes nothing in the cloud"
    )
    assert h.calls == [("POST", "/v3/auth/tokens", 503)] * 4 and len(h.sleeps) == 3
    assert "not safe" not in info.value.msg and "may have been processed" not in info.value.msg
    h.done()


@pytest.mark.parametrize(("failure", "name"), [(read_timeout, "ReadTimeout"), (dropped, "ConnectionError"), (cut_off, "ChunkedEncodingError")])
def test_slow_or_lost_iam_answer_is_retried_and_called_safe(failure: Callable[[], BaseException], name: str) -> None:
    h = Harness([failure(), failure(), iam_ok(), Reply(200, {})], creds="password")
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.calls == [("POST", "/v3/auth/tokens", name)] * 2 + [("POST", "/v3/auth/tokens", 201), ("GET", FLEET_PATH, 200)]
    h = Harness([failure()] * 4, creds="password")
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.startswith("Failed to obtain an IAM token for user alice in domain acme after 4 attempts: ")
    assert info.value.msg.endswith(". Running again is safe: this request changes nothing in the cloud")
    assert "not safe" not in info.value.msg and "Check the state" not in info.value.msg


def test_iam_throttled_is_retried() -> None:
    h = Harness([Reply(429, headers={"Retry-After": "2"}), iam_ok(), Reply(200, {})], creds="password")
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == [2.0]
    assert h.messages == ["Retrying obtain an IAM token for user alice in domain acme after HTTP 429 (attempt 2 of 4) in 2.0 s"]


# 401 with token and AK/SK


@pytest.mark.parametrize(
    ("creds", "hint"),
    [
        ("token", "the token expired or is invalid; obtain a new one or use IAM password auth"),
        ("aksk", "check access_key/secret_key and domain_id"),
        ("temporary", "temporary credentials expire"),
    ],
)
def test_401_raises_auth_error(creds: str, hint: str) -> None:
    h = Harness([ucs_error("APIGW.0301", "Incorrect IAM authentication information", 401, "r401")], creds=creds)
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.startswith("Failed to read fleet f1: HTTP 401 APIGW.0301: Incorrect IAM authentication information (request id r401). ")
    assert hint in info.value.msg
    kwargs = info.value.to_fail_kwargs()
    assert kwargs["http_status"] == 401 and kwargs["error_code"] == "APIGW.0301" and kwargs["request_id"] == "r401"
    assert len(h.requests) == 1
    scan_error(h, info.value)


# Errors


def test_404_with_ucs_body() -> None:
    h = Harness([ucs_error("UCS.01100005", "clustergroup not found", 404, "req-404")])
    with pytest.raises(UcsApiError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == "Failed to read fleet f1: HTTP 404 UCS.01100005: clustergroup not found (request id req-404)"
    assert info.value.to_fail_kwargs() == {
        "msg": info.value.msg,
        "http_status": 404,
        "http_method": "GET",
        "http_url": ENDPOINT + FLEET_PATH,
        "error_code": "UCS.01100005",
        "error_msg": "clustergroup not found",
        "request_id": "req-404",
    }
    assert len(h.requests) == 1 and h.calls == [("GET", FLEET_PATH, 404)]


def test_403_and_409_are_api_errors() -> None:
    h = Harness([ucs_error("UCS.01000001", "Forbidden", 403), ucs_error("UCS.01080002", "already federated", 409)])
    with pytest.raises(UcsApiError, match=re.escape("HTTP 403 UCS.01000001: Forbidden")):
        h.client.get_json(FLEET_PATH, "read fleet f1")
    with pytest.raises(UcsApiError, match=re.escape("HTTP 409 UCS.01080002")):
        h.client.post_json(CERT_PATH, {}, "create cert")


def test_error_without_json_body_shows_clean_excerpt() -> None:
    h = Harness([Reply(502, "<html>\r\n<body>Bad Gateway\x00</body></html>", {"X-Request-Id": "rgw"})], retries=0)
    with pytest.raises(UcsApiError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        "Failed to read fleet f1: HTTP 502: <html> <body>Bad Gateway </body></html> (request id rgw). "
        "Running again is safe: this request changes nothing in the cloud"
    )


def test_redirect_is_not_followed() -> None:
    h = Harness([Reply(302, b"", {"Location": "https://elsewhere.example.com/login?token=x"})])
    with pytest.raises(UcsApiError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert "HTTP 302" in info.value.msg and "Redirects are not followed" in info.value.msg and "elsewhere" not in info.value.msg
    assert len(h.requests) == 1


# Retries


def test_429_then_200_honours_retry_after() -> None:
    h = Harness([ucs_error("UCS.01000002", "throttled", 429, **{"Retry-After": "7"}), Reply(200, {"ok": 1})])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"ok": 1}
    assert h.sleeps == [7.0]
    assert h.messages == ["Retrying read fleet f1 after HTTP 429 (attempt 2 of 4) in 7.0 s"]
    assert h.calls == [("GET", FLEET_PATH, 429), ("GET", FLEET_PATH, 200)]


def test_post_429_is_retried() -> None:
    h = Harness([Reply(429, headers={"Retry-After": "1"}), Reply(201, {"kind": "Config"})], creds="aksk")
    assert h.client.post_json(CERT_PATH, {"duration": 1}, "create cert") == {"kind": "Config"}
    assert h.sleeps == [1.0] and len(h.requests) == 2


def test_retry_after_http_date() -> None:
    when = email.utils.format_datetime(NOW + datetime.timedelta(seconds=12), usegmt=True)
    h = Harness([Reply(429, headers={"Retry-After": when}), Reply(200, {})])
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == [12.0]


def test_retry_after_is_capped() -> None:
    h = Harness([Reply(503, headers={"Retry-After": "3600"}), Reply(200, {})], timeout=600)
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == [60.0]


def test_429_without_retry_after_uses_backoff() -> None:
    h = Harness([Reply(429), Reply(429), Reply(429), Reply(200, {})])
    h.client.get_json(FLEET_PATH, "read fleet f1")
    # Full jitter with random() == 0.5: half of 1, 2, 4 seconds.
    assert h.sleeps == [0.5, 1.0, 2.0]
    assert [m.split(" in ")[-1] for m in h.messages] == ["0.5 s", "1.0 s", "2.0 s"]
    assert [m.split("(")[1].split(")")[0] for m in h.messages] == ["attempt 2 of 4", "attempt 3 of 4", "attempt 4 of 4"]


def test_backoff_cap() -> None:
    h = Harness([Reply(503)] * 9 + [Reply(200, {})], retries=9, random=lambda: 0.999, timeout=600)
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == pytest.approx([0.999, 1.998, 3.996, 7.992, 15.984, 29.97, 29.97, 29.97, 29.97])
    assert max(h.sleeps) <= 30


def test_sleep_never_exceeds_remaining_budget() -> None:
    # timeout 2 s x 3 attempts = 6 s budget for the call.
    h = Harness([Reply(503, headers={"Retry-After": "50"}), Reply(503, headers={"Retry-After": "50"}), Reply(503)], timeout=2, retries=2)
    with pytest.raises(UcsApiError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.sleeps == [6.0]
    assert len(h.requests) == 2 and "after 2 attempts" in info.value.msg
    assert len(h.adapter.steps) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_get_5xx_exhausts_retries(status: int) -> None:
    h = Harness([ucs_error("UCS.00000500", "internal", status, f"r{n}") for n in range(4)])
    with pytest.raises(UcsApiError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert len(h.requests) == 4 and h.calls == [("GET", FLEET_PATH, status)] * 4
    assert info.value.msg == (
        f"Failed to read fleet f1 after 4 attempts: HTTP {status} UCS.00000500: internal (request id r3). "
        "Running again is safe: this request changes nothing in the cloud"
    )
    assert info.value.http_status == status
    assert len(h.messages) == 3 and len(h.sleeps) == 3
    h.done()


@pytest.mark.parametrize("retries", [0, 1, 5])
def test_retry_count_is_respected(retries: int) -> None:
    h = Harness([Reply(503)] * (retries + 1), retries=retries)
    with pytest.raises(UcsApiError):
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert len(h.requests) == retries + 1 and len(h.sleeps) == retries
    h.done()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_post_5xx_is_not_retried(status: int) -> None:
    h = Harness([ucs_error("UCS.00000500", "internal", status)])
    with pytest.raises(UcsApiError) as info:
        h.client.post_json(CERT_PATH, {"duration": 1}, "create cert")
    assert len(h.requests) == 1 and h.sleeps == [] and h.messages == []
    assert f"HTTP {status}" in info.value.msg and "attempts" not in info.value.msg
    assert info.value.msg.endswith(". " + _http.MAY_HAVE_BEEN_PROCESSED), "a 5xx to a request that may create something may have been processed"


@pytest.mark.parametrize(("failure", "kind"), [(connect_timeout, "connect timeout"), (refused, "connection failed")])
def test_post_retried_when_not_sent(failure: Callable[[], BaseException], kind: str) -> None:
    h = Harness([failure(), Reply(201, {"kind": "Config"})], creds="aksk")
    assert h.client.post_json(CERT_PATH, {"duration": 1}, "create cert") == {"kind": "Config"}
    assert h.calls == [("POST", CERT_PATH, type(failure()).__name__), ("POST", CERT_PATH, 201)]
    assert h.messages == [f"Retrying create cert after {kind} (attempt 2 of 4) in 0.5 s"]


@pytest.mark.parametrize(("failure", "kind"), [(read_timeout, "read timeout"), (dropped, "connection dropped"), (cut_off, "incomplete answer")])
def test_post_not_retried_when_it_may_have_been_processed(failure: Callable[[], BaseException], kind: str) -> None:
    h = Harness([failure()], creds="aksk")
    with pytest.raises(UcsConnectionError) as info:
        h.client.post_json(CERT_PATH, {"duration": 1}, "create cert")
    exc = info.value
    assert exc.msg.startswith(f"Failed to create cert: {kind} after the request was sent to ucs.example.com (")
    assert exc.msg.endswith(". " + _http.MAY_HAVE_BEEN_PROCESSED) and "not repeated" in exc.msg
    assert exc.to_fail_kwargs()["http_method"] == "POST" and exc.to_fail_kwargs()["http_url"] == ENDPOINT + CERT_PATH
    assert len(h.requests) == 1 and h.sleeps == []
    scan_error(h, exc)


@pytest.mark.parametrize("failure", [read_timeout, dropped, cut_off, connect_timeout, refused])
def test_get_retries_connection_failures(failure: Callable[[], BaseException]) -> None:
    h = Harness([failure(), Reply(200, {"ok": 1})])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"ok": 1}
    assert len(h.requests) == 2 and h.sleeps == [0.5]


def test_get_connection_failures_exhausted() -> None:
    h = Harness([refused() for _attempt in range(4)])
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.startswith("Failed to read fleet f1 after 4 attempts: connection failed to ucs.example.com (")
    assert "Connection refused" in info.value.msg and info.value.msg.endswith("Check the endpoint and the network (proxy, firewall)")
    assert h.calls == [("GET", FLEET_PATH, "ConnectionError")] * 4


def test_get_read_timeouts_exhausted() -> None:
    h = Harness([read_timeout() for _attempt in range(4)])
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.startswith("Failed to read fleet f1 after 4 attempts: read timeout from ucs.example.com (")
    assert info.value.msg.endswith("). Running again is safe: this request changes nothing in the cloud")
    assert "not safe" not in info.value.msg


def test_tls_verification_failure() -> None:
    h = Harness([tls_untrusted()])
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert "the server certificate of ucs.example.com did not verify" in info.value.msg
    assert "Set ca_path" in info.value.msg and "validate_certs=false, for testing only" in info.value.msg
    assert len(h.requests) == 1


def test_other_tls_failure() -> None:
    h = Harness([tls_other()])
    with pytest.raises(UcsConnectionError, match=re.escape("the TLS handshake with ucs.example.com failed")):
        h.client.post_json(CERT_PATH, {}, "create cert")
    assert len(h.requests) == 1


def test_unexpected_request_exception() -> None:
    h = Harness([requests.exceptions.TooManyRedirects("too many")])
    with pytest.raises(UcsConnectionError, match=re.escape("request error from ucs.example.com")):
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert len(h.requests) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_request_that_could_not_be_sent_is_not_retried_and_says_so(method: str) -> None:
    h = Harness([requests.exceptions.InvalidHeader("Invalid leading whitespace ... in header value: ' x'")])
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1") if method == "GET" else h.client.post_json(CERT_PATH, {}, "create cert")
    assert ": the request was not sent to ucs.example.com (Invalid leading whitespace" in info.value.msg
    assert "remove white space and line breaks around credentials and IDs" in info.value.msg
    assert "may have been processed" not in info.value.msg and len(h.requests) == 1


# Answers that are not the expected JSON


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"kind": "Config", ', "is not valid JSON: it was truncated (it ends after 19 bytes)"),
        (b'{"kind": "Conf', "is not valid JSON: it was truncated"),
        (b'{"kind": "Config"} trailing', "is not valid JSON: malformed at line 1 column 20 (Extra data)"),
        (b"<html>oops</html>", "is not valid JSON: malformed at line 1 column 1"),
        (b"\xff\xfe{}", "is not valid JSON (not UTF-8 text)"),
        (b"[1, 2]", "is JSON but not an object (it is an array)"),
        (b"null", "is JSON but not an object (it is null)"),
        (b'"text"', "is JSON but not an object (it is a string)"),
        (b"", "is empty; a JSON object was expected"),
        (b"  \n", "is empty; a JSON object was expected"),
    ],
)
def test_bad_2xx_answers(body: bytes, fragment: str) -> None:
    h = Harness([Reply(200, body, {"X-Request-Id": "r200"})])
    with pytest.raises(UcsResponseError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.startswith("Failed to read fleet f1: the HTTP 200 answer to GET /v1/clustergroups/f1 from ucs.example.com ")
    assert fragment in info.value.msg and info.value.msg.endswith("(request id r200)")
    assert info.value.to_fail_kwargs()["http_status"] == 200
    assert len(h.requests) == 1


def test_bad_post_answer_says_it_was_processed() -> None:
    h = Harness([Reply(201, b'{"kind"')])
    with pytest.raises(UcsResponseError) as info:
        h.client.post_json(CERT_PATH, {}, "create cert")
    assert "truncated" in info.value.msg and "the request was processed" in info.value.msg


def test_unexpected_success_status() -> None:
    h = Harness([Reply(202, {"jobId": "j"}), Reply(201, {})])
    with pytest.raises(UcsResponseError) as info:
        h.client.post_json(CERT_PATH, {}, "create cert")
    assert info.value.msg == (
        "Failed to create cert: the HTTP 202 answer to POST /v1/clustergroups/f1/cert from ucs.example.com was not expected "
        "(the API answers 200 or 201); the request was processed but its answer cannot be used"
    )
    with pytest.raises(UcsResponseError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.endswith("the HTTP 201 answer to GET /v1/clustergroups/f1 from ucs.example.com was not expected (the API answers 200)")


# Construction


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("http://ucs.example.com", "endpoint must be an https:// URL"),
        ("https://ucs.example.com?x=1", "endpoint must not contain a query string"),
        ("https://u:p@ucs.example.com", "endpoint must not contain user information"),
    ],
)
def test_constructor_validation(endpoint: str, fragment: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        _http.UcsClient(endpoint, CREDENTIALS["token"](), session=object())
    assert fragment in info.value.msg


def test_default_session_ignores_the_environment() -> None:
    """trust_env off: ~/.netrc can never replace or add the Authorization header."""
    client = _http.UcsClient(ENDPOINT, CREDENTIALS["password"]())
    assert isinstance(client._session, requests.Session) and client._session.trust_env is False


def test_path_must_be_absolute() -> None:
    h = Harness([])
    with pytest.raises(ValueError, match="must start with"):
        h.client.get_json("v1/x", "x")
    # No query string: messages and error fields show the URL as it is.
    with pytest.raises(ValueError, match="no query string"):
        h.client.get_json("/v1/x?marker=m", "x")


# Retry policy and helpers


@pytest.mark.parametrize(
    ("repeatable", "status", "failure", "expected"),
    [
        *[(True, code, None, True) for code in (429, 500, 502, 503, 504)],
        *[(True, code, None, False) for code in (200, 201, 400, 401, 403, 404, 408, 409, 501)],
        (False, 429, None, True),
        *[(False, code, None, False) for code in (500, 502, 503, 504, 401, 404)],
        *[(True, None, kind, True) for kind in ("connect timeout", "connection failed", "read timeout", "connection dropped", "incomplete answer")],
        (True, None, "TLS failure", False),
        (True, None, "request error", False),
        (True, None, "invalid request", False),
        (False, None, "connect timeout", True),
        (False, None, "connection failed", True),
        *[(False, None, kind, False) for kind in ("read timeout", "connection dropped", "incomplete answer", "TLS failure", "request error")],
        (False, None, "invalid request", False),
    ],
)
def test_retry_policy_table(repeatable: bool, status: Optional[int], failure: Optional[str], expected: bool) -> None:
    assert _http_retry.RetryPolicy(3).retryable(repeatable, status=status, failure=failure) is expected


def test_retry_policy_delay() -> None:
    policy = _http_retry.RetryPolicy(3, random=lambda: 1.0, wall_clock=lambda: 1000.0)
    assert [policy.delay(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.delay(3, "5") == 5.0
    assert policy.delay(3, "600") == 60.0
    assert policy.delay(1, "soon") == 1.0  # invalid header: backoff
    zero = _http_retry.RetryPolicy(3, random=lambda: 0.0)
    assert zero.delay(5) == 0.0
    assert policy.attempts == 4


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("0", 0.0),
        ("17", 17.0),
        (" 3 ", 3.0),
        ("-1", None),
        ("1.5", None),
        ("later", None),
        ("Thu, 01 Jan 1970 00:16:50 GMT", 10.0),
        ("Thu, 01 Jan 1970 00:16:30 GMT", 0.0),  # in the past
    ],
)
def test_parse_retry_after(value: Optional[str], expected: Optional[float]) -> None:
    assert _http_retry.parse_retry_after(value, 1000.0) == expected


@pytest.mark.parametrize(
    ("exc", "kind", "reason"),
    [
        (connect_timeout, "connect timeout", "timed out"),
        (refused, "connection failed", "Connection refused"),
        (read_timeout, "read timeout", "Read timed out"),
        (dropped, "connection dropped", "Connection aborted"),
        (cut_off, "incomplete answer", "Response ended prematurely"),
        (tls_untrusted, "TLS failure", "CERTIFICATE_VERIFY_FAILED"),
        (lambda: requests.exceptions.Timeout("timed out"), "read timeout", "timed out"),
        (lambda: requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")), "connection dropped", "reset"),
        (requests.exceptions.ConnectionError, "connection dropped", "ConnectionError"),
        (lambda: requests.exceptions.TooManyRedirects("x"), "request error", "x"),
        (lambda: requests.exceptions.InvalidHeader("bad value"), "invalid request", "bad value"),
        (lambda: requests.exceptions.InvalidURL("bad URL"), "invalid request", "bad URL"),
    ],
)
def test_classify_exception(exc: Callable[[], BaseException], kind: str, reason: str) -> None:
    got_kind, got_reason = _http.classify_exception(exc())
    assert got_kind == kind and reason in got_reason


# Secrets never leak


FAILURES: list[tuple[str, list[Step], str]] = [
    ("401", [ucs_error("APIGW.0301", "bad auth", 401)], "GET"),
    ("404", [ucs_error("UCS.01100005", "not found", 404)], "GET"),
    ("503x4", [Reply(503)] * 4, "GET"),
    ("429-then-404", [Reply(429), ucs_error("UCS.1", "x", 404)], "POST"),
    ("read-timeout", [read_timeout()], "POST"),
    ("refused", [refused()] * 4, "POST"),
    ("tls", [tls_untrusted()], "GET"),
    ("truncated", [Reply(200, b'{"a"')], "GET"),
]


@pytest.mark.parametrize("creds", sorted(CREDENTIALS))
@pytest.mark.parametrize(("name", "steps", "method"), FAILURES, ids=[f[0] for f in FAILURES])
def test_no_secret_in_any_error_or_message(creds: str, name: str, steps: list[Step], method: str) -> None:
    prefix: list[Step] = [iam_ok()] if creds == "password" else []
    # The password flow re-authenticates once after a 401.
    extra: list[Step] = [iam_ok(SUBJECT_TOKEN_2), ucs_error("APIGW.0307", "expired", 401)] if creds == "password" and name == "401" else []
    h = Harness(prefix + steps + extra, creds=creds)
    with pytest.raises(UcsError) as info:
        if method == "GET":
            h.client.get_json(FLEET_PATH, "read fleet f1")
        else:
            h.client.post_json(CERT_PATH, {"duration": 1}, "create cert")
    scan_error(h, info.value)
    assert_no_secrets(repr(h.credentials), str(h.credentials), h.credentials.describe())


# Answers from the network: bounded size, bounded nesting, a deadline per attempt


LIMIT = _http_answer.MAX_ANSWER_BYTES


def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to ``size`` bytes of a JSON object (mostly zeros)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"pad":"')]
    block = b"0" * (1 << 20)
    for _count in range(size >> 20):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b'"}'))
    parts.append(compressor.flush())
    return b"".join(parts)


def test_gzip_answer_is_decoded() -> None:
    h = Harness([Reply(200, gzip.compress(b'{"kind": "Config"}'), {"Content-Encoding": "gzip"})])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"kind": "Config"}
    assert h.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("raw_deflate", [False, True])
def test_deflate_answer_is_decoded(raw_deflate: bool) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
    body = compressor.compress(b'{"a": 1}') + compressor.flush()
    h = Harness([Reply(200, body, {"Content-Encoding": "deflate"})])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == {"a": 1}


def test_gzip_bomb_is_never_inflated_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 100 MiB bomb: decoding stops at the limit; every decompress call is bounded by it."""
    bomb = gzip_bomb(100 << 20)
    assert len(bomb) < 200_000
    produced: list[int] = []
    real = _http_answer.BoundedDecoder._count

    def count(self: Any, data: bytes) -> bytes:
        produced.append(len(data))  # what zlib produced, before the decoder checks it
        return real(self, data)

    monkeypatch.setattr(_http_answer.BoundedDecoder, "_count", count)
    h = Harness([Reply(201, bomb, {"Content-Encoding": "gzip", "X-Request-Id": "r9"})])
    with pytest.raises(UcsResponseError) as info:
        h.client.post_json(CERT_PATH, {}, "create the federation connection of fleet f1")
    assert info.value.msg == (
        "Failed to create the federation connection of fleet f1: the HTTP 201 answer to POST /v1/clustergroups/f1/cert from ucs.example.com "
        "is larger than 1 MiB after decompression; it was not read further (request id r9); the request was processed but its answer cannot be used"
    )
    assert sum(produced) <= LIMIT + 1, "never inflated beyond the limit (one byte over proves it is too large)"
    assert h.calls == [("POST", CERT_PATH, 201)]


def test_too_large_answer_refused_by_its_content_length() -> None:
    h = Harness([Reply(200, b"x" * 10, {"Content-Length": str(100 << 20)})])
    with pytest.raises(
        UcsResponseError,
        match=r"answer to GET /v1/clustergroups/f1 from ucs.example.com is larger than 1 MiB \(Content-Length 104857600\); it was not read$",
    ):
        h.client.get_json(FLEET_PATH, "read fleet f1")


@pytest.mark.parametrize("size", [LIMIT + 1, 3 * LIMIT])
def test_too_large_answer_without_content_length(size: int) -> None:
    h = Harness([Reply(500, b"x" * size)])
    with pytest.raises(UcsResponseError, match=r"answer to GET /v1/clustergroups/f1 from ucs.example.com is larger than 1 MiB; it was not read further$"):
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert h.calls == [("GET", FLEET_PATH, 500)], "a refused answer is not retried"


def test_answer_at_the_limit_is_accepted() -> None:
    body = b'{"pad":"' + b"0" * (LIMIT - 10) + b'"}'
    assert len(body) == LIMIT
    h = Harness([Reply(200, gzip.compress(body), {"Content-Encoding": "gzip"})])
    assert len(h.client.get_json(FLEET_PATH, "read fleet f1")["pad"]) == LIMIT - 10


@pytest.mark.parametrize(
    ("encoding", "body", "fragment"),
    [
        ("br", b"\x00", "uses the content encoding 'br', which is not supported (gzip and deflate are)"),
        ("gzip", b"not gzip at all", "could not be decompressed (gzip data is corrupt)"),
    ],
)
def test_undecodable_answer(encoding: str, body: bytes, fragment: str) -> None:
    h = Harness([Reply(200, body, {"Content-Encoding": encoding})])
    with pytest.raises(UcsResponseError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg.endswith(fragment)


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deep_nesting_names_request_and_host(opening: bytes) -> None:
    closing = b"]" if opening == b"[" else b"}"
    h = Harness([Reply(200, opening * 100_000 + closing * 100_000)])
    with pytest.raises(UcsResponseError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        "Failed to read fleet f1: the HTTP 200 answer to GET /v1/clustergroups/f1 from ucs.example.com "
        "is JSON nested deeper than 64 levels, which no UCS answer is"
    )


def test_deeply_nested_error_body_is_an_excerpt() -> None:
    h = Harness([Reply(404, b"[" * 100_000)])
    with pytest.raises(UcsApiError, match=r"^Failed to read fleet f1: HTTP 404: \[\[\[\["):
        h.client.get_json(FLEET_PATH, "read fleet f1")


def test_nesting_within_the_bound_is_parsed() -> None:
    body = {"a": [[[[{"b": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]]]]}
    h = Harness([Reply(200, body)])
    assert h.client.get_json(FLEET_PATH, "read fleet f1") == body


class Trickle(io.RawIOBase):
    """An answer body that arrives one byte every ``interval`` seconds."""

    def __init__(self, data: bytes, interval: float) -> None:
        self.data = data
        self.interval = interval

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.data:
            return 0
        time.sleep(self.interval)
        buffer[0] = self.data[0]
        self.data = self.data[1:]
        return 1


class Trickling(Reply):
    def build(self, request: requests.PreparedRequest) -> requests.Response:
        response = super().build(request)
        response.raw = urllib3.HTTPResponse(body=Trickle(b'{"kind": "Config", "pad": "' + b"x" * 200 + b'"}', 0.05), status=200, preload_content=False)
        return response


@pytest.mark.parametrize(("method", "retries", "attempts"), [("GET", 1, 2), ("POST", 2, 1)])
def test_timeout_is_a_deadline_for_the_whole_attempt(method: str, retries: int, attempts: int) -> None:
    """Each byte arrives well within the timeout, but the answer as a whole does not."""
    h = Harness([Trickling(200), Trickling(200)], timeout=0.5, retries=retries, sleep=lambda _: None)
    started = time.monotonic()
    with pytest.raises(UcsConnectionError) as info:
        if method == "GET":
            h.client.get_json(FLEET_PATH, "read fleet f1")
        else:
            h.client.post_json(CERT_PATH, {}, "create cert")
    elapsed = time.monotonic() - started
    assert elapsed < attempts * (0.5 + _http._GRACE) + 0.5
    assert "read timeout" in info.value.msg and "no complete answer within the timeout of 0.5 s" in info.value.msg
    assert ("may have been processed" in info.value.msg) is (method == "POST")
    assert [call[2] for call in h.calls] == [200] * attempts, "the answer began, then did not complete in time"


def test_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    class Recording(ScriptedAdapter):
        def send(
            self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None, proxies: Any = None
        ) -> Any:
            seen.append(dict(proxies or {}))
            return super().send(request, stream, timeout, verify, cert, proxies)

    h = Harness([Reply(200, {}), Reply(200, {})])
    h.client._session.mount("https://", Recording([Reply(200, {}), Reply(200, {})]))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    h.client.get_json("/v1/x", "x")
    monkeypatch.setenv("NO_PROXY", "ucs.example.com")
    h.client.get_json("/v1/x", "x")
    assert seen[0].get("https") == "http://proxy.example.com:3128" and "https" not in seen[1]


# Secrets: registered when learned, masked before any excerpt is cut

LONG_TOKEN = "MIIlong" + "Ab9_" * 500


def test_secrets_are_registered_through_on_secret() -> None:
    registered: list[str] = []
    h = Harness([iam_ok(), Reply(401, {}), iam_ok(SUBJECT_TOKEN_2), Reply(200, {})], creds="password", on_secret=registered.append)
    h.client.get_json(FLEET_PATH, "read fleet f1")
    assert registered == [PASSWORD, SUBJECT_TOKEN, SUBJECT_TOKEN_2]


@pytest.mark.parametrize("where", ["error_msg", "excerpt", "request_id"])
def test_echoed_iam_token_is_masked(where: str) -> None:
    echo = f"token {SUBJECT_TOKEN} is not valid"
    reply = {
        "error_msg": Reply(401, {"error_code": "APIGW.0301", "error_msg": echo}),
        "excerpt": Reply(401, f"<html>{echo}</html>"),
        "request_id": Reply(401, {}, {"X-Request-Id": SUBJECT_TOKEN}),
    }[where]
    h = Harness([iam_ok(), reply, iam_ok(SUBJECT_TOKEN_2), reply], creds="password")
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    scan_error(h, info.value)
    assert "********" in info.value.msg


@pytest.mark.parametrize("shape", ["json", "html"])
def test_long_echoed_token_leaks_no_prefix(shape: str) -> None:
    """Masking comes before the cut: not even the first characters of a 2,000-character token."""
    echo = f"Incorrect IAM authentication information: x-auth-token {LONG_TOKEN} expired"
    body: Any = {"error_code": "APIGW.0301", "error_msg": echo} if shape == "json" else echo
    h = Harness([Reply(401, body)])
    h.client = _http.UcsClient(ENDPOINT, Credentials("token", auth_token=LONG_TOKEN), session=h.client._session)
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert "MIIlong" not in info.value.msg and "Ab9_Ab9_" not in info.value.msg
    assert "x-auth-token ******** expired" in info.value.msg


# Secrets with white space or a quote at their ends reach no message in any form (issue 23)

SUFFIXES = {"newline": "\n", "space": " ", "quote": '"', "leading-space": " "}


def secret_credentials(option: str, secret: str) -> Credentials:
    if option in ("secret_key", "security_token"):
        values = {"secret_key": SK, "security_token": SECURITY_TOKEN, option: secret}
        return Credentials("aksk", access_key="AKTMP001", domain_id="dom-1", **values)
    if option == "auth_token":
        return Credentials("token", auth_token=secret)
    return Credentials("password", username="alice", password=secret, domain_name="acme", iam_token_url=IAM_URL)


def echo(request: requests.PreparedRequest) -> Reply:
    """A hostile server: a 401 whose message, excerpt and request id echo our headers and body, raw and escaped."""
    sent = {name: request.headers.get(name, "") for name in ("X-Auth-Token", "X-Security-Token", "Authorization")}
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    text = f"headers {sent!r} {json.dumps(sent)} body {body} {quote(body, safe='')}"
    return Reply(401, {"error_code": "APIGW.0301", "error_msg": text}, {"X-Request-Id": sent["X-Auth-Token"] or sent["X-Security-Token"] or body})


def leaked_forms(secret: str) -> list[str]:
    """What must not appear: every form of the secret, and every 16-character piece of its plain form."""
    plain = secret.strip()
    return [*errors_module.secret_forms(secret), *(plain[i : i + 16] for i in range(0, max(len(plain) - 16, 0) + 1, 4))]


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@pytest.mark.parametrize("option", ["secret_key", "security_token", "auth_token", "password"])
def test_secret_with_white_space_or_a_quote_reaches_no_message(option: str, suffix: str) -> None:
    """Defence in depth below the settings' own refusal: even when such a value reaches requests, no form of it is shown."""
    base = {"secret_key": SK, "security_token": SECURITY_TOKEN, "auth_token": "MII" + "t0k3n" * 37, "password": PASSWORD}[option]
    secret = SUFFIXES[suffix] + base if suffix == "leading-space" else base + SUFFIXES[suffix]
    steps: list[Step] = [echo] * 8
    h = Harness(steps, creds="token")
    h.client = _http.UcsClient(ENDPOINT, secret_credentials(option, secret), session=h.client._session, sleep=lambda _: None, on_retry=h.messages.append)
    with pytest.raises(UcsError) as info:
        h.client.post_json(CERT_PATH, {"duration": 1}, "create cert")
    exc = info.value
    outputs = [exc.msg, str(exc), repr(exc), json.dumps(exc.to_fail_kwargs()), repr(vars(exc)), *h.messages]
    for text in outputs:
        for form in leaked_forms(secret):
            assert form not in text, f"{form!r} of {option} leaked into {text[:300]}"
    assert exc.__context__ is None and exc.__cause__ is None


def test_token_with_a_newline_is_refused_by_requests_and_masked() -> None:
    """The probe of issue 23: OS_AUTH_TOKEN with a trailing newline failed with "...in header value: 'tok...\\n'"."""
    token = "MII" + "x" * 183 + "\n"
    h = Harness([])
    h.client = _http.UcsClient(ENDPOINT, Credentials("token", auth_token=token), session=h.client._session)
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        "Failed to read fleet f1: the request was not sent to ucs.example.com (Invalid leading whitespace, reserved character(s), or return "
        "character(s) in header value: '********'). An option or environment variable holds a value that cannot be sent in an HTTP header: "
        "remove white space and line breaks around credentials and IDs"
    )
    assert h.requests == [], "requests refused it before the transport"


def test_library_error_quoting_a_secret_as_bytes_is_masked() -> None:
    """http.client quotes an invalid header value as bytes (b'...\\x00'): the generic path masks that form too."""
    token = AUTH_TOKEN + "\x00"
    h = Harness([ValueError(f"Invalid header value {token.encode()!r}")])
    h.client = _http.UcsClient(ENDPOINT, Credentials("token", auth_token=token), session=h.client._session)
    with pytest.raises(UcsConnectionError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert "ValueError: Invalid header value b'********'" in info.value.msg and AUTH_TOKEN not in info.value.msg


# Every answer is typed before it is used (issue 23): JsonAnswer.field


FLEET = {
    "metadata": {"name": "prod", "labels": {}},
    "spec": {"federationId": "f-1"},
    "status": {"conditions": [{"type": "Policy", "status": "True"}, {"type": "Federation", "status": "Available"}]},
}


@pytest.mark.parametrize(
    ("path", "kind", "value"),
    [
        ("metadata.name", str, "prod"),
        ("metadata", dict, {"name": "prod", "labels": {}}),
        ("spec.federationId", str, "f-1"),
        ("status.conditions", list, FLEET["status"]["conditions"]),
        ("status.conditions[1].status", str, "Available"),
        ("status.conditions[5].status", str, None),
        ("status.missing.deeper", str, None),
        ("metadata.labels.team", str, None),
        ("spec.federationId", (str, int), "f-1"),
    ],
)
def test_field_reads_a_typed_value(path: str, kind: Any, value: Any) -> None:
    assert _http_answer.JsonAnswer(FLEET).field(path, kind) == value


@pytest.mark.parametrize(
    ("document", "path", "kind", "problem"),
    [
        ({"metadata": "prod"}, "metadata.name", str, "has metadata as a string, not an object"),
        ({"metadata": {"name": 7}}, "metadata.name", str, "has metadata.name as a number, not a string"),
        ({"spec": []}, "spec.federationId", str, "has spec as an array, not an object"),
        ({"spec": {"federationId": True}}, "spec.federationId", str, "has spec.federationId as a boolean, not a string"),
        ({"status": {"conditions": 3}}, "status.conditions", list, "has status.conditions as a number, not an array"),
        ({"status": {"conditions": 3}}, "status.conditions[0].type", str, "has status.conditions as a number, not an array"),
        ({"status": {"conditions": ["x"]}}, "status.conditions[0].type", str, "has status.conditions[0] as a string, not an object"),
        ({"status": {"conditions": [{"type": {}}]}}, "status.conditions[0].type", str, "has status.conditions[0].type as an object, not a string"),
        ({"status": {"conditions": [{"reason": 1.5}]}}, "status.conditions[0].reason", str, "has status.conditions[0].reason as a number, not a string"),
        ({"count": True}, "count", int, "has count as a boolean, not a number"),
        ({"count": "1"}, "count", (int, float), "has count as a string, not a number"),
    ],
)
def test_field_of_another_type_names_the_request_the_field_and_the_request_id(document: dict[str, Any], path: str, kind: Any, problem: str) -> None:
    h = Harness([Reply(200, document, {"X-Request-Id": "r-typed"})])
    answer = h.client.get_json(FLEET_PATH, "read fleet f1")
    assert isinstance(answer, _http_answer.JsonAnswer) and answer == document
    with pytest.raises(UcsResponseError) as info:
        answer.field(path, kind)
    assert info.value.msg == f"Failed to read fleet f1: the HTTP 200 answer to GET /v1/clustergroups/f1 from ucs.example.com {problem} (request id r-typed)"
    assert info.value.to_fail_kwargs() == {
        "msg": info.value.msg,
        "http_status": 200,
        "http_method": "GET",
        "http_url": ENDPOINT + FLEET_PATH,
        "request_id": "r-typed",
    }


def test_refused_post_answer_says_it_was_processed() -> None:
    h = Harness([Reply(201, {"clusters": "x"})])
    answer = h.client.post_json(CERT_PATH, {}, "create the federation connection of fleet f1")
    assert answer.refuse("has clusters as a string, not an array").msg == (
        "Failed to create the federation connection of fleet f1: the HTTP 201 answer to POST /v1/clustergroups/f1/cert from ucs.example.com "
        "has clusters as a string, not an array; the request was processed but its answer cannot be used"
    )


def test_answer_without_a_source_still_names_the_field() -> None:
    with pytest.raises(UcsResponseError, match=r"^The answer has spec as a string, not an object$"):
        _http_answer.JsonAnswer({"spec": "x"}).field("spec.federationId", str)


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("", "without an X-Subject-Token header"),
        ("MII abc", "with an X-Subject-Token header that is not a token (visible ASCII, no spaces)"),
        ("MII\x00abc", "with an X-Subject-Token header that is not a token (visible ASCII, no spaces)"),
        ("MIIé", "with an X-Subject-Token header that is not a token (visible ASCII, no spaces)"),
    ],
)
def test_iam_token_answer_is_typed(token: str, problem: str) -> None:
    """The one field read from IAM's answer is the token header: it must be usable as a header value, and it is never shown."""
    h = Harness([Reply(201, {"token": {}}, {"X-Subject-Token": token, "X-Request-Id": "r-iam"})], creds="password")
    with pytest.raises(UcsAuthError) as info:
        h.client.get_json(FLEET_PATH, "read fleet f1")
    assert info.value.msg == (
        f"Failed to obtain an IAM token for user alice in domain acme: IAM answered HTTP 201 to POST /v3/auth/tokens {problem} (request id r-iam). "
        "Check iam_endpoint (or region)"
    )
    assert info.value.request_id == "r-iam" and len(h.requests) == 1


CERT_FIELDS = [
    ("clusters", "x", "clusters must be a list, not a string"),
    ("clusters", [1], "clusters[0] must be a mapping, not a number"),
    ("users", {"a": 1}, "users must be a list, not a mapping"),
    ("contexts", [{"name": 5, "context": {}}], "contexts[0].name must be a non-empty string"),
    ("current-context", 5, "current-context must be a string, not a number"),
    ("kind", 1, "kind must be 'Config', not a number"),
]


@pytest.mark.parametrize(("key", "value", "problem"), CERT_FIELDS, ids=[f"{key}-{type(value).__name__}" for key, value, _problem in CERT_FIELDS])
def test_cert_answer_fields_are_typed(key: str, value: Any, problem: str) -> None:
    """The /cert answer is a kubeconfig: every field the collection reads from it is typed by the strict walker (UcsKubeconfigError naming the field)."""
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as check
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import FleetEntries
    from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig

    config = make_kubeconfig(days=365, not_before=NOW).config
    config[key] = value
    h = Harness([Reply(201, config, {"X-Request-Id": "r-cert"})])
    answer = h.client.post_json(CERT_PATH, {}, "create the federation connection of fleet f1")
    names = {"cluster_name": "c", "user_name": "u", "context_name": "x"}
    wanted = FleetEntries(fleet_id="f1", vpc_id="v1", context_fields={}, set_current=True, renew_before_days=None, **names)
    with pytest.raises(UcsKubeconfigError) as info:
        check.accept_download(answer, wanted, 365, NOW)
    assert problem in info.value.msg
    # How the caller names the request and its request id (see the report of issue 23 to the lead).
    refused = answer.refuse(f"is an unusable kubeconfig: {problem}").msg
    assert refused.endswith(f"{problem} (request id r-cert); the request was processed but its answer cannot be used")
