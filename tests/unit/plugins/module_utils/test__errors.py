from __future__ import annotations

import json
import re
from typing import Any, Optional
from urllib.parse import quote, quote_plus

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _errors as errors
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http_answer as answers


@pytest.mark.parametrize(
    ("body", "code", "msg"),
    [
        ({"error_code": "UCS.01100005", "error_msg": "clustergroup not found"}, "UCS.01100005", "clustergroup not found"),
        ({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information"}, "APIGW.0301", "Incorrect IAM authentication information"),
        ({"errorCode": "UCS.00000001", "errorMsg": "camel"}, "UCS.00000001", "camel"),
        ({"code": "UCS.01080006", "message": "federation not enabled"}, "UCS.01080006", "federation not enabled"),
        ({"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}}, "401", "The username or password is wrong."),
        ({"error_msg": "only a message"}, None, "only a message"),
        ({"error_code": "UCS.1"}, "UCS.1", None),
        ({"error_code": "UCS.1", "error_msg": "multi\nline\x1b[31m text"}, "UCS.1", "multi line [31m text"),
        ({"unrelated": True}, None, None),
        ({"outer": {"inner": {"error_code": "X.1", "error_msg": "deep"}}}, "X.1", "deep"),
        ({"error_code": {"nested": 1}, "error_msg": ["x"]}, None, None),
    ],
)
def test_parse_error_body_shapes(body: Any, code: Optional[str], msg: Optional[str]) -> None:
    parsed = answers.parse_error_body(json.dumps(body).encode())
    assert (parsed.error_code, parsed.error_msg, parsed.excerpt) == (code, msg, None)


def test_parse_error_body_apigw_request_id() -> None:
    parsed = answers.parse_error_body(b'{"error_code":"APIGW.0101","error_msg":"not found","request_id":"abc123"}')
    assert parsed.request_id == "abc123"


@pytest.mark.parametrize("body", [None, b"", b"   ", b"[1, 2]", b'"text"', b"null"])
def test_parse_error_body_nothing_usable(body: Optional[bytes]) -> None:
    assert answers.parse_error_body(body) == answers.ErrorBody(None, None, None, None)


def test_parse_error_body_non_json_excerpt_is_cleaned_and_capped() -> None:
    html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\x00\x07" + "x" * 1000
    parsed = answers.parse_error_body(html.encode())
    assert parsed.error_code is None and parsed.error_msg is None
    assert parsed.excerpt is not None
    assert parsed.excerpt.startswith("<html> <head><title>502 Bad Gateway</title></head>")
    assert len(parsed.excerpt) <= answers.BODY_EXCERPT_LIMIT
    assert not any(ord(ch) < 32 for ch in parsed.excerpt)


def test_parse_error_body_invalid_utf8() -> None:
    parsed = answers.parse_error_body(b"\xff\xfe bad gateway")
    assert parsed.excerpt is not None and "bad gateway" in parsed.excerpt


def test_long_error_msg_is_capped() -> None:
    parsed = answers.parse_error_body(json.dumps({"error_code": "X", "error_msg": "m" * 5000}).encode())
    assert parsed.error_msg is not None and len(parsed.error_msg) == answers.ERROR_MSG_LIMIT and parsed.error_msg.endswith("...")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-Id": "r1"}, "r1"),
        ({"x-request-id": "r2"}, "r2"),
        ({"X-Openstack-Request-Id": "req-3"}, "req-3"),
        ({"X-Request-Id": "r1", "X-Openstack-Request-Id": "req-3"}, "r1"),
        ({}, None),
        (None, None),
    ],
)
def test_request_id_from_headers(headers: Optional[dict[str, str]], expected: Optional[str]) -> None:
    assert answers.request_id_from_headers(headers) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"error_code": "UCS.01100005", "error_msg": "clustergroup not found", "request_id": "r1"},
            "Failed to read fleet f1: HTTP 404 UCS.01100005: clustergroup not found (request id r1)",
        ),
        ({}, "Failed to read fleet f1: HTTP 404"),
        ({"excerpt": "<html>"}, "Failed to read fleet f1: HTTP 404: <html>"),
        ({"error_msg": "m", "excerpt": "<html>"}, "Failed to read fleet f1: HTTP 404: m"),
        ({"error_code": "404", "error_msg": "not found"}, "Failed to read fleet f1: HTTP 404: not found"),
        ({"attempts": 4, "error_code": "E"}, "Failed to read fleet f1 after 4 attempts: HTTP 404 E"),
        ({"hint": "Check fleet_id"}, "Failed to read fleet f1: HTTP 404. Check fleet_id"),
    ],
)
def test_http_failure_message(kwargs: dict[str, Any], expected: str) -> None:
    assert answers.http_failure_message("read fleet f1", 404, **kwargs) == expected


