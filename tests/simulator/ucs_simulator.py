"""Local simulator of the UCS fleet federation API, its IAM token endpoint and a federation API server.

Test-only code: Python stdlib + ``cryptography``. Start it with::

    python tests/simulator/ucs_simulator.py --port 0 --state-dir DIR [--federation-port 0]
        [--token-ttl SECONDS] [--host 127.0.0.1] [--seed FILE]

Once both servers listen it writes ``DIR/simulator.json`` (atomically) with ``endpoint`` (UCS API,
HTTPS), ``iam_endpoint`` (same server, IAM under ``/v3``), ``ca_path`` (PEM of the CA that signed
the HTTPS server certificate), ``federation_server`` (mutual-TLS federation API server),
``federation_ca_path``, ``request_log`` (JSON lines), ``pid`` and ``seed`` (test credentials,
network and fleets; overridable with ``--seed FILE``, a JSON object merged over the defaults).

Served on the UCS port:

- ``POST /v3/auth/tokens``: IAM password authentication (domain-scoped), token in ``X-Subject-Token``.
- ``GET /v1/clustergroups`` (paged: ``limit`` -1/0/absent for all, ``offset``, ``order_by``
  ``create_at``|``update_at``, ``order`` ``desc`` (default)|``asc``; ``{items, total}``),
  ``GET /v1/clustergroups/{id}``, ``POST /v1/clustergroups/{id}/cert``,
  ``POST /v1/clustergroups/{id}/kubeconfig`` (a fleet whose connection exists),
  ``POST /v1/clustergroups/{id}/federations`` (enable: 201 ``{}`` and a job whose phases advance
  over time), ``DELETE /v1/clustergroups/{id}/federations`` (disable: 200, empty body, and a job),
  ``GET /v1/clustergroups/{id}/federations/progress`` (the fleet's last job). Every /v1 call needs
  ``X-Auth-Token`` (an unexpired token issued here) or an ``SDK-HMAC-SHA256`` signature
  (``X-Sdk-Date`` within 15 minutes, ``X-Domain-Id`` of the seeded domain, ``X-Security-Token`` for
  the temporary AK).

Federation API server (second port): mutual TLS with the federation CA; ``GET /version``, ``/api``,
``/api/v1``, ``/apis``; anything else is a Kubernetes ``Status`` 404.

Control API (test-only, UCS port, prefix ``/_sim/``, no auth, JSON; its own calls are not logged):

- ``GET /_sim/requests``: logged requests ``{seq, method, path, status, auth, fleet_id, operation,
  fault}``; ``auth`` is ``aksk``, ``token``, ``none`` or ``iam``; ``status`` is null for a dropped
  connection. Never headers, bodies or query strings. ``DELETE /_sim/requests`` clears the list and
  the ``request_log`` file (which mirrors the list, one JSON object per line).
- ``GET /_sim/federation-requests``: ``{seq, method, path, status}`` seen by the federation server.
- ``GET /_sim/streams``: ``{path, seconds, complete}`` of each answer sent in chunks (the hostile
  ``large`` and ``trickle`` faults): how long the client kept the answer coming, from the status
  line to the last chunk or to the client's hang-up, as the server saw it.
- ``POST /_sim/faults`` ``{operation, fleet_id?, fault, count?, retry_after?, delay?}``; ``GET`` lists
  the pending faults, ``DELETE`` removes them all. ``operation`` is one of ``list_fleets``,
  ``get_fleet``, ``create_cert``, ``download_kubeconfig``, ``federation_progress``,
  ``enable_federation``, ``disable_federation``, ``iam_token`` or ``any``. ``count`` defaults to 1, ``-1`` means always. A fault applies to the first matching
  requests that passed authentication (``iam_token``: any request) and is consumed per request.
- ``GET /_sim/connections``: ``{fleet_id, project_id, vpc_id, subnet_id, endpoint_id, cert_calls,
  certificates_issued, kubeconfig_calls}`` (one connection per fleet and VPC).
- ``GET /_sim/fleets``; ``POST /_sim/fleets`` ``{id?, name, federation, federation_status?,
  federation_reason?}`` creates or updates a fleet and answers its summary; ``DELETE /_sim/fleets/{id}``.
- ``POST /_sim/networks`` ``{project_id, vpc_id, subnet_id}``: that subnet exists in that VPC of that
  project until the next reset (the seed's ``network`` and ``other_network`` always exist), so tests
  can use the IDs of documentation examples.
- ``POST /_sim/tokens`` ``{ttl?, length?}`` issues an IAM token for the seeded user (about ``length``
  characters long, if given): ``{token, expires_at}``.
- ``POST /_sim/tokens/expire``: expires every issued token.
- ``GET /_sim/secrets``: ``{tokens, client_keys}``, every IAM token and client key (``client-key-data``,
  base64) issued since the last reset, so that tests can scan output for them.
- ``POST /_sim/reset``: seed fleets, no connections, faults, tokens or logged requests; the profile
  goes back to the start-up one (``--profile``).
- ``GET /_sim/lifecycle``: the federation lifecycle's settings and each fleet's job; ``POST
  /_sim/lifecycle`` changes some of them until the next reset (block "Federation lifecycle"):
  ``job`` (``advancing``: Initializing, Running, Running, Success; ``failing``: ... Failed, sub-job
  CreateNetworkResource with a reason; ``unknown-word``: an undocumented phase word, then Success),
  ``step`` (seconds per phase, default 1), ``federation_id_at`` (``success`` or ``start`` of the
  job: when spec.federationId appears, with condition ``Creating`` meanwhile), ``page_cap`` (the
  most fleets a list page holds), ``no_job`` (progress of a fleet that never had a job: ``400``
  UCS.01080006, ``404`` or ``empty``) and ``kubeconfig_connection`` (``oldest`` or ``newest``: the
  connection /kubeconfig serves when the fleet has several).
- ``GET /_sim/profile``: ``{profile, default, profiles}``; ``POST /_sim/profile`` ``{profile}`` switches
  the behaviour for everything the API documents leave open (see "Profiles" below).

Profiles (H4; ``--profile NAME`` at start-up, ``POST /_sim/profile`` at run time; the block
"Profiles" near the end of this file implements them):

- ``client-ca``: client certificates are signed by a separate client CA; ``certificate-authority-data``
  holds the server CA (Kubernetes' general case: the API server's ``--client-ca-file`` differs).
- ``legacy``: the behaviour before profiles: one CA signs the server and the client certificates.
- ``empty-ca``: ``"certificate-authority-data": ""`` and no insecure flag (the reference's own 201
  example); a client must trust the federation CA some other way (e.g. ``SSL_CERT_FILE``).
- ``insecure-string``: empty CA data and ``"insecure-skip-tls-verify": "true"`` (a string, as the
  reference and the SDK type it).
- ``ca-and-insecure``: CA data and ``"insecure-skip-tls-verify": "true"`` together.
- ``token-user``: ``users[].user.token`` instead of a client certificate; the federation server
  accepts that bearer token (and still any client certificate of its CAs).
- ``capped-validity``: certificates are valid for at most 90 days, whatever ``duration`` asks.
- ``no-current-context``: the single context is not named by ``current-context``.
- ``state-words``: fleets carry the reference's state words: a fleet without federation has the
  condition ``{"type": "Federation", "status": "Unavailable", "reason": "FederationUnavailable"}``,
  a healthy federated one ``"Available"`` / ``"FederationAvailable"`` (the healthy word is not
  documented; the counterpart of the documented one).

Whatever the profile, ``/cert`` refuses (UCS.01080006) only for an explicit negative state word
(``False``, ``Unavailable``, ``Failed``, ...): any other word set with ``POST /_sim/fleets``
``federation_status`` is served, as a real fleet whose federation works would be.

Fault names:

- ``429`` (``Retry-After``: ``retry_after``, default 1; body UCS.01000002), ``429-no-retry-after``,
  ``500``, ``502``, ``503``, ``504``, ``401`` (UCS auth error), ``403`` (UCS forbidden).
- ``slow``: sleep ``delay`` seconds (default 2), then answer normally.
- ``drop``: close the connection without an answer; ``reset``: close it with a TCP RST.
- ``malformed-json``: the success status with a body that is not JSON; ``truncated-json``: the normal
  answer cut in half (Content-Length matches the cut body).
- ``token-expired``: 401 as for an expired IAM token.
- kubeconfig content faults (``create_cert``/``download_kubeconfig`` only; the server does its
  work): ``kubeconfig-missing-users``, ``kubeconfig-missing-current-context``,
  ``kubeconfig-bad-base64``, ``kubeconfig-key-mismatch``, ``kubeconfig-expired-cert``,
  ``kubeconfig-wrong-duration``, ``kubeconfig-insecure``, ``kubeconfig-http-server``.

Answers with a field of another JSON type than the API documents (the server does its work, a
``/cert`` issues and counts its certificate, then the answer is changed):

- ``wrong-type`` with ``field`` (a path such as ``metadata``, ``status.conditions``,
  ``status.conditions[0].reason`` or ``clusters[0].cluster.server``) and ``value`` (any JSON value,
  null included): the answer's field is set to ``value`` (missing objects on the way are created).
- ``iam-token-not-a-token`` (``iam_token``): the issued token comes back in ``X-Subject-Token`` with
  a space in the middle, which no header-safe token has.

A faulted ``/cert`` creates and counts a connection only for ``slow``, ``wrong-type`` and the
kubeconfig faults.

Hostile mode (faults too, with an optional ``size``): ``hostile-large`` (the normal answer padded to
``size`` bytes, default 100 MiB, with its Content-Length), ``hostile-gzip-bomb`` (the normal answer
padded with zeros to ``size`` bytes, default 300 MiB, sent gzip-compressed: about 300 KiB),
``hostile-nested`` (``size`` nested JSON arrays, default 100,000), ``hostile-trickle`` (the normal
answer, one byte every ``delay`` seconds) and ``hostile-echo`` (401 whose message echoes the
caller's X-Auth-Token, Authorization and X-Security-Token headers and its body).
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_SEED: Dict[str, Any] = {
    "domain": {"id": "sim0domain0id000000000000000001", "name": "sim-domain"},
    "aksk": {"access_key": "SIMAK00000000000000001", "secret_key": "simSK0000000000000000000000000000000000001"},
    "temporary_aksk": {
        "access_key": "SIMTMPAK000000000000001",
        "secret_key": "simTmpSK00000000000000000000000000000001",
        "security_token": "simSecurityToken-0001",
    },
    "iam_user": {"id": "sim0user0id0000000000000000001", "name": "sim-user", "password": "sim-Password-0001", "domain_name": "sim-domain"},
    "region": "cn-north-4",
    "network": {
        "project_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "vpc_id": "11c9fe72-5a90-4295-bcfe-774726fb9066",
        "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b",
    },
    "other_network": {
        "project_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "vpc_id": "2b7e4c1d-93a6-4f08-8d2e-5c1f0a9b3e47",
        "subnet_id": "6f2d8a41-0c3e-4b9f-a715-3e8d2c6b1f90",
    },
    "fleets": [
        {
            "id": "5f3c1a2e-8d4b-4c6e-9a7f-1b2c3d4e5f60",
            "name": "fleet-federated",
            "federation": True,
            "federation_id": "c2a9e0d4-6b1f-4e3a-8c7d-9f0e1d2c3b4a",
        },
        {"id": "7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3", "name": "fleet-plain", "federation": False},
    ],
}

OPERATIONS = ("list_fleets", "get_fleet", "create_cert", "download_kubeconfig", "federation_progress", "iam_token", "enable_federation", "disable_federation")
KUBECONFIG_FAULTS = frozenset(
    {
        "kubeconfig-missing-users",
        "kubeconfig-missing-current-context",
        "kubeconfig-bad-base64",
        "kubeconfig-key-mismatch",
        "kubeconfig-expired-cert",
        "kubeconfig-wrong-duration",
        "kubeconfig-insecure",
        "kubeconfig-http-server",
    }
)
STATUS_FAULTS = frozenset({"429", "429-no-retry-after", "500", "502", "503", "504", "401", "403"})
# Hostile mode: see the block "hostile mode" below.
HOSTILE_FAULTS = frozenset({"hostile-large", "hostile-gzip-bomb", "hostile-nested", "hostile-trickle", "hostile-echo"})
# Answers whose fields have another JSON type than documented: see "wrong-type" below.
TYPE_FAULTS = frozenset({"wrong-type", "iam-token-not-a-token"})
FAULTS = STATUS_FAULTS | KUBECONFIG_FAULTS | HOSTILE_FAULTS | TYPE_FAULTS | {"slow", "drop", "reset", "malformed-json", "truncated-json", "token-expired"}

# Error codes. Documented (UCS API reference "Error Codes"): UCS.01000002 throttled, UCS.01080006
# federation not enabled, UCS.01100005 fleet not found. The others are the simulator's best guess
# in the same numbering; clients must report whatever code comes back, never depend on these.
UCS_INTERNAL = "UCS.01000001"
UCS_THROTTLED = "UCS.01000002"
UCS_UNAVAILABLE = "UCS.01000003"
UCS_UNAUTHORIZED = "UCS.01000004"
UCS_FORBIDDEN = "UCS.01000005"
UCS_BAD_REQUEST = "UCS.01000006"
UCS_NO_ROUTE = "UCS.01000007"
UCS_FEDERATION_NOT_ENABLED = "UCS.01080006"
UCS_VPC_NOT_IN_PROJECT = "UCS.01080010"
UCS_SUBNET_NOT_IN_VPC = "UCS.01080011"
UCS_NO_CONNECTION = "UCS.01080012"
UCS_FLEET_NOT_FOUND = "UCS.01100005"
# API gateway codes from Huawei Cloud's "API Request Signing Guide - Error Codes" page and its FAQ
# ("Incorrect IAM authentication information: verify aksk signature fail / ak ... not exist /
# token expires / x-auth-token not found", all APIGW.0301). The gateway's time-skew message is
# documented for app auth (APIGW.0303); for IAM AK/SK auth the simulator keeps APIGW.0301 (guess).
APIGW_IAM_AUTH = "APIGW.0301"
APIGW_BACKEND_UNAVAILABLE = "APIGW.0202"  # guess from the APIG table: backend unavailable, 502
APIGW_BACKEND_TIMEOUT = "APIGW.0203"  # guess from the APIG table: backend timeout, 504

SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
MAX_BODY = 1 << 20

JSONDict = Dict[str, Any]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def merge(base: JSONDict, override: JSONDict) -> JSONDict:
    """Deep-merge ``override`` into a copy of ``base`` (lists and scalars replace)."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


