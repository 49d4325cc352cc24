# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Reading one HTTP answer of the UCS API, bounded and typed: the helpers of ``_http.UcsClient``.

An answer body is read chunk by chunk up to ``MAX_ANSWER_BYTES`` after decompression (gzip and
deflate only; a gzip bomb is never inflated beyond the bound) and JSON text is parsed into a
problem phrase rather than an exception. A JSON object that the client returns is a
``JsonAnswer``: it carries the request it answers (``AnswerSource``), so that a field read from it
with ``field()`` and found to be of another JSON type is refused with the same message as any
other bad answer, naming the request, the field and the request id. An error answer's code,
message and request id are read here too (``parse_error_body``). Nothing here opens a
connection or needs requests (this file is stdlib only).
"""

import json
import re
import socket
import typing as t
import zlib
from urllib.parse import urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsResponseError, clean_text

# Only the encodings decoded below under the size bound (never br or zstd, which requests would
# otherwise advertise when their libraries happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"
# A kubeconfig answer is a few KiB; 1 MiB leaves 100 times that and still bounds memory.
MAX_ANSWER_BYTES = 1 << 20
_CHUNK = 16 * 1024

# Caps keep a misbehaving server (or proxy error page) from flooding the task output.
BODY_EXCERPT_LIMIT = 200
ERROR_MSG_LIMIT = 500
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Openstack-Request-Id")

# UCS and IAM answers nest a handful of levels; json.loads recurses once per level.
MAX_JSON_DEPTH = 64
# A JSON string (escapes included) or a bracket: brackets inside strings do not nest.
_JSON_TOKEN_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class _Answer(t.NamedTuple):
    """An answer read in full (body decoded and bounded)."""

    status: int
    headers: t.Mapping[str, str]
    body: bytes


class AnswerSource(t.NamedTuple):
    """The request an answer came from: what a message about a bad answer names."""

    what: str  # the operation, e.g. "read fleet 1234"
    method: str
    url: str
    status: int
    request_id: t.Optional[str]
    # False for a request that may have created something (POST /cert): then a refused answer
    # means that something was done whose result is lost, and the message says so.
    repeatable: bool = True

    def refuse(self, problem: str) -> UcsResponseError:
        """The error for this answer: ``Failed to <what>: the HTTP 200 answer to GET <path> from <host> <problem> (request id <id>)``."""
        parts = urlsplit(self.url)
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        if not self.repeatable and 200 <= self.status < 300:
            suffix += "; the request was processed but its answer cannot be used"
        return UcsResponseError(
            f"Failed to {self.what}: the HTTP {self.status} answer to {self.method} {parts.path} from {parts.netloc} {problem}{suffix}",
            http_status=self.status,
            http_method=self.method,
            http_url=self.url,
            request_id=self.request_id,
        )


# The JSON names of the Python types json.loads makes (bool before int: True is an int too).
_JSON_TYPES = ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"), (list, "an array"), (dict, "an object"))
_KIND_NAMES = dict(_JSON_TYPES)
# One step of a field path: a key (status, current-context) or an index ([0]).
_PATH_STEP_RE = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]")


def json_type(value: t.Any) -> str:
    """The JSON type of a parsed value, with its article: ``a string``, ``an object``, ``null``."""
    for kinds, name in _JSON_TYPES:
        if isinstance(value, kinds):
            return name
    return "null" if value is None else type(value).__name__


class JsonAnswer(dict):  # type: ignore[type-arg]
    """The JSON object of an answer, together with the request that it answers (``source``).

    It is a dict, so whatever takes a mapping takes it. ``field()`` is how the collection reads
    a field: a field of another JSON type than the one it needs is refused with
    ``source.refuse()``, never met later as an AttributeError.
    """

    def __init__(self, data: t.Mapping[str, t.Any], source: t.Optional[AnswerSource] = None) -> None:
        super().__init__(data)
        self.source = source

    def refuse(self, problem: str) -> UcsResponseError:
        """The error for a problem of this answer (``problem`` completes "the answer ...")."""
        if self.source is None:
            return UcsResponseError(f"The answer {problem}")
        return self.source.refuse(problem)

    def field(self, path: str, kind: t.Union[type, t.Tuple[type, ...]]) -> t.Any:
        """Return the field at ``path`` (``spec.federationId``, ``status.conditions[0].type``), checked to be of type ``kind``.

        A field that is absent or null, or below one that is, is None: the API leaves optional
        fields out. Raises UcsResponseError naming the request, the field and the request id
        when the field, or an object or array on the way to it, has another JSON type.
        """
        value: t.Any = self
        walked = ""
        for match in _PATH_STEP_RE.finditer(path):
            key, index = match.group(1), match.group(2)
            if key is not None:
                if not isinstance(value, dict):
                    raise self.refuse(f"has {walked} as {json_type(value)}, not an object")
                value = value.get(key)
                walked = f"{walked}.{key}" if walked else key
            else:
                if not isinstance(value, list):
                    raise self.refuse(f"has {walked} as {json_type(value)}, not an array")
                value = value[int(index)] if int(index) < len(value) else None
                walked += f"[{index}]"
            if value is None:
                return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.refuse(f"has {walked} as {json_type(value)}, not {_kind_name(kind)}")
        return value


def _kind_name(kind: t.Union[type, t.Tuple[type, ...]]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(_KIND_NAMES[item] for item in kinds))


class _Unusable(Exception):
    """An answer that was refused while reading it (too large, undecodable); ``problem`` completes "the answer ..."."""

    def __init__(self, status: int, headers: t.Mapping[str, str], problem: str) -> None:
        super().__init__(problem)
        self.status = status
        self.headers = headers
        self.problem = problem


def _size_text(limit: int) -> str:
    return f"{limit // (1 << 20)} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"


class BoundedDecoder:
    """Decode a Content-Encoding chunk by chunk, never producing more than ``limit`` bytes in total.

    zlib's ``max_length`` stops inflation at the bound, so a gzip bomb costs at most ``limit``
    bytes of memory, whatever its ratio. Raises ValueError with a short reason for an encoding
    that is not supported, ``OverflowError`` past the limit and ``zlib.error`` on corrupt data.
    """

    def __init__(self, encoding: t.Optional[str], limit: int, secrets: t.Collection[str] = ()) -> None:
        name = (encoding or "").strip().lower()
        self.limit = limit
        self.size = 0
        self._raw_deflate_tried = False
        self._zlib: t.Optional[t.Any] = None
        if name in ("", "identity"):
            pass
        elif name in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise ValueError(f"uses the content encoding {clean_text(name, 40, secrets)!r}, which is not supported (gzip and deflate are)")
        self.name = name
        self.deflate = name == "deflate"
        self.compressed = self._zlib is not None

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise OverflowError(self.size)
        return data

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            return self._count(chunk)
        try:
            out = self._zlib.decompress(chunk, self.limit - self.size + 1)
        except zlib.error:
            if not self.deflate or self._raw_deflate_tried or self.size:
                raise
            # "deflate" is often sent without its zlib header (raw deflate), as urllib3 allows.
            self._raw_deflate_tried = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(chunk, self.limit - self.size + 1)
        return self._count(out)

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush(self.limit - self.size + 1))


def _decode_json(content: bytes) -> t.Tuple[t.Optional[str], t.Any]:
    """Return (problem, None) for text that is not JSON, else (None, data); the problem never quotes the text."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid JSON (not UTF-8 text)", None
    try:
        return None, json.loads(text)
    except RecursionError:
        return f"is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels", None
    except json.JSONDecodeError as exc:
        # A parse error at the very end (or inside a string that never ends) means the text was cut off.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return f"is not valid JSON: it was truncated (it ends after {len(content)} bytes)", None
        return f"is not valid JSON: malformed at line {exc.lineno} column {exc.colno} ({exc.msg})", None


