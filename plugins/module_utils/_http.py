# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""UcsClient: the only code of the collection that makes HTTP requests.

It authenticates (AK/SK signing, IAM token, IAM password), retries only where that is safe, and
turns every failure into a typed error from ``_errors`` whose message says what failed and why,
without any secret.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import random as _random
import time
import traceback
import typing as t
from urllib.parse import urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import Credentials, validate_endpoint_url
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import (
    UcsApiError,
    UcsAuthError,
    UcsConnectionError,
    UcsError,
    UcsResponseError,
    UcsValidationError,
    clean_text,
    http_failure_message,
    parse_error_body,
    request_id_from_headers,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import sign_request

try:
    import requests
    from urllib3.exceptions import NewConnectionError
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

COLLECTION_VERSION = "0.1.0"
USER_AGENT = f"ucs_cloud.fleet/{COLLECTION_VERSION}"
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

# Failure kinds of a request that got no answer (also what ``calls`` records instead of a status).
CONNECT_TIMEOUT = "connect timeout"
CONNECT_FAILED = "connection failed"
READ_TIMEOUT = "read timeout"
CONNECTION_DROPPED = "connection dropped"
INCOMPLETE_ANSWER = "incomplete answer"
TLS_FAILED = "TLS failure"
REQUEST_FAILED = "request error"
# These happen before a byte of the request reached the server.
NOT_SENT_KINDS = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED, TLS_FAILED))

IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))


class _Request(t.NamedTuple):
    method: str
    url: str
    what: str

    @property
    def public_url(self) -> str:
        """The URL for messages and error fields: never a query string."""
        return self.url.split("?", 1)[0].split("#", 1)[0]


def parse_retry_after(value: t.Optional[str], now: float) -> t.Optional[float]:
    """Return the delay a ``Retry-After`` header asks for, in seconds, or None if absent or invalid.

    Args:
        value: the header value: delta-seconds or an HTTP-date.
        now: the current wall-clock time (seconds since the epoch), for HTTP-dates.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(when.timestamp() - now, 0.0)


class RetryPolicy:
    """Which failures are retried and how long to wait; pure apart from the injected ``random``.

    Retried for idempotent methods (GET): connection errors, timeouts, an answer cut off, and HTTP
    429, 500, 502, 503, 504. Retried for other methods (POST): only what cannot have been processed:
    HTTP 429 (throttled before processing) and failures before the request was sent (connect
    timeout, connection refused, DNS failure). A POST that timed out while reading, lost its
    connection after sending, or got a 5xx may have been processed, so it is never repeated.
    """

    IDEMPOTENT_STATUSES = frozenset((429, 500, 502, 503, 504))
    UNSAFE_STATUSES = frozenset((429,))
    IDEMPOTENT_FAILURES = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED, READ_TIMEOUT, CONNECTION_DROPPED, INCOMPLETE_ANSWER))
    UNSAFE_FAILURES = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED))

    def __init__(
        self,
        retries: int = 3,
        *,
        random: t.Callable[[], float] = _random.random,
        wall_clock: t.Callable[[], float] = time.time,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 60.0,
    ) -> None:
        self.retries = retries
        self._random = random
        self._wall_clock = wall_clock
        self.backoff_base = backoff_base
        # Caps: a server asking for minutes (or a buggy Retry-After) must not stall the play.
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap

    @property
    def attempts(self) -> int:
        """The maximum number of attempts (retries + 1)."""
        return self.retries + 1

    def retryable(self, method: str, *, status: t.Optional[int] = None, failure: t.Optional[str] = None) -> bool:
        """Return whether an attempt that ended with ``status`` (an answer) or ``failure`` (a kind) may be repeated."""
        idempotent = method.upper() in IDEMPOTENT_METHODS
        if status is not None:
            return status in (self.IDEMPOTENT_STATUSES if idempotent else self.UNSAFE_STATUSES)
        return failure in (self.IDEMPOTENT_FAILURES if idempotent else self.UNSAFE_FAILURES)

    def delay(self, attempt: int, retry_after: t.Optional[str] = None) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based).

        ``Retry-After`` (seconds or HTTP-date) wins, capped at ``retry_after_cap``; otherwise
        exponential backoff with full jitter: random in [0, min(backoff_cap, base * 2**(attempt-1))].
        """
        asked = parse_retry_after(retry_after, self._wall_clock())
        if asked is not None:
            return min(asked, self.retry_after_cap)
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(attempt - 1, 0)))
        return self._random() * ceiling