# --- PKI ------------------------------------------------------------------------------------------


def new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 keeps start-up well under a second, and kubectl (Go) and OpenSSL both accept it.
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class Authority:
    """A self-signed CA that issues server and client certificates."""

    def __init__(self, common_name: str) -> None:
        self.key = new_key()
        now = utcnow()
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UCS simulator"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)

    def issue(
        self,
        common_name: str,
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
        hosts: Tuple[str, ...] = (),
        organization: Optional[str] = None,
        key: Optional[ec.EllipticCurvePrivateKey] = None,
    ) -> Tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """Issue a server certificate (when ``hosts`` is given) or a client certificate."""
        key = key or new_key()
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)] if organization else []
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if hosts else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if hosts:
            names: List[x509.GeneralName] = []
            for host in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(host)))
                except ValueError:
                    names.append(x509.DNSName(host))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def server_context(authority: Authority, hosts: Tuple[str, ...], state_dir: Path, *, client_ca: Optional[Authority] = None) -> ssl.SSLContext:
    """TLS server context; with ``client_ca`` clients must present a certificate it signed."""
    now = utcnow()
    cert, key = authority.issue(hosts[0], not_before=now - dt.timedelta(hours=1), not_after=now + dt.timedelta(days=365), hosts=hosts)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl only loads keys from files: write the key to a private temporary file and delete it at once.
    handle, name = tempfile.mkstemp(dir=state_dir, prefix=".tls-", suffix=".pem")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(cert_pem(cert) + key_pem(key))
        context.load_cert_chain(name)
    finally:
        os.unlink(name)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=client_ca.pem.decode("ascii"))
    return context


# --- State ------------------------------------------------------------------------------------------


@dataclass
class Fleet:
    id: str
    name: str
    federation: bool
    federation_id: str = ""
    federation_status: str = "True"
    federation_reason: str = "Available"
    created: str = field(default_factory=lambda: iso(utcnow()))
    endpoint_service_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def federation_ready(self) -> bool:
        return self.federation and bool(self.federation_id) and federation_word_ready(self.federation_status)

    def summary(self) -> JSONDict:
        return {"id": self.id, "name": self.name, "federation": self.federation, "federation_id": self.federation_id or None}


@dataclass
class Connection:
    fleet_id: str
    project_id: str
    vpc_id: str
    subnet_id: str
    endpoint_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    cert_calls: int = 0
    certificates_issued: int = 0
    kubeconfig_calls: int = 0

    def as_dict(self) -> JSONDict:
        return dict(self.__dict__)


@dataclass
class Fault:
    operation: str
    fault: str
    count: int = 1
    fleet_id: Optional[str] = None
    retry_after: Optional[float] = None
    delay: float = 2.0
    size: Optional[int] = None  # hostile mode: bytes (large, gzip bomb) or depth (nested)
    field: Optional[str] = None  # wrong-type: the path of the field to change
    value: Any = None  # wrong-type: its new value

    def matches(self, operation: str, fleet_id: Optional[str]) -> bool:
        if self.operation not in ("any", operation):
            return False
        if self.fleet_id is not None and self.fleet_id != fleet_id:
            return False
        # Kubeconfig content faults only make sense for answers that carry a kubeconfig.
        return self.fault not in KUBECONFIG_FAULTS or operation in ("create_cert", "download_kubeconfig")

    def as_dict(self) -> JSONDict:
        return dict(self.__dict__)


@dataclass
class Request:
    """What the handler hands over: never logged beyond method, path and status."""

    method: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    payload: Any = None
    raw: Optional[bytes] = None
    headers: Dict[str, str] = field(default_factory=dict)
    action: str = "send"  # "send", "drop" or "reset"
    # Hostile mode: a body sent piece by piece (Content-Length `length`), `interval` seconds apart.
    chunks: Optional[Iterable[bytes]] = None
    length: int = 0
    interval: float = 0.0

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.payload is None:
            return b""
        return json.dumps(self.payload, indent=None, separators=(",", ":")).encode("utf-8")


def ucs_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error_code": code, "error_msg": message})


def iam_error(status: int, title: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "title": title}})


