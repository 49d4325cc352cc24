# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The kubeconfig rules (kubectl's), and the one decision built on them.

- accept_download(): is a kubeconfig from POST /cert usable? Normalised, checked and stamped.
- check_entries(): do the fleet's entries in a file need to be written, and does that need a
  new certificate? Used for the module's dest and for each host of the role.

Only what makes a kubeconfig unusable for kubectl is an error: broken structure or references,
undecodable base64 or PEM, a client key that does not match its certificate, an expired
certificate, a server that is not https, a user without credentials. What kubectl accepts is
accepted, with a warning where a person should know (see docs/fidelity.md).
"""

import base64
import binascii
import datetime
import functools
import hashlib
import importlib.util
import inspect
import json
import re
import typing as t
from urllib.parse import urlparse

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError, clean_text
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import (
    Entry,
    FleetEntries,
    all_context_fields,
    current_context,
    entries,
    find,
    fleet_kubeconfig,
    normal_cluster,
    normal_user,
    parse_kubeconfig,
    quote,
    select_context,
    type_name,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_limits import KubeconfigTooLargeError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_stamp import read_identity, read_stamp, stamped

# cryptography is imported only when a certificate must be read (_lib): a file whose entries carry
# a valid seal needs none, and the import alone costs about 60 ms of every run.
CRYPTOGRAPHY_IMPORT_ERROR = None if importlib.util.find_spec("cryptography") else "No module named 'cryptography'"  # type: t.Optional[str]

_UTC = datetime.timezone.utc

# The API gateway accepts requests signed up to 15 minutes off its clock; a new certificate's
# notBefore (the issuer's clock) may be that far ahead of ours without anything being wrong.
CLOCK_SKEW = datetime.timedelta(minutes=15)

# Issuers round validity periods (and may back-date notBefore): "as requested" means within a day.
DURATION_TOLERANCE = datetime.timedelta(days=1)

# Automatic renewal (renew_before not set): after two thirds of the lifetime, at most 30 days early.
MAX_AUTO_RENEW = datetime.timedelta(days=30)

_CERT_BLOCK_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)
_KEY_BEGIN_RE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----")


class KubeconfigInfo(t.NamedTuple):
    """What the fleet's entries say; holds no key material.

    ``not_before``/``not_after``/``cert_sha256`` are None for a token user (no certificate).
    """

    server: str
    cluster_name: str
    user_name: str
    context_name: str
    current_context: t.Optional[str]
    context_fields: t.Mapping[str, t.Optional[str]]
    auth: str
    not_before: t.Optional[datetime.datetime]
    not_after: t.Optional[datetime.datetime]
    insecure_skip_tls_verify: bool
    cert_sha256: t.Optional[str]
    fleet_id: t.Optional[str]
    vpc_id: t.Optional[str]
    fleet_name: t.Optional[str] = None


class Verdict(t.NamedTuple):
    """The decision about one kubeconfig file.

    reason: None when nothing needs to be written, else why (a sentence without secrets).
    fetch: a new certificate is needed (an API call); False with a reason means the file is
        rewritten from its own entries (names, context fields, current-context, normal form).
    info: the fleet's entries, when they are valid (even if due for renewal).
    blocker: why the file cannot be merged into (None when it can); a caller that does not
        replace the whole file must stop on it before any API call.
    """

    reason: t.Optional[str]
    fetch: bool
    info: t.Optional[KubeconfigInfo]
    blocker: t.Optional[str]
    too_large: bool = False  # the blocker is this collection's size limit, not the file's fault


class _Crypto(t.NamedTuple):
    x509: t.Any
    hashes: t.Any
    serialization: t.Any
    unsupported: t.Any  # cryptography.exceptions.UnsupportedAlgorithm


@functools.lru_cache(maxsize=1)
def _lib() -> _Crypto:
    """The parts of cryptography the rules use, imported at the first certificate to read."""
    try:
        from cryptography import x509  # noqa: PLC0415
        from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    except ImportError:
        raise UcsKubeconfigError("the Python library cryptography is required to check kubeconfigs") from None
    return _Crypto(x509, hashes, serialization, UnsupportedAlgorithm)


def format_time(value: datetime.datetime) -> str:
    """``value`` as ISO 8601 UTC to the second, e.g. ``2027-11-29T02:00:00Z`` (naive = UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What format_time writes, and nothing else. Not strptime: its first call imports _strptime and
# calendar (about 8 ms), and every Ansible worker is a new process that would pay it again.
_TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


def parse_time(text: t.Any) -> t.Optional[datetime.datetime]:
    """A time as format_time writes it, in UTC; None for anything else."""
    found = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return None
    try:
        return datetime.datetime(*(int(part) for part in found.groups()), tzinfo=_UTC)
    except ValueError:  # 2026-13-45T...
        return None


def _days(delta: datetime.timedelta) -> str:
    return f"{round(delta.total_seconds() / 86400, 2):g} days"


# --------------------------------------------------------------------------------------------
# data fields


def _b64(value: t.Any, path: str) -> bytes:
    """Decode a base64 data field as Go's decoder does (line breaks skipped, nothing else)."""
    if not isinstance(value, str):
        raise UcsKubeconfigError(f"{path} must be a base64 string, not {type_name(value)}")
    compact = value.strip().replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise UcsKubeconfigError(f"{path} is not valid base64") from None


def _certificates(data: bytes, path: str) -> t.List[t.Any]:
    """Every PEM certificate of ``data`` (a bundle is allowed)."""
    blocks = _CERT_BLOCK_RE.findall(data)
    if not blocks:
        raise UcsKubeconfigError(f"{path} is not a PEM certificate (no BEGIN CERTIFICATE block after base64 decoding)")
    certs = []
    for number, block in enumerate(blocks, start=1):
        try:
            certs.append(_lib().x509.load_pem_x509_certificate(block))
        except (ValueError, TypeError, _lib().unsupported):
            where = "" if len(blocks) == 1 else f" (certificate {number} of {len(blocks)})"
            raise UcsKubeconfigError(f"{path} holds a PEM certificate that does not parse as X.509{where}") from None
    return certs


def _private_key(data: bytes, path: str, full_check: bool) -> t.Any:
    if not _KEY_BEGIN_RE.search(data):
        raise UcsKubeconfigError(f"{path} is not a PEM private key (no BEGIN PRIVATE KEY block after base64 decoding)")
    options = {}  # type: t.Dict[str, t.Any]
    if not full_check and "unsafe_skip_rsa_key_validation" in _load_key_parameters():
        # The RSA consistency check costs ~35 ms per 2048-bit key; the per-run check of a file
        # already checked at download only needs the public parts to match the certificate.
        options["unsafe_skip_rsa_key_validation"] = True
    try:
        return _lib().serialization.load_pem_private_key(data, password=None, **options)
    except TypeError:
        # cryptography raises TypeError when a passphrase would be needed.
        raise UcsKubeconfigError(f"{path} is encrypted; a kubeconfig client key must not need a passphrase") from None
    except (ValueError, _lib().unsupported):
        raise UcsKubeconfigError(f"{path} does not parse as a private key") from None


@functools.lru_cache(maxsize=1)
def _load_key_parameters() -> t.Tuple[str, ...]:
    # unsafe_skip_rsa_key_validation exists from cryptography 39 on.
    try:
        return tuple(inspect.signature(_lib().serialization.load_pem_private_key).parameters)
    except (TypeError, ValueError):
        return ()


def _spki(public_key: t.Any) -> bytes:
    serialization = _lib().serialization
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _validity(cert: t.Any) -> t.Tuple[datetime.datetime, datetime.datetime]:
    # cryptography >= 42 has the aware properties; older versions only the naive UTC ones.
    before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(tzinfo=_UTC)
    after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=_UTC)
    return before, after


