# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""SDK-HMAC-SHA256 request signing (AK/SK), as huaweicloudsdkcore's ``Signer`` does it for JSON bodies.

Pure and stdlib only: no clock, no I/O. The caller passes the signing time, so the result is
deterministic and testable against fixed vectors and against the official SDK.

The body is always signed by its SHA-256. The SDK signs ``UNSIGNED-PAYLOAD`` instead for a body
whose Content-Type is neither JSON nor BSON; the collection sends only JSON, so that variant is
not implemented (the simulator still accepts it, as the API gateway does).
"""

import datetime
import hashlib
import hmac
import re
import typing as t
from urllib.parse import parse_qsl, quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
HEADER_DATE = "X-Sdk-Date"
HEADER_AUTHORIZATION = "Authorization"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SDK_DATE_RE = re.compile(r"\d{8}T\d{6}Z")


def format_sdk_date(dt: datetime.datetime) -> str:
    """Format a time as the ``X-Sdk-Date`` value (UTC, ``YYYYMMDDTHHMMSSZ``).

    Args:
        dt: an aware datetime (converted to UTC) or a naive one taken as UTC.
    Returns:
        The formatted time.
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime(SDK_DATE_FORMAT)


def _encode(value: str) -> str:
    # Only RFC 3986 unreserved characters stay as they are ('~' included, '/' not).
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Return the canonical URI of a request path: each segment percent-encoded, ending in ``/``.

    The path is first percent-decoded, so an already encoded path and its raw form sign the same.
    """
    encoded = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    if not encoded.endswith("/"):
        encoded += "/"
    return encoded


def canonical_query_string(query: str) -> str:
    """Return the canonical query string of a raw query string (without ``?``).

    Parameters are decoded, sorted by name then value, re-encoded and joined with ``&``; a name
    without a value becomes ``name=``.
    """
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def encode_query(params: t.Iterable[t.Tuple[str, t.Any]]) -> str:
    """Return the query string of (name, value) pairs exactly as huaweicloudsdkcore sends it.

    The SDK sends its canonical query string as the URL's query: pairs sorted, names and values
    percent-encoded (only RFC 3986 unreserved characters left as they are), a boolean as
    ``true``/``false``. So the string sent is its own canonical form, and
    ``canonical_query_string(encode_query(params))`` equals it.
    """
    pairs = sorted((str(name), str(value).lower() if isinstance(value, bool) else str(value)) for name, value in params)
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)


def _to_bytes(body: t.Union[bytes, str, None]) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)


def _get(headers: t.Mapping[str, str], name: str) -> t.Optional[str]:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def signed_header_names(headers: t.Mapping[str, str]) -> t.List[str]:
    """Return the names that are signed: every header name without ``_``, lower-cased, sorted."""
    return sorted(key.lower() for key in headers if "_" not in key)


def canonical_request(method: str, url: str, headers: t.Mapping[str, str], body: t.Union[bytes, str, None]) -> str:
    """Return the canonical request of SDK-HMAC-SHA256 (six parts joined by newlines).

    Args:
        method: the HTTP method.
        url: the full URL; its path and query string are used.
        headers: the headers to sign, including ``Host`` and ``X-Sdk-Date``.
        body: the exact body bytes that are sent (str is UTF-8 encoded), or None.
    Returns:
        The canonical request text.
    """
    parts = urlsplit(url)
    names = signed_header_names(headers)
    # Later duplicates (differing only in case) win, as in the SDK.
    values = {key.lower(): str(value).strip() for key, value in headers.items()}
    canonical_headers = "".join(f"{name}:{values[name]}\n" for name in names)
    payload_hash = hashlib.sha256(_to_bytes(body)).hexdigest()
    return "\n".join(
        (
            method.upper(),
            canonical_uri(parts.path or "/"),
            canonical_query_string(parts.query),
            canonical_headers,
            ";".join(names),
            payload_hash,
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """Return ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex sha256 of the canonical request>``."""
    return "\n".join((ALGORITHM, sdk_date, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))


# The positional signature is the documented interface (docs/development.md).
def sign_request(  # noqa: PLR0917
    method: str,
    url: str,
    headers: t.Mapping[str, str],
    body: t.Union[bytes, str, None],
    access_key: str,
    secret_key: str,
    sdk_date: t.Union[datetime.datetime, str],
) -> t.Dict[str, str]:
    """Sign a request with SDK-HMAC-SHA256.

    Args:
        method: the HTTP method.
        url: the full URL as it is sent.
        headers: the request headers; they should contain ``X-Domain-Id`` and, for temporary
            credentials, ``X-Security-Token``. ``Host`` is taken from the URL when missing.
        body: the exact body that is sent, or None.
        access_key: the AK (it appears in the Authorization header).
        secret_key: the SK (only used as HMAC key).
        sdk_date: the signing time (datetime, naive = UTC) or an ``X-Sdk-Date`` value.
    Returns:
        A new header dict: the given headers (values stripped) plus ``Host`` if it was missing,
        ``X-Sdk-Date`` and ``Authorization``.
    Raises:
        ValueError: empty access_key/secret_key, a malformed sdk_date or a URL without host. The
            message never contains the secret key.
    """
    if not access_key or not secret_key:
        raise ValueError("access_key and secret_key must not be empty")
    date = sdk_date if isinstance(sdk_date, str) else format_sdk_date(sdk_date)
    if not _SDK_DATE_RE.fullmatch(date):
        raise ValueError("sdk_date must be a datetime or a YYYYMMDDTHHMMSSZ string")
    # Replace any earlier signature and date: signing must start from the caller's headers.
    result = {key: str(value).strip() for key, value in headers.items() if key.lower() not in ("authorization", "x-sdk-date")}
    result[HEADER_DATE] = date
    if _get(result, "Host") is None:
        netloc = urlsplit(url).netloc
        if not netloc:
            raise ValueError("the URL to sign has no host")
        result["Host"] = netloc
    canonical = canonical_request(method, url, result, body)
    signature = hmac.new(secret_key.encode("utf-8"), string_to_sign(canonical, date).encode("utf-8"), hashlib.sha256).hexdigest()
    names = ";".join(signed_header_names(result))
    result[HEADER_AUTHORIZATION] = f"{ALGORITHM} Access={access_key}, SignedHeaders={names}, Signature={signature}"
    return result