class ApiError(Exception):
    """Raised inside an operation to answer with an error."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


# --- AK/SK verification (own implementation of huaweicloudsdkcore's SDK-HMAC-SHA256) ---------------


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    uri = "/".join(_encode(part) for part in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def header_value(raw: str) -> str:
    # http.server decodes header bytes as latin-1; the SDK signs the UTF-8 text.
    try:
        return raw.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        return raw.strip()


def string_to_sign(request: Request, signed_headers: List[str], sdk_date: str) -> str:
    lines = "".join(f"{name}:{header_value(request.headers.get(name, ''))}\n" for name in signed_headers)
    # Like the SDK: the empty-body hash, else X-Sdk-Content-Sha256 when sent (UNSIGNED-PAYLOAD), else the body's hash.
    payload_hash = (request.headers.get("x-sdk-content-sha256") or hashlib.sha256(request.body).hexdigest()) if request.body else EMPTY_SHA256
    canonical = "\n".join([request.method.upper(), canonical_uri(request.path), canonical_query(request.query), lines, ";".join(signed_headers), payload_hash])
    return "\n".join(["SDK-HMAC-SHA256", sdk_date, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def parse_authorization(value: str) -> Optional[Dict[str, str]]:
    algorithm, _separator, rest = value.strip().partition(" ")
    if algorithm != "SDK-HMAC-SHA256":
        return None
    fields: Dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields[key] = item
    if not {"Access", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


# --- The simulator --------------------------------------------------------------------------------


class Simulator:
    """State and behaviour of the UCS API, IAM and the control API (thread-safe)."""

    def __init__(self, seed: JSONDict, *, token_ttl: int, request_log: Path) -> None:
        self.seed = seed
        self.token_ttl = token_ttl
        self.request_log = request_log
        self.lock = threading.RLock()
        self.federation_ca = Authority("UCS simulator federation CA")
        self.federation_server = ""
        self.fleets: Dict[str, Fleet] = {}
        self.connections: Dict[Tuple[str, str], Connection] = {}
        self.faults: List[Fault] = []
        self.tokens: Dict[str, float] = {}
        self.issued_keys: List[str] = []
        self.requests: List[JSONDict] = []
        self.federation_requests: List[JSONDict] = []
        self.streams: List[JSONDict] = []
        self.seq = 0
        init_profiles(self)
        init_lifecycle(self)
        # project -> VPC -> subnets that exist: the seed's, plus those added with POST /_sim/networks
        # until the next reset.
        self.seed_networks: Dict[str, Dict[str, set]] = {}
        for key in ("network", "other_network"):
            net = seed.get(key)
            if isinstance(net, dict):
                self.seed_networks.setdefault(net["project_id"], {}).setdefault(net["vpc_id"], set()).add(net["subnet_id"])
        self.networks: Dict[str, Dict[str, set]] = {}
        self.reset()

    # -- state --

    def reset(self) -> None:
        with self.lock:
            self.fleets = {}
            self.networks = {project: {vpc: set(subnets) for vpc, subnets in vpcs.items()} for project, vpcs in self.seed_networks.items()}
            for item in self.seed.get("fleets", []):
                self.upsert_fleet(item)
            self.connections = {}
            self.faults = []
            self.tokens = {}
            self.issued_keys = []
            self.clear_requests()
            self.federation_requests = []
            self.streams = []
            reset_profile(self)
            init_lifecycle(self)

    def clear_requests(self) -> int:
        with self.lock:
            count = len(self.requests)
            self.requests = []
            self.seq = 0
            self.request_log.write_text("")
            return count

    def upsert_fleet(self, item: JSONDict) -> Fleet:
        if not isinstance(item.get("name"), str) or not item["name"]:
            raise ValueError("name (a non-empty string) is required")
        with self.lock:
            fleet_id = str(item.get("id") or uuid.uuid4())
            federation = bool(item.get("federation", False))
            previous = self.fleets.get(fleet_id)
            federation_id = str(item.get("federation_id") or (previous.federation_id if previous else "") or "")
            if federation and not federation_id:
                federation_id = str(uuid.uuid4())
            fleet = Fleet(
                id=fleet_id,
                name=item["name"],
                federation=federation,
                federation_id=federation_id if federation else "",
                federation_status=str(item.get("federation_status", "True")),
                federation_reason=str(item.get("federation_reason", "Available")),
            )
            if previous is not None:
                fleet.created = previous.created
                fleet.endpoint_service_id = previous.endpoint_service_id
            self.fleets[fleet_id] = fleet
            return fleet

    def issue_token(self, ttl: Optional[float] = None, length: int = 0) -> Tuple[str, dt.datetime]:
        token = "MIIsim" + secrets.token_urlsafe(max(48, length * 3 // 4))
        expires = time.time() + (self.token_ttl if ttl is None else ttl)
        with self.lock:
            self.tokens[token] = expires
        return token, dt.datetime.fromtimestamp(expires, dt.timezone.utc)

    def expire_tokens(self) -> int:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0
            return len(self.tokens)

    def take_fault(self, operation: str, fleet_id: Optional[str]) -> Optional[Fault]:
        with self.lock:
            for fault in self.faults:
                if fault.matches(operation, fleet_id):
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self.faults.remove(fault)
                    return copy.copy(fault)
        return None

    def log(self, entry: JSONDict) -> None:
        """Record method, path, status, auth kind, fleet, operation and fault: never headers or bodies."""
        with self.lock:
            self.seq += 1
            entry = {"seq": self.seq, **entry}
            self.requests.append(entry)
            with self.request_log.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(entry) + "\n")

    def log_stream(self, path: str, seconds: float, complete: bool) -> None:
        with self.lock:
            self.streams.append({"path": path, "seconds": round(seconds, 3), "complete": complete})

    def log_federation(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.federation_requests.append({"seq": len(self.federation_requests) + 1, "method": method, "path": path, "status": status})

    # -- dispatch --

    @staticmethod
    def route(method: str, path: str) -> Tuple[str, Optional[str]]:
        parts = [part for part in path.split("/") if part]
        if parts == ["v3", "auth", "tokens"] and method == "POST":
            return "iam_token", None
        if len(parts) < 2 or parts[:2] != ["v1", "clustergroups"]:
            return "unknown", None
        rest = parts[2:]
        fleet_id = rest[0] if rest else None
        table = {
            ("GET", 0): "list_fleets",
            ("GET", 1): "get_fleet",
            ("POST", 2, "cert"): "create_cert",
            ("POST", 2, "kubeconfig"): "download_kubeconfig",
            ("POST", 2, "federations"): "enable_federation",
            ("DELETE", 2, "federations"): "disable_federation",
        }
        if len(rest) < 2:
            operation = table.get((method, len(rest)))
        elif len(rest) == 2:
            operation = table.get((method, 2, rest[1]))
        else:
            operation = "federation_progress" if method == "GET" and rest[1:] == ["federations", "progress"] else None
        return (operation or "unknown"), fleet_id

    def handle(self, request: Request) -> Reply:
        operation, fleet_id = self.route(request.method, request.path)
        auth = "iam" if operation == "iam_token" else self.auth_kind(request.headers)
        fault: Optional[Fault] = None
        try:
            if operation == "unknown":
                raise ApiError(ucs_error(404, UCS_NO_ROUTE, f"The API {request.method} {request.path} does not exist"))
            if operation != "iam_token":
                self.authenticate(request)
            settle_lifecycle(self)
            fault = self.take_fault(operation, fleet_id)
            reply = self.run(operation, request, fleet_id, fault)
        except ApiError as error:
            reply = error.reply
        reply.headers.setdefault("X-Request-Id", uuid.uuid4().hex)
        if isinstance(reply.payload, dict) and str(reply.payload.get("error_code", "")).startswith("APIGW."):
            reply.payload["request_id"] = reply.headers["X-Request-Id"]
        status = None if reply.action != "send" else reply.status
        self.log(
            {
                "method": request.method,
                "path": request.path,
                "status": status,
                "auth": auth,
                "fleet_id": fleet_id,
                "operation": operation,
                "fault": fault.fault if fault else None,
            }
        )
        return reply

    def run(self, operation: str, request: Request, fleet_id: Optional[str], fault: Optional[Fault]) -> Reply:
        handlers: Dict[str, Callable[..., Reply]] = {
            "iam_token": self.op_iam_token,
            "list_fleets": self.op_list_fleets,
            "get_fleet": self.op_get_fleet,
            "create_cert": self.op_create_cert,
            "download_kubeconfig": self.op_download_kubeconfig,
            "federation_progress": self.op_federation_progress,
            "enable_federation": lambda *args, **kwargs: op_enable_federation(self, *args, **kwargs),
            "disable_federation": lambda *args, **kwargs: op_disable_federation(self, *args, **kwargs),
        }
        handler = handlers[operation]
        name = fault.fault if fault else None
        if fault is None or name in KUBECONFIG_FAULTS:
            return handler(request, fleet_id, mutation=name)
        if name in HOSTILE_FAULTS:
            return hostile_reply(fault, request, lambda: handler(request, fleet_id, commit=False))
        if name in TYPE_FAULTS:
            return wrongly_typed(fault, handler(request, fleet_id))
        if name == "slow":
            time.sleep(max(0.0, fault.delay))
            return handler(request, fleet_id)
        if name in ("drop", "reset"):
            return Reply(action=name)
        if name == "token-expired":
            return self._denied(f"token expires, expires_at: {iso(utcnow())}").reply
        if name in STATUS_FAULTS:
            return self.status_fault(fault)
        # malformed-json / truncated-json: the answer the server would have sent, without side effects.
        normal = handler(request, fleet_id, commit=False)
        if name == "malformed-json":
            return Reply(normal.status, raw=b"<html><body>upstream answered garbage</body></html>", headers={"Content-Type": "application/json"})
        text = normal.body()
        return Reply(normal.status, raw=text[: max(1, len(text) // 2)], headers=dict(normal.headers))

    @staticmethod
    def status_fault(fault: Fault) -> Reply:
        name = fault.fault
        if name.startswith("429"):
            reply = ucs_error(429, UCS_THROTTLED, "The request is throttled: too many requests, try again later")
            if name == "429":
                retry_after = 1 if fault.retry_after is None else fault.retry_after
                reply.headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
            return reply
        table = {
            "500": (UCS_INTERNAL, "Internal server error"),
            "502": (APIGW_BACKEND_UNAVAILABLE, "Backend unavailable"),
            "503": (UCS_UNAVAILABLE, "Service temporarily unavailable"),
            "504": (APIGW_BACKEND_TIMEOUT, "Backend timeout"),
            "401": (UCS_UNAUTHORIZED, "Authentication failed: the credentials are not valid for this request"),
            "403": (UCS_FORBIDDEN, "Forbidden: the user has no permission for this operation"),
        }
        code, message = table[name]
        return ucs_error(int(name), code, message)

    # -- authentication --

    @staticmethod
    def auth_kind(headers: Dict[str, str]) -> str:
        if "x-auth-token" in headers:
            return "token"
        if "authorization" in headers:
            return "aksk"
        return "none"

    @staticmethod
    def _denied(message: str) -> ApiError:
        return ApiError(Reply(401, {"error_code": APIGW_IAM_AUTH, "error_msg": f"Incorrect IAM authentication information: {message}"}))

    def authenticate(self, request: Request) -> None:
        headers = request.headers
        if "x-auth-token" in headers:
            with self.lock:
                expires = self.tokens.get(headers["x-auth-token"].strip())
            if expires is None:
                raise self._denied("decrypt token fail")
            if expires <= time.time():
                raise self._denied(f"token expires, expires_at: {iso(dt.datetime.fromtimestamp(expires, dt.timezone.utc))}")
            return
        if "authorization" not in headers:
            raise self._denied("x-auth-token not found")
        self.verify_signature(request)

    def verify_signature(self, request: Request) -> None:
        headers = request.headers
        fields = parse_authorization(headers["authorization"])
        if fields is None:
            raise self._denied("unsupported or malformed Authorization header")
        access = fields["Access"]
        permanent = self.seed["aksk"]
        temporary = self.seed["temporary_aksk"]
        if access == permanent["access_key"]:
            secret_key, security_token = permanent["secret_key"], None
        elif access == temporary["access_key"]:
            secret_key, security_token = temporary["secret_key"], temporary["security_token"]
        else:
            raise self._denied(f"ak {access} not exist")
        sdk_date = headers.get("x-sdk-date", "")
        try:
            signed_at = dt.datetime.strptime(sdk_date, SDK_DATE_FORMAT).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            raise self._denied("x-sdk-date is missing or not in the format YYYYMMDDTHHMMSSZ") from None
        now = utcnow()
        if abs(now - signed_at) > MAX_CLOCK_SKEW:
            raise self._denied(f"signature expired, signature time:{sdk_date},server time:{now.strftime(SDK_DATE_FORMAT)}")
        signed = fields["SignedHeaders"].split(";")
        required = {"x-sdk-date", "x-domain-id"} | ({"x-security-token"} if security_token else set())
        if signed != sorted(signed) or not set(signed) <= headers.keys() or not required <= set(signed):
            raise self._denied("verify aksk signature fail")
        expected = hmac.new(secret_key.encode("utf-8"), string_to_sign(request, signed, sdk_date).encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"].strip()):
            raise self._denied("verify aksk signature fail")
        if security_token is not None and not hmac.compare_digest(header_value(headers.get("x-security-token", "")), security_token):
            raise self._denied("verify security token fail")
        if header_value(headers["x-domain-id"]) != self.seed["domain"]["id"]:
            raise self._denied("the X-Domain-Id header does not name the domain of the access key")

    # -- IAM --

    def op_iam_token(self, request: Request, _fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        del mutation
        try:
            document = json.loads(request.body or b"null")
            identity = document["auth"]["identity"]
            if "password" not in identity["methods"]:
                raise TypeError("methods")
            user = identity["password"]["user"]
            name, password, domain = user["name"], user["password"], user["domain"]
            if not all(isinstance(v, str) for v in (name, password)) or not isinstance(domain, dict):
                raise TypeError("user")
            scope = document["auth"].get("scope")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ApiError(iam_error(400, "Bad Request", "The request body is malformed: expected auth.identity.password.user")) from None
        seed_domain = self.seed["domain"]
        seed_user = self.seed["iam_user"]

        def names_domain(item: Any) -> bool:
            return isinstance(item, dict) and (item.get("name") == seed_domain["name"] or item.get("id") == seed_domain["id"])

        if name != seed_user["name"] or not hmac.compare_digest(password, seed_user["password"]) or not names_domain(domain):
            raise ApiError(iam_error(401, "Unauthorized", "The username or password is wrong."))
        if scope is not None and not (isinstance(scope, dict) and names_domain(scope.get("domain"))):
            raise ApiError(iam_error(401, "Unauthorized", "The request you have made requires authentication: the scope is not the user's domain."))
        issued = utcnow()
        if commit:
            token, expires = self.issue_token()
        else:
            token, expires = "", issued + dt.timedelta(seconds=self.token_ttl)
        domain_ref = {"id": seed_domain["id"], "name": seed_domain["name"]}
        body = {
            "token": {
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "methods": ["password"],
                "domain": domain_ref,
                "user": {"id": seed_user.get("id", ""), "name": seed_user["name"], "domain": domain_ref, "password_expires_at": ""},
                "roles": [{"id": "0", "name": "te_admin"}],
                "catalog": [],
            }
        }
        headers = {"X-Subject-Token": token} if commit else {}
        return Reply(201, body, headers=headers)

    # -- fleets --

    def fleet(self, fleet_id: Optional[str]) -> Fleet:
        with self.lock:
            fleet = self.fleets.get(fleet_id or "")
        if fleet is None:
            raise ApiError(ucs_error(404, UCS_FLEET_NOT_FOUND, f"The fleet (cluster group) {fleet_id} does not exist"))
        return fleet

    def fleet_document(self, fleet: Fleet) -> JSONDict:
        spec: JSONDict = {"description": f"{fleet.name} (simulated)", "ruleNamespaces": [], "dnsSuffix": [], "policyId": ""}
        conditions: List[JSONDict] = []
        if fleet.federation:
            spec.update(
                federationId=fleet.federation_id,
                federationVersion="v1.28.3-r0",
                federationExpirationTimestamp="",
                connectGatewayEndpoints=[
                    {
                        "type": "VPCEP",  # "Currently, only VPCEP is supported" (ListClusterGroup)
                        "name": f"ucs-federation-{fleet.federation_id[:8]}",
                        "id": fleet.endpoint_service_id,
                        "region": self.seed["region"],
                    }
                ],
            )
            conditions.append(
                {
                    "type": "Federation",
                    "status": fleet.federation_status,
                    "reason": fleet.federation_reason,
                    "message": "federation is " + ("available" if fleet.federation_ready else fleet.federation_reason.lower()),
                    "lastTransitionTime": fleet.created,
                }
            )
        conditions = profile_conditions(self, fleet, conditions)
        return {
            "kind": "ClusterGroup",
            "apiVersion": "v1",
            "metadata": {
                "uid": fleet.id,
                "name": fleet.name,
                "labels": {},
                "annotations": {},
                "creationTimestamp": fleet.created,
                "updateTimestamp": fleet.created,
            },
            "spec": spec,
            "status": {"conditions": conditions},
        }

    def op_list_fleets(self, request: Request, _fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        del commit, mutation
        return list_page(self, request)

    def op_get_fleet(self, _request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        del commit, mutation
        return Reply(200, self.fleet_document(self.fleet(fleet_id)))

    def op_federation_progress(self, _request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        del commit, mutation
        fleet = self.fleet(fleet_id)
        reply = lifecycle_progress(self, fleet)
        if reply is not None:
            return reply
        phase = "Success" if fleet.federation_ready else "Running"
        return Reply(
            200,
            {
                "kind": "Job",
                "apiVersion": "v1",
                "metadata": {"uid": fleet.federation_id, "name": f"federation-{fleet.name}", "creationTimestamp": fleet.created},
                "spec": {
                    "type": "EnableFederation",
                    "federationUID": fleet.federation_id,
                    "resourceID": fleet.id,
                    "resourceName": fleet.name,
                    "extendparam": "",
                    "subJobs": [],
                },
                "status": {"phase": phase, "reason": "", "startTime": fleet.created, "completionTime": fleet.created if phase == "Success" else ""},
            },
        )

    # -- federation certificates --

    @staticmethod
    def json_body(request: Request) -> JSONDict:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(ucs_error(400, UCS_BAD_REQUEST, "Content-Type must be application/json"))
        try:
            document = json.loads(request.body)
        except ValueError:
            raise ApiError(ucs_error(400, UCS_BAD_REQUEST, "The request body is not valid JSON")) from None
        if not isinstance(document, dict):
            raise ApiError(ucs_error(400, UCS_BAD_REQUEST, "The request body must be a JSON object"))
        return document

    @staticmethod
    def duration(document: JSONDict) -> int:
        value = document.get("duration")
        # bool is an int subclass in Python; JSON true must not pass as 1 day.
        if isinstance(value, bool) or not isinstance(value, int):  # bool is an int subclass, not a JSON integer
            raise ApiError(ucs_error(400, UCS_BAD_REQUEST, "duration is required and must be an integer (days)"))
        if not 1 <= value <= 1825:
            raise ApiError(ucs_error(400, UCS_BAD_REQUEST, f"duration must be between 1 and 1825, got {value}"))
        return value

    @staticmethod
    def require_federation(fleet: Fleet) -> None:
        if not fleet.federation_ready:
            raise ApiError(ucs_error(400, UCS_FEDERATION_NOT_ENABLED, f"Federation is not enabled for fleet {fleet.id}"))

    def op_create_cert(self, request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        fleet = self.fleet(fleet_id)
        document = self.json_body(request)
        for name in ("projectID", "vpcID", "subnetID"):
            if not isinstance(document.get(name), str) or not document[name]:
                raise ApiError(ucs_error(400, UCS_BAD_REQUEST, f"{name} is required and must be a non-empty string"))
        days = self.duration(document)
        self.require_federation(fleet)
        project, vpc, subnet = document["projectID"], document["vpcID"], document["subnetID"]
        vpcs = self.networks.get(project, {})
        if vpc not in vpcs:
            raise ApiError(ucs_error(400, UCS_VPC_NOT_IN_PROJECT, f"VPC {vpc} does not exist in project {project}"))
        if subnet not in vpcs[vpc]:
            raise ApiError(ucs_error(400, UCS_SUBNET_NOT_IN_VPC, f"Subnet {subnet} does not exist in VPC {vpc}"))
        if commit:
            with self.lock:
                # One endpoint per fleet and VPC: a later /cert for the same VPC reuses it.
                connection = self.connections.setdefault((fleet.id, vpc), Connection(fleet.id, project, vpc, subnet))
                connection.cert_calls += 1
                connection.certificates_issued += 1
        return Reply(201, self.kubeconfig(fleet, days, mutation))

    def op_download_kubeconfig(self, request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
        fleet = self.fleet(fleet_id)
        days = self.duration(self.json_body(request))
        self.require_federation(fleet)
        with self.lock:
            existing = [item for item in self.connections.values() if item.fleet_id == fleet.id]
            if not existing:
                raise ApiError(
                    ucs_error(400, UCS_NO_CONNECTION, f"Fleet {fleet.id} has no federation connection: create one with POST /v1/clustergroups/{fleet.id}/cert")
                )
            if commit:
                served = chosen_connection(self, existing)
                served.kubeconfig_calls += 1
                served.certificates_issued += 1
        return Reply(201, self.kubeconfig(fleet, days, mutation))

    def kubeconfig(self, fleet: Fleet, days: int, mutation: Optional[str]) -> JSONDict:
        days = profile_days(self, days)
        now = utcnow()
        not_before, not_after = now, now + dt.timedelta(days=days)
        if mutation == "kubeconfig-expired-cert":
            not_before, not_after = now - dt.timedelta(days=days + 1), now - dt.timedelta(days=1)
        elif mutation == "kubeconfig-wrong-duration":
            not_after = now + dt.timedelta(days=days + 10)
        issuer = profile_client_ca(self)
        cert, key = issuer.issue(f"ucs-federation-user-{fleet.name}", organization="system:masters", not_before=not_before, not_after=not_after)
        if mutation == "kubeconfig-key-mismatch":
            key = new_key()
        cluster_name, user_name, context_name = f"cluster-{fleet.name}", f"user-{fleet.name}", fleet.name
        cluster: JSONDict = {"server": self.federation_server, "certificate-authority-data": b64(self.federation_ca.pem)}
        user: JSONDict = {"client-certificate-data": b64(cert_pem(cert)), "client-key-data": b64(key_pem(key))}
        with self.lock:
            self.issued_keys.append(user["client-key-data"])
        if mutation == "kubeconfig-insecure":
            cluster["insecure-skip-tls-verify"] = "true"
        elif mutation == "kubeconfig-http-server":
            cluster["server"] = "http://" + self.federation_server.split("://", 1)[1]
        elif mutation == "kubeconfig-bad-base64":
            user["client-certificate-data"] = "%%not-base64%%" + user["client-certificate-data"][:40]
        config: JSONDict = {
            "kind": "Config",
            "apiVersion": "v1",
            "clusters": [{"name": cluster_name, "cluster": cluster}],
            "users": [{"name": user_name, "user": user}],
            "contexts": [{"name": context_name, "context": {"cluster": cluster_name, "user": user_name}}],
            "current-context": context_name,
        }
        profile_shape(self, config)
        if mutation == "kubeconfig-missing-users":
            del config["users"]
        elif mutation == "kubeconfig-missing-current-context":
            del config["current-context"]
        return config

    # -- control API --

    def control(self, method: str, path: str, body: bytes) -> Reply:
        settle_lifecycle(self)
        parts = [part for part in path.split("/") if part][1:]
        try:
            document = json.loads(body) if body.strip() else {}
        except ValueError:
            return Reply(400, {"error": "the body is not valid JSON"})
        if not isinstance(document, dict):
            return Reply(400, {"error": "the body must be a JSON object"})
        calls: Dict[Tuple[str, str], Callable[[JSONDict], Reply]] = {
            ("GET", "requests"): lambda _: Reply(200, list(self.requests)),
            ("DELETE", "requests"): lambda _: Reply(200, {"cleared": self.clear_requests()}),
            ("GET", "federation-requests"): lambda _: Reply(200, list(self.federation_requests)),
            ("GET", "streams"): lambda _: Reply(200, list(self.streams)),
            ("GET", "faults"): lambda _: Reply(200, [fault.as_dict() for fault in self.faults]),
            ("POST", "faults"): lambda doc: Reply(201, self.add_fault(doc)),
            ("DELETE", "faults"): lambda _: Reply(200, {"cleared": self.clear_faults()}),
            ("GET", "connections"): lambda _: Reply(200, [item.as_dict() for item in self.connections.values()]),
            ("GET", "fleets"): lambda _: Reply(200, [fleet.summary() for fleet in self.fleets.values()]),
            ("POST", "fleets"): lambda doc: Reply(200, self.upsert_fleet(doc).summary()),
            ("POST", "networks"): lambda doc: Reply(200, self.add_network(doc)),
            ("POST", "tokens"): self.control_issue_token,
            ("POST", "tokens/expire"): lambda _: Reply(200, {"expired": self.expire_tokens()}),
            ("GET", "secrets"): lambda _: Reply(200, {"tokens": sorted(self.tokens) + sorted(self.federation_tokens), "client_keys": list(self.issued_keys)}),
            ("POST", "reset"): self.control_reset,
            ("GET", "profile"): lambda _: Reply(200, profile_info(self)),
            ("POST", "profile"): lambda doc: Reply(200, set_profile(self, doc.get("profile"))),
            ("GET", "lifecycle"): lambda doc: lifecycle_control(self, "GET", doc),
            ("POST", "lifecycle"): lambda doc: lifecycle_control(self, "POST", doc),
        }
        if method == "DELETE" and len(parts) == 2 and parts[0] == "fleets":
            return self.control_delete_fleet(parts[1])
        call = calls.get((method, "/".join(parts)))
        if call is None:
            return Reply(404, {"error": f"unknown control API call {method} {path}"})
        try:
            with self.lock:
                return call(document)
        except (ValueError, TypeError) as error:
            return Reply(400, {"error": str(error)})

    def clear_faults(self) -> int:
        with self.lock:
            count = len(self.faults)
            self.faults = []
            return count

    def control_issue_token(self, document: JSONDict) -> Reply:
        ttl = document.get("ttl")
        token, expires = self.issue_token(None if ttl is None else float(ttl), int(document.get("length", 0)))
        return Reply(201, {"token": token, "expires_at": iso(expires)})

    def control_reset(self, _document: JSONDict) -> Reply:
        self.reset()
        return Reply(200, {"reset": True})

    def add_network(self, document: JSONDict) -> JSONDict:
        ids = {name: document.get(name) for name in ("project_id", "vpc_id", "subnet_id")}
        for name, value in ids.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} (a non-empty string) is required")
        self.networks.setdefault(ids["project_id"], {}).setdefault(ids["vpc_id"], set()).add(ids["subnet_id"])
        return ids

    def control_delete_fleet(self, fleet_id: str) -> Reply:
        with self.lock:
            removed = self.fleets.pop(fleet_id, None)
        return Reply(200 if removed else 404, {"deleted": removed is not None})

    def add_fault(self, document: JSONDict) -> JSONDict:
        name = document.get("fault")
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {sorted(FAULTS)}")
        operation = document.get("operation", "any")
        if operation not in (*OPERATIONS, "any"):
            raise ValueError(f"unknown operation {operation!r}; known: {[*OPERATIONS, 'any']}")
        count = document.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count == 0 or count < -1:
            raise ValueError("count must be a positive integer or -1 (always)")
        if name == "wrong-type" and not (isinstance(document.get("field"), str) and FIELD_PATH_RE.fullmatch(document["field"]) and "value" in document):
            raise ValueError("wrong-type needs field (a path such as status.conditions[0].type) and value (any JSON value)")
        if name == "iam-token-not-a-token" and operation != "iam_token":
            raise ValueError("iam-token-not-a-token applies to the operation iam_token")
        fault = Fault(
            operation=operation,
            fault=name,
            count=count,
            fleet_id=document.get("fleet_id"),
            retry_after=None if document.get("retry_after") is None else float(document["retry_after"]),
            delay=float(document.get("delay", 2.0)),
            size=None if document.get("size") is None else int(document["size"]),
            field=document.get("field"),
            value=document.get("value"),
        )
        with self.lock:
            self.faults.append(fault)
        return fault.as_dict()


# --- Answers with fields of another type ----------------------------------------------------------

# A field path: keys (letters, digits, '_' and '-') joined by '.', and [index] steps.
FIELD_PATH_RE = re.compile(r"[A-Za-z_][\w-]*(\[\d+\]|\.[A-Za-z_][\w-]*)*")
_FIELD_STEP_RE = re.compile(r"\.?([A-Za-z_][\w-]*)|\[(\d+)\]")


def wrongly_typed(fault: Fault, reply: Reply) -> Reply:
    """The answer the server gave, with one field of another type (wrong-type) or a token that is not one."""
    if reply.status >= 400:
        return reply
    if fault.fault == "iam-token-not-a-token":
        token = reply.headers.get("X-Subject-Token", "")
        reply.headers["X-Subject-Token"] = f"{token[:12]} {token[12:]}"
        return reply
    # Each step: a key, or an index into an array.
    steps: List[Any] = [key or int(index) for key, index in _FIELD_STEP_RE.findall(cast(str, fault.field))]
    node: Any = reply.payload
    for step, following in zip(steps, steps[1:]):
        if isinstance(step, str) and step not in node:
            node[step] = {} if isinstance(following, str) else []
        node = node[step]
    node[steps[-1]] = fault.value
    return reply


# --- Profiles (H4: where the API documents leave a behaviour open) ----------------------------------
# Everything of the profiles lives here; the code above calls these functions at a few marked places.

DEFAULT_PROFILE = "client-ca"
PROFILES: Dict[str, str] = {
    "client-ca": "client certificates signed by a separate client CA; certificate-authority-data is the server CA",
    "legacy": "one CA signs the server and the client certificates (the behaviour before profiles)",
    "empty-ca": 'certificate-authority-data is "" and there is no insecure flag',
    "insecure-string": 'empty CA data and insecure-skip-tls-verify: "true" (a string)',
    "ca-and-insecure": 'CA data and insecure-skip-tls-verify: "true" together',
    "token-user": "users[].user.token instead of a client certificate; the federation server accepts the bearer token",
    "capped-validity": f"certificates valid for at most {90} days, whatever duration asks",
    "no-current-context": "one context, no current-context",
    "state-words": "Federation conditions use the reference's state words (Unavailable/FederationUnavailable, Available)",
}
CAPPED_VALIDITY_DAYS = 90
# Explicit negatives: the documented "Unavailable"/"FederationUnavailable", Kubernetes' "False" and
# the job phases of ShowFederationProgress. Any other word counts as a working federation.
NEGATIVE_WORDS = frozenset({"false", "unavailable", "federationunavailable", "disabled", "failed", "error", "timedout", "deleted"})


def federation_word_ready(status: str) -> bool:
    return str(status).strip().lower() not in NEGATIVE_WORDS


def init_profiles(sim: Simulator) -> None:
    sim.client_ca = Authority("UCS simulator federation client CA")
    sim.federation_tokens = set()
    sim.start_profile = DEFAULT_PROFILE
    sim.profile = DEFAULT_PROFILE


def reset_profile(sim: Simulator) -> None:
    sim.profile = sim.start_profile
    sim.federation_tokens = set()


def profile_info(sim: Simulator) -> JSONDict:
    return {"profile": sim.profile, "default": sim.start_profile, "profiles": dict(PROFILES)}


def set_profile(sim: Simulator, name: Any) -> JSONDict:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {sorted(PROFILES)}")
    sim.profile = name
    return profile_info(sim)


def profile_days(sim: Simulator, days: int) -> int:
    return min(days, CAPPED_VALIDITY_DAYS) if sim.profile == "capped-validity" else days


def profile_client_ca(sim: Simulator) -> Authority:
    # Only "legacy" signs client certificates with the server CA; every other profile uses the separate client CA.
    return sim.federation_ca if sim.profile == "legacy" else sim.client_ca


def profile_conditions(sim: Simulator, fleet: Fleet, conditions: List[JSONDict]) -> List[JSONDict]:
    if sim.profile != "state-words":
        return conditions
    if not fleet.federation:
        return [
            {
                "type": "Federation",
                "status": "Unavailable",
                "reason": "FederationUnavailable",
                "message": "federation is not enabled",
                "lastTransitionTime": fleet.created,
            }
        ]
    healthy = {"status": "Available", "reason": "FederationAvailable"}
    return [{**item, **healthy} if item.get("type") == "Federation" and item.get("status") == "True" else item for item in conditions]


def profile_shape(sim: Simulator, config: JSONDict) -> None:
    cluster = config["clusters"][0]["cluster"]
    if sim.profile in ("empty-ca", "insecure-string"):
        cluster["certificate-authority-data"] = ""
    if sim.profile in ("insecure-string", "ca-and-insecure"):
        cluster["insecure-skip-tls-verify"] = "true"
    if sim.profile == "token-user":
        token = "ucs-federation-token-" + secrets.token_urlsafe(32)
        with sim.lock:
            sim.federation_tokens.add(token)
        config["users"][0]["user"] = {"token": token}
    if sim.profile == "no-current-context":
        config.pop("current-context", None)


def federation_profile_contexts(server: TLSServer, sim: Simulator) -> None:
    """The federation server trusts client certificates of both CAs; token-user makes them optional."""
    server.context.load_verify_locations(cadata=sim.client_ca.pem.decode("ascii"))
    optional = server_context(sim.federation_ca, tuple(dict.fromkeys([server.server_address[0], "127.0.0.1", "localhost"])), sim.request_log.parent)
    optional.verify_mode = ssl.CERT_OPTIONAL
    for authority in (sim.federation_ca, sim.client_ca):
        optional.load_verify_locations(cadata=authority.pem.decode("ascii"))
    server.token_context = optional


def tls_context(server: TLSServer) -> ssl.SSLContext:
    token_context = getattr(server, "token_context", None)
    if token_context is not None and server.simulator.profile == "token-user":
        return token_context
    return server.context


def federation_denied(handler: BaseHandler) -> Optional[Reply]:
    """A request without a verified client certificate needs a bearer token issued in token-user."""
    if handler.connection.getpeercert():
        return None
    sim = handler.simulator
    scheme, _sep, token = str(handler.headers.get("Authorization", "")).partition(" ")
    with sim.lock:
        known = token.strip() in sim.federation_tokens
    if scheme.lower() == "bearer" and known:
        return None
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized", "reason": "Unauthorized"}
    return Reply(401, {**status, "code": 401})


# --- End of profiles --------------------------------------------------------------------------------


# --- hostile mode (H3) ---------------------------------------------------------------------------
# Answers a hostile or broken server could send. Each is built from the answer the server would
# have sent (without its side effects), so that only the hostile part differs.

HOSTILE_DEFAULT_SIZES = {"hostile-large": 100 << 20, "hostile-gzip-bomb": 300 << 20, "hostile-nested": 100_000}
_MIB = 1 << 20


def padded(normal: Reply, size: int) -> Tuple[bytes, bytes, int]:
    """Head and tail of the normal JSON answer with an ``x-padding`` member, and the padding length to reach ``size`` bytes."""
    text = normal.body()
    head = (text[:-1] + b"," if text.endswith(b"}") and text != b"{}" else b"{") + b'"x-padding":"'
    tail = b'"}'
    return head, tail, max(0, size - len(head) - len(tail))


def large_chunks(head: bytes, tail: bytes, pad: int, filler: bytes = b"x") -> Iterator[bytes]:
    yield head
    block = filler * _MIB
    while pad > 0:
        yield block[: min(pad, _MIB)]
        pad -= _MIB
    yield tail


def gzip_bomb(normal: Reply, size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head, tail, pad = padded(normal, size)
    return b"".join([*(compressor.compress(part) for part in large_chunks(head, tail, pad, b"0")), compressor.flush()])


def echo_message(request: Request) -> str:
    shown = [f"{name}={request.headers[name]}" for name in ("x-auth-token", "authorization", "x-security-token") if name in request.headers]
    body = request.body.decode("utf-8", "replace")
    return f"Incorrect IAM authentication information: verify token fail. Request headers: {'; '.join(shown) or 'none'}; body: {body}"


def hostile_reply(fault: Fault, request: Request, normal_reply: Callable[[], Reply]) -> Reply:
    name = fault.fault
    size = fault.size if fault.size is not None else HOSTILE_DEFAULT_SIZES.get(name, 0)
    if name == "hostile-echo":
        return ucs_error(401, APIGW_IAM_AUTH, echo_message(request))
    if name == "hostile-nested":
        return Reply(200, raw=b"[" * size + b"]" * size)
    normal = normal_reply()
    if name == "hostile-large":
        head, tail, pad = padded(normal, size)
        return Reply(normal.status, headers=dict(normal.headers), chunks=large_chunks(head, tail, pad), length=len(head) + pad + len(tail))
    if name == "hostile-gzip-bomb":
        body = gzip_bomb(normal, size)
        return Reply(normal.status, raw=body, headers={**normal.headers, "Content-Encoding": "gzip"})
    # hostile-trickle: every byte arrives in time for a per-read timeout, the whole answer does not.
    body = normal.body()
    return Reply(normal.status, headers=dict(normal.headers), chunks=(body[i : i + 1] for i in range(len(body))), length=len(body), interval=fault.delay)


def send_stream(handler: BaseHTTPRequestHandler, reply: Reply) -> bool:
    """Send a chunked reply; True when every chunk went out, False when the client hung up."""
    handler.send_response(reply.status)
    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(reply.length))
    handler.end_headers()
    try:
        handler.wfile.flush()
        for chunk in cast(Iterable[bytes], reply.chunks):
            if reply.interval:
                time.sleep(reply.interval)
            handler.wfile.write(chunk)
            handler.wfile.flush()
    except OSError:
        # The client gave up (as it should): nothing more to send on this connection.
        handler.close_connection = True
        return False
    return True


# --- end of hostile mode ---------------------------------------------------------------------------


# --- Federation lifecycle (issue 21) ------------------------------------------------------------------
# The paged fleet list, the enabling and disabling jobs with phases that advance over time,
# DELETE /federations and the connection /kubeconfig serves. Every behaviour the API documents
# leave open is a setting of POST /_sim/lifecycle (docs/fidelity.md); the code above calls these
# functions at a few marked places.

LIFECYCLE_DEFAULTS: JSONDict = {
    # advancing: Initializing, Running, Running, Success (the reference's and CCE's job words);
    # failing: Initializing, Running, Failed (sub-job CreateNetworkResource fails);
    # unknown-word: Initializing, then an undocumented word (UNKNOWN_PHASE), then Success.
    "job": "advancing",
    "step": 1.0,  # seconds each phase lasts
    "federation_id_at": "success",  # when spec.federationId appears: "success" of the job or its "start"
    "page_cap": None,  # the most fleets one list page holds, whatever limit asks (None: no cap)
    "no_job": "400",  # progress of a fleet that never had a job: 400 UCS.01080006, 404, or "empty" (200 {})
    "kubeconfig_connection": "oldest",  # the connection /kubeconfig serves when a fleet has several
}
LIFECYCLE_CHOICES: Dict[str, Tuple[Any, ...]] = {
    "job": ("advancing", "failing", "unknown-word"),
    "federation_id_at": ("success", "start"),
    "no_job": ("400", "404", "empty"),
    "kubeconfig_connection": ("oldest", "newest"),
}
UNKNOWN_PHASE = "Provisioning"
JOB_SCHEDULES: Dict[str, List[str]] = {
    "advancing": ["Initializing", "Running", "Running", "Success"],
    "failing": ["Initializing", "Running", "Failed"],
    "unknown-word": ["Initializing", UNKNOWN_PHASE, UNKNOWN_PHASE, "Success"],
    "disable": ["Running", "Success"],
}
# The sub-jobs of the reference's example (ShowFederationProgress), in its order.
ENABLE_SUB_JOBS = ("InstallFederationChart", "CreateNetworkResource", "CreateCert", "CreateNode")
FAILED_SUB_JOB = "CreateNetworkResource"
FAILED_REASON = "create the ELB of the federation API server: quota of load balancers exceeded"
# Documented: UCS.01080002 "Cluster group has federalized", UCS.01000011 "Bad query parameter value";
# UCS.01080004 ("federation validate failed") for a job that is still running is a guess.
UCS_ALREADY_FEDERATED = "UCS.01080002"
UCS_FEDERATION_BUSY = "UCS.01080004"
UCS_BAD_QUERY = "UCS.01000011"


def go_time(moment: float) -> str:
    """A wall-clock time as the reference's job examples write it ("2023-07-31 13:16:20.715779 +0000 UTC")."""
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")