def test_api_error_to_fail_kwargs() -> None:
    exc = errors.UcsApiError(
        "Failed to read fleet f1: HTTP 404 UCS.01100005: gone (request id r1)",
        status=404,
        method="GET",
        url="https://ucs.example.com/v1/clustergroups/f1",
        error_code="UCS.01100005",
        error_msg="gone",
        request_id="r1",
    )
    assert exc.to_fail_kwargs() == {
        "msg": "Failed to read fleet f1: HTTP 404 UCS.01100005: gone (request id r1)",
        "http_status": 404,
        "http_method": "GET",
        "http_url": "https://ucs.example.com/v1/clustergroups/f1",
        "error_code": "UCS.01100005",
        "error_msg": "gone",
        "request_id": "r1",
    }
    assert str(exc) == exc.msg and exc.http_status == 404
    assert isinstance(exc, errors.UcsError)


def test_unknown_fields_are_omitted() -> None:
    assert errors.UcsValidationError("timeout must be positive", option="timeout").to_fail_kwargs() == {"msg": "timeout must be positive"}
    conn = errors.UcsConnectionError("Failed: read timeout", http_method="POST", http_url="https://h/x")
    assert conn.to_fail_kwargs() == {"msg": "Failed: read timeout", "http_method": "POST", "http_url": "https://h/x"}
    response = errors.UcsResponseError("bad", http_status=200, http_method="GET", http_url="https://h/x")
    assert response.to_fail_kwargs() == {"msg": "bad", "http_status": 200, "http_method": "GET", "http_url": "https://h/x"}
    assert errors.UcsKubeconfigError("users[0] is missing").to_fail_kwargs() == {"msg": "users[0] is missing"}
    auth = errors.UcsAuthError("rejected", http_status=401, error_code="APIGW.0301")
    assert auth.to_fail_kwargs() == {"msg": "rejected", "http_status": 401, "error_code": "APIGW.0301"}


@pytest.mark.parametrize(
    "cls", [errors.UcsValidationError, errors.UcsAuthError, errors.UcsApiError, errors.UcsConnectionError, errors.UcsResponseError, errors.UcsKubeconfigError]
)
def test_hierarchy(cls: type) -> None:
    assert issubclass(cls, errors.UcsError) and issubclass(cls, Exception)


def test_clean_text() -> None:
    assert errors.clean_text("a\r\n\tb\x7f\x9bc", 100) == "a b c"
    assert errors.clean_text("abcdef", 5) == "ab..."


def test_masking_comes_before_the_cut() -> None:
    """Cut first, mask second would print the first 497 characters of a long secret."""
    secret = "S" * 2000
    assert errors.clean_text(f"token {secret} rejected", 500, [secret]) == "token ******** rejected"
    assert errors.clean_text(f"token {secret}", 20) == "token " + "S" * 11 + "...", "without the secret it is cut as before"
    body = json.dumps({"error_code": "APIGW.0301", "error_msg": f"bad token {secret}"}).encode()
    assert answers.parse_error_body(body, [secret]).error_msg == "bad token ********"
    assert answers.parse_error_body(f"<p>{secret}</p>".encode(), [secret]).excerpt == "<p>********</p>"
    assert answers.request_id_from_headers({"X-Request-Id": secret}, [secret]) == "********"


