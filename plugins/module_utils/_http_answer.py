# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Reading one HTTP answer of the UCS API, bounded: the private helpers of ``_http.UcsClient``.

An answer body is read chunk by chunk up to ``MAX_ANSWER_BYTES`` after decompression (gzip and
deflate only; a gzip bomb is never inflated beyond the bound) and JSON text is parsed into a
problem phrase rather than an exception. Nothing here opens a connection or needs requests: the
answer object comes from ``_http``, which maps the problems found here to typed errors.
"""

import json
import socket
import typing as t
import zlib

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import MAX_JSON_DEPTH, clean_text

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

    def __init__(self, encoding: t.Optional[str], limit: int) -> None:
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
            raise ValueError(f"uses the content encoding {clean_text(name, 40)!r}, which is not supported (gzip and deflate are)")
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


def read_bounded(response: t.Any, limit: int) -> bytes:
    """Read the body of a streamed requests Response, decoded, refusing more than ``limit`` bytes.

    Raises:
        _Unusable: too large (Content-Length or decoded size), an unsupported or corrupt encoding.
        Read errors of urllib3/socket propagate.
    """
    status, headers = response.status_code, response.headers
    try:
        decoder = BoundedDecoder(headers.get("Content-Encoding"), limit)
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
        raise _Unusable(status, headers, f"could not be decompressed ({headers.get('Content-Encoding')} data is corrupt)") from None
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
