# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Typed errors of the collection and the helpers that turn server answers into messages.

Every error carries only what is safe to show: the operation, HTTP status, method, URL (base URL +
path, never a query string or header), the server's error code/message and the request id. None of
them ever holds a credential, a token or a request body: text from a server or a library reaches a
message only through ``clean_text``, which masks each secret in its raw, escaped and URL-encoded
forms before it cuts the text.
"""

import functools
import json
import re
import typing as t
from urllib.parse import quote, quote_plus

# Caps keep a misbehaving server (or proxy error page) from flooding the task output.
BODY_EXCERPT_LIMIT = 200
ERROR_MSG_LIMIT = 500

# C0 and C1 control characters (tab/newline included: messages are one line) and DEL.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_PERCENT_RE = re.compile(r"%[0-9A-F]{2}")

REQUEST_ID_HEADERS = ("X-Request-Id", "X-Openstack-Request-Id")

# What a secret is replaced with in any text received from a server (Ansible's no_log mask).
MASK = "********"
# UCS and IAM answers nest a handful of levels; json.loads recurses once per level.
MAX_JSON_DEPTH = 64
# A JSON string (escapes included) or a bracket: brackets inside strings do not nest.
_JSON_TOKEN_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class UcsError(Exception):
    """Base of every error of the collection; ``msg`` is the complete, secret-free message."""

    def __init__(
        self,
        msg: str,
        *,
        http_status: t.Optional[int] = None,
        http_method: t.Optional[str] = None,
        http_url: t.Optional[str] = None,
        error_code: t.Optional[str] = None,
        error_msg: t.Optional[str] = None,
        request_id: t.Optional[str] = None,
    ) -> None:
        super().__init__(msg)
        self.msg = msg
        self.http_status = http_status
        self.http_method = http_method
        self.http_url = http_url
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id

    def __str__(self) -> str:
        return self.msg

    def to_fail_kwargs(self) -> t.Dict[str, t.Any]:
        """Return keyword arguments for ``module.fail_json()``: ``msg`` plus the known structured fields.

        Fields that are not known (None) are left out.
        """
        result: t.Dict[str, t.Any] = {"msg": self.msg}
        for key in ("http_status", "http_method", "http_url", "error_code", "error_msg", "request_id"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


class UcsValidationError(UcsError):
    """Bad input found before any API call; the message names the option and the rule."""

    def __init__(self, msg: str, *, option: t.Optional[str] = None) -> None:
        super().__init__(msg)
        self.option = option


class UcsAuthError(UcsError):
    """Credentials rejected by UCS, or IAM failed to issue a token."""


class UcsApiError(UcsError):
    """A non-2xx answer (after any retries); ``status`` is its HTTP status (``http_status``)."""

    def __init__(
        self,
        msg: str,
        *,
        status: int,
        method: t.Optional[str] = None,
        url: t.Optional[str] = None,
        error_code: t.Optional[str] = None,
        error_msg: t.Optional[str] = None,
        request_id: t.Optional[str] = None,
    ) -> None:
        super().__init__(msg, http_status=status, http_method=method, http_url=url, error_code=error_code, error_msg=error_msg, request_id=request_id)


class UcsConnectionError(UcsError):
    """No usable answer: connection failure, timeout or TLS failure; the message says whether the request may have been processed."""


class UcsResponseError(UcsError):
    """A 2xx answer that is not what the API documents (not JSON, not an object, a field of another type, unexpected status)."""


class UcsKubeconfigError(UcsError):
    """A kubeconfig that fails validation; the message names the field, never its value."""


class ErrorBody(t.NamedTuple):
    """What could be read from an error answer's body."""

    error_code: t.Optional[str]
    error_msg: t.Optional[str]
    # A cleaned excerpt of a body that is not JSON (an HTML error page of a proxy, say); else None.
    excerpt: t.Optional[str]
    # The API gateway repeats the request id in its error bodies.
    request_id: t.Optional[str] = None


def _escapes(text: str) -> t.Tuple[str, ...]:
    # How libraries quote a value in their messages: repr of str and of bytes (requests'
    # "Invalid ... in header value: 'tok\\n'", http.client's b'...'), JSON (IAM and UCS echo
    # bodies), and URL encoding (upper and lower-case hex).
    url = quote(text, safe="")
    return (
        repr(text)[1:-1],
        repr(text.encode("utf-8"))[2:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        url,
        _PERCENT_RE.sub(lambda match: match.group().lower(), url),
        quote(text),
        quote_plus(text),
    )


# Computed once per secret: a message is cleaned several times while an error is built.
@functools.lru_cache(maxsize=64)
def secret_forms(secret: str) -> t.Tuple[str, ...]:
    """Every form in which ``secret`` may reach a message, longest first.

    The secret as given, without surrounding white space (a server strips a header value) and
    on one line (as ``clean_text`` would make it); each of these escaped once and twice (a repr
    inside a repr). Empty forms are left out.
    """
    plain = {secret, secret.strip(), " ".join(_CONTROL_RE.sub(" ", secret).split())}
    forms = set(plain)
    layer = plain
    for _depth in range(2):
        layer = {escaped for form in layer for escaped in _escapes(form)}
        forms |= layer
    return tuple(sorted((form for form in forms if form), key=len, reverse=True))


def mask_secrets(text: str, secrets: t.Iterable[str] = ()) -> str:
    """Return ``text`` with each secret, in every form of ``secret_forms``, replaced by ``MASK``.

    The longest form of any secret goes first, so that no part of a longer one survives.
    """
    forms = sorted({form for secret in secrets if secret for form in secret_forms(secret)}, key=len, reverse=True)
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def json_too_deep(data: t.Union[bytes, str], limit: int = MAX_JSON_DEPTH) -> bool:
    """Return whether JSON text nests arrays/objects deeper than ``limit`` (strings are skipped).

    Checked before ``json.loads``, which recurses once per level and would raise RecursionError.
    """
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKEN_RE.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def clean_text(text: str, limit: int, secrets: t.Iterable[str] = ()) -> str:
    """Return ``text`` on one line without control characters, secrets masked, cut to ``limit`` characters.

    Every text that comes from a server, requests or urllib3 reaches a message through here.

    Args:
        text: any text received from a server or raised by a library.
        limit: the maximum length of the result (an ellipsis marks a cut).
        secrets: values to mask, in every form of ``secret_forms``. Masking comes first: escaping
            a newline or cutting first would leave a form or a prefix of a secret that no later
            masking recognises.
    Returns:
        The cleaned text.
    """
    cleaned = " ".join(_CONTROL_RE.sub(" ", mask_secrets(text, secrets)).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 3, 0)].rstrip() + "..."
    return cleaned


