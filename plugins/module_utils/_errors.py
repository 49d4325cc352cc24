# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Typed errors of the collection, and the masking and cleaning of text received from outside.

Every error carries only what is safe to show: the operation, HTTP status, method, URL (base URL +
path, never a query string or header), the server's error code/message and the request id. None of
them ever holds a credential, a token or a request body: text from a server or a library reaches a
message only through ``clean_text``, which masks each secret in its raw, escaped and URL-encoded
forms before it cuts the text. Reading an error answer's body is ``_http_answer``'s: the file
modules import this file, and carry no HTTP code.
"""

import functools
import json
import re
import typing as t
from urllib.parse import quote, quote_plus

# C0 and C1 control characters (tab/newline included: messages are one line) and DEL.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_PERCENT_RE = re.compile(r"%[0-9A-F]{2}")

# What a secret is replaced with in any text received from a server (Ansible's no_log mask).
MASK = "********"


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