def _server(cluster: Entry) -> str:
    path = f"{cluster.path}.cluster.server"
    value = cluster.body.get("server")
    if not isinstance(value, str) or not value.strip():
        raise UcsKubeconfigError(f"{path} must be a non-empty string")
    server = value.strip()
    try:
        parsed = urlparse(server)
        host = parsed.hostname
        # Reading the port raises ValueError for one that is not a number.
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise ValueError("port out of range")
    except ValueError:
        raise UcsKubeconfigError(f"{path} is not a valid URL") from None
    if parsed.scheme.lower() != "https" or not host:
        raise UcsKubeconfigError(f"{path} must be an https:// URL with a host (the federation API server is reached over TLS)")
    return server


class _Facts(t.NamedTuple):
    """What the rules found in a cluster/user pair; the validity is None for a token user."""

    server: str
    auth: str
    not_before: t.Optional[datetime.datetime]
    not_after: t.Optional[datetime.datetime]
    cert_sha256: t.Optional[str]
    has_ca: bool
    insecure: bool


def _auth(cert: bool, token: t.Any) -> str:
    return "client certificate and token" if cert and token else "client certificate" if cert else "token"


def _client_certificate(user: Entry, full_key_check: bool) -> t.Any:
    """The user's client certificate, checked against its key; None when the user has none."""
    user_path = f"{user.path}.user"
    cert_value, key_value = user.body.get("client-certificate-data"), user.body.get("client-key-data")
    if not cert_value and not key_value:
        for key in ("client-certificate", "client-key"):
            if user.body.get(key):
                raise UcsKubeconfigError(f"{user_path}.{key} names a file; the certificate and key must be inline (-data)")
        return None
    if not cert_value or not key_value:
        # client-go: "client-key-data or client-key must be specified ... to use the clientCert authentication method"
        missing = "client-key-data" if cert_value else "client-certificate-data"
        raise UcsKubeconfigError(f"{user_path} has no {missing}; a client certificate needs both its certificate and its key")
    cert_path, key_path = f"{user_path}.client-certificate-data", f"{user_path}.client-key-data"
    cert = _certificates(_b64(cert_value, cert_path), cert_path)[0]
    key = _private_key(_b64(key_value, key_path), key_path, full_key_check)
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise UcsKubeconfigError(f"{key_path} does not match the client certificate in {cert_path}")
    return cert