def read_bounded(response: t.Any, limit: int, secrets: t.Collection[str] = ()) -> bytes:
    """Read the body of a streamed requests Response, decoded, refusing more than ``limit`` bytes.

    ``secrets`` are masked in the one header value a problem quotes (Content-Encoding).

    Raises:
        _Unusable: too large (Content-Length or decoded size), an unsupported or corrupt encoding.
        Read errors of urllib3/socket propagate.
    """
    status, headers = response.status_code, response.headers
    try:
        decoder = BoundedDecoder(headers.get("Content-Encoding"), limit, secrets)
    except ValueError as exc:
        raise _Unusable(status, headers, str(exc)) from None
    length = headers.get("Content-Length", "")
    if not decoder.compressed and length.strip().isdigit() and int(length) > limit:
        raise _Unusable(status, headers, f"is larger than {_size_text(limit)} (Content-Length {int(length)}); it was not read")
    parts = []
    try:
        while True:
            chunk = response.raw.read(_CHUNK, decode_content=False)
            if not chunk:
                break
            parts.append(decoder.feed(chunk))
        parts.append(decoder.flush())
    except OverflowError:
        after = " after decompression" if decoder.compressed else ""
        raise _Unusable(status, headers, f"is larger than {_size_text(limit)}{after}; it was not read further") from None
    except zlib.error:
        raise _Unusable(status, headers, f"could not be decompressed ({decoder.name} data is corrupt)") from None
    return b"".join(parts)


def _close_quietly(response: t.Any) -> None:
    """Shut the socket of an answer that is being read in another thread, so that its read ends."""
    connection = getattr(getattr(response, "raw", None), "_connection", None)
    sock = getattr(connection, "sock", None)
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        response.close()
    except Exception:
        pass


# --------------------------------------------------------------------------------------------
# error answers


class ErrorBody(t.NamedTuple):
    """What could be read from an error answer's body."""

    error_code: t.Optional[str]
    error_msg: t.Optional[str]
    # A cleaned excerpt of a body that is not JSON (an HTML error page of a proxy, say); else None.
    excerpt: t.Optional[str]
    # The API gateway repeats the request id in its error bodies.
    request_id: t.Optional[str] = None


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
