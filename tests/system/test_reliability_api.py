"""Reliability suite, API and input: faults of the UCS API, TLS, and bad input.

Every scenario is a real ansible-playbook run of ucs_federation_cert against the simulator.

To keep the file fast, scenarios with the same ansible-playbook options and controller
environment share a run: each one is an inventory host of its own with its own fleet (created in
the simulator), its own faults (scoped to that fleet), its own dest and its own module options, and
the hosts run in parallel. The simulator logs the fleet of every request, so each scenario's
request counts, connection, warnings and result are still its own. Scenarios that authenticate
with an IAM token or password run alone (IAM calls name no fleet).

What is checked, exactly as _http.py's RetryPolicy has it:
- GET (read the fleet) is retried on 429, 500, 502, 503, 504, connection failures, dropped
  connections and timeouts: an always-failing GET is tried exactly 1 + retries times.
- POST /cert is retried only on 429 and on failures before the request was sent (refused
  connection, connect timeout). A 5xx, a read timeout or a dropped connection after sending is
  never repeated. A 401 is repeated once, with a new token, when the module obtains the token
  itself (IAM password); never with a token the user gave.
- Failures name the cause, the HTTP status and the UCS error code (result fields http_status and
  error_code where the module sets them); dest keeps its bytes, mode and mtime; the fleet has at
  most one connection and one /cert call; nothing secret is in any output or log.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
import typing as t
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import AnsibleRunner, Run, Simulator, assert_no_secrets, assert_nothing_leaked, report_figure, secrets_in_kubeconfig
from sshd import BOB, SshServer, local_host_vars, sshd, write_inventory  # noqa: F401  # pylint: disable=unused-import
from test_ucs_federation_cert import MODULE, failure, one_task_playbook, run_module, task_args, writes

FAULTS = pytest.mark.reliability(
    "faults",
    "a failing UCS API is retried only where that is safe and within bounds, then fails with its cause, status and code, leaving dest as it was",
)
TLS = pytest.mark.reliability(
    "tls",
    "the identity of the UCS endpoint is verified with the right CA, and every way of not verifying it warns",
)
BAD_INPUT = pytest.mark.reliability(
    "bad-input",
    "invalid options are rejected before any API call with a message that names the option and the rule",
)
TYPED_ANSWERS = pytest.mark.reliability(
    "typed-answers",
    "a UCS or IAM answer with a field of another type than documented fails naming the request, the field and the request id; dest is left as it was",
)

VERBOSE = ("-vvvv", "--diff")
FORKS = "10"
# Small enough for a fast suite; the budget of a call (timeout x attempts) still leaves room for
# the backoff sleeps (at most 1 + 2 s), so the number of attempts is exact.
TIMEOUT = 2
RETRIES = 2
# A kubeconfig of another cluster: the module merges into dest, so a failure must leave it as it
# was and a success must keep its cluster (a file that cannot be merged into fails before any call).
PREVIOUS = b"apiVersion: v1\nkind: Config\nclusters:\n- name: previous\n  cluster:\n    server: https://previous.example.test:6443\n"
PREVIOUS_MODE = 0o640
PREVIOUS_MTIME = 1_700_000_000
MAY_HAVE_BEEN_PROCESSED = (
    "The request may have been processed by the server; it was not repeated because repeating it is not safe. Check the state before running again"
)
SAFE_TO_REPEAT = "Running again is safe: this request changes nothing in the cloud"
UNUSABLE = "Failed to create the federation connection of fleet {fleet}: the HTTP 201 answer to POST /v1/clustergroups/{fleet}/cert from 127.0.0.1:"
UNUSABLE_PROBLEM = " is a kubeconfig kubectl cannot use: "
READ = "read fleet {fleet}"
CREATE = "create the federation connection of fleet {fleet}"
RETRY_RE = re.compile(r"Retrying (read fleet \S+|create the federation connection of fleet \S+) after (.+?) \(attempt (\d+) of (\d+)\) in (\d+\.\d) s")
REAUTH_RE = re.compile(r"UCS answered HTTP 401 to (read fleet \S+|create the federation connection of fleet \S+): obtaining a new IAM token")


@dataclass(frozen=True)
class Case:
    """One scenario and what must come of it.

    Set-up: ``fault`` (a simulator fault name) on ``operation`` of the scenario's fleet, ``count``
    times (-1: always), with ``retry_after``/``delay``; module ``args`` over the defaults (None
    removes one; strings may name ``{fleet}``, ``{dest}``, ``{ca_path}``...); task ``env``
    (never secrets: -vvvv prints it); ``method`` aksk, password or token, whose options are given
    unless ``credentials`` names others; ``fleet`` federated, plain, not-ready or unknown;
    ``endpoint`` sim or refused (a closed local port); ``dest`` file (existing, to be left
    alone), directory, missing-parent or file-parent; ansible-playbook ``options``; ``controller_env``.

    Expectations: ``ok`` or a failure whose message holds every part of ``msg`` and whose
    http_status/error_code are ``status``/``code`` (None: absent); ``gets``/``posts`` are the
    exact numbers of reads of the fleet and POST /cert calls the simulator logs for the fleet,
    ``iam`` of IAM token requests (password/token scenarios run alone); ``cert_calls`` the /cert
    calls the simulator processed (0: no connection); ``retried`` the cause of each retry in
    order, ``delays`` their "in N s" when known exactly; ``reauth`` the request repeated once with
    a new IAM token; ``warns`` other warnings; ``absent`` what the message must not say.
    ``fault_args`` are further options of the fault (``field`` and ``value`` of wrong-type).
    """

    id: str
    fault: str | None = None
    operation: str = "get_fleet"
    count: int = 1
    retry_after: float | None = None
    delay: float | None = None
    fault_args: Mapping[str, Any] = field(default_factory=dict)
    args: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    method: str = "aksk"
    credentials: tuple[str, ...] | None = None
    fleet: str = "federated"
    endpoint: str = "sim"
    dest: str = "file"
    options: tuple[str, ...] = VERBOSE
    controller_env: str = "none"
    ok: bool = False
    gets: int = 1
    posts: int = 0
    iam: int = 0
    cert_calls: int = 0
    retried: tuple[str, ...] = ()
    delays: tuple[str, ...] | None = None
    reauth: str | None = None
    msg: tuple[str, ...] = ()
    status: int | None = None
    code: str | None = None
    warns: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()

    @property
    def group(self) -> tuple[Any, ...]:
        """Scenarios with the same group share one ansible-playbook run."""
        return (self.options, self.controller_env, self.id if self.method in ("password", "token") else "")

    @property
    def check_mode(self) -> bool:
        return "--check" in self.options


def case(id: str, fault: str | None = None, operation: str = "get_fleet", count: int = 1, **fields: Any) -> Case:  # noqa: A002
    return Case(id=id, fault=fault, operation=operation, count=count, **fields)


# --- the scenarios ------------------------------------------------------------------------------

# Fault name -> (UCS error code, message) as the simulator sends them.
STATUS_FAULTS = {
    500: ("UCS.01000001", "Internal server error"),
    502: ("APIGW.0202", "Backend unavailable"),
    503: ("UCS.01000003", "Service temporarily unavailable"),
    504: ("APIGW.0203", "Backend timeout"),
}
THROTTLED = ("UCS.01000002", "The request is throttled: too many requests, try again later")


def status_cases() -> list[Case]:
    """500/502/503/504 once and always, on the GET of the fleet and on the POST /cert."""
    cases = []
    for status, (code, text) in STATUS_FAULTS.items():
        answer = f"HTTP {status} {code}: {text} (request id "
        cases += [
            # A GET that fails once is retried and the run succeeds.
            case(f"{status}-get-once", str(status), ok=True, gets=2, posts=1, cert_calls=1, retried=(f"HTTP {status}",)),
            # Twice: the last attempt allowed (1 + retries) succeeds.
            case(f"{status}-get-twice", str(status), count=2, ok=True, gets=3, posts=1, cert_calls=1, retried=(f"HTTP {status}",) * 2),
            # A GET that always fails is tried exactly 1 + retries times.
            case(
                f"{status}-get-always",
                str(status),
                count=-1,
                gets=3,
                retried=(f"HTTP {status}",) * 2,
                # A read changes nothing: the message says running again is safe.
                msg=(f"Failed to {READ} after 3 attempts: {answer}", SAFE_TO_REPEAT),
                absent=("not safe",),
                status=status,
                code=code,
            ),
            # A POST /cert that got a 5xx may have been processed: never repeated, even when a
            # repetition would have succeeded, and the message says so.
            case(
                f"{status}-post-once",
                str(status),
                "create_cert",
                posts=1,
                msg=(f"Failed to {CREATE}: {answer}", MAY_HAVE_BEEN_PROCESSED),
                status=status,
                code=code,
            ),
            case(
                f"{status}-post-always",
                str(status),
                "create_cert",
                count=-1,
                posts=1,
                msg=(f"Failed to {CREATE}: {answer}", MAY_HAVE_BEEN_PROCESSED),
                status=status,
                code=code,
            ),
        ]
    return cases


THROTTLE_CASES = [
    # Retry-After is honoured (1 s), on a GET and on a POST (429 means "not processed").
    case("429-get-once", "429", retry_after=1, ok=True, gets=2, posts=1, cert_calls=1, retried=("HTTP 429",), delays=("1.0",)),
    case("429-post-once", "429", "create_cert", retry_after=0, ok=True, posts=2, cert_calls=1, retried=("HTTP 429",), delays=("0.0",)),
    case(
        "429-post-always",
        "429",
        "create_cert",
        count=-1,
        retry_after=0,
        posts=3,
        retried=("HTTP 429",) * 2,
        delays=("0.0", "0.0"),
        msg=(f"Failed to {CREATE} after 3 attempts: HTTP 429 {THROTTLED[0]}: {THROTTLED[1]} (request id ",),
        status=429,
        code=THROTTLED[0],
    ),
    # Without Retry-After: exponential backoff with jitter (at most 1 s before the first retry).
    case("429-no-retry-after-get-once", "429-no-retry-after", ok=True, gets=2, posts=1, cert_calls=1, retried=("HTTP 429",)),
    case(
        "429-no-retry-after-post-always",
        "429-no-retry-after",
        "create_cert",
        count=-1,
        args={"retries": 1},
        posts=2,
        retried=("HTTP 429",),
        msg=(f"Failed to {CREATE} after 2 attempts: HTTP 429 {THROTTLED[0]}: {THROTTLED[1]} (request id ",),
        status=429,
        code=THROTTLED[0],
    ),
]

CONNECTION_CASES = [
    # Answers slower than timeout: a GET is repeated (here retries=1: exactly 2 attempts), a POST
    # that timed out after it was sent is not (the simulator did create the connection).
    case(
        "slow-get-always",
        "slow",
        count=-1,
        delay=3,
        args={"timeout": 2, "retries": 1},
        gets=2,
        retried=("read timeout",),
        msg=("Failed to read fleet {fleet} after 2 attempts: read timeout from {host} (", SAFE_TO_REPEAT),
        absent=("not safe", "Check the state"),
    ),
    case(
        "slow-post-once",
        "slow",
        "create_cert",
        delay=2,
        args={"timeout": 1},
        posts=1,
        cert_calls=1,
        msg=(f"Failed to {CREATE}: read timeout after the request was sent to {{host}} (", MAY_HAVE_BEEN_PROCESSED),
    ),
    # Nothing listens on the endpoint's port: nothing was sent, so retrying is safe.
    case(
        "refused",
        endpoint="refused",
        gets=0,
        retried=("connection failed",) * 2,
        msg=(
            f"Failed to {READ} after 3 attempts: connection failed to {{host}} (",
            "Connection refused",
            "). Check the endpoint and the network (proxy, firewall)",
        ),
    ),
    # The server closes the connection without an answer (drop: FIN, reset: RST).
    case("drop-get-once", "drop", ok=True, gets=2, posts=1, cert_calls=1, retried=("connection dropped",)),
    case(
        "drop-get-always",
        "drop",
        count=-1,
        gets=3,
        retried=("connection dropped",) * 2,
        msg=(f"Failed to {READ} after 3 attempts: connection dropped from {{host}} (", SAFE_TO_REPEAT),
        absent=("not safe",),
    ),
    case("reset-get-once", "reset", ok=True, gets=2, posts=1, cert_calls=1, retried=("connection dropped",)),
    case(
        "drop-post-once",
        "drop",
        "create_cert",
        posts=1,
        msg=(f"Failed to {CREATE}: connection dropped after the request was sent to {{host}} (", MAY_HAVE_BEEN_PROCESSED),
    ),
    case(
        "reset-post-always",
        "reset",
        "create_cert",
        count=-1,
        posts=1,
        msg=(f"Failed to {CREATE}: connection dropped after the request was sent to {{host}} (", MAY_HAVE_BEEN_PROCESSED),
    ),
]

ANSWER_CASES = [
    # A complete 2xx answer that is not JSON is not a transient failure: not retried.
    case(
        "truncated-json-get",
        "truncated-json",
        msg=(f"Failed to {READ}: the HTTP 200 answer to GET /v1/clustergroups/{{fleet}} from {{host}} is not valid JSON: it was truncated (it ends after ",),
        status=200,
    ),
    case(
        "truncated-json-post",
        "truncated-json",
        "create_cert",
        posts=1,
        msg=(
            f"Failed to {CREATE}: the HTTP 201 answer to POST /v1/clustergroups/{{fleet}}/cert from {{host}} is not valid JSON: "
            "it was truncated (it ends after ",
            "; the request was processed but its answer cannot be used",
        ),
        status=201,
    ),
    case(
        "malformed-json-get",
        "malformed-json",
        msg=(
            f"Failed to {READ}: the HTTP 200 answer to GET /v1/clustergroups/{{fleet}} from {{host}} is not valid JSON: malformed at line 1 column 1 "
            "(Expecting value) (request id ",
        ),
        status=200,
    ),
    case(
        "malformed-json-post",
        "malformed-json",
        "create_cert",
        posts=1,
        msg=(
            f"Failed to {CREATE}: the HTTP 201 answer to POST /v1/clustergroups/{{fleet}}/cert from {{host}} is not valid JSON: malformed at line 1 "
            "column 1 (Expecting value) (request id ",
            "; the request was processed but its answer cannot be used",
        ),
        status=201,
    ),
]


def kubeconfig_case(fault: str, problem: str) -> Case:
    """The server issued a certificate (one connection, one /cert call) but its kubeconfig is unusable."""
    return case(fault, fault, "create_cert", posts=1, cert_calls=1, status=201, msg=(UNUSABLE, UNUSABLE_PROBLEM + problem))


CERT = "users[0].user.client-certificate-data"
KUBECONFIG_CASES = [
    kubeconfig_case("kubeconfig-missing-users", "contexts[0].context.user names user 'user-fleet-{case}', which is not in users"),
    # kubectl uses the only context of a kubeconfig without current-context once it is selected: accepted.
    case("kubeconfig-missing-current-context", "kubeconfig-missing-current-context", "create_cert", ok=True, posts=1, cert_calls=1),
    kubeconfig_case("kubeconfig-bad-base64", f"{CERT} is not valid base64"),
    kubeconfig_case("kubeconfig-expired-cert", "the client certificate has expired (not after "),
    kubeconfig_case("kubeconfig-key-mismatch", f"users[0].user.client-key-data does not match the client certificate in {CERT}"),
    # A server may issue another validity than asked (a cap): kubectl uses it, the module warns.
    case(
        "kubeconfig-wrong-duration",
        "kubeconfig-wrong-duration",
        "create_cert",
        ok=True,
        posts=1,
        cert_calls=1,
        warns=("Fleet {fleet}: UCS issued a certificate valid for ",),
    ),
    kubeconfig_case("kubeconfig-http-server", "clusters[0].cluster.server must be an https:// URL with a host (the federation API server is reached over TLS)"),
]

AKSK_REJECTED = (
    "UCS rejected the request signed with AK/SK (access key {access_key}, domain ID {domain_id}): "
    "check access_key/secret_key and domain_id, and that this host's clock is right"
)
NEW_TOKEN_REJECTED = "UCS rejected a new IAM token of user {username} in domain {domain_name}: check the user's permissions for UCS"
USER_TOKEN_REJECTED = "UCS rejected the IAM token (auth_token): the token expired or is invalid; obtain a new one or use IAM password auth"
UNAUTHORIZED = ("UCS.01000004", "Authentication failed: the credentials are not valid for this request")
FORBIDDEN = ("UCS.01000005", "Forbidden: the user has no permission for this operation")
TOKEN_EXPIRED = ("APIGW.0301", "Incorrect IAM authentication information: token expires, expires_at: ")

AUTH_CASES = [
    case(
        "401-get",
        "401",
        msg=(f"Failed to {READ}: HTTP 401 {UNAUTHORIZED[0]}: {UNAUTHORIZED[1]} (request id ", AKSK_REJECTED),
        status=401,
        code=UNAUTHORIZED[0],
    ),
    case("403-get", "403", msg=(f"Failed to {READ}: HTTP 403 {FORBIDDEN[0]}: {FORBIDDEN[1]} (request id ",), status=403, code=FORBIDDEN[0]),
    case(
        "403-post",
        "403",
        "create_cert",
        posts=1,
        msg=(f"Failed to {CREATE}: HTTP 403 {FORBIDDEN[0]}: {FORBIDDEN[1]} (request id ",),
        status=403,
        code=FORBIDDEN[0],
    ),
    # IAM password: the module obtained the token, so after a 401 it obtains a new one and
    # repeats the request once (a 401 means UCS did not process it, so this holds for a POST too).
    case("token-expired-get-password", "token-expired", method="password", ok=True, iam=2, gets=2, posts=1, cert_calls=1, reauth=READ),
    case("token-expired-post-password", "token-expired", "create_cert", method="password", ok=True, iam=2, posts=2, cert_calls=1, reauth=CREATE),
    case(
        "token-expired-always-password",
        "token-expired",
        count=-1,
        method="password",
        iam=2,
        gets=2,
        reauth=READ,
        msg=(f"Failed to {READ}: HTTP 401 {TOKEN_EXPIRED[0]}: {TOKEN_EXPIRED[1]}", NEW_TOKEN_REJECTED),
        status=401,
        code=TOKEN_EXPIRED[0],
    ),
    case(
        "401-post-always-password",
        "401",
        "create_cert",
        count=-1,
        method="password",
        iam=2,
        posts=2,
        reauth=CREATE,
        msg=(f"Failed to {CREATE}: HTTP 401 {UNAUTHORIZED[0]}: {UNAUTHORIZED[1]} (request id ", NEW_TOKEN_REJECTED),
        status=401,
        code=UNAUTHORIZED[0],
    ),
    # A token the user gave cannot be renewed: a clear error, no repetition.
    case(
        "token-expired-post-user-token",
        "token-expired",
        "create_cert",
        method="token",
        posts=1,
        msg=(f"Failed to {CREATE}: HTTP 401 {TOKEN_EXPIRED[0]}: {TOKEN_EXPIRED[1]}", USER_TOKEN_REJECTED),
        status=401,
        code=TOKEN_EXPIRED[0],
    ),
]

CHECK_MODE_CASES = [
    # Check mode reads the fleet (with the same retries) and never posts.
    case("503-get-once-check", "503", options=("--check", "--diff"), ok=True, gets=2, retried=("HTTP 503",)),
    case(
        "500-get-always-check",
        "500",
        count=-1,
        options=("--check", "-vvvv"),
        gets=3,
        retried=("HTTP 500",) * 2,
        msg=(f"Failed to {READ} after 3 attempts: HTTP 500 UCS.01000001: Internal server error (request id ",),
        status=500,
        code="UCS.01000001",
    ),
]

IAM_RETRY = "Retrying obtain an IAM token for user {username} in domain {domain_name} after read timeout (attempt "
IAM_CASES = [
    # The token request creates nothing a repetition could duplicate: retried like a read (issue 23).
    case("iam-slow-once", "slow", "iam_token", delay=3, method="password", ok=True, iam=2, posts=1, cert_calls=1, warns=(IAM_RETRY + "2 of 3) in ",)),
    case(
        "iam-slow-always",
        "slow",
        "iam_token",
        count=-1,
        delay=3,
        method="password",
        gets=0,
        iam=3,
        warns=(IAM_RETRY + "2 of 3) in ", IAM_RETRY + "3 of 3) in "),
        msg=("Failed to obtain an IAM token for user {username} in domain {domain_name} after 3 attempts: read timeout from {host} (", SAFE_TO_REPEAT),
        absent=("not safe", "may have been processed", "Check the state"),
    ),
]

FAULT_CASES = status_cases() + THROTTLE_CASES + CONNECTION_CASES + ANSWER_CASES + KUBECONFIG_CASES + AUTH_CASES + CHECK_MODE_CASES + IAM_CASES

WAIT_FOR_FEDERATION = ": it is being installed or changed. Wait until it is available (UCS console: Fleets > the fleet), then run again."
ENABLE_FEDERATION = (
    ". Enable federation for the fleet with the module ucs_cloud.fleet.ucs_federation (state: present, which waits until it is "
    "available), or in the UCS console (Fleets > the fleet > Enable Federation), then run again."
)
FLEET_CASES = [
    case(
        "federation-not-enabled",
        fleet="plain",
        msg=("Fleet {fleet} (fleet-{case}): federation is not enabled (the fleet has no spec.federationId)" + ENABLE_FEDERATION,),
    ),
    # A federation being installed: wait and run again, not "Enable federation" (issue 22).
    case(
        "federation-not-ready",
        fleet="not-ready",
        msg=("Fleet {fleet} (fleet-{case}): federation is not ready yet (condition Federation: False (Installing))" + WAIT_FOR_FEDERATION,),
        absent=("Enable federation",),
    ),
    case(
        "federation-installing",
        fleet="installing",
        msg=("Fleet {fleet} (fleet-{case}): federation is not ready yet (condition Federation: Unavailable (FederationInstalling))" + WAIT_FOR_FEDERATION,),
        absent=("Enable federation",),
    ),
]
UNKNOWN_FLEET = case(
    "unknown-fleet",
    fleet="unknown",
    msg=(
        "Failed to read fleet {fleet}: HTTP 404 UCS.01100005: The fleet (cluster group) {fleet} does not exist (request id ",
        # What to check (issue 22), as the 401 message does.
        "). Check fleet_id, and that the fleet belongs to the account (domain) of the credentials and to the UCS site of {host} (endpoint, region): "
        "UCS answers 404 for a fleet of another account or site",
    ),
    status=404,
    code="UCS.01100005",
)

NOT_VERIFIED = "Failed to read fleet {fleet}: the server certificate of {host} did not verify ("
SET_CA_PATH = "). Set ca_path (or UCS_CA_PATH) to the CA bundle that issued it (or validate_certs=false, for testing only)"
# UCS_CA_PATH is not set for these: only ca_path (or the system's CAs) can verify the simulator.
TLS_CASES = [
    case("no-ca", controller_env="no-ca", gets=0, msg=(NOT_VERIFIED, SET_CA_PATH)),
    case("wrong-ca", controller_env="no-ca", args={"ca_path": "{federation_ca_path}"}, gets=0, msg=(NOT_VERIFIED, SET_CA_PATH)),
    case("ca-path-option", controller_env="no-ca", args={"ca_path": "{ca_path}"}, ok=True, posts=1, cert_calls=1),
    case(
        "validate-certs-false",
        controller_env="no-ca",
        args={"validate_certs": False},
        ok=True,
        posts=1,
        cert_calls=1,
        warns=("validate_certs is false: the identity of the UCS endpoint is not checked. Use this for testing only.",),
    ),
]
INSECURE_KUBECONFIG = case(
    "kubeconfig-insecure",
    "kubeconfig-insecure",
    "create_cert",
    ok=True,
    posts=1,
    cert_calls=1,
    warns=(
        # The simulator keeps the CA data too, a pair kubectl refuses: the CA is kept, the flag dropped.
        "Fleet {fleet}: clusters[0].cluster has both certificate-authority-data and insecure-skip-tls-verify, which kubectl refuses; "
        "the insecure flag was dropped",
    ),
)


def bad(id: str, args: Mapping[str, Any], *msg: str, **fields: Any) -> Case:  # noqa: A002
    """A scenario that must be rejected before any API call."""
    return Case(id=id, args=args, msg=msg, gets=0, options=("-vvvv",), **fields)


ID_RULE = "is malformed: it must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"
DURATION_RULE = "duration must be between 1 and 1825 days, got "
NOT_AN_INT = "cannot be converted to an int"
ENV_HINT = "Options may also come from environment variables (HUAWEICLOUD_SDK_*, OS_*): check the environment of the task"
BAD_INPUT_CASES = [
    bad("duration-0", {"duration": 0}, DURATION_RULE + "0"),
    bad("duration-minus-1", {"duration": -1}, DURATION_RULE + "-1"),
    bad("duration-1826", {"duration": 1826}, DURATION_RULE + "1826"),
    bad("duration-ten", {"duration": "ten"}, "argument 'duration' is of type", NOT_AN_INT),
    bad("duration-fraction", {"duration": "1.5"}, "argument 'duration' is of type", NOT_AN_INT),
    bad("duration-empty", {"duration": ""}, "argument 'duration' is of type", NOT_AN_INT),
    # YAML true is an int to Ansible: with renew_before 0 it passed every check and reached the API.
    bad("duration-true", {"duration": True, "renew_before": 0}, "duration must be a whole number, not a boolean (True)"),
    bad("renew-before-minus-1", {"renew_before": -1}, "renew_before must be 0 or more days, got -1"),
    bad("renew-before-duration", {"renew_before": 400}, "renew_before (400) must be smaller than duration (365)"),
    bad("timeout-0", {"timeout": 0}, "timeout must be between 1 and 600 seconds, got 0"),
    bad("retries-11", {"retries": 11}, "retries must be between 0 and 10, got 11"),
    bad("fleet-id-empty", {"fleet_id": ""}, "fleet_id must not be empty"),
    bad("fleet-id-blank", {"fleet_id": "   "}, "fleet_id must not be empty"),
    bad("fleet-id-path", {"fleet_id": "../../v3/auth"}, "fleet_id " + ID_RULE),
    bad("fleet-id-too-long", {"fleet_id": "f" * 65}, "fleet_id " + ID_RULE),
    bad("fleet-id-leading-dash", {"fleet_id": "-abc"}, "fleet_id " + ID_RULE),
    # project_id has an environment fallback: blank means unset, and it is needed for /cert.
    bad("project-id-empty", {"project_id": ""}, "project_id is required to create the federation connection of fleet {fleet}"),
    bad("project-id-malformed", {"project_id": "proj/1"}, "project_id " + ID_RULE),
    bad("vpc-id-empty", {"vpc_id": ""}, "vpc_id must not be empty"),
    bad("vpc-id-malformed", {"vpc_id": "vpc 1"}, "vpc_id " + ID_RULE),
    bad("subnet-id-empty", {"subnet_id": ""}, "subnet_id must not be empty"),
    bad("subnet-id-malformed", {"subnet_id": "subnet?x=1"}, "subnet_id " + ID_RULE),
    # vpc_id and subnet_id both omitted is the existing connection (POST /kubeconfig); one of them is not.
    bad("subnet-missing", {"subnet_id": None}, "subnet_id is required to create the federation connection of fleet {fleet}"),
    bad("vpc-and-project-missing", {"vpc_id": None, "project_id": None}, "project_id, vpc_id are required to create the federation connection"),
    bad("endpoint-http", {"endpoint": "http://127.0.0.1:1"}, "endpoint must be an https:// URL (got scheme 'http')"),
    bad("mode-hex", {"mode": "0x600"}, "mode '0x600' is invalid: use a quoted octal string such as '0600' or a symbolic mode such as 'u=rw,go='"),
    bad("mode-symbolic-typo", {"mode": "u=rwz"}, "mode 'u=rwz' is invalid"),
    bad("mode-ls-style", {"mode": "rw-r-----"}, "mode 'rw-r-----' is invalid"),
    bad("mode-too-large", {"mode": 0o17777}, "mode 8191 is an integer: YAML read it as the decimal number 8191"),
    bad("dest-directory", {}, "dest {dest} is a directory; it must be a regular file or absent", dest="directory"),
    # A missing directory is created (0700), as kubectl creates ~/.kube; one that cannot be is refused.
    bad("dest-parent-is-a-file", {}, "dest {dest}: {dest_parent} is not a directory", dest="file-parent"),
]

AKSK = ("access_key", "secret_key", "domain_id")
PASSWORD = ("username", "password", "domain_name", "iam_endpoint")


def credentials(id: str, given: tuple[str, ...], *msg: str, **fields: Any) -> Case:  # noqa: A002
    """A scenario with only the credential options ``given`` (and nothing in the environment unless it says so)."""
    return bad(id, fields.pop("args", {}), *msg, credentials=given, **fields)


CREDENTIAL_CASES = [
    credentials(
        "ak-without-sk",
        ("access_key", "domain_id"),
        "access_key and domain_id are set but secret_key is missing for AK/SK authentication: set secret_key (or HUAWEICLOUD_SDK_SK/OS_SECRET_KEY). "
        + ENV_HINT,
    ),
    credentials(
        "sk-without-ak",
        ("secret_key", "domain_id"),
        "secret_key and domain_id are set but access_key is missing for AK/SK authentication: set access_key (or HUAWEICLOUD_SDK_AK/OS_ACCESS_KEY)",
    ),
    credentials(
        "aksk-without-domain-id",
        ("access_key", "secret_key"),
        "access_key and secret_key are set but domain_id is missing for AK/SK authentication: set domain_id (or HUAWEICLOUD_SDK_DOMAIN_ID/OS_DOMAIN_ID)",
    ),
    credentials(
        "ak-from-environment-alone",
        (),
        "access_key is set but secret_key and domain_id are missing for AK/SK authentication",
        env={"HUAWEICLOUD_SDK_AK": "{access_key}"},
    ),
    credentials(
        "security-token-without-aksk",
        ("security_token", "domain_id"),
        "security_token is set but access_key and secret_key are missing: a security token is only used with temporary AK/SK",
    ),
    credentials(
        "temporary-without-sk",
        ("access_key", "security_token", "domain_id"),
        "access_key, domain_id and security_token are set but secret_key is missing for AK/SK authentication",
    ),
    credentials(
        "password-without-username",
        ("password", "domain_name", "iam_endpoint"),
        "password and domain_name are set but username is missing for IAM password authentication: set username (or OS_USERNAME)",
    ),
    credentials(
        "username-without-password",
        ("username", "domain_name", "iam_endpoint"),
        "username and domain_name are set but password is missing for IAM password authentication: set password (or OS_PASSWORD)",
    ),
    credentials(
        "password-without-domain-name",
        ("username", "password", "iam_endpoint"),
        "username and password are set but domain_name is missing for IAM password authentication: set domain_name (or OS_USER_DOMAIN_NAME/OS_DOMAIN_NAME)",
    ),
    credentials(
        "password-without-iam-endpoint",
        ("username", "password", "domain_name"),
        "IAM password authentication needs the IAM endpoint: set iam_endpoint (environment variable OS_AUTH_URL) or region",
    ),
    credentials(
        "password-bad-region",
        ("username", "password", "domain_name"),
        "region 'Europe West' is not a region id such as eu-de or ap-southeast-1",
        args={"region": "Europe West"},
    ),
    credentials(
        "password-iam-endpoint-http",
        ("username", "password", "domain_name"),
        "iam_endpoint must be an https:// URL (got scheme 'http')",
        args={"iam_endpoint": "http://iam.example.com/v3"},
    ),
    credentials(
        "aksk-and-password",
        AKSK + PASSWORD,
        "access_key (AK/SK) and username (IAM password) are both set; set auth_method or remove one. " + ENV_HINT,
    ),
    credentials(
        "aksk-token-and-password",
        (*AKSK, "auth_token", *PASSWORD),
        "access_key (AK/SK), auth_token (IAM token) and username (IAM password) are all set; set auth_method or remove one",
    ),
    credentials(
        "aksk-and-password-from-environment",
        (),
        "access_key (AK/SK) and username (IAM password) are both set; set auth_method or remove one",
        controller_env="aksk+password",
    ),
    credentials(
        "auth-method-token-without-token",
        AKSK,
        "auth_token is required for IAM token authentication: set auth_token (or OS_AUTH_TOKEN)",
        args={"auth_method": "token"},
    ),
    credentials(
        "auth-method-aksk-with-password",
        PASSWORD,
        "access_key, secret_key and domain_id are required for AK/SK authentication",
        args={"auth_method": "aksk"},
    ),
    credentials(
        "no-credentials",
        (),
        "No credentials: set access_key (or HUAWEICLOUD_SDK_AK), secret_key (or HUAWEICLOUD_SDK_SK) and domain_id (or HUAWEICLOUD_SDK_DOMAIN_ID) (AK/SK), "
        "auth_token (or OS_AUTH_TOKEN) (IAM token), or username (or OS_USERNAME), password (or OS_PASSWORD) and domain_name (or OS_USER_DOMAIN_NAME) "
        "(IAM password)",
    ),
    bad("auth-method-unknown", {"auth_method": "kerberos"}, "value of auth_method must be one of: auto, aksk, token, password, got: kerberos"),
]


def typed(id: str, field_path: str, value: Any, problem: str) -> Case:  # noqa: A002
    """The fleet read answers with one field of another JSON type: refused naming the request, the field and the request id."""
    return case(
        id,
        "wrong-type",
        fault_args={"field": field_path, "value": value},
        msg=(f"Failed to {READ}: the HTTP 200 answer to GET /v1/clustergroups/{{fleet}} from {{host}} {problem} (request id ",),
        absent=("Module failed", "object has no attribute"),
        status=200,
    )


TYPED_CASES = [
    # The probes of issue 23: both ended in "Module failed: 'str' object has no attribute 'get'".
    typed("fleet-metadata-string", "metadata", "fleet-x", "has metadata as a string, not an object"),
    typed("fleet-conditions-number", "status.conditions", 3, "has status.conditions as a number, not an array"),
    typed("fleet-metadata-name-array", "metadata.name", ["fleet-x"], "has metadata.name as an array, not a string"),
    typed("fleet-spec-array", "spec", [], "has spec as an array, not an object"),
    typed("fleet-federation-id-number", "spec.federationId", 42, "has spec.federationId as a number, not a string"),
    typed("fleet-condition-string", "status.conditions[0]", "Federation", "has status.conditions[0] as a string, not an object"),
    typed("fleet-condition-type-boolean", "status.conditions[0].type", True, "has status.conditions[0].type as a boolean, not a string"),
    typed("fleet-condition-status-array", "status.conditions[0].status", ["True"], "has status.conditions[0].status as an array, not a string"),
    typed("fleet-condition-reason-object", "status.conditions[0].reason", {"text": "Available"}, "has status.conditions[0].reason as an object, not a string"),
    # The /cert answer: the certificate is issued, then the kubeconfig's walker names the field.
    case(
        "cert-clusters-string",
        "wrong-type",
        "create_cert",
        fault_args={"field": "clusters", "value": "cluster"},
        posts=1,
        cert_calls=1,
        status=201,
        msg=(UNUSABLE, UNUSABLE_PROBLEM + "clusters must be a list, not a string"),
    ),
    case(
        "cert-cluster-body-string",
        "wrong-type",
        "create_cert",
        fault_args={"field": "clusters[0].cluster", "value": "https://server"},
        posts=1,
        cert_calls=1,
        status=201,
        msg=(UNUSABLE, UNUSABLE_PROBLEM + "clusters[0].cluster must be a mapping, not a string"),
    ),
    case(
        "cert-current-context-number",
        "wrong-type",
        "create_cert",
        fault_args={"field": "current-context", "value": 1},
        posts=1,
        cert_calls=1,
        status=201,
        msg=(UNUSABLE, UNUSABLE_PROBLEM + "current-context must be a string, not a number"),
    ),
    # The one field read from IAM's answer: the token header, which must be usable as a header.
    case(
        "iam-token-not-a-token",
        "iam-token-not-a-token",
        "iam_token",
        method="password",
        gets=0,
        iam=1,
        msg=(
            "Failed to obtain an IAM token for user {username} in domain {domain_name}: IAM answered HTTP 201 to POST /v3/auth/tokens "
            "with an X-Subject-Token header that is not a token (visible ASCII, no spaces) (request id ",
        ),
        status=201,
    ),
]

ALL_CASES = [*FAULT_CASES, *FLEET_CASES, UNKNOWN_FLEET, *TLS_CASES, INSECURE_KUBECONFIG, *BAD_INPUT_CASES, *CREDENTIAL_CASES, *TYPED_CASES]


# --- running the scenarios ----------------------------------------------------------------------


@dataclass
class Outcome:
    """What one scenario produced: its result, and the simulator's view of its fleet."""

    case: Case
    context: dict[str, str]
    dest: Path
    result: dict[str, Any]
    requests: list[dict[str, Any]]
    connections: list[dict[str, Any]]
    iam: int
    recap: dict[str, int]