def _inspect(cluster: Entry, user: Entry, full_key_check: bool) -> _Facts:
    """Apply the rules to one (normalised) cluster/user pair; raises UcsKubeconfigError."""
    server = _server(cluster)
    ca_path = f"{cluster.path}.cluster.certificate-authority-data"
    ca_value = cluster.body.get("certificate-authority-data")
    if ca_value:
        _certificates(_b64(ca_value, ca_path), ca_path)
    cert = _client_certificate(user, full_key_check)
    token = user.body.get("token")
    if token is not None and not isinstance(token, str):
        raise UcsKubeconfigError(f"{user.path}.user.token must be a string, not {type_name(token)}")
    if token and (user.body.get("username") or user.body.get("password")):
        raise UcsKubeconfigError(f"{user.path}.user has both a token and a username/password; kubectl allows only one")
    if cert is None and not token:
        raise UcsKubeconfigError(f"{user.path}.user has no credentials (client-certificate-data and client-key-data, or token)")
    not_before, not_after = _validity(cert) if cert is not None else (None, None)
    fingerprint = cert.fingerprint(_lib().hashes.SHA256()).hex() if cert is not None else None
    insecure = cluster.body.get("insecure-skip-tls-verify") is True
    return _Facts(server, _auth(cert is not None, token), not_before, not_after, fingerprint, bool(ca_value), insecure)


# --------------------------------------------------------------------------------------------
# the seal: the facts of checked entries, kept in the stamp, so that a later run need not check
# the same certificate again (nor import cryptography). Its digest binds the facts to the exact
# bodies checked (everything but the extensions): a change to a body or to a fact, by hand or by
# another tool, breaks it, and the entries are checked in full again. It guards against accidents,
# not against the file's owner, who can write anything into their own kubeconfig anyway.

_SEALED_FACTS = ("not-before", "not-after", "cert-sha256")