def _find_error_fields(data: t.Mapping[str, t.Any], secrets: t.Collection[str], depth: int = 0) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    # The pairs huaweicloudsdkcore accepts, in its order; IAM nests them under "error".
    for code_key, msg_key in (("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")):
        if code_key in data and msg_key in data:
            return _scalar(data[code_key], secrets), _scalar(data[msg_key], secrets)
    for code_key, msg_key in (("error_code", "error_msg"), ("code", "message")):
        # A half-filled shape still says something: keep whichever field is there.
        if code_key in data or msg_key in data:
            return _scalar(data.get(code_key), secrets), _scalar(data.get(msg_key), secrets)
    if depth < 3:
        for value in data.values():
            if isinstance(value, dict):
                code, msg = _find_error_fields(value, secrets, depth + 1)
                if code is not None or msg is not None:
                    return code, msg
    return None, None


def _scalar(value: t.Any, secrets: t.Collection[str]) -> t.Optional[str]:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = clean_text(str(value), ERROR_MSG_LIMIT, secrets)
    return text or None


def parse_error_body(body: t.Union[bytes, str, None], secrets: t.Collection[str] = ()) -> ErrorBody:
    """Read the error code and message from an error answer.

    Understands ``{"error_code", "error_msg"}`` (UCS, API gateway ``APIGW.xxxx``), ``{"errorCode",
    "errorMsg"}``, ``{"code", "message"}`` and IAM's ``{"error": {"code", "message", "title"}}``.

    Args:
        body: the raw body of the answer.
        secrets: values masked in every text taken from the body, before it is cut.
    Returns:
        ErrorBody; ``excerpt`` is set only for a body that is not JSON (or JSON nested deeper
        than ``MAX_JSON_DEPTH``, which is not parsed).
    """
    if body is None:
        return ErrorBody(None, None, None)
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if not text.strip():
        return ErrorBody(None, None, None)
    try:
        if json_too_deep(text):
            raise ValueError("nested too deep")
        data = json.loads(text)
    except (ValueError, RecursionError):
        excerpt = clean_text(text, BODY_EXCERPT_LIMIT, secrets)
        return ErrorBody(None, None, excerpt or None)
    if isinstance(data, dict):
        code, msg = _find_error_fields(data, secrets)
        request_id = data.get("request_id")
        return ErrorBody(code, msg, None, clean_text(request_id, 128, secrets) if isinstance(request_id, str) and request_id else None)
    return ErrorBody(None, None, None)


def request_id_from_headers(headers: t.Optional[t.Mapping[str, str]], secrets: t.Collection[str] = ()) -> t.Optional[str]:
    """Return the request id of an answer (``X-Request-Id``, else ``X-Openstack-Request-Id``), or None.

    ``headers`` should be case-insensitive (requests' are); exact names are tried as well.
    ``secrets`` are masked: a hostile server may put anything in a header.
    """
    if not headers:
        return None
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name) or headers.get(name.lower())
        if value:
            return clean_text(str(value), 128, secrets)
    return None


def http_failure_message(
    what: str,
    status: int,
    *,
    error_code: t.Optional[str] = None,
    error_msg: t.Optional[str] = None,
    request_id: t.Optional[str] = None,
    excerpt: t.Optional[str] = None,
    attempts: int = 1,
    hint: t.Optional[str] = None,
) -> str:
    """Build ``Failed to <what>: HTTP 404 UCS.01100005: <error_msg> (request id <id>)``.

    Args:
        what: the operation, e.g. ``read fleet 1234``.
        status: the HTTP status.
        error_code, error_msg: as sent by the server, if any.
        request_id: the server's request id, if any.
        excerpt: a cleaned excerpt of a non-JSON body, used when there is no error message.
        attempts: how many attempts were made (mentioned when more than one).
        hint: a sentence telling the user what to do.
    Returns:
        The message.
    """
    head = f"Failed to {what}"
    if attempts > 1:
        head += f" after {attempts} attempts"
    detail = f"HTTP {status}"
    # IAM repeats the status as its code ({"error": {"code": 401, ...}}): say it once.
    if error_code and error_code != str(status):
        detail += f" {error_code}"
    if error_msg:
        detail += f": {error_msg}"
    elif excerpt:
        detail += f": {excerpt}"
    if request_id:
        detail += f" (request id {request_id})"
    message = f"{head}: {detail}"
    if hint:
        message += f". {hint}"
    return message