@dataclass
class Batch:
    run: Run
    outcomes: dict[str, Outcome]
    requests: list[dict[str, Any]]
    simulator_logs: str
    secrets: list[str]


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def credential_values(sim: Simulator, token: str) -> dict[str, str]:
    seed = sim.seed
    return {
        "access_key": seed["aksk"]["access_key"],
        "secret_key": seed["aksk"]["secret_key"],
        "security_token": seed["temporary_aksk"]["security_token"],
        "domain_id": seed["domain"]["id"],
        "username": seed["iam_user"]["name"],
        "password": seed["iam_user"]["password"],
        "domain_name": seed["domain"]["name"],
        "iam_endpoint": sim.info["iam_endpoint"] + "/v3",
        "auth_token": token,
    }


def controller_env(ansible: AnsibleRunner, name: str) -> dict[str, str]:
    """The environment of ansible-playbook; credentials are module options unless the scenario says otherwise.

    (Task `environment:` values are printed at -vvvv, so secrets never go there.)
    """
    env = ansible.credential_env("none")
    if name == "no-ca":
        del env["UCS_CA_PATH"]
    if name == "aksk+password":
        env.update(ansible.credential_env("aksk"))
        env.update(ansible.credential_env("password"))
    return env


class Batches:
    """Runs each group of scenarios once, on first use, and keeps the outcomes."""

    def __init__(self, sim: Simulator, tmp: Path) -> None:
        self.sim = sim
        self.tmp = tmp
        self.done: dict[tuple[Any, ...], Batch] = {}

    def get(self, case: Case) -> tuple[Batch, Outcome]:
        if case.group not in self.done:
            self.done[case.group] = self.run([c for c in ALL_CASES if c.group == case.group])
        batch = self.done[case.group]
        return batch, batch.outcomes[case.id]

    def prepare(self, case: Case, work: Path, token: str, refused: str) -> tuple[dict[str, Any], dict[str, str], dict[str, str], Path]:
        sim = self.sim
        fleet_id = str(uuid.uuid4())
        if case.fleet == "plain":
            sim.control("POST", "fleets", {"id": fleet_id, "name": f"fleet-{case.id}", "federation": False})
        elif case.fleet == "not-ready":
            sim.control(
                "POST",
                "fleets",
                {"id": fleet_id, "name": f"fleet-{case.id}", "federation": True, "federation_status": "False", "federation_reason": "Installing"},
            )
        elif case.fleet == "installing":
            installing = {"federation_status": "Unavailable", "federation_reason": "FederationInstalling"}
            sim.control("POST", "fleets", {"id": fleet_id, "name": f"fleet-{case.id}", "federation": True, **installing})
        elif case.fleet == "federated":
            sim.control("POST", "fleets", {"id": fleet_id, "name": f"fleet-{case.id}", "federation": True})
        if case.fault is not None:
            extra = {key: value for key, value in (("retry_after", case.retry_after), ("delay", case.delay)) if value is not None}
            # An IAM request names no fleet: its fault cannot be scoped to one (those scenarios run alone).
            scope = {} if case.operation == "iam_token" else {"fleet_id": fleet_id}
            sim.fault(case.fault, operation=case.operation, count=case.count, **scope, **extra, **case.fault_args)

        dest = work / "kube" / "fleet.yaml"
        if case.dest == "directory":
            dest = work / "kube"
        elif case.dest == "missing-parent":
            dest = work / "missing" / "fleet.yaml"
        elif case.dest == "file-parent":
            dest = work / "a-file" / "fleet.yaml"
        (work / "kube").mkdir(parents=True)
        if case.dest == "file-parent":
            (work / "a-file").write_bytes(b"")
        if case.dest == "file":
            dest.write_bytes(PREVIOUS)
            dest.chmod(PREVIOUS_MODE)
            os.utime(dest, (PREVIOUS_MTIME, PREVIOUS_MTIME))

        endpoint = refused if case.endpoint == "refused" else sim.endpoint
        creds = credential_values(sim, token)
        context = {
            "case": case.id,
            "fleet": fleet_id,
            "host": urlsplit(endpoint).netloc,
            "dest": str(dest),
            "dest_parent": str(dest.parent),
            "ca_path": sim.ca_path,
            "federation_ca_path": sim.info["federation_ca_path"],
            **{name: value for name, value in creds.items() if name in ("access_key", "domain_id", "username", "domain_name")},
        }
        args = task_args(sim, dest, fleet_id=fleet_id, timeout=TIMEOUT, retries=RETRIES, endpoint=endpoint)
        # Credentials as options (no_log masks the secret ones everywhere).
        names = {"aksk": AKSK, "password": PASSWORD, "token": ("auth_token",)}[case.method] if case.credentials is None else case.credentials
        args.update({name: creds[name] for name in names})
        if case.method in ("password", "token"):
            args["auth_method"] = case.method
        for name, value in case.args.items():
            if value is None:
                args.pop(name, None)
            else:
                args[name] = value.format(**context) if isinstance(value, str) else value
        env = {name: value.format(**{**creds, **context}) for name, value in case.env.items()}
        return args, env, context, dest

    def run(self, cases: list[Case]) -> Batch:
        sim = self.sim
        sim.reset()
        first = cases[0]
        work = self.tmp / re.sub(r"[^a-z0-9-]", "-", f"batch-{len(self.done) + 1}-{first.id if len(cases) == 1 else 'shared'}")
        ansible = AnsibleRunner(work, sim)
        # A valid IAM token for the scenarios that pass one (it is among the secrets scanned for).
        token = sim.control("POST", "tokens", {})["token"]
        refused = f"https://127.0.0.1:{closed_port()}"
        hosts, prepared = {}, {}
        for item in cases:
            args, env, context, dest = self.prepare(item, work / item.id, token, refused)
            hosts[item.id] = local_host_vars(case_args=args, case_env=env)
            prepared[item.id] = (context, dest)
        option_names = sorted({name for host in hosts.values() for name in host["case_args"]})
        play = [
            {
                "name": "Reliability scenarios",
                "hosts": "all",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "Run the module",
                        MODULE: {name: f"{{{{ case_args[{name!r}] | default(omit) }}}}" for name in option_names},
                        "environment": "{{ case_env }}",
                    }
                ],
            }
        ]
        inventory = write_inventory(work / "inventory.yml", hosts)
        run = ansible.playbook(yaml.safe_dump(play), *first.options, "-f", FORKS, env=controller_env(ansible, first.controller_env), inventory=inventory)
        slow = [c.delay or 2.0 for c in cases if c.fault == "slow"]
        if slow:
            # A slow answer is logged (and its connection created) only when the handler is done.
            time.sleep(max(slow) + 0.5)
        requests = sim.requests()
        connections = sim.connections()
        tree = run.callback_dir / "tree" if run.callback_dir else None
        outcomes = {}
        for item in cases:
            context, dest = prepared[item.id]
            path = tree / item.id if tree else None
            assert path is not None and path.is_file(), f"no result for {item.id}:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
            outcomes[item.id] = Outcome(
                case=item,
                context=context,
                dest=dest,
                result=json.loads(path.read_text()),
                requests=[r for r in requests if r["fleet_id"] == context["fleet"]],
                connections=[c for c in connections if c["fleet_id"] == context["fleet"]],
                iam=len([r for r in requests if r["path"] == "/v3/auth/tokens"]),
                # The tree callback drops "failed" from a result: the recap says it.
                recap=run.recap[item.id],
            )
        log_text = json.dumps(requests) + Path(sim.info["request_log"]).read_text(encoding="utf-8") + sim.output()
        return Batch(run, outcomes, requests, log_text, sim.issued_secrets())