def _decode_json(content: bytes) -> t.Tuple[t.Optional[str], t.Any]:
    """Return (problem, None) for text that is not JSON, else (None, data); the problem never quotes the text."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "is not valid JSON (not UTF-8 text)", None
    try:
        return None, json.loads(text)
    except json.JSONDecodeError as exc:
        # A parse error at the very end (or inside a string that never ends) means the text was cut off.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return f"is not valid JSON: it was truncated (it ends after {len(content)} bytes)", None
        return f"is not valid JSON: malformed at line {exc.lineno} column {exc.colno} ({exc.msg})", None


def classify_exception(exc: BaseException) -> t.Tuple[str, str]:
    """Return (kind, reason) for an exception of requests; ``reason`` is a cleaned one-line text.

    Connection refused and DNS failures (urllib3 NewConnectionError) and connect timeouts happened
    before the request was sent; any other connection error may have happened after.
    """
    reason: t.Any = exc.args[0] if exc.args else exc
    # Unwrap urllib3's MaxRetryError to the actual cause.
    while getattr(reason, "reason", None) is not None and reason is not reason.reason:
        reason = reason.reason
    text = clean_text(str(reason), 200) or type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        kind = TLS_FAILED
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        kind = CONNECT_TIMEOUT
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        kind = READ_TIMEOUT
    elif isinstance(exc, requests.exceptions.ConnectionError):
        kind = CONNECT_FAILED if isinstance(reason, NewConnectionError) else CONNECTION_DROPPED
    elif isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        kind = INCOMPLETE_ANSWER
    elif isinstance(exc, requests.exceptions.Timeout):
        kind = READ_TIMEOUT
    else:
        kind = REQUEST_FAILED
    return kind, text


class UcsClient:
    """JSON client of the UCS API with authentication, safe retries and typed errors.

    Args:
        endpoint: the UCS base URL (https, validated; a path prefix is kept).
        credentials: from ``_auth.resolve_credentials``.
        validate_certs: verify the server certificate (ignored when ``ca_path`` is set).
        ca_path: a CA bundle to verify the server certificate with.
        timeout: seconds per attempt (connect and read).
        retries: how many times a retryable failure is repeated.
        sleep, clock: injected for tests (clock is monotonic).
        on_retry: called with a secret-free message before each retry (the module warns).
        session: a requests.Session (or compatible object with ``request()``); one is created if None.
        random: [0, 1) source of the backoff jitter.
        wall_clock: seconds since the epoch, for X-Sdk-Date and Retry-After dates.
    Raises:
        UcsValidationError: invalid endpoint, timeout or retries.

    ``calls`` lists ``(method, path, status or failure kind)`` of every attempt, IAM included.
    """

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials,
        *,
        validate_certs: bool = True,
        ca_path: t.Optional[str] = None,
        timeout: float = 30,
        retries: int = 3,
        sleep: t.Callable[[float], t.Any] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
        on_retry: t.Optional[t.Callable[[str], t.Any]] = None,
        session: t.Any = None,
        random: t.Callable[[], float] = _random.random,
        wall_clock: t.Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = validate_endpoint_url(endpoint, "endpoint")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UcsValidationError("timeout must be a positive number of seconds", option="timeout")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise UcsValidationError("retries must be 0 or more", option="retries")
        self.credentials = credentials
        self.timeout = timeout
        self.verify: t.Union[bool, str] = ca_path if ca_path else bool(validate_certs)
        self.policy = RetryPolicy(retries, random=random, wall_clock=wall_clock)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_retry = on_retry
        if session is None:
            if not HAS_REQUESTS:
                raise UcsError("The Python library requests is required to call the UCS API")
            session = requests.Session()
            self._own_session = True
        else:
            self._own_session = False
        self._session = session
        self._token: t.Optional[str] = None
        self.calls: t.List[t.Tuple[str, str, t.Union[int, str]]] = []

    def __repr__(self) -> str:
        return f"UcsClient(endpoint={self.endpoint!r}, credentials={self.credentials!r})"

    def close(self) -> None:
        """Close the session if this client created it."""
        if self._own_session:
            self._session.close()

    def __enter__(self) -> UcsClient:
        return self

    def __exit__(self, *exc_info: t.Any) -> None:
        self.close()

    # Public API

    def get_json(self, path: str, what: str, expected: t.Sequence[int] = (200,)) -> t.Dict[str, t.Any]:
        """GET ``path`` and return the JSON object of the answer.

        Args:
            path: the path below the endpoint, starting with ``/``.
            what: the operation for messages ("read fleet 1234").
            expected: the success statuses.
        Raises:
            UcsApiError, UcsAuthError, UcsConnectionError, UcsResponseError.
        """
        return self._call("GET", path, None, what, expected)

    def post_json(self, path: str, body: t.Optional[t.Mapping[str, t.Any]], what: str, expected: t.Sequence[int] = (200, 201)) -> t.Dict[str, t.Any]:
        """POST ``body`` as JSON to ``path`` and return the JSON object of the answer.

        Only failures that cannot have been processed are retried (see RetryPolicy).

        Raises:
            UcsApiError, UcsAuthError, UcsConnectionError (``may_have_reached_server`` tells
            whether the call may have been processed), UcsResponseError.
        """
        return self._call("POST", path, {} if body is None else body, what, expected)

    # Internals

    def _notify(self, message: str) -> None:
        if self._on_retry is not None:
            self._on_retry(message)

    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        return self.endpoint + path

    def _call(self, method: str, path: str, body: t.Optional[t.Mapping[str, t.Any]], what: str, expected: t.Sequence[int]) -> t.Dict[str, t.Any]:
        url = self._url(path)
        data = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        reauthenticated = False
        while True:
            response, attempts = self._send(_Request(method, url, what), data, authenticate=True)
            if response.status_code == 401 and self.credentials.method == "password" and not reauthenticated:
                # A 401 means UCS did not process the call, so repeating it once is safe, POST included.
                reauthenticated = True
                self._token = None
                self._notify(f"UCS answered HTTP 401 to {what}: obtaining a new IAM token and repeating the request once")
                continue
            return self._decode(_Request(method, url, what), response, expected, attempts)

    def _headers(self, method: str, url: str, data: t.Optional[bytes], authenticate: bool) -> t.Dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        if not authenticate:
            return headers
        creds = self.credentials
        if creds.method == "aksk":
            headers["Host"] = urlsplit(url).netloc
            # UCS is global: AK/SK requests name the account (domain), not a project.
            headers["X-Domain-Id"] = t.cast(str, creds.domain_id)
            if creds.is_temporary:
                headers["X-Security-Token"] = t.cast(str, creds.security_token)
            now = datetime.datetime.fromtimestamp(self._wall_clock(), datetime.timezone.utc)
            # Signed afresh for every attempt: X-Sdk-Date must be recent.
            return sign_request(method, url, headers, data, t.cast(str, creds.access_key), t.cast(str, creds.secret_key), now)
        if creds.method == "token":
            headers["X-Auth-Token"] = t.cast(str, creds.auth_token)
        else:
            headers["X-Auth-Token"] = self._iam_token()
        return headers

    def _send(self, req: _Request, data: t.Optional[bytes], *, authenticate: bool) -> t.Tuple[t.Any, int]:
        """Make attempts until an answer that is final under the retry policy; return it and the attempt count.

        Raises UcsConnectionError when no answer was obtained.
        """
        method, url, what = req
        path = urlsplit(url).path
        if authenticate and self.credentials.method == "password":
            self._iam_token()  # before the loop: the IAM call has its own attempts
        attempts = self.policy.attempts
        # Total budget of one call: what its attempts may take; sleeping never goes past it.
        deadline = self._clock() + self.timeout * attempts
        attempt = 0
        while True:
            attempt += 1
            headers = self._headers(method, url, data, authenticate)
            failure: t.Optional[t.Tuple[str, str]] = None
            try:
                response = self._session.request(method, url, headers=headers, data=data, timeout=self.timeout, verify=self.verify, allow_redirects=False)
            except requests.exceptions.RequestException as exc:
                failure = classify_exception(exc)
            # Errors are raised outside the except block: requests' exception holds the prepared request
            # (headers, IAM body with the password) and must not ride along as __context__.
            if failure is not None:
                kind, reason = failure
                self.calls.append((method, path, kind))
                delay = self._retry_delay(method, attempt, deadline, failure=kind)
                if delay is None:
                    raise self._connection_error(req, kind, reason, attempt)
                self._notify(f"Retrying {what} after {kind} (attempt {attempt + 1} of {attempts}) in {delay:.1f} s")
                self._sleep(delay)
                continue
            status = response.status_code
            self.calls.append((method, path, status))
            delay = self._retry_delay(method, attempt, deadline, status=status, retry_after=response.headers.get("Retry-After"))
            if delay is None:
                return response, attempt
            self._notify(f"Retrying {what} after HTTP {status} (attempt {attempt + 1} of {attempts}) in {delay:.1f} s")
            self._sleep(delay)

    def _retry_delay(
        self,
        method: str,
        attempt: int,
        deadline: float,
        *,
        status: t.Optional[int] = None,
        failure: t.Optional[str] = None,
        retry_after: t.Optional[str] = None,
    ) -> t.Optional[float]:
        if attempt >= self.policy.attempts or not self.policy.retryable(method, status=status, failure=failure):
            return None
        remaining = deadline - self._clock()
        if remaining <= 0:
            return None
        return min(self.policy.delay(attempt, retry_after), remaining)

    @staticmethod
    def _connection_error(req: _Request, kind: str, reason: str, attempts: int) -> UcsConnectionError:
        method, url, what = req.method, req.public_url, req.what
        host = urlsplit(url).netloc
        head = f"Failed to {what}" + (f" after {attempts} attempts" if attempts > 1 else "")
        may_have_reached = kind not in NOT_SENT_KINDS
        if kind == TLS_FAILED:
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason.lower():
                msg = (
                    f"{head}: the server certificate of {host} did not verify ({reason}). Set ca_path to the CA bundle that issued it "
                    "(or validate_certs=false, for testing only)"
                )
            else:
                msg = f"{head}: the TLS handshake with {host} failed ({reason})"
        elif kind in NOT_SENT_KINDS:
            msg = f"{head}: {kind} to {host} ({reason}). Check the endpoint and the network (proxy, firewall)"
        elif method.upper() not in IDEMPOTENT_METHODS:
            msg = (
                f"{head}: {kind} after the request was sent to {host} ({reason}). The request may have been processed by the server; "
                "it was not repeated because repeating it is not safe. Check the state before running again"
            )
        else:
            msg = f"{head}: {kind} from {host} ({reason})"
        return UcsConnectionError(msg, method=method, url=url, may_have_reached_server=may_have_reached, kind=kind, attempts=attempts)

    @staticmethod
    def _api_error(req: _Request, response: t.Any, attempts: int, *, hint: t.Optional[str] = None, auth: bool = False) -> UcsError:
        method, url, what = req.method, req.public_url, req.what
        status = response.status_code
        body = parse_error_body(response.content)
        request_id = request_id_from_headers(response.headers) or body.request_id
        msg = http_failure_message(
            what, status, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id, excerpt=body.excerpt, attempts=attempts, hint=hint
        )
        if auth:
            return UcsAuthError(
                msg, http_status=status, http_method=method, http_url=url, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id
            )
        return UcsApiError(
            msg, status=status, method=method, url=url, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id, attempts=attempts
        )

    def _auth_hint(self) -> str:
        creds = self.credentials
        if creds.method == "aksk":
            hint = f"UCS rejected the request signed with {creds.describe()}: check access_key/secret_key and domain_id, and that this host's clock is right"
            if creds.is_temporary:
                hint += "; temporary credentials expire: obtain a new access_key/secret_key/security_token set"
            return hint
        if creds.method == "token":
            return "UCS rejected the IAM token (auth_token): the token expired or is invalid; obtain a new one or use IAM password auth"
        return f"UCS rejected a new IAM token of user {creds.username} in domain {creds.domain_name}: check the user's permissions for UCS"

    def _decode(self, req: _Request, response: t.Any, expected: t.Sequence[int], attempts: int) -> t.Dict[str, t.Any]:
        method, url, what = req.method, req.public_url, req.what
        status = response.status_code
        if status == 401:
            raise self._api_error(req, response, attempts, hint=self._auth_hint(), auth=True)
        if 300 <= status < 400:
            raise self._api_error(req, response, attempts, hint="Redirects are not followed: check the endpoint")
        if not 200 <= status < 300:
            raise self._api_error(req, response, attempts)
        request_id = request_id_from_headers(response.headers)
        suffix = f" (request id {request_id})" if request_id else ""
        if method.upper() not in IDEMPOTENT_METHODS:
            suffix += "; the request was processed but its answer cannot be used"
        if status not in expected:
            raise UcsResponseError(
                f"Failed to {what}: unexpected HTTP {status} (expected {' or '.join(str(code) for code in expected)}){suffix}",
                status=status,
                method=method,
                url=url,
                request_id=request_id,
            )
        return self._json_object(req, response.content, status=status, request_id=request_id, suffix=suffix)

    @staticmethod
    def _json_object(req: _Request, content: t.Optional[bytes], *, status: int, request_id: t.Optional[str], suffix: str) -> t.Dict[str, t.Any]:
        def fail(problem: str) -> UcsResponseError:
            return UcsResponseError(
                f"Failed to {req.what}: the HTTP {status} answer {problem}{suffix}", status=status, method=req.method, url=req.public_url, request_id=request_id
            )

        content = content or b""
        if not content.strip():
            raise fail("is empty; a JSON object was expected")
        problem, data = _decode_json(content)
        if problem is not None:
            raise fail(problem)
        if not isinstance(data, dict):
            raise fail(f"is JSON but not an object (got {type(data).__name__})")
        return data

    def _iam_token(self) -> str:
        """Return the cached IAM token, obtaining it with one IAM call (POST retry rules) the first time.

        Raises:
            UcsAuthError: IAM refused or failed; never shows the password.
        """
        if self._token is not None:
            return self._token
        creds = self.credentials
        url = t.cast(str, creds.iam_token_url)
        what = f"obtain an IAM token for user {creds.username} in domain {creds.domain_name}"
        domain = {"name": creds.domain_name}
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": {"name": creds.username, "password": creds.password, "domain": domain}}},
                "scope": {"domain": domain},
            }
        }
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        req = _Request("POST", url, what)
        response, attempts = self._send(req, data, authenticate=False)
        del data, body
        status = response.status_code
        if status == 401:
            raise self._api_error(
                req,
                response,
                attempts,
                hint=f"IAM rejected the username/password for domain {creds.domain_name}: check username, password and domain_name",
                auth=True,
            )
        if not 200 <= status < 300:
            raise self._api_error(req, response, attempts, hint="Check iam_endpoint (or region)", auth=True)
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise UcsAuthError(
                f"Failed to {what}: IAM answered HTTP {status} without an X-Subject-Token header. Check iam_endpoint (or region)",
                http_status=status,
                http_method="POST",
                http_url=url,
                request_id=request_id_from_headers(response.headers),
            )
        self._token = token
        return token
