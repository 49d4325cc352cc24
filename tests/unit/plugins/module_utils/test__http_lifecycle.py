"""UcsClient's additions for the fleet list and the federation lifecycle: a query string, bodyless POST and DELETE.

The scripted transport of test__http.py: requests prepares each request as for the network,
nothing leaves the process.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsConnectionError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import canonical_query_string, encode_query
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__http import ENDPOINT, Harness, Reply, dropped, ucs_error, verify_signature

LIST_PATH = "/v1/clustergroups"
FEDERATIONS_PATH = "/v1/clustergroups/f1/federations"


def test_query_is_sent_in_the_sdks_form_and_signed() -> None:
    h = Harness([Reply(200, {"items": [], "total": 0})], creds="aksk")
    assert h.client.get_json(LIST_PATH, "list the fleets", query=(("offset", 100), ("limit", 100))) == {"items": [], "total": 0}
    (request,) = h.requests
    parts = urlsplit(request.url or "")
    assert parts.path == LIST_PATH and parts.query == "limit=100&offset=100", "sorted, as huaweicloudsdkcore sends its canonical query"
    verify_signature(request)  # signed over the query string as sent


def test_query_with_reserved_characters_round_trips() -> None:
    pairs = (("name", "a b&c=d/ü"), ("empty", ""), ("flag", True))
    h = Harness([Reply(200, {})], creds="aksk")
    h.client.get_json(LIST_PATH, "list", query=pairs)
    (request,) = h.requests
    query = urlsplit(request.url or "").query
    assert query == encode_query(pairs) == canonical_query_string(query)
    assert sorted(parse_qsl(query, keep_blank_values=True)) == [("empty", ""), ("flag", "true"), ("name", "a b&c=d/ü")]
    verify_signature(request)


def test_query_never_reaches_messages_or_error_fields() -> None:
    h = Harness([ucs_error("UCS.01000011", "Bad query parameter value", status=400)], creds="token")
    with pytest.raises(UcsApiError) as raised:
        h.client.get_json(LIST_PATH, "list the fleets (page 1)", query=(("limit", "secret-looking-value"),))
    assert "secret-looking-value" not in raised.value.msg and "?" not in str(raised.value.http_url)
    assert raised.value.to_fail_kwargs()["http_url"] == ENDPOINT + LIST_PATH


def test_query_is_kept_on_every_retry() -> None:
    h = Harness([Reply(503, {}), Reply(200, {"items": []})], creds="aksk")
    h.client.get_json(LIST_PATH, "list", query=(("limit", 1),))
    assert [urlsplit(r.url or "").query for r in h.requests] == ["limit=1", "limit=1"]


def test_post_without_body_sends_no_body() -> None:
    h = Harness([Reply(201, {})], creds="aksk")
    assert h.client.send_without_body("POST", FEDERATIONS_PATH, "enable federation", expected=(200, 201)) == {}
    (request,) = h.requests
    assert request.method == "POST" and request.body is None and request.headers.get("Content-Length") == "0"
    assert "Content-Type" not in request.headers, "no body, no Content-Type"
    verify_signature(request)


def test_delete_accepts_an_empty_or_untyped_answer() -> None:
    for body in (b"", b'"success"', b"{}", b"not json"):
        h = Harness([Reply(200, body)], creds="aksk")
        assert h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable federation", expected=(200, 204)) == {}
        (request,) = h.requests
        assert request.method == "DELETE" and request.body is None
        verify_signature(request)


def test_delete_errors_are_reported() -> None:
    h = Harness([ucs_error("UCS.01080006", "Cluster group has not been federalized")], creds="aksk")
    with pytest.raises(UcsApiError) as raised:
        h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable federation for fleet f1", expected=(200,))
    assert raised.value.error_code == "UCS.01080006" and "disable federation for fleet f1" in raised.value.msg


def test_delete_follows_the_post_retry_rules() -> None:
    """A DELETE may have been processed: a 503 or a dropped connection is not repeated, a 429 is."""
    h = Harness([Reply(503, {})], creds="aksk")
    with pytest.raises(UcsApiError):
        h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable", expected=(200,))
    assert len(h.requests) == 1
    h = Harness([dropped()], creds="aksk")
    with pytest.raises(UcsConnectionError) as raised:
        h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable", expected=(200,))
    assert "may have been processed" in raised.value.msg and len(h.requests) == 1
    h = Harness([Reply(429, {}, {"Retry-After": "1"}), Reply(200, b"")], creds="aksk")
    h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable", expected=(200,))
    assert len(h.requests) == 2


def test_unexpected_delete_status_is_refused() -> None:
    h = Harness([Reply(202, b"")], creds="aksk")
    with pytest.raises(Exception, match=r"the HTTP 202 answer to DELETE /v1/clustergroups/f1/federations from .* was not expected"):
        h.client.send_without_body("DELETE", FEDERATIONS_PATH, "disable", expected=(200,))