def _digest(cluster_body: t.Mapping[str, t.Any], user_body: t.Mapping[str, t.Any], facts: t.Mapping[str, t.Any]) -> str:
    cluster = {key: value for key, value in cluster_body.items() if key != "extensions"}
    text = json.dumps([cluster, user_body, {key: facts.get(key) for key in _SEALED_FACTS}], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_of(facts: _Facts, cluster_body: t.Mapping[str, t.Any], user_body: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The stamp fields that record the checked facts of a cluster/user pair (see stamped())."""
    sealed = {}  # type: t.Dict[str, t.Any]
    if facts.not_before is not None and facts.not_after is not None:
        sealed = {"not-before": format_time(facts.not_before), "not-after": format_time(facts.not_after), "cert-sha256": facts.cert_sha256}
    sealed["seal"] = _digest(cluster_body, user_body, sealed)
    return sealed


def _unsealed(cluster: Entry, user_body: t.Mapping[str, t.Any]) -> t.Optional[_Facts]:
    """The facts a valid seal records, or None (no seal, or a body or fact changed since)."""
    stamp = read_stamp(cluster.body)
    if not stamp or stamp.get("seal") != _digest(cluster.body, user_body, stamp):
        return None
    cert = bool(user_body.get("client-certificate-data"))
    fingerprint = stamp.get("cert-sha256")
    before, after = (parse_time(stamp.get(key)) for key in ("not-before", "not-after"))
    if before is None or after is None:
        if cert:
            return None
        before = after = fingerprint = None
    if cert and not (isinstance(fingerprint, str) and fingerprint):
        return None
    has_ca, insecure = bool(cluster.body.get("certificate-authority-data")), cluster.body.get("insecure-skip-tls-verify") is True
    return _Facts(_server(cluster), _auth(cert, user_body.get("token")), before, after, fingerprint, has_ca, insecure)


def _describe(facts: _Facts, cluster: Entry, user: Entry, config: t.Mapping[str, t.Any], context: t.Tuple[str, t.Mapping[str, t.Any]]) -> KubeconfigInfo:
    """Describe checked entries; ``context`` is (context name, its body or the wanted fields)."""
    context_name, context_body = context
    fleet_id, vpc_id, fleet_name = read_identity(cluster.body)
    return KubeconfigInfo(
        server=facts.server,
        cluster_name=cluster.name,
        user_name=user.name,
        context_name=context_name,
        current_context=current_context(config),
        context_fields=all_context_fields(context_body),
        auth=facts.auth,
        not_before=facts.not_before,
        not_after=facts.not_after,
        insecure_skip_tls_verify=facts.insecure,
        cert_sha256=facts.cert_sha256,
        fleet_id=fleet_id,
        vpc_id=vpc_id,
        fleet_name=fleet_name,
    )


# --------------------------------------------------------------------------------------------
# renewal


def renew_window(
    not_before: t.Optional[datetime.datetime], not_after: t.Optional[datetime.datetime], renew_before_days: t.Optional[int]
) -> t.Optional[datetime.timedelta]:
    """How long before expiry to renew: the given days, or a third of the lifetime (at most 30 days)."""
    if not_after is None or not_before is None:
        return None
    if renew_before_days is not None:
        return datetime.timedelta(days=renew_before_days)
    return min((not_after - not_before) / 3, MAX_AUTO_RENEW)


def expiry_reason(
    not_before: t.Optional[datetime.datetime], not_after: t.Optional[datetime.datetime], renew_before_days: t.Optional[int], now: datetime.datetime
) -> t.Optional[str]:
    """Why a certificate of this validity is due for renewal at ``now``, or None (also for a token user)."""
    window = renew_window(not_before, not_after, renew_before_days)
    if not_after is None or window is None:
        return None
    if now >= not_after:
        return "has expired"
    if not_after - now <= window:
        return f"expires on {format_time(not_after)} (within {_days(window)})"
    return None


def renewal_reason(info: KubeconfigInfo, wanted: FleetEntries, now: datetime.datetime) -> t.Optional[str]:
    """Why entries that validated need a new certificate (a predicate), or None."""
    if wanted.fleet_id is None:
        # Known by its name only (fleet_name): the stamp's name, recorded with the ID, tells.
        if info.fleet_name != wanted.fleet_name:
            found = f" ({clean_text(info.fleet_name, 80)})" if info.fleet_name else ""
            return f"belongs to another fleet{found}, or records no fleet name" if not found else f"belongs to another fleet{found}"
    elif info.fleet_id is None:
        return "has no ucs_cloud.fleet identity"
    elif info.fleet_id != wanted.fleet_id:
        return f"belongs to another fleet ({clean_text(info.fleet_id, 80)})"
    if wanted.vpc_id is not None and info.vpc_id != wanted.vpc_id:
        return "was issued for another VPC" + (f" ({clean_text(info.vpc_id, 80)})" if info.vpc_id else "")
    return expiry_reason(info.not_before, info.not_after, wanted.renew_before_days, now)


# --------------------------------------------------------------------------------------------
# the decisions


def accept_download(
    answer: t.Any,
    wanted: FleetEntries,
    duration_days: int,
    now: datetime.datetime,
    refuse: t.Optional[t.Callable[[str], Exception]] = None,
) -> t.Tuple[t.Dict[str, t.Any], KubeconfigInfo, t.List[str]]:
    """Check a kubeconfig from POST /cert by kubectl's rules and make the fleet's own kubeconfig.

    Returns (kubeconfig, info, warnings): the kubeconfig is normalised (so kubectl loads it),
    stamped with the fleet's identity and named as ``wanted`` says.
    Raises UcsKubeconfigError (nothing is written or returned) when kubectl could not use it,
    or what ``refuse(problem)`` makes of it (the answer's own error, naming the request).
    """
    try:
        config = parse_kubeconfig(answer)
        _context, cluster, user = select_context(config)
        cluster_body, warnings = normal_cluster(cluster)
        cluster, user = Entry(cluster.path, cluster.name, cluster_body), Entry(user.path, user.name, normal_user(user))
        facts = _inspect(cluster, user, full_key_check=True)
        warnings.extend(_download_warnings(facts, duration_days, now))
    except UcsKubeconfigError as exc:
        if refuse is not None:
            raise refuse(f"is a kubeconfig kubectl cannot use: {exc.msg}") from None
        raise UcsKubeconfigError(f"UCS returned an unusable kubeconfig for fleet {wanted.fleet_id}: {exc.msg}") from None
    own = fleet_kubeconfig(stamped(cluster.body, wanted, seal_of(facts, cluster.body, user.body)), user.body, wanted)
    named = Entry("clusters[0]", wanted.cluster_name, own["clusters"][0]["cluster"])
    info = _describe(facts, named, Entry("users[0]", wanted.user_name, user.body), own, (wanted.context_name, wanted.context_fields))
    lifetime = info.not_after - info.not_before if info.not_after and info.not_before else None
    if wanted.renew_before_days is not None and lifetime is not None and lifetime <= datetime.timedelta(days=wanted.renew_before_days):
        warnings.append(
            f"the certificate is valid for {_days(lifetime)}, not more than renew_before "
            f"({wanted.renew_before_days} days): every run will renew it; lower renew_before or leave it unset"
        )
    return own, info, warnings


def _download_warnings(facts: _Facts, duration_days: int, now: datetime.datetime) -> t.List[str]:
    warnings = []  # type: t.List[str]
    if facts.insecure:
        warnings.append(f"insecure-skip-tls-verify is true: kubectl will not verify the identity of the API server {clean_text(facts.server, 200)}")
    elif not facts.has_ca:
        warnings.append("the kubeconfig has no certificate-authority-data: kubectl will verify the API server with the system's trusted CAs")
    if facts.not_before is None or facts.not_after is None:
        warnings.append("the kubeconfig's user has a token, not a client certificate: its expiry cannot be read, so it is renewed only with force")
        return warnings
    not_before, not_after = facts.not_before, facts.not_after
    if now >= not_after:
        raise UcsKubeconfigError(f"the client certificate has expired (not after {format_time(not_after)})")
    if not_before > now + CLOCK_SKEW:
        raise UcsKubeconfigError(
            f"the client certificate is not valid until {format_time(not_before)}, more than {CLOCK_SKEW.seconds // 60} minutes ahead of this host's clock"
        )
    if not_before > now:
        warnings.append(f"the client certificate is valid from {format_time(not_before)}, ahead of this host's clock: check its time")
    if abs((not_after - not_before) - datetime.timedelta(days=duration_days)) > DURATION_TOLERANCE:
        warnings.append(
            f"UCS issued a certificate valid for {_days(not_after - not_before)}, not the {duration_days} days requested (until {format_time(not_after)})"
        )
    return warnings


def check_entries(existing: t.Union[str, bytes, t.Mapping[str, t.Any], None], wanted: FleetEntries, now: datetime.datetime) -> Verdict:
    """Decide whether the fleet's entries in a kubeconfig file need writing; never raises on content.

    Only the fleet's named cluster, user and context are checked (other entries of a shared
    kubeconfig are none of our business), with messages that use their real positions.
    """
    if existing is None:
        return Verdict("the kubeconfig does not exist", True, None, None)
    try:
        config = parse_kubeconfig(existing, allow_empty=True)
        found = {section: entries(config, section, strict=False) for section in ("clusters", "users", "contexts")}
    except UcsKubeconfigError as exc:
        return Verdict(f"the kubeconfig is not usable: {exc.msg}", True, None, exc.msg, isinstance(exc, KubeconfigTooLargeError))
    cluster, user = find(found["clusters"], wanted.cluster_name), find(found["users"], wanted.user_name)
    if cluster is None or user is None:
        missing = f"cluster {quote(wanted.cluster_name)}" if cluster is None else f"user {quote(wanted.user_name)}"
        return Verdict(f"{missing} is missing", True, None, None)
    try:
        cluster_body = normal_cluster(cluster)[0]
        user_body = normal_user(user)
        normal = Entry(cluster.path, cluster.name, cluster_body)
        facts = _unsealed(normal, user_body) or _inspect(normal, Entry(user.path, user.name, user_body), full_key_check=False)
    except UcsKubeconfigError as exc:
        return Verdict(exc.msg, True, None, None)
    context = find(found["contexts"], wanted.context_name)
    info = _describe(facts, cluster, user, config, (wanted.context_name, context.body if context else {}))
    renewal = renewal_reason(info, wanted, now)
    if renewal is not None:
        return Verdict(f"cluster {quote(wanted.cluster_name)} {renewal}", True, info, None)
    rewrite = _rewrite_reason(config, context, cluster_body != cluster.body or user_body != user.body, wanted)
    return Verdict(rewrite, False, info, None)


def _rewrite_reason(config: t.Mapping[str, t.Any], context: t.Optional[Entry], abnormal: bool, wanted: FleetEntries) -> t.Optional[str]:
    """Why valid entries must still be written (no new certificate needed), or None."""
    if abnormal:
        return f"the entries of {quote(wanted.context_name)} are not in the form kubectl needs (string flags or empty fields)"
    if context is None:
        return f"context {quote(wanted.context_name)} is missing"
    for key, name in (("cluster", wanted.cluster_name), ("user", wanted.user_name)):
        if context.body.get(key) != name:
            return f"context {quote(wanted.context_name)} does not use {key} {quote(name)}"
    for key, value in wanted.context_fields.items():
        if context.body.get(key) != value:
            return f"context {quote(wanted.context_name)} does not have {key} {quote(value)}"
    if wanted.set_current and current_context(config) != wanted.context_name:
        return f"current-context is not {quote(wanted.context_name)}"
    if wanted.standalone and _holds_more(config, wanted):
        return "the file holds other entries than the fleet's, and it is to hold the fleet alone"
    return None


def _holds_more(config: t.Mapping[str, t.Any], wanted: FleetEntries) -> bool:
    """Whether a kubeconfig has anything but the fleet's three entries (and the standard keys)."""
    names = {"clusters": wanted.cluster_name, "users": wanted.user_name, "contexts": wanted.context_name}
    sections = [config.get(section) for section in names]
    if any(not isinstance(items, list) or len(items) != 1 for items in sections):
        return True
    extra = set(config) - {"apiVersion", "kind", "clusters", "users", "contexts", "current-context", "preferences"}
    return bool(extra) or current_context(config) != wanted.context_name


def summary(info: KubeconfigInfo) -> t.Dict[str, t.Any]:
    """A redacted view of ``info`` for diffs and results (no key material)."""
    return {
        "server": info.server,
        "cluster_name": info.cluster_name,
        "user_name": info.user_name,
        "context_name": info.context_name,
        "current_context": info.current_context,
        **info.context_fields,
        "auth": info.auth,
        "not_before": format_time(info.not_before) if info.not_before else None,
        "not_after": format_time(info.not_after) if info.not_after else None,
        "cert_sha256": info.cert_sha256,
        "insecure_skip_tls_verify": info.insecure_skip_tls_verify,
        "fleet_id": info.fleet_id,
        "fleet_name": info.fleet_name,
        "vpc_id": info.vpc_id,
    }
