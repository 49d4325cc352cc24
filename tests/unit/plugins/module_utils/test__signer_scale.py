"""Signer proof at scale: our SDK-HMAC-SHA256 against huaweicloudsdkcore's official signer.

10,000 generated requests (fixed seed, so a failure is reproducible): random methods and paths
(raw and percent-encoded, unicode, spaces, reserved characters), raw query strings with repeated
keys, empty values, bare keys, unicode and spaces (as %20 and as +), empty / JSON / unicode bodies
as str and bytes, header names in varying case, header values with surrounding white space, and
the three credential kinds (plain, X-Domain-Id, X-Domain-Id + X-Security-Token). Every request
must produce the same Authorization header.

Content-Type is JSON or BSON (under any spelling of its name): the collection sends only JSON,
and the SDK's UNSIGNED-PAYLOAD variant for other types is deliberately not implemented
(test__signer.py shows the difference; docs/fidelity.md).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Optional
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _signer as signer

# The SDK's side of every comparison, and the credentials, as the fixed vectors use them (that
# module skips itself when huaweicloudsdkcore is missing, and so does this one through it).
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__signer import AK, DATE_TEXT, SK, sdk_sign

SEED = 20261201
COUNT = 10_000

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "Post"]
HOSTS = ["https://ucs.myhuaweicloud.com", "https://ucs-intl.myhuaweicloud.com:443", "https://127.0.0.1:8443", "https://[::1]:9443"]
# Path characters: no '/', '?', '#' (URL syntax) and no '%' in raw form (it would read as an escape).
PATH_ALPHABET = [*"abcXYZ019-_.~ +=;,:@!*'()$&", "ü", "é", "中", "文", "ß", "😀", " "]
QUERY_KEYS = ["a", "b", "limit", "offset", "k ü", "中", "x-y", "A", "a b"]
QUERY_ALPHABET = [*"abcXYZ019-_.~ +=&;,:@!*'()$/?", "ü", "中", "é", "😀", " "]
HEADER_NAMES = [
    ["Content-Type", "content-type", "CONTENT-TYPE", "Content-type"],
    ["User-Agent", "user-agent", "USER-AGENT"],
    ["Accept", "accept"],
    ["X-Project-Id", "x-project-id", "X-PROJECT-ID"],
    ["X-Custom-Header", "x-custom-header", "X-CUSTOM-header"],
    ["X_Not_Signed", "x_not_signed"],
    ["X-Language", "x-language"],
]
HEADER_VALUES = ["application/json", "application/json;charset=UTF-8", "  padded  ", "a\tb", "ucs_cloud.fleet/1.0 (linux)", "", "v=1, w=2", "x" * 80]
CONTENT_TYPES = ["application/json", "application/json;charset=UTF-8", "application/bson", ""]
AUTH_MODES: list[tuple[Optional[str], Optional[str]]] = [(None, None), ("dom-1", None), ("0a1b2c3d4e5f", "temp-security-token/with+chars=")]


def text(rng: random.Random, alphabet: list[str], low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _count in range(rng.randint(low, high)))


def random_path(rng: random.Random) -> str:
    segments = [text(rng, PATH_ALPHABET, 0 if rng.random() < 0.1 else 1, 8) for _count in range(rng.randint(0, 5))]
    if rng.random() < 0.5:
        segments = [quote(segment, safe="") for segment in segments]
    path = "/" + "/".join(segments)
    if rng.random() < 0.2:
        path += "/"
    return path


def random_query(rng: random.Random) -> str:
    parts = []
    encode = quote_plus if rng.random() < 0.5 else (lambda value: quote(value, safe=""))
    for _count in range(rng.choice([0, 0, 1, 2, 3, 5, 8])):
        key = rng.choice(QUERY_KEYS) if rng.random() < 0.7 else text(rng, QUERY_ALPHABET, 1, 5)
        roll = rng.random()
        if roll < 0.15:
            parts.append(encode(key))  # a bare key: no '='
        elif roll < 0.3:
            parts.append(encode(key) + "=")  # an empty value
        else:
            parts.append(encode(key) + "=" + encode(text(rng, QUERY_ALPHABET, 1, 10)))
    return "&".join(parts)


def random_body(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.25:
        return None
    if roll < 0.35:
        return b"" if rng.random() < 0.5 else ""
    document = {text(rng, QUERY_ALPHABET, 1, 6): rng.choice([1, 365, "ü中", None, [1, "😀"], {"x": "a b"}]) for _count in range(rng.randint(0, 4))}
    body = json.dumps(document, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))
    return body.encode("utf-8") if rng.random() < 0.5 else body


def random_headers(rng: random.Random) -> dict[str, str]:
    headers: dict[str, str] = {}
    for variants in rng.sample(HEADER_NAMES, rng.randint(0, len(HEADER_NAMES))):
        name = rng.choice(variants)
        headers[name] = rng.choice(CONTENT_TYPES if name.lower() == "content-type" else HEADER_VALUES)
    return headers


def generated(count: int = COUNT) -> list[tuple[str, str, dict[str, str], Any, tuple[Optional[str], Optional[str]]]]:
    rng = random.Random(SEED)
    cases = []
    for _count in range(count):
        query = random_query(rng)
        url = rng.choice(HOSTS) + random_path(rng) + (f"?{query}" if query else "")
        cases.append((rng.choice(METHODS), url, random_headers(rng), random_body(rng), rng.choice(AUTH_MODES)))
    return cases


def sdk_authorization(method: str, url: str, headers: dict[str, str], body: Any, domain_id: Optional[str], security_token: Optional[str]) -> str:
    return sdk_sign(method, url, headers, body, domain_id=domain_id, security_token=security_token)["Authorization"]


def our_authorization(method: str, url: str, headers: dict[str, str], body: Any, domain_id: Optional[str], security_token: Optional[str]) -> str:
    ours_in = dict(headers)
    if domain_id is not None:
        ours_in["X-Domain-Id"] = domain_id
    if security_token:
        ours_in["X-Security-Token"] = security_token
    return signer.sign_request(method, url, ours_in, body, AK, SK, DATE_TEXT)["Authorization"]


def test_generator_covers_every_dimension() -> None:
    """The generated set really contains what the comparison claims to cover (so it can fail)."""
    cases = generated()
    assert len(cases) == COUNT
    urls = [case[1] for case in cases]
    queries = [urlsplit(url).query for url in urls]
    assert any(len(parse_qsl(q)) != len({pair[0] for pair in parse_qsl(q)}) for q in queries), "repeated keys"
    assert any("=&" in q or q.endswith("=") for q in queries), "empty values"
    assert any(part and "=" not in part for q in queries for part in q.split("&")), "bare keys"
    assert any("+" in q for q in queries) and any("%20" in q for q in queries), "spaces as + and %20"
    assert any("%E4%B8%AD" in q for q in queries), "unicode in queries"
    assert any(" " in urlsplit(url).path for url in urls) and any("%20" in urlsplit(url).path for url in urls), "raw and encoded spaces in paths"
    assert any("中" in urlsplit(url).path for url in urls), "raw unicode in paths"
    bodies = [case[3] for case in cases]
    assert None in bodies and b"" in bodies and "" in bodies
    assert any(isinstance(b, str) and "中" in b for b in bodies) and any(isinstance(b, bytes) and b.startswith(b"{") for b in bodies)
    names = {name for case in cases for name in case[2]}
    assert {"Content-Type", "content-type", "CONTENT-TYPE", "x_not_signed"} <= names
    assert {case[0] for case in cases} == set(METHODS)
    assert {case[4] for case in cases} == set(AUTH_MODES)


def test_same_authorization_as_the_official_signer_on_10000_requests() -> None:
    started = time.monotonic()
    identical, mismatches = 0, []
    for index, (method, url, headers, body, (domain_id, security_token)) in enumerate(generated()):
        ours = our_authorization(method, url, headers, body, domain_id, security_token)
        theirs = sdk_authorization(method, url, dict(headers), body, domain_id, security_token)
        if ours == theirs:
            identical += 1
        else:
            mismatches.append((index, method, url, headers, body, domain_id))
    elapsed = time.monotonic() - started
    print(f"signer comparison: {COUNT} generated requests (seed {SEED}): {identical} identical Authorization headers, {len(mismatches)} other, {elapsed:.1f}s")
    assert not mismatches, f"{len(mismatches)} of {COUNT} differ; first: {mismatches[:3]}"
    assert identical == COUNT


def test_comparison_detects_a_difference() -> None:
    """Self-test: a signer that forgets the trailing '/' of the canonical URI is caught at once."""
    method, url, headers, body, (domain_id, security_token) = generated(1)[0]
    original = signer.canonical_uri
    try:
        signer.canonical_uri = lambda path: original(path).rstrip("/") or "/"  # type: ignore[assignment]
        ours = our_authorization("GET", "https://h.example.com/v1/x", {}, None, None, None)
    finally:
        signer.canonical_uri = original  # type: ignore[assignment]
    assert ours != sdk_authorization("GET", "https://h.example.com/v1/x", {}, None, None, None)
    assert our_authorization(method, url, headers, body, domain_id, security_token) == sdk_authorization(
        method, url, dict(headers), body, domain_id, security_token
    )
