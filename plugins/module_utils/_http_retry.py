# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Which failed HTTP attempts of ``_http.UcsClient`` may be repeated, and how long to wait first.

The failure kinds of an attempt that got no answer, ``Retry-After`` parsing and ``RetryPolicy``
(pure apart from an injected random source). Stdlib only.

Whether a request may be repeated is a property of the request, not of its method: a read (GET)
and the IAM token request (a POST that creates nothing a repetition could duplicate) are
repeatable; a request that may create something (POST /cert, and the lifecycle writes to come) is
not.
"""

import datetime
import email.utils
import random as _random
import time
import typing as t

# Failure kinds of a request that got no answer.
CONNECT_TIMEOUT = "connect timeout"
CONNECT_FAILED = "connection failed"
READ_TIMEOUT = "read timeout"
CONNECTION_DROPPED = "connection dropped"
INCOMPLETE_ANSWER = "incomplete answer"
TLS_FAILED = "TLS failure"
# requests refused to send the request (a header value with a line break, say): nothing was sent.
INVALID_REQUEST = "invalid request"
REQUEST_FAILED = "request error"
# These happen before a byte of the request reached the server.
NOT_SENT_KINDS = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED, TLS_FAILED, INVALID_REQUEST))


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

    Retried for a repeatable request (a read, the IAM token request): connection errors,
    timeouts, an answer cut off, and HTTP 429, 500, 502, 503, 504. Retried for a request that may
    create something (POST /cert): only what cannot have been processed: HTTP 429 (throttled
    before processing) and failures before the request was sent (connect timeout, connection
    refused, DNS failure). Such a request that timed out while reading, lost its connection after
    sending, or got a 5xx may have been processed, so it is never repeated.
    """

    # The server failed, perhaps after it did the work.
    SERVER_FAILURES = frozenset((500, 502, 503, 504))
    REPEATABLE_STATUSES = SERVER_FAILURES | {429}
    UNSAFE_STATUSES = frozenset((429,))
    REPEATABLE_FAILURES = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED, READ_TIMEOUT, CONNECTION_DROPPED, INCOMPLETE_ANSWER))
    UNSAFE_FAILURES = frozenset((CONNECT_TIMEOUT, CONNECT_FAILED))
    BACKOFF_BASE = 1.0
    # Caps: a server asking for minutes (or a buggy Retry-After) must not stall the play.
    BACKOFF_CAP = 30.0
    RETRY_AFTER_CAP = 60.0

    def __init__(self, retries: int = 3, *, random: t.Callable[[], float] = _random.random, wall_clock: t.Callable[[], float] = time.time) -> None:
        self.retries = retries
        self._random = random
        self._wall_clock = wall_clock

    @property
    def attempts(self) -> int:
        """The maximum number of attempts (retries + 1)."""
        return self.retries + 1

    def retryable(self, repeatable: bool, *, status: t.Optional[int] = None, failure: t.Optional[str] = None) -> bool:
        """Return whether an attempt that ended with ``status`` (an answer) or ``failure`` (a kind) may be repeated."""
        if status is not None:
            return status in (self.REPEATABLE_STATUSES if repeatable else self.UNSAFE_STATUSES)
        return failure in (self.REPEATABLE_FAILURES if repeatable else self.UNSAFE_FAILURES)

    def delay(self, attempt: int, retry_after: t.Optional[str] = None) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based).

        ``Retry-After`` (seconds or HTTP-date) wins, capped at ``RETRY_AFTER_CAP``; otherwise
        exponential backoff with full jitter: random in [0, min(BACKOFF_CAP, BACKOFF_BASE * 2**(attempt-1))].
        """
        asked = parse_retry_after(retry_after, self._wall_clock())
        if asked is not None:
            return min(asked, self.RETRY_AFTER_CAP)
        ceiling = min(self.BACKOFF_CAP, self.BACKOFF_BASE * (2 ** max(attempt - 1, 0)))
        return self._random() * ceiling
