"""The list call is the first signed request with a query string: ours against huaweicloudsdkcore's.

For 5,000 generated parameter lists (fixed seed: a failure is reproducible) with names and values
holding spaces, unicode, reserved characters (``& = + / ? # % ~``), repeated names, empty values,
integers and booleans:

- the query string we send (``_signer.encode_query``) is the one the SDK sends (``Signer.process_request_uri``);
- our canonical query string of what we send (``_signer.canonical_query_string``) is the SDK's
  (``Signer.process_canonical_query_string``), so a server that rebuilds it from the URL agrees
  with both;
- and for 300 of them, the whole request made by UcsClient (``get_json(query=...)``) carries the
  Authorization header the SDK's signer computes for the same request.

Repeated names carry strings only: for repeated *integer* values the SDK sorts numerically
(``a=9&a=10``) while any verifier that reads the URL sorts text (``a=10&a=9``); the module never
repeats a name.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlsplit

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import canonical_query_string, encode_query
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__http import SK, Harness, Reply

sdk_signer = pytest.importorskip("huaweicloudsdkcore.signer.signer")
sdk_request = pytest.importorskip("huaweicloudsdkcore.sdk_request")
sdk_credentials = pytest.importorskip("huaweicloudsdkcore.auth.credentials")

SEED = 20261207
COUNT = 5_000
SIGNED_COUNT = 300
NAMES = ["limit", "offset", "order_by", "order", "retryjoinall", "a", "A", "a b", "k ü", "中文", "x-y_z.~", "q&r", "e=f", "p+q", "s/t?u", "#h", "%41"]
ALPHABET = [*"abcXYZ019-_.~ +=&;,:@!*'()$/?#%[]", "ü", "é", "中", "😀", "\u00a0", "\t"]


def text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(ALPHABET) for _count in range(rng.randint(low, high)))


def generated(count: int = COUNT) -> list[list[tuple[str, Any]]]:
    rng = random.Random(SEED)
    cases = []
    for _count in range(count):
        pairs: list[tuple[str, Any]] = []
        for _pair in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 6])):
            text_names = [name for name, value in pairs if all(isinstance(v, str) for n, v in pairs if n == name)]
            # A repeated name carries text values only (see the module docstring).
            repeat = bool(text_names) and rng.random() < 0.2
            name = rng.choice(text_names) if repeat else rng.choice(NAMES) if rng.random() < 0.7 else text(rng, 1, 6)
            repeated = any(existing == name for existing, _value in pairs)
            if repeated and not all(isinstance(v, str) for n, v in pairs if n == name):
                continue
            roll = rng.random()
            if roll < 0.15:
                value: Any = ""
            elif roll < 0.25 and not repeated:
                value = rng.choice([0, 1, 100, -1, 10**6, True, False])
            else:
                value = text(rng, 1, 12)
            pairs.append((name, value))
        cases.append(pairs)
    return cases


def sdk_query(pairs: list[tuple[str, Any]]) -> tuple[str, str]:
    """(the query string the SDK sends, its canonical query string) for these parameters."""
    request = sdk_request.SdkRequest(method="GET", schema="https", host="ucs.example.com", resource_path="/v1/clustergroups", query_params=list(pairs))
    canonical = sdk_signer.Signer.process_canonical_query_string(request)
    sdk_signer.Signer.process_request_uri(request)
    return urlsplit(request.uri).query, canonical


def test_generator_covers_every_dimension() -> None:
    cases = generated()
    flat = [pair for pairs in cases for pair in pairs]
    values = [value for _name, value in flat]
    assert [] in cases, "no parameters at all"
    assert any(len({name for name, _v in pairs}) < len(pairs) for pairs in cases), "repeated names"
    assert "" in values, "empty values"
    assert any(isinstance(v, bool) for v in values) and any(isinstance(v, int) and not isinstance(v, bool) for v in values)
    strings = [v for v in values if isinstance(v, str)]
    for needle in (" ", "ü", "中", "😀", "&", "=", "+", "/", "?", "#", "%", "~", "\t"):
        assert any(needle in v for v in strings), f"values with {needle!r}"
    names = {name for name, _v in flat}
    assert {"a b", "k ü", "中文", "q&r", "e=f", "p+q", "%41"} <= names


def test_same_query_and_canonical_query_as_the_official_signer() -> None:
    mismatches = []
    for index, pairs in enumerate(generated()):
        sent = encode_query(pairs)
        theirs_sent, theirs_canonical = sdk_query(pairs)
        ours_canonical = canonical_query_string(sent)
        if (sent, ours_canonical) != (theirs_sent, theirs_canonical):
            mismatches.append((index, pairs, sent, theirs_sent, ours_canonical, theirs_canonical))
    print(f"query comparison: {COUNT} generated parameter lists (seed {SEED}), {len(mismatches)} differ from huaweicloudsdkcore")
    assert not mismatches, f"{len(mismatches)} of {COUNT} differ; first: {mismatches[:3]}"


def test_same_authorization_as_the_official_signer_for_whole_requests() -> None:
    checked = 0
    for pairs in generated()[:SIGNED_COUNT]:
        h = Harness([Reply(200, {})], creds="aksk")
        h.client.get_json("/v1/clustergroups", "list the fleets", query=pairs)
        (sent,) = h.requests
        parts = urlsplit(sent.url or "")
        signed = sent.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        headers = {name: sent.headers[name] for name in sent.headers if name.lower() in signed and name.lower() != "x-domain-id"}
        request = sdk_request.SdkRequest(
            method="GET", schema="https", host=parts.netloc, resource_path=parts.path, query_params=list(pairs), header_params=headers, body=None
        )
        sdk_credentials.GlobalCredentials("AKID0001", SK, "dom-1").sign_request(request)
        assert request.header_params["Authorization"] == sent.headers["Authorization"], pairs
        assert urlsplit(request.uri).query == parts.query
        checked += 1
    assert checked == SIGNED_COUNT


def test_the_comparison_can_fail() -> None:
    """Self-test: an encoder that sends '+' for a space, or keeps the order given, is caught."""
    pairs = [("name", "a b"), ("limit", "1")]
    theirs_sent, _canonical = sdk_query(pairs)
    assert theirs_sent != "name=a+b&limit=1"
    assert encode_query(pairs) == theirs_sent == "limit=1&name=a%20b"