def test_mask_secrets_longest_first() -> None:
    assert errors.mask_secrets("abc abcdef", ["abc", "abcdef"]) == "******** ********"
    assert errors.mask_secrets("nothing", ["", "x"]) == "nothing"


SECRET = "zQk/+ü'\"x\ty\n"


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (f"raw {SECRET} end", "raw"),
        ("stripped (a server strips a header value): zQk/+ü'\"x\ty end", "stripped"),
        (f"requests: in header value: {SECRET!r} end", "repr of str"),
        (f"http.client: Invalid header value {SECRET.encode()!r} end", "repr of bytes"),
        (f"a repr inside a repr: {repr(SECRET)!r} end", "repr twice"),
        (f"JSON: {json.dumps({'echo': SECRET})} end", "JSON, ASCII"),
        (f"JSON: {json.dumps({'echo': SECRET}, ensure_ascii=False)} end", "JSON, UTF-8"),
        (f"JSON in JSON: {json.dumps(json.dumps(SECRET))} end", "JSON twice"),
        (f"URL: ?t={quote(SECRET, safe='')} end", "URL-encoded"),
        ("URL: ?t=" + re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(SECRET, safe="")) + " end", "URL-encoded, lower-case hex"),
        (f"form: t={quote_plus(SECRET)} end", "form-encoded"),
        (f"path: /t/{quote(SECRET)} end", "path-encoded"),
        ("on one line: zQk/+ü'\"x y end", "control characters as spaces"),
    ],
)
def test_every_form_of_a_secret_is_masked(text: str, form: str) -> None:
    """A secret with a tab, a trailing newline, a quote, a slash, a plus and a non-ASCII letter, in each form a library or server prints it."""
    masked = errors.mask_secrets(text, [SECRET])
    assert masked.endswith(" end") and errors.MASK in masked, form
    assert "zQk" not in masked, f"{form}: {masked}"


def test_masking_comes_before_escaping_and_cutting() -> None:
    """The failure of issue 23: a 187-character token with a newline, quoted by requests, cut at 200 characters."""
    token = "MII" + "x" * 183 + "\n"
    reason = f"Invalid leading whitespace, reserved character(s), or return character(s) in header value: {token!r}"
    cleaned = errors.clean_text(reason, 200, [token])
    assert cleaned == "Invalid leading whitespace, reserved character(s), or return character(s) in header value: '********'"
    assert "MII" not in errors.clean_text(reason, 120, [token]), "a prefix survives no cut"


def test_secret_forms_are_longest_first_and_never_empty() -> None:
    forms = errors.secret_forms(" pass word\n")
    assert forms == tuple(sorted(forms, key=len, reverse=True)) and "" not in forms
    assert {" pass word\n", "pass word", " pass word\\n", "%20pass%20word%0A", "+pass+word%0A", "pass%20word", "pass+word"} <= set(forms)
    assert "" not in errors.secret_forms("\n \t")


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (b"[" * 65 + b"]" * 65, True),
        (b"[" * 64 + b"]" * 64, False),
        (b'{"a":' * 65 + b"1" + b"}" * 65, True),
        (b'["' + b"[" * 1000 + b'"]', False),
        (b'["\\"' + b"[" * 1000 + b'"]', False),
        (b"[]" * 1000, False),
        ("[" * 100, True),
    ],
)
def test_json_too_deep(text: Any, deep: bool) -> None:
    assert answers.json_too_deep(text) is deep


def test_deep_error_body_is_not_parsed() -> None:
    body = b'{"error":' * 100_000 + b"1" + b"}" * 100_000
    parsed = answers.parse_error_body(body)
    assert parsed.error_code is None and parsed.excerpt is not None and len(parsed.excerpt) <= answers.BODY_EXCERPT_LIMIT