@pytest.fixture(scope="module")
def batches(simulator_session: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Batches:
    return Batches(simulator_session, tmp_path_factory.mktemp("reliability-api"))


def dest_state(path: Path) -> tuple[bytes, int, int]:
    info = path.stat()
    return path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_mtime_ns


def warnings_of(run: Run) -> list[str]:
    """The warnings of a run, from ANSIBLE_LOG_PATH (one line each; registered results do not keep them)."""
    return [line.split("[WARNING]: ", 1)[1].strip() for line in run.log.splitlines() if "[WARNING]: " in line]


def retries_of(warnings: list[str], fleet_id: str) -> list[tuple[str, str, int, int, str]]:
    """(what, cause, attempt, of, delay) of every retry of the fleet's requests."""
    found = []
    for warning in warnings:
        match = RETRY_RE.search(warning)
        if match and match[1].endswith(" " + fleet_id):
            found.append((match[1], match[2], int(match[3]), int(match[4]), match[5]))
    return found


def check(batches: Batches, sim: Simulator, case: Case) -> None:
    """Assert everything the scenario promises, then scan every output for secrets."""
    batch, outcome = batches.get(case)
    result, context = outcome.result, outcome.context
    assert "Traceback" not in json.dumps(result)

    # Exactly the requests the retry policy allows, and nothing else for this fleet.
    operations = [r["operation"] for r in outcome.requests]
    assert operations.count("get_fleet") == case.gets, outcome.requests
    assert operations.count("create_cert") == case.posts, outcome.requests
    assert len(operations) == case.gets + case.posts, outcome.requests
    if case.group[-1]:
        assert outcome.iam == case.iam, batch.requests
    # Each retry is announced: exactly the expected ones, "attempt n of retries + 1".
    warnings = warnings_of(batch.run)
    retries = retries_of(warnings, context["fleet"])
    attempts = case.args.get("retries", RETRIES) + 1
    assert [(what, cause, n, of) for what, cause, n, of, _delay in retries] == [
        (what, cause, n + 2, attempts) for n, (what, cause) in enumerate(retry_pairs(case, context))
    ], warnings
    if case.delays is not None:
        assert tuple(delay for *_rest, delay in retries) == case.delays
    reauth = [match[1] for match in map(REAUTH_RE.search, warnings) if match and match[1].endswith(" " + context["fleet"])]
    assert reauth == ([case.reauth.format(**context)] if case.reauth else [])
    for warning in case.warns:
        # These warnings name no fleet: no other scenario of the run may cause them.
        expecting = [c for c in batch.outcomes.values() if warning in c.case.warns]
        assert len([w for w in warnings if w.startswith(warning.format(**context))]) == len(expecting), warnings

    # At most one connection and one /cert call for the fleet.
    assert len(outcome.connections) <= 1
    assert sum(c["cert_calls"] for c in outcome.connections) == case.cert_calls, outcome.connections

    if case.ok:
        assert outcome.recap["failed"] == 0, result.get("msg")
        assert outcome.recap["changed"] == 1 and result["changed"] is True
        assert result["kubeconfig_downloaded"] is not case.check_mode
        if case.dest == "file" and not case.check_mode:
            config = yaml.safe_load(outcome.dest.read_text())
            assert config["current-context"] == result["current_context"]
            assert config["clusters"][0] == {"name": "previous", "cluster": {"server": "https://previous.example.test:6443"}}, "merged, not replaced"
            assert stat.S_IMODE(outcome.dest.stat().st_mode) == 0o600
    else:
        assert outcome.recap["failed"] == 1, result
        for part in case.msg:
            assert part.format(**context) in result["msg"], result["msg"]
        for part in case.absent:
            assert part not in result["msg"], result["msg"]
        assert result.get("http_status") == case.status, result
        assert result.get("error_code") == case.code, result
        if case.status is not None:
            assert f"(request id {result['request_id']})" in result["msg"]
    if case.dest == "file" and (not case.ok or case.check_mode):
        assert dest_state(outcome.dest) == (PREVIOUS, PREVIOUS_MODE, PREVIOUS_MTIME * 10**9), "dest must be left as it was"

    written = secrets_in_kubeconfig(outcome.dest) if case.ok and case.dest == "file" and not case.check_mode else []
    assert_nothing_leaked(batch.run, sim, batch.secrets + written)
    assert_no_secrets(batch.simulator_logs, batch.secrets, "simulator request log")


def retry_pairs(case: Case, context: dict[str, str]) -> list[tuple[str, str]]:
    what = (READ if case.operation == "get_fleet" or case.endpoint == "refused" else CREATE).format(**context)
    return [(what, cause) for cause in case.retried]


# --- faults -------------------------------------------------------------------------------------


@FAULTS
@pytest.mark.parametrize("case", FAULT_CASES, ids=lambda c: c.id)
def test_faults(batches: Batches, sim: Simulator, case: Case) -> None:
    check(batches, sim, case)


@FAULTS
@pytest.mark.parametrize("case", FLEET_CASES, ids=lambda c: c.id)
def test_federation_not_enabled_fails_with_guidance(batches: Batches, sim: Simulator, case: Case) -> None:
    check(batches, sim, case)


@FAULTS
def test_unknown_fleet(batches: Batches, sim: Simulator) -> None:
    check(batches, sim, UNKNOWN_FLEET)


@TYPED_ANSWERS
@pytest.mark.parametrize("case", TYPED_CASES, ids=lambda c: c.id)
def test_answers_are_typed_before_use(batches: Batches, sim: Simulator, case: Case) -> None:
    check(batches, sim, case)


def expire_tokens_when_consumed(sim: Simulator, fault: dict[str, Any]) -> threading.Thread:
    """Expire every IAM token as soon as the run has consumed ``fault`` (the slow read of the fleet)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if fault not in sim.control("GET", "faults"):
                sim.control("POST", "tokens/expire")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@FAULTS
@pytest.mark.parametrize("method", ["password", "token"])
def test_token_expires_in_the_middle_of_a_run(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, method: str) -> None:
    """The IAM token expires while the fleet is read (the read passed authentication, /cert does not)."""
    fleet_id = sim.federated_fleet["id"]
    dest = tmp_path / "fleet.yaml"
    dest.write_bytes(PREVIOUS)
    dest.chmod(PREVIOUS_MODE)
    os.utime(dest, (PREVIOUS_MTIME, PREVIOUS_MTIME))
    args = task_args(sim, dest, timeout=TIMEOUT, retries=RETRIES)
    fault = sim.fault("slow", operation="get_fleet", delay=1)
    if method == "password":
        watcher = expire_tokens_when_consumed(sim, fault)
        run, result = run_module(ansible, sim, args, "-vvvv", "--diff", method="password")
        watcher.join(5)
        # One re-authentication: IAM twice, the rejected /cert repeated once with the new token.
        assert [(r["operation"], r["status"]) for r in sim.requests()] == [
            ("iam_token", 201),
            ("get_fleet", 200),
            ("create_cert", 401),
            ("iam_token", 201),
            ("create_cert", 201),
        ]
        assert result["changed"] is True and result["kubeconfig_downloaded"] is True
        assert [w for w in warnings_of(run) if w.startswith("UCS answered")] == [
            f"UCS answered HTTP 401 to create the federation connection of fleet {fleet_id}: obtaining a new IAM token and repeating the request once"
        ]
        assert [c["cert_calls"] for c in sim.connections()] == [1]
        assert stat.S_IMODE(dest.stat().st_mode) == 0o600
        assert_nothing_leaked(run, sim, secrets_in_kubeconfig(dest))
    else:
        # The user's own token, read from a file (a literal would be in the junit callback's XML).
        token_file = tmp_path / "token"
        token_file.write_text(sim.control("POST", "tokens", {})["token"])
        args.update(auth_method="token", auth_token=f"{{{{ lookup('ansible.builtin.file', {str(token_file)!r}) }}}}")
        watcher = expire_tokens_when_consumed(sim, fault)
        run, result = failure(ansible, sim, args, "-vvvv", "--diff", method="token")
        watcher.join(5)
        assert [(r["operation"], r["status"]) for r in sim.requests()] == [("get_fleet", 200), ("create_cert", 401)]
        assert result["msg"].startswith(f"Failed to create the federation connection of fleet {fleet_id}: HTTP 401 APIGW.0301: {TOKEN_EXPIRED[1]}")
        assert result["msg"].endswith(". " + USER_TOKEN_REJECTED)
        assert result["http_status"] == 401 and result["error_code"] == "APIGW.0301"
        assert sim.connections() == [] and [r["path"] for r in writes(sim)] == [f"/v1/clustergroups/{fleet_id}/cert"]
        assert dest_state(dest) == (PREVIOUS, PREVIOUS_MODE, PREVIOUS_MTIME * 10**9)
        assert_nothing_leaked(run, sim)


# --- TLS ----------------------------------------------------------------------------------------


@TLS
@pytest.mark.parametrize("case", TLS_CASES, ids=lambda c: c.id)
def test_tls_needs_the_right_ca(batches: Batches, sim: Simulator, case: Case) -> None:
    check(batches, sim, case)
    if not case.ok:
        # The handshake failed: no request reached the server (the fleet's log is empty), and a
        # TLS failure is not retried (one attempt: the message says no "after N attempts").
        assert "attempts" not in batches.get(case)[1].result["msg"]


@TLS
def test_insecure_kubeconfig_warns(batches: Batches, sim: Simulator) -> None:
    check(batches, sim, INSECURE_KUBECONFIG)


# --- bad input ----------------------------------------------------------------------------------


def check_rejected(batches: Batches, sim: Simulator, case: Case) -> None:
    check(batches, sim, case)
    batch, _outcome = batches.get(case)
    # check() found no request for this scenario's fleet; a request of a malformed or empty fleet_id
    # would name no scenario's fleet: there must be none of those either.
    fleets = {outcome.context["fleet"] for outcome in batch.outcomes.values()}
    assert [r for r in batch.requests if r["fleet_id"] not in fleets] == []


@BAD_INPUT
@pytest.mark.parametrize("case", [c for c in BAD_INPUT_CASES if c.dest == "file"], ids=lambda c: c.id)
def test_bad_input_rejected_before_any_call(batches: Batches, sim: Simulator, case: Case) -> None:
    check_rejected(batches, sim, case)


@BAD_INPUT
@pytest.mark.parametrize("case", CREDENTIAL_CASES, ids=lambda c: c.id)
def test_conflicting_credentials_rejected(batches: Batches, sim: Simulator, case: Case) -> None:
    check_rejected(batches, sim, case)


@BAD_INPUT
@pytest.mark.parametrize("case", [c for c in BAD_INPUT_CASES if c.dest != "file"], ids=lambda c: c.id)
def test_bad_dest_rejected_before_any_call(batches: Batches, sim: Simulator, case: Case) -> None:
    check_rejected(batches, sim, case)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A fresh root-owned directory under /var/tmp that other users can traverse but not write."""
    path = Path(tempfile.mkdtemp(prefix="ucs-reliability-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def python_libraries(target: Path) -> Path:
    """The module's Python requirements the system Python of the ssh target lacks, readable by every user."""
    target.mkdir(mode=0o755)
    # This test runs in the collection's venv, which has them.
    for name in ("requests", "urllib3", "idna", "certifi", "charset_normalizer"):
        package = Path(importlib.import_module(name).__file__).parent
        shutil.copytree(package, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@BAD_INPUT
def test_dest_not_writable_for_the_user_running_the_module(ansible: AnsibleRunner, sim: Simulator, sshd: SshServer, shared_dir: Path) -> None:  # noqa: F811
    """The module runs as ucs-bob (ssh) with dest in a root-owned 0755 directory: rejected before any call."""
    locked = shared_dir / "locked"
    locked.mkdir()
    locked.chmod(0o755)
    dest = locked / "fleet.yaml"
    ca_path = shared_dir / "ca.pem"
    shutil.copyfile(sim.ca_path, ca_path)
    ca_path.chmod(0o644)
    seed = sim.seed
    # Everything is valid and reachable for ucs-bob: without the dest check, the module would call UCS.
    # The secret key is a variable, as from a vault (a literal would be in the junit callback's XML).
    args = task_args(
        sim,
        dest,
        endpoint=sim.endpoint,
        ca_path=str(ca_path),
        access_key=seed["aksk"]["access_key"],
        secret_key="{{ ucs_secret_key }}",
        domain_id=seed["domain"]["id"],
    )
    libraries = python_libraries(shared_dir / "lib")
    inventory = write_inventory(ansible.tmp_path / "inventory.yml", {"as-bob": sshd.host_vars(BOB, ucs_secret_key=seed["aksk"]["secret_key"])})
    play = [
        {
            "name": f"As {BOB}",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [{"name": "Run the module", MODULE: args, "environment": {"PYTHONPATH": str(libraries)}}],
        }
    ]
    # ansible-core 2.21 adds the invocation only when asked; older cores always do (the variable is ignored).
    run = ansible.playbook(yaml.safe_dump(play), "-vvvv", inventory=inventory, env={"ANSIBLE_INJECT_INVOCATION": "true"})
    result = json.loads((run.callback_dir / "tree" / "as-bob").read_text())
    assert f"ESTABLISH SSH CONNECTION FOR USER: {BOB}" in run.stdout
    assert run.recap["as-bob"]["failed"] == 1, result
    assert result["msg"] == f"dest {dest}: the directory {locked} is not writable"
    assert result["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert sim.requests() == []
    assert not dest.exists() and list(locked.iterdir()) == []
    assert_nothing_leaked(run, sim)


# --- Hostile answers and only our authentication (issue 14: "Answers from the network") -----------
# The simulator's hostile mode sends what a hostile or broken server could: a 100 MiB answer, a
# gzip bomb, JSON nested 100,000 deep, an answer trickled one byte at a time. Each must end in a
# clear, bounded failure that names the request, with dest untouched. requests' trust_env is off,
# so ~/.netrc cannot replace the signature, while HTTPS_PROXY and NO_PROXY keep working.

HOSTILE = pytest.mark.reliability(
    "hostile-answers",
    "an answer too large, a gzip bomb, deep nesting or a trickle fails fast with a clear error naming the request, in bounded memory and time",
)
OUR_AUTH = pytest.mark.reliability(
    "our-auth-only",
    "only the collection's own authentication reaches UCS (~/.netrc is ignored) while HTTPS_PROXY and NO_PROXY are honoured",
)
# Runs the module's Python and records the module process's peak RSS (KiB) and wall time (s).
MEASURING_WRAPPER = """import resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.call([{python!r}] + sys.argv[1:])
with open({out!r}, "a") as out:
    out.write("%d %.3f\\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - started))
sys.exit(code)
"""


class Hostile(t.NamedTuple):
    run: Run
    result: dict[str, Any]
    peak_kib: int
    seconds: float  # of the module process


def hostile_run(ansible: AnsibleRunner, args: dict[str, Any], *, env: dict[str, str] | None = None) -> Hostile:
    """Run the module once (-vvvv) under the measuring wrapper; return the run, its result and the module's figures."""
    play = yaml.safe_load(one_task_playbook(args))
    figures = ansible.tmp_path / f"figures-{ansible.count + 1}.txt"
    wrapper = ansible.tmp_path / "python-measured"
    wrapper.write_text(f"#!{sys.executable}\n" + MEASURING_WRAPPER.format(python=sys.executable, out=str(figures)))
    wrapper.chmod(0o755)
    play[0]["tasks"][0]["vars"] = {"ansible_python_interpreter": str(wrapper)}
    run = ansible.playbook(yaml.safe_dump(play), "-vvvv", env={**ansible.credential_env("aksk"), **(env or {})})
    result = json.loads((run.callback_dir / "tree" / "localhost").read_text())
    peak, seconds = figures.read_text().split()[-2:]
    return Hostile(run, result, int(peak), float(seconds))


def assert_refused(run: Run, result: dict[str, Any], dest: Path, *fragments: str) -> None:
    assert run.recap["localhost"]["failed"] == 1, result
    assert "Traceback" not in json.dumps(result) and "RecursionError" not in json.dumps(result)
    for fragment in fragments:
        assert fragment in result["msg"], result["msg"]
    assert not dest.exists(), "a refused answer must never be written"


@HOSTILE
def test_hundred_mib_answer_is_refused(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    sim.fault("hostile-large", operation="create_cert")
    run, result, peak, seconds = hostile_run(ansible, task_args(sim, dest, retries=0))
    fleet = sim.federated_fleet["id"]
    assert_refused(
        run,
        result,
        dest,
        f"Failed to create the federation connection of fleet {fleet}: the HTTP 201 answer to POST /v1/clustergroups/{fleet}/cert"
        f" from {urlsplit(sim.endpoint).netloc} is larger than 1 MiB (Content-Length 104857600); it was not read",
        "the request was processed but its answer cannot be used",
    )
    assert peak < 100 * 1024, f"peak RSS of the module process: {peak // 1024} MiB"
    report_figure(f"hostile-answers: a 100 MiB /cert answer was refused by its Content-Length; module process {seconds:.2f} s, peak RSS {peak // 1024} MiB")
    assert_nothing_leaked(run, sim)


@HOSTILE
def test_gzip_bomb_is_bounded_in_memory(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A 300 MiB gzip bomb (about 300 KiB on the wire): refused, and the module process stays small."""
    dest = tmp_path / "fleet.yaml"
    sim.fault("hostile-gzip-bomb", operation="create_cert")
    run, result, peak, seconds = hostile_run(ansible, task_args(sim, dest, retries=0))
    assert_refused(run, result, dest, "from 127.0.0.1:", " is larger than 1 MiB after decompression; it was not read further")
    # The module alone (Python, ansible-core, requests, cryptography) peaks at about 45 MiB.
    assert peak < 100 * 1024, f"peak RSS of the module process: {peak // 1024} MiB"
    report_figure(f"hostile-answers: a 300 MiB gzip bomb was refused at 1 MiB; module process {seconds:.2f} s, peak RSS {peak // 1024} MiB")
    assert_nothing_leaked(run, sim)


@HOSTILE
def test_deep_nesting_names_the_request_and_host(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    sim.fault("hostile-nested", operation="get_fleet")
    run, result, _peak, _seconds = hostile_run(ansible, task_args(sim, dest, retries=0))
    fleet = sim.federated_fleet["id"]
    assert_refused(
        run,
        result,
        dest,
        f"Failed to read fleet {fleet}: the HTTP 200 answer to GET /v1/clustergroups/{fleet} from {urlsplit(sim.endpoint).netloc}"
        " is JSON nested deeper than 64 levels, which no UCS answer is",
    )
    assert sim.calls("POST", "/cert") == []
    assert_nothing_leaked(run, sim)


@HOSTILE
def test_trickled_answer_is_bounded_by_the_timeout(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """One byte every 30 ms: every read is quick, the whole answer would take about 20 s.

    The bound is judged where it matters and where a busy machine cannot blur it: the simulator
    times the answer from its status line to the module's hang-up. The module process's own time
    is compared with that of a run that fails at once (a nested answer): it must stay far below
    the 20 s of the whole answer.
    """
    dest = tmp_path / "fleet.yaml"
    sim.fault("hostile-nested", operation="get_fleet")
    baseline = hostile_run(ansible, task_args(sim, dest, timeout=3, retries=0)).seconds
    streams_before = len(sim.control("GET", "streams"))
    sim.fault("hostile-trickle", operation="get_fleet", delay=0.03)
    run, result, _peak, seconds = hostile_run(ansible, task_args(sim, dest, timeout=3, retries=0))
    assert_refused(run, result, dest, f"Failed to read fleet {sim.federated_fleet['id']}: read timeout from ", "(no complete answer within the timeout of 3 s)")
    streams = sim.control("GET", "streams")[streams_before:]
    assert len(streams) == 1 and not streams[0]["complete"], streams
    # 3 s of deadline, 0.25 s of grace for requests' own timeouts to report their precise kind, and
    # half a second for the simulator's next write (every 30 ms) to notice the hang-up and for the
    # module's waiting thread to be scheduled on a busy machine.
    assert streams[0]["seconds"] < 3.75, f"the module kept reading for {streams[0]['seconds']} s with timeout=3 retries=0"
    # The process must not be held until the trickle ends (about 20 s more than the baseline); on a
    # busy machine the start-up of a run alone varies by seconds (seen: 0.8 s alone, 5.2 s in make test).
    assert seconds - baseline < 12, f"the module process took {seconds:.2f} s with timeout=3 retries=0 ({baseline:.2f} s without the trickle)"
    report_figure(
        f"hostile-answers: a trickled answer with timeout=3 retries=0 was left after {streams[0]['seconds']:.2f} s (server's view);"
        f" module process {seconds:.2f} s ({baseline:.2f} s for a run that fails at once)"
    )
    assert_nothing_leaked(run, sim)


@OUR_AUTH
def test_netrc_changes_nothing(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A ~/.netrc for the UCS host (and a default entry) must neither replace nor add credentials."""
    home = tmp_path / "home"
    home.mkdir()
    password = "NETRC-password-" + uuid.uuid4().hex
    host = urlsplit(sim.endpoint).hostname
    (home / ".netrc").write_text(f"machine {host} login netrc-user password {password}\ndefault login netrc-user password {password}\n")
    (home / ".netrc").chmod(0o600)
    dest = tmp_path / "fleet.yaml"
    run, result, _peak, _seconds = hostile_run(ansible, task_args(sim, dest), env={"HOME": str(home), "NETRC": str(home / ".netrc")})
    assert result.get("changed") is True, result.get("msg")
    assert [r["status"] for r in sim.requests()] == [200, 201], "the signed requests reached UCS as signed"
    assert_nothing_leaked(run, sim, [password])


class ConnectProxy(threading.Thread):
    """A loopback HTTP CONNECT proxy that records the targets it tunnels to."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.targets: list[str] = []

    def run(self) -> None:
        while True:
            try:
                client, _address = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.tunnel, args=(client,), daemon=True).start()

    def tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            method, target = head.split(b" ", 2)[:2]
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.targets.append(target.decode())
            host, port = target.decode().rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=30) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                pump = threading.Thread(target=self.pump, args=(upstream, client), daemon=True)
                pump.start()
                self.pump(client, upstream)
                pump.join(30)

    @staticmethod
    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self.server.close()


@OUR_AUTH
def test_https_proxy_and_no_proxy_are_honoured(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    proxy = ConnectProxy()
    proxy.start()
    try:
        target = urlsplit(sim.endpoint).netloc
        proxied = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}", "NO_PROXY": ""}
        _run, result, _peak, _seconds = hostile_run(ansible, task_args(sim, tmp_path / "a.yaml"), env=proxied)
        assert result.get("changed") is True, result.get("msg")
        assert proxy.targets and set(proxy.targets) == {target}, proxy.targets
        tunnels = len(proxy.targets)
        bypassed = {**proxied, "NO_PROXY": urlsplit(sim.endpoint).hostname or ""}
        _run, result, _peak, _seconds = hostile_run(ansible, task_args(sim, tmp_path / "b.yaml"), env=bypassed)
        assert result.get("changed") is True, result.get("msg")
        assert len(proxy.targets) == tunnels, "NO_PROXY must bypass the proxy"
        report_figure(f"our-auth-only: HTTPS_PROXY carried {tunnels} CONNECT tunnel(s) to the simulator; with NO_PROXY, none")
    finally:
        proxy.stop()