@dataclass
class FederationJob:
    kind: str  # "enable" or "disable"
    schedule: List[str]
    step: float
    federation_uid: str
    started: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    applied: bool = False

    def index(self) -> int:
        elapsed = time.monotonic() - self.started
        return min(int(elapsed / self.step) if self.step > 0 else len(self.schedule), len(self.schedule) - 1)

    @property
    def phase(self) -> str:
        return self.schedule[self.index()]

    @property
    def done(self) -> bool:
        return self.index() == len(self.schedule) - 1

    def wall(self, index: int) -> float:
        return self.started_wall + index * self.step


def init_lifecycle(sim: Simulator) -> None:
    sim.lifecycle = dict(LIFECYCLE_DEFAULTS)
    sim.federation_jobs = {}


def lifecycle_control(sim: Simulator, method: str, document: JSONDict) -> Reply:
    """GET /_sim/lifecycle: the settings; POST: change some (the others stay); reset restores the defaults."""
    if method == "POST":
        unknown = sorted(set(document) - set(LIFECYCLE_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown lifecycle settings {unknown}; known: {sorted(LIFECYCLE_DEFAULTS)}")
        for key, value in document.items():
            if key in LIFECYCLE_CHOICES and value not in LIFECYCLE_CHOICES[key]:
                raise ValueError(f"{key} must be one of {list(LIFECYCLE_CHOICES[key])}, got {value!r}")
        if "step" in document and (isinstance(document["step"], bool) or not isinstance(document["step"], (int, float)) or document["step"] < 0):
            raise ValueError("step must be a number of seconds, 0 or more")
        cap = document.get("page_cap")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError("page_cap must be a positive integer or null")
        sim.lifecycle.update(document)
    return Reply(200, {**sim.lifecycle, "jobs": {fleet_id: {"kind": job.kind, "phase": job.phase} for fleet_id, job in sim.federation_jobs.items()}})


def settle_lifecycle(sim: Simulator) -> None:
    """Apply the outcome of every job that reached its last phase (before any request is served)."""
    with sim.lock:
        for fleet_id, job in sim.federation_jobs.items():
            fleet = sim.fleets.get(fleet_id)
            if job.applied or not job.done or fleet is None:
                continue
            job.applied = True
            if job.kind == "disable":
                fleet.federation, fleet.federation_id = False, ""
                fleet.federation_status, fleet.federation_reason = "True", "Available"
                sim.connections = {key: item for key, item in sim.connections.items() if item.fleet_id != fleet_id}
            elif job.phase == "Success":
                fleet.federation, fleet.federation_id = True, job.federation_uid
                fleet.federation_status, fleet.federation_reason = "True", "Available"
            else:
                fleet.federation, fleet.federation_id = False, ""
                fleet.federation_status, fleet.federation_reason = "True", "Available"


def running_job(sim: Simulator, fleet_id: str) -> Optional[FederationJob]:
    job = sim.federation_jobs.get(fleet_id)
    return job if job is not None and not job.done else None


def op_enable_federation(sim: Simulator, request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
    """POST /v1/clustergroups/{id}/federations (no body; optional query retryjoinall): 201 {} and a job."""
    del mutation
    fleet = sim.fleet(fleet_id)
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    if query.get("retryjoinall", "false") not in ("true", "false"):
        raise ApiError(ucs_error(400, UCS_BAD_QUERY, "Bad query parameter value: retryjoinall must be true or false"))
    with sim.lock:
        job = running_job(sim, fleet.id)
        if job is not None:
            raise ApiError(ucs_error(400, UCS_FEDERATION_BUSY, f"A federation job ({job.kind}) of fleet {fleet.id} is running"))
        if fleet.federation:
            raise ApiError(ucs_error(400, UCS_ALREADY_FEDERATED, f"Cluster group {fleet.id} has federalized"))
        if commit:
            settings = sim.lifecycle
            job = FederationJob("enable", list(JOB_SCHEDULES[settings["job"]]), float(settings["step"]), str(uuid.uuid4()))
            sim.federation_jobs[fleet.id] = job
            if settings["federation_id_at"] == "start":
                fleet.federation, fleet.federation_id = True, job.federation_uid
                fleet.federation_status, fleet.federation_reason = "Creating", "FederationCreating"
    return Reply(201, {})


def op_disable_federation(sim: Simulator, _request: Request, fleet_id: Optional[str], *, commit: bool = True, mutation: Optional[str] = None) -> Reply:
    """DELETE /v1/clustergroups/{id}/federations: 200 with an empty body; the federation goes after a job."""
    del mutation
    fleet = sim.fleet(fleet_id)
    with sim.lock:
        job = running_job(sim, fleet.id)
        if job is not None:
            raise ApiError(ucs_error(400, UCS_FEDERATION_BUSY, f"A federation job ({job.kind}) of fleet {fleet.id} is running"))
        if not fleet.federation:
            raise ApiError(ucs_error(400, UCS_FEDERATION_NOT_ENABLED, f"Cluster group {fleet.id} has not been federalized"))
        if commit:
            sim.federation_jobs[fleet.id] = FederationJob("disable", list(JOB_SCHEDULES["disable"]), float(sim.lifecycle["step"]), fleet.federation_id)
            fleet.federation_status, fleet.federation_reason = "Deleting", "FederationDeleting"
    return Reply(200, raw=b"")


def job_document(fleet: Fleet, job: FederationJob) -> JSONDict:
    """A job as ShowFederationProgress's example shows it (kind Job, apiVersion v3, Go-style times)."""
    index, last = job.index(), len(job.schedule) - 1
    phase = job.schedule[index]
    status: JSONDict = {"phase": phase, "startTime": go_time(job.started_wall)}
    if index == last:
        status["completionTime"] = go_time(job.wall(last))
    sub_jobs: List[JSONDict] = []
    if job.kind == "enable":
        for number, sub_type in enumerate(ENABLE_SUB_JOBS):
            sub_phase = "Success" if phase == "Success" or number < index else "Running"
            sub_status: JSONDict = {"phase": sub_phase, "startTime": go_time(job.started_wall)}
            if phase == "Failed":
                sub_status["phase"] = "Failed" if sub_type == FAILED_SUB_JOB else "Success"
            if sub_status["phase"] == "Failed":
                sub_status["reason"] = FAILED_REASON
            if sub_status["phase"] != "Running":
                sub_status["completionTime"] = go_time(job.wall(min(number + 1, last)))
            sub_jobs.append(
                {
                    "kind": "Job",
                    "apiVersion": "v3",
                    "metadata": {"uid": str(uuid.uuid5(uuid.UUID(job.uid), sub_type)), "creationTimestamp": go_time(job.started_wall)},
                    "spec": {"type": sub_type, "federationUID": job.federation_uid},
                    "status": sub_status,
                }
            )
    if phase == "Failed":
        status["reason"] = f"sub-job {FAILED_SUB_JOB} failed"
    return {
        "kind": "Job",
        "apiVersion": "v3",
        "metadata": {"uid": job.uid, "creationTimestamp": go_time(job.started_wall), "updateTimestamp": go_time(job.wall(index))},
        "spec": {
            "type": "CreateFederationContainer" if job.kind == "enable" else "DeleteFederation",
            "federationUID": job.federation_uid,
            "resourceID": job.federation_uid,
            "resourceName": job.federation_uid,
            "subJobs": sub_jobs,
        },
        "status": status,
    }


def lifecycle_progress(sim: Simulator, fleet: Fleet) -> Optional[Reply]:
    """The fleet's last job; for a fleet that never had one and has no federation, the ``no_job`` answer.

    None: a fleet seeded with federation and no job here (the simulator's older synthetic Success job).
    """
    with sim.lock:
        job = sim.federation_jobs.get(fleet.id)
        if job is not None:
            return Reply(200, job_document(fleet, job))
    if fleet.federation:
        return None
    answer = sim.lifecycle["no_job"]
    if answer == "404":
        return ucs_error(404, "UCS.01000013", f"No requested resources found: fleet {fleet.id} has no federation job")
    if answer == "empty":
        return Reply(200, {})
    return ucs_error(400, UCS_FEDERATION_NOT_ENABLED, f"Federation is not enabled for fleet {fleet.id}")


def list_page(sim: Simulator, request: Request) -> Reply:
    """GET /v1/clustergroups?limit=&offset=&order_by=&order=: one page, newest first by default.

    ``limit`` -1 (the documented default), 0 or absent: every fleet from ``offset``; ``page_cap``
    caps any page. Bad values answer 400 UCS.01000011, as the reference's error table names it.
    """
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    try:
        limit = int(query.get("limit", "-1"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        raise ApiError(ucs_error(400, UCS_BAD_QUERY, "Bad query parameter value: limit and offset must be integers")) from None
    order_by, order = query.get("order_by", "create_at"), query.get("order", "desc")
    if limit < -1 or offset < 0 or order_by not in ("create_at", "update_at") or order not in ("asc", "desc"):
        raise ApiError(ucs_error(400, UCS_BAD_QUERY, "Bad query parameter value: limit >= -1, offset >= 0, order_by create_at|update_at, order asc|desc"))
    with sim.lock:
        fleets = sorted(sim.fleets.values(), key=lambda item: item.name)
        fleets.sort(key=lambda item: item.created, reverse=order == "desc")
        cap = sim.lifecycle["page_cap"]
    size = len(fleets) if limit in (-1, 0) else limit
    if cap is not None:
        size = min(size, cap)
    items = [sim.fleet_document(fleet) for fleet in fleets[offset : offset + size]]
    return Reply(200, {"items": items, "total": len(fleets)})


def chosen_connection(sim: Simulator, connections: List[Connection]) -> Connection:
    """The connection /kubeconfig serves when a fleet has several (creation order: dict order)."""
    return connections[-1] if sim.lifecycle["kubeconfig_connection"] == "newest" else connections[0]


# --- End of the federation lifecycle ------------------------------------------------------------------


# --- HTTP plumbing --------------------------------------------------------------------------------


class TLSServer(ThreadingHTTPServer):
    """Threading HTTP server that does the TLS handshake in the request thread, not in accept()."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], handler: type, context: ssl.SSLContext, simulator: Simulator) -> None:
        super().__init__(address, handler)
        self.context = context
        self.simulator = simulator

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        try:
            tls = tls_context(self).wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            # Bad client certificate, plain HTTP, scanner...: nothing to answer, and nothing to log.
            request.close()
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A short line instead of a traceback: tracebacks could carry local variables' context.
        print(f"ucs-simulator: error while serving a request: {sys.exc_info()[0]}", file=sys.stderr)


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ucs-simulator"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        # The access log would print paths with query strings: keep stdout/stderr free of request data.
        return

    @property
    def simulator(self) -> Simulator:
        return cast(TLSServer, self.server).simulator

    def read_body(self) -> Optional[bytes]:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0 or size > MAX_BODY:
            return None
        return self.rfile.read(size)

    def send(self, reply: Reply) -> None:
        if reply.action in ("drop", "reset"):
            self.close_connection = True
            try:
                if reply.action == "reset":
                    # Linger 0: close() sends a TCP RST instead of a FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.chunks is not None:
            started = time.monotonic()
            complete = send_stream(self, reply)
            self.simulator.log_stream(self.path.split("?", 1)[0], time.monotonic() - started, complete)
            return
        body = reply.body()
        self.send_response(reply.status)
        headers = dict(reply.headers)
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class ApiHandler(BaseHandler):
    """UCS API, IAM and control API."""

    def handle_any(self) -> None:
        split = urlsplit(self.path)
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.send(ucs_error(400, UCS_BAD_REQUEST, "invalid Content-Length"))
            return
        if split.path.startswith("/_sim/"):
            self.send(self.simulator.control(self.command, split.path, body))
            return
        headers = {name.lower(): value for name, value in reversed(self.headers.items())}
        self.send(self.simulator.handle(Request(self.command, split.path, split.query, headers, body)))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


KUBERNETES_VERSION = {
    "major": "1",
    "minor": "28",
    "gitVersion": "v1.28.3",
    "gitCommit": "a8a1abc25cad87333840cd7d54be2efaf31a3177",
    "gitTreeState": "clean",
    "buildDate": "2023-10-18T11:33:18Z",
    "goVersion": "go1.20.10",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class FederationHandler(BaseHandler):
    """Federation API server: just enough discovery for kubectl version / api-versions."""

    def handle_any(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        self.read_body()
        host = "{}:{}".format(*self.server.server_address[:2])
        documents: Dict[str, JSONDict] = {
            "/version": KUBERNETES_VERSION,
            "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]},
            "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": []},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        }
        denied = federation_denied(self)
        if denied is not None:
            reply = denied
        elif self.command == "GET" and path in documents:
            reply = Reply(200, documents[path])
        else:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "the server could not find the requested resource",
                "reason": "NotFound",
                "details": {},
                "code": 404,
            }
            reply = Reply(404, status)
        self.simulator.log_federation(self.command, path, reply.status)
        self.send(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


# --- main -----------------------------------------------------------------------------------------


def write_json_atomically(path: Path, document: JSONDict) -> None:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".simulator-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2)
        stream.write("\n")
    # 0600 from mkstemp: the file holds the test credentials.
    os.replace(name, path)


def seed_help(seed: JSONDict) -> str:
    """What the simulator seeds, as the environment and role variables each value feeds."""
    aksk, temporary, user, net, other = (seed[key] for key in ("aksk", "temporary_aksk", "iam_user", "network", "other_network"))
    lines = [
        "seeded values (--seed FILE overrides them):",
        "  endpoint:          UCS_ENDPOINT=https://HOST:PORT (printed at start-up) UCS_CA_PATH=STATE_DIR/ca.pem",
        f"  AK/SK:             HUAWEICLOUD_SDK_AK={aksk['access_key']} HUAWEICLOUD_SDK_SK={aksk['secret_key']}",
        f"                     HUAWEICLOUD_SDK_DOMAIN_ID={seed['domain']['id']}",
        f"  temporary AK/SK:   HUAWEICLOUD_SDK_AK={temporary['access_key']} HUAWEICLOUD_SDK_SK={temporary['secret_key']}",
        f"                     HUAWEICLOUD_SDK_SECURITY_TOKEN={temporary['security_token']} (and the domain ID above)",
        f"  IAM password:      OS_USERNAME={user['name']} OS_PASSWORD={user['password']} OS_USER_DOMAIN_NAME={seed['domain']['name']}",
        f"                     OS_AUTH_URL=https://HOST:PORT/v3 (region {seed['region']})",
        *(
            f"  fleet:             ucs_kubeconfig_fleet_id={fleet['id']} ({fleet['name']}, federation {'on' if fleet['federation'] else 'off'})"
            for fleet in seed["fleets"]
        ),
        f"  network:           ucs_kubeconfig_project_id={net['project_id']}",
        f"                     ucs_kubeconfig_vpc_id={net['vpc_id']} ucs_kubeconfig_subnet_id={net['subnet_id']}",
        f"  another VPC:       ucs_kubeconfig_vpc_id={other['vpc_id']} ucs_kubeconfig_subnet_id={other['subnet_id']}",
        "",
        'walkthrough: docs/getting-started.md ("Your first playbook")',
    ]
    return "\n".join(lines)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Local UCS API + IAM + federation API server simulator (tests only).",
        epilog=seed_help(DEFAULT_SEED),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="UCS/IAM HTTPS port (0: any free port)")
    parser.add_argument("--federation-port", type=int, default=0, help="federation API server port (0: any free port)")
    parser.add_argument("--state-dir", type=Path, required=True, help="directory for simulator.json, CA files and the request log")
    parser.add_argument("--token-ttl", type=int, default=86400, help="lifetime of IAM tokens in seconds")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind and publish")
    parser.add_argument("--seed", type=Path, help="JSON file merged over the default seed")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE, help="behaviour where the API documents leave it open")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    seed = DEFAULT_SEED
    if args.seed:
        seed = merge(DEFAULT_SEED, json.loads(args.seed.read_text(encoding="utf-8")))
    request_log = state_dir / "requests.jsonl"
    simulator = Simulator(seed, token_ttl=args.token_ttl, request_log=request_log)
    simulator.start_profile = simulator.profile = args.profile

    hosts = tuple(dict.fromkeys([args.host, "127.0.0.1", "localhost"]))
    api_ca = Authority("UCS simulator API CA")
    api_server = TLSServer((args.host, args.port), ApiHandler, server_context(api_ca, hosts, state_dir), simulator)
    federation_context = server_context(simulator.federation_ca, hosts, state_dir, client_ca=simulator.federation_ca)
    federation = TLSServer((args.host, args.federation_port), FederationHandler, federation_context, simulator)
    federation_profile_contexts(federation, simulator)
    url_host = f"[{args.host}]" if ":" in args.host else args.host
    endpoint = f"https://{url_host}:{api_server.server_address[1]}"
    simulator.federation_server = f"https://{url_host}:{federation.server_address[1]}"

    ca_path = state_dir / "ca.pem"
    ca_path.write_bytes(api_ca.pem)
    federation_ca_path = state_dir / "federation-ca.pem"
    federation_ca_path.write_bytes(simulator.federation_ca.pem)

    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for server in (api_server, federation)]
    for thread in threads:
        thread.start()
    write_json_atomically(
        state_dir / "simulator.json",
        {
            "endpoint": endpoint,
            "iam_endpoint": endpoint,
            "ca_path": str(ca_path),
            "federation_server": simulator.federation_server,
            "federation_ca_path": str(federation_ca_path),
            "request_log": str(request_log),
            "pid": os.getpid(),
            "token_ttl": args.token_ttl,
            "seed": seed,
        },
    )
    print(f"ucs-simulator: UCS API {endpoint}, federation API {simulator.federation_server}, state in {state_dir}", flush=True)
    while not stop.wait(0.5):
        pass
    for server in (api_server, federation):
        server.shutdown()
        server.server_close()
    print("ucs-simulator: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
