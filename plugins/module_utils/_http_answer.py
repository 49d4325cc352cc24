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
other bad answer, naming the request, the field and the request id. Nothing here opens a
connection or needs requests (this file is stdlib only).
"""

import json
import re
import socket
import typing as t
import zlib
from urllib.parse import urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import MAX_JSON_DEPTH, UcsResponseError, clean_text

# Only the encodings decoded below under the size bound (never br or zstd, which requests would
# otherwise advertise when their libraries happen to be installed).
ACCEPT_ENCODING = "gzip, deflate"
# A kubeconfig answer is a few KiB; 1 MiB leaves 100 times that and still bounds memory.
MAX_ANSWER_BYTES = 1 << 20
_CHUNK = 16 * 1024


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
