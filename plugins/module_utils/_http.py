# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""UcsClient: the only code of the collection that makes HTTP requests.

It authenticates (AK/SK signing, IAM token, IAM password), retries only where that is safe, and
turns every failure into a typed error from ``_errors`` whose message says what failed and why,
without any secret.

What reaches the process from the network is bounded: ``timeout`` is a deadline for each whole
attempt (connect, send, receive), an answer body is read up to ``MAX_ANSWER_BYTES`` after
decompression (a gzip bomb is never inflated beyond it), and JSON deeper than
``MAX_JSON_DEPTH`` is refused before it is parsed. Only our authentication reaches UCS: requests'
``trust_env`` is off (so ``~/.netrc`` never adds or replaces ``Authorization``) and the proxy
variables are resolved here instead.

Reading an answer under those bounds is in ``_http_answer``; the failure kinds and the retry policy
are in ``_http_retry``.
"""

import datetime
import json
import os
import random as _random
import re
import socket
import threading
import time
import traceback
import typing as t
from urllib.parse import urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import Credentials
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._endpoints import validate_endpoint_url
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import (
    UcsApiError,
    UcsAuthError,
    UcsConnectionError,
    UcsError,
    clean_text,
    mask_secrets,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._http_answer import (
    ACCEPT_ENCODING,
    MAX_ANSWER_BYTES,
    MAX_JSON_DEPTH,
    AnswerSource,
    JsonAnswer,
    _Answer,
    _close_quietly,
    _decode_json,
    _Unusable,
    http_failure_message,
    json_too_deep,
    json_type,
    parse_error_body,
    read_bounded,
    request_id_from_headers,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._http_retry import (
    CONNECT_FAILED,
    CONNECT_TIMEOUT,
    CONNECTION_DROPPED,
    INCOMPLETE_ANSWER,
    INVALID_REQUEST,
    NOT_SENT_KINDS,
    READ_TIMEOUT,
    REQUEST_FAILED,
    TLS_FAILED,
    RetryPolicy,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import encode_query, sign_request

try:
    import requests
    import requests.utils
    from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

COLLECTION_VERSION = "0.1.0"
USER_AGENT = f"ucs_cloud.fleet/{COLLECTION_VERSION}"
# Exactly what huaweicloudsdkcore sends (no charset parameter: JSON is UTF-8 by definition).
JSON_CONTENT_TYPE = "application/json"
# Extra wait for requests' own connect/read timeouts to report their precise kind first.
_GRACE = 0.25
# An IAM token as a header value: visible ASCII, no white space (IAM tokens are base64-like text).
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
# What the messages of failed requests say about running again.
MAY_HAVE_BEEN_PROCESSED = (
    "The request may have been processed by the server; it was not repeated because repeating it is not safe. Check the state before running again"
)
SAFE_TO_REPEAT = "Running again is safe: this request changes nothing in the cloud"


class _Request(t.NamedTuple):
    method: str
    url: str
    what: str
    # False for a request that may create something (POST /cert): see RetryPolicy.
    repeatable: bool


def tls_verify(validate_certs: bool, ca_path: t.Optional[str]) -> t.Union[bool, str]:
    """Return requests' ``verify`` under the one rule: ``validate_certs=false`` wins, then ``ca_path``.

    validate_certs=false turns verification off even when ca_path is set (AWX and the
    environment may set UCS_CA_PATH for every job); ca_path is then ignored. With verification on
    and no ca_path, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE still apply, as they did while requests
    read the environment itself.
    """
    if not validate_certs:
        return False
    if ca_path:
        return ca_path
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def tls_warning(validate_certs: bool, ca_path: t.Optional[str], label: t.Callable[[str], str] = str) -> t.Optional[str]:
    """Return the warning the module must show for these TLS options, or None."""
    if validate_certs:
        return None
    ignored = f", so {label('ca_path')} is ignored" if ca_path else ""
    return f"{label('validate_certs')} is false{ignored}: the identity of the UCS endpoint is not checked. Use this for testing only."


def environ_proxies(url: str) -> t.Dict[str, str]:
    """Return the proxies that HTTPS_PROXY/HTTP_PROXY/ALL_PROXY and NO_PROXY give for ``url``.

    requests would do this itself with ``trust_env``, which also reads ``~/.netrc``: that is off.
    """
    return dict(requests.utils.get_environ_proxies(url, no_proxy=None))


def classify_exception(exc: BaseException, secrets: t.Collection[str] = ()) -> t.Tuple[str, str]:
    """Return (kind, reason) for an exception of requests; ``reason`` is a cleaned one-line text, ``secrets`` masked.

    Connection refused and DNS failures (urllib3 NewConnectionError) and connect timeouts happened
    before the request was sent; any other connection error may have happened after. requests
    refuses to send an invalid header value (a token with a line break) and quotes it: masked.
    """
    reason: t.Any = exc.args[0] if exc.args else exc
    # Unwrap urllib3's MaxRetryError to the actual cause.
    while getattr(reason, "reason", None) is not None and reason is not reason.reason:
        reason = reason.reason
    text = clean_text(str(reason), 200, secrets) or type(exc).__name__
    if isinstance(exc, (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL)):
        kind = INVALID_REQUEST
    elif isinstance(exc, requests.exceptions.SSLError):
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


def _read_failure(exc: BaseException, secrets: t.Collection[str]) -> t.Tuple[str, str]:
    """(kind, reason) for an error while reading a body (urllib3 and socket errors, not requests')."""
    text = clean_text(str(exc), 200, secrets) or type(exc).__name__
    if isinstance(exc, (ReadTimeoutError, socket.timeout)):
        return READ_TIMEOUT, text
    if isinstance(exc, ProtocolError):
        return INCOMPLETE_ANSWER, text
    return CONNECTION_DROPPED, text


class UcsClient:
    """JSON client of the UCS API with authentication, safe retries and typed errors.

    Args:
        endpoint: the UCS base URL (https, validated; a path prefix is kept).
        credentials: from ``_auth.resolve_credentials``.
        validate_certs, ca_path: server certificate verification, one rule (see ``tls_verify``):
            validate_certs=false wins and ca_path is then ignored (``tls_warning`` says so).
        timeout: the deadline of each attempt, in seconds: connect, send and receive together.
        retries: how many times a retryable failure is repeated.
        sleep, clock: injected for tests (clock is monotonic).
        on_retry: called with a secret-free message before each retry (the module warns).
        on_secret: called with every secret value the client holds or obtains (the credentials'
            secrets at once, each IAM token when it is issued); the module passes
            ``module.no_log_values.add`` so that Ansible masks them in anything it prints.
        session: a requests.Session (or compatible object with ``request()``); one is created if None.
        random: [0, 1) source of the backoff jitter.
        wall_clock: seconds since the epoch, for X-Sdk-Date and Retry-After dates.
    Raises:
        UcsValidationError: invalid endpoint.
    """

    max_answer_bytes = MAX_ANSWER_BYTES

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
        on_secret: t.Optional[t.Callable[[str], t.Any]] = None,
        session: t.Any = None,
        random: t.Callable[[], float] = _random.random,
        wall_clock: t.Callable[[], float] = time.time,
        label: t.Callable[[str], str] = str,
    ) -> None:
        # How the hints of messages name options (the role names its variables).
        self.label = label
        self.endpoint = validate_endpoint_url(endpoint, label("endpoint"))
        self.credentials = credentials
        self.timeout = timeout
        self.verify = tls_verify(validate_certs, ca_path)
        self.policy = RetryPolicy(retries, random=random, wall_clock=wall_clock)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_retry = on_retry
        self._on_secret = on_secret
        self._secrets: t.Set[str] = set()
        for value in credentials.sensitive_values():
            self._add_secret(value)
        if session is None:
            if not HAS_REQUESTS:
                raise UcsError("The Python library requests is required to call the UCS API")
            session = requests.Session()
            # No ~/.netrc (it would replace the signed Authorization header), no environment CA
            # or proxy lookups behind our back: tls_verify and environ_proxies do those explicitly.
            session.trust_env = False
        self._session = session
        self._token: t.Optional[str] = None

    # Public API

    def get_json(self, path: str, what: str, query: t.Sequence[t.Tuple[str, t.Any]] = ()) -> JsonAnswer:
        """GET ``path`` and return the JSON object of the (HTTP 200) answer.

        Args:
            path: the path below the endpoint, starting with ``/``.
            what: the operation for messages ("read fleet 1234").
            query: (name, value) pairs, sent as the SDK sends them (``_signer.encode_query``); never in messages.
        Returns:
            The object, which names this request when a field read with ``field()`` has another type.
        Raises:
            UcsApiError, UcsAuthError, UcsConnectionError, UcsResponseError.
        """
        return self._call(_Request("GET", self._url(path), what, repeatable=True), None, (200,), query=query)

    def post_json(self, path: str, body: t.Optional[t.Mapping[str, t.Any]], what: str) -> JsonAnswer:
        """POST ``body`` as JSON to ``path`` (a request that may create something) and return the JSON object of the (200 or 201) answer.

        Only failures that cannot have been processed are retried (see RetryPolicy); a message
        about any other failure says that the request may have been processed.

        Raises:
            UcsApiError, UcsAuthError, UcsConnectionError, UcsResponseError.
        """
        return self._call(_Request("POST", self._url(path), what, repeatable=False), {} if body is None else body, (200, 201))

    def send_without_body(self, method: str, path: str, what: str, expected: t.Sequence[int]) -> JsonAnswer:
        """A POST or DELETE without a body, as the SDK sends EnableFederation and DisableFederation (a
        request that may change something: POST retry rules, "may have been processed" messages)."""
        return self._call(_Request(method, self._url(path), what, repeatable=False), None, expected)

    # Internals

    def _add_secret(self, value: t.Optional[str]) -> None:
        if value and value not in self._secrets:
            self._secrets.add(value)
            if self._on_secret is not None:
                self._on_secret(value)

    def _notify(self, message: str) -> None:
        if self._on_retry is not None:
            self._on_retry(mask_secrets(message, self._secrets))

    def _url(self, path: str) -> str:
        if not path.startswith("/") or "?" in path or "#" in path:
            # Messages and error fields show the URL: a query string could carry anything.
            raise ValueError("path must start with '/' and have no query string or fragment")
        return self.endpoint + path

    def _call(self, req: _Request, body: t.Optional[t.Mapping[str, t.Any]], expected: t.Sequence[int], *, query: t.Any = ()) -> JsonAnswer:
        data = None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        reauthenticated = False
        while True:
            answer, attempts = self._send(req, data, authenticate=True, query=encode_query(query))
            if answer.status == 401 and self.credentials.method == "password" and not reauthenticated:
                # A 401 means UCS did not process the call, so repeating it once is safe, POST included.
                reauthenticated = True
                self._token = None
                self._notify(f"UCS answered HTTP 401 to {req.what}: obtaining a new IAM token and repeating the request once")
                continue
            return self._decode(req, answer, expected, attempts)

    def _headers(self, method: str, url: str, data: t.Optional[bytes], authenticate: bool) -> t.Dict[str, str]:
        headers = self._signed_headers(method, url, data, authenticate)
        # Not signed, as the SDK does not sign what requests adds (a proxy may rewrite it).
        headers["Accept-Encoding"] = ACCEPT_ENCODING
        return headers

    def _signed_headers(self, method: str, url: str, data: t.Optional[bytes], authenticate: bool) -> t.Dict[str, str]:
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

    def _exchange(self, method: str, url: str, headers: t.Dict[str, str], data: t.Optional[bytes], box: t.Dict[str, t.Any]) -> None:
        """One attempt, run in a worker thread: the answer read in full, or what went wrong, into ``box``.

        Exceptions are reduced to (kind, reason) here: requests' exceptions hold the prepared
        request (headers, the IAM body with the password) and must not travel further.
        """
        try:
            response = self._session.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=(self.timeout, self.timeout),
                verify=self.verify,
                allow_redirects=False,
                stream=True,
                proxies=environ_proxies(url),
            )
        except requests.exceptions.RequestException as exc:
            box["failure"] = classify_exception(exc, self._secrets)
            return
        except Exception as exc:
            # http.client quotes an invalid header value too (b'...'): masked like any other text.
            box["failure"] = (REQUEST_FAILED, f"{type(exc).__name__}: {clean_text(str(exc), 200, self._secrets)}")
            return
        box["response"] = response
        try:
            body = read_bounded(response, self.max_answer_bytes, self._secrets)
        except _Unusable as exc:
            box["unusable"] = exc
            _close_quietly(response)
            return
        except Exception as exc:
            box["failure"] = _read_failure(exc, self._secrets)
            _close_quietly(response)
            return
        box["answer"] = _Answer(response.status_code, response.headers, body)

    def _attempt(self, method: str, url: str, headers: t.Dict[str, str], data: t.Optional[bytes]) -> t.Union[_Answer, _Unusable, t.Tuple[str, str]]:
        """Make one attempt within the deadline ``timeout``: an answer, a refused answer or (kind, reason).

        Socket timeouts bound each read only, so a server trickling bytes could hold a read
        forever; the attempt runs in a thread that is abandoned (its socket shut) at the deadline.
        """
        box: t.Dict[str, t.Any] = {}
        worker = threading.Thread(target=self._exchange, args=(method, url, headers, data, box), name="ucs-request", daemon=True)
        worker.start()
        worker.join(self.timeout + _GRACE)
        if worker.is_alive():
            if "response" in box:
                _close_quietly(box["response"])
            # Headers may or may not have been sent: a request that may create something must count as possibly processed.
            return READ_TIMEOUT, f"no complete answer within the timeout of {self.timeout} s"
        if "answer" in box:
            return t.cast(_Answer, box["answer"])
        if "unusable" in box:
            return t.cast(_Unusable, box["unusable"])
        return t.cast(t.Tuple[str, str], box.get("failure", (REQUEST_FAILED, "no answer")))

    def _send(self, req: _Request, data: t.Optional[bytes], *, authenticate: bool, query: str = "") -> t.Tuple[_Answer, int]:
        """Make attempts until an answer that is final under the retry policy; return it and the attempt count.

        Raises UcsConnectionError when no answer was obtained, UcsResponseError for an answer refused while reading.
        """
        method, url, what, repeatable = req
        target = f"{url}?{query}" if query else url  # sent and signed; req.url (messages, errors) has no query
        if authenticate and self.credentials.method == "password":
            self._iam_token()  # before the loop: the IAM call has its own attempts
        attempts = self.policy.attempts
        # Total budget of one call: what its attempts may take; sleeping never goes past it.
        deadline = self._clock() + self.timeout * attempts
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, target, self._headers(method, target, data, authenticate), data)
            if isinstance(outcome, _Unusable):
                raise self._source(req, outcome.status, outcome.headers).refuse(outcome.problem)
            if not isinstance(outcome, _Answer):
                kind, reason = outcome
                delay = self._retry_delay(repeatable, attempt, deadline, failure=kind)
                if delay is None:
                    raise self._connection_error(req, kind, reason, attempt)
                self._notify(f"Retrying {what} after {kind} (attempt {attempt + 1} of {attempts}) in {delay:.1f} s")
                self._sleep(delay)
                continue
            status = outcome.status
            delay = self._retry_delay(repeatable, attempt, deadline, status=status, retry_after=outcome.headers.get("Retry-After"))
            if delay is None:
                return outcome, attempt
            self._notify(f"Retrying {what} after HTTP {status} (attempt {attempt + 1} of {attempts}) in {delay:.1f} s")
            self._sleep(delay)

    def _retry_delay(
        self,
        repeatable: bool,
        attempt: int,
        deadline: float,
        *,
        status: t.Optional[int] = None,
        failure: t.Optional[str] = None,
        retry_after: t.Optional[str] = None,
    ) -> t.Optional[float]:
        if attempt >= self.policy.attempts or not self.policy.retryable(repeatable, status=status, failure=failure):
            return None
        remaining = deadline - self._clock()
        if remaining <= 0:
            return None
        return min(self.policy.delay(attempt, retry_after), remaining)

    def _source(self, req: _Request, status: int, headers: t.Mapping[str, str]) -> AnswerSource:
        """The request an answer came from, for the messages about it."""
        return AnswerSource(req.what, req.method, req.url, status, request_id_from_headers(headers, self._secrets), req.repeatable)

    def _connection_error(self, req: _Request, kind: str, reason: str, attempts: int) -> UcsConnectionError:
        method, url, what, repeatable = req
        host = urlsplit(url).netloc
        head = f"Failed to {what}" + (f" after {attempts} attempts" if attempts > 1 else "")
        if kind == TLS_FAILED:
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason.lower():
                msg = (
                    f"{head}: the server certificate of {host} did not verify ({reason}). Set {self.label('ca_path')} (or UCS_CA_PATH) to the "
                    f"CA bundle that issued it (or {self.label('validate_certs')}=false, for testing only)"
                )
            else:
                msg = f"{head}: the TLS handshake with {host} failed ({reason})"
        elif kind == INVALID_REQUEST:
            msg = (
                f"{head}: the request was not sent to {host} ({reason}). An option or environment variable holds a value that cannot be "
                "sent in an HTTP header: remove white space and line breaks around credentials and IDs"
            )
        elif kind in NOT_SENT_KINDS:
            msg = f"{head}: {kind} to {host} ({reason}). Check the endpoint and the network (proxy, firewall)"
        elif not repeatable:
            msg = f"{head}: {kind} after the request was sent to {host} ({reason}). {MAY_HAVE_BEEN_PROCESSED}"
        else:
            msg = f"{head}: {kind} from {host} ({reason}). {SAFE_TO_REPEAT}"
        return UcsConnectionError(msg, http_method=method, http_url=url)

    def _api_error(self, req: _Request, answer: _Answer, attempts: int, *, hint: t.Optional[str] = None, auth: bool = False) -> UcsError:
        method, url, what, repeatable = req
        status = answer.status
        if status in RetryPolicy.SERVER_FAILURES:
            note = SAFE_TO_REPEAT if repeatable else MAY_HAVE_BEEN_PROCESSED
            hint = f"{hint}. {note}" if hint else note
        # Secrets are masked inside the parser, before any excerpt is cut: no prefix survives.
        body = parse_error_body(answer.body, self._secrets)
        request_id = request_id_from_headers(answer.headers, self._secrets) or body.request_id
        msg = http_failure_message(
            what, status, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id, excerpt=body.excerpt, attempts=attempts, hint=hint
        )
        if auth:
            return UcsAuthError(
                msg, http_status=status, http_method=method, http_url=url, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id
            )
        return UcsApiError(msg, status=status, method=method, url=url, error_code=body.error_code, error_msg=body.error_msg, request_id=request_id)

    def _auth_hint(self) -> str:
        creds = self.credentials
        if creds.method == "aksk":
            keys = f"{self.label('access_key')}/{self.label('secret_key')}"
            hint = f"UCS rejected the request signed with {creds.describe()}: check {keys} and {self.label('domain_id')}, and that this host's clock is right"
            if creds.is_temporary:
                hint += f"; temporary credentials expire: obtain a new {keys}/{self.label('security_token')} set"
            return hint
        if creds.method == "token":
            return f"UCS rejected the IAM token ({self.label('auth_token')}): the token expired or is invalid; obtain a new one or use IAM password auth"
        return f"UCS rejected a new IAM token of user {creds.username} in domain {creds.domain_name}: check the user's permissions for UCS"

    def _decode(self, req: _Request, answer: _Answer, expected: t.Sequence[int], attempts: int) -> JsonAnswer:
        status = answer.status
        if status == 401:
            raise self._api_error(req, answer, attempts, hint=self._auth_hint(), auth=True)
        if 300 <= status < 400:
            raise self._api_error(req, answer, attempts, hint="Redirects are not followed: check the endpoint")
        if not 200 <= status < 300:
            raise self._api_error(req, answer, attempts)
        source = self._source(req, status, answer.headers)
        if status not in expected:
            raise source.refuse(f"was not expected (the API answers {' or '.join(str(code) for code in expected)})")
        if req.method == "DELETE":
            return JsonAnswer({}, source)  # DisableFederation documents its 200 body only as "String": nothing in it is used
        content = answer.body
        if not content.strip():
            raise source.refuse("is empty; a JSON object was expected")
        if json_too_deep(content):
            # json.loads would raise RecursionError (or worse, exhaust the stack) on such nesting.
            raise source.refuse(f"is JSON nested deeper than {MAX_JSON_DEPTH} levels, which no UCS answer is")
        problem, data = _decode_json(content)
        if problem is not None:
            raise source.refuse(problem)
        if not isinstance(data, dict):
            raise source.refuse(f"is JSON but not an object (it is {json_type(data)})")
        return JsonAnswer(data, source)

    def _iam_token(self) -> str:
        """Return the cached IAM token, obtaining it with one IAM call (POST retry rules) the first time.

        The token is a secret: it is registered (``on_secret``) before anything can print it.

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
        # A token request creates nothing that a repetition could duplicate: retried like a read.
        req = _Request("POST", url, what, repeatable=True)
        answer, attempts = self._send(req, data, authenticate=False)
        del data, body
        status = answer.status
        token = answer.headers.get("X-Subject-Token") if 200 <= status < 300 else None
        self._add_secret(token)
        if status == 401:
            raise self._api_error(
                req,
                answer,
                attempts,
                hint=f"IAM rejected the username/password for domain {creds.domain_name}: check username, password and domain_name",
                auth=True,
            )
        if not 200 <= status < 300:
            raise self._api_error(req, answer, attempts, hint=f"Check {self.label('iam_endpoint')} (or {self.label('region')})", auth=True)
        if not token or not _TOKEN_RE.fullmatch(token):
            # The one field of the IAM answer that is read: a token has to go into a header as it is.
            problem = "without an X-Subject-Token header" if not token else "with an X-Subject-Token header that is not a token (visible ASCII, no spaces)"
            source = self._source(req, status, answer.headers)
            suffix = f" (request id {source.request_id})" if source.request_id else ""
            raise UcsAuthError(
                f"Failed to {what}: IAM answered HTTP {status} to POST {urlsplit(url).path} {problem}{suffix}"
                f". Check {self.label('iam_endpoint')} (or {self.label('region')})",
                http_status=status,
                http_method="POST",
                http_url=url,
                request_id=source.request_id,
            )
        self._token = token
        return token
