# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Which failed HTTP attempts of ``_http.UcsClient`` may be repeated, and how long to wait first.

The failure kinds of an attempt that got no answer, the idempotent methods, ``Retry-After``
parsing and ``RetryPolicy`` (pure apart from an injected random source). Stdlib only.
"""

import datetime
import email.utils
import random as _random
import time
import typing as t

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
