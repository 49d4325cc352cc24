# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Parse, validate, inspect, stamp, merge and dump kubeconfigs of the fleet federation API server.

Used by the module ``ucs_federation_cert`` (on the module's target Python, 3.8+) and by the
controller-side filters of the role ``ucs_kubeconfig``.

Secret material (client keys, tokens, passwords, the certificate data and the document itself)
never appears in an exception message, a warning, a summary or a repr: messages name the field
path (``users[0].user.client-key-data``) and the rule it breaks.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import functools
import importlib
import inspect
import json
import re
import traceback
import types
import typing as t
from urllib.parse import urlparse

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError, clean_text

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
    # libyaml's loader and dumper when PyYAML was built with it: about 20 times faster on a
    # kubeconfig than the pure-Python ones, which is most of the role's per-host merge.
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _SafeDumperBase = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# cryptography is imported on first use (check_entry), not with this module: parsing, merging
# and dumping need only PyYAML, and the role renders its merge in a freshly forked worker per
# host, where importing cryptography costs about 50 ms.
_CRYPTOGRAPHY_MODULES = {
    "x509": "cryptography.x509",
    "exceptions": "cryptography.exceptions",
    "hashes": "cryptography.hazmat.primitives.hashes",
    "serialization": "cryptography.hazmat.primitives.serialization",
    "ec": "cryptography.hazmat.primitives.asymmetric.ec",
    "ed448": "cryptography.hazmat.primitives.asymmetric.ed448",
    "ed25519": "cryptography.hazmat.primitives.asymmetric.ed25519",
    "padding": "cryptography.hazmat.primitives.asymmetric.padding",
    "rsa": "cryptography.hazmat.primitives.asymmetric.rsa",
}


@functools.lru_cache(maxsize=1)
def _import_cryptography() -> t.Tuple[t.Optional[types.SimpleNamespace], t.Optional[str]]:
    try:
        modules = {name: importlib.import_module(path) for name, path in _CRYPTOGRAPHY_MODULES.items()}
    except ImportError:
        return None, traceback.format_exc()
    return types.SimpleNamespace(**modules), None


@functools.lru_cache(maxsize=1)
def _can_skip_rsa_key_check() -> bool:
    """Whether load_pem_private_key takes unsafe_skip_rsa_key_validation (cryptography 39+)."""
    return "unsafe_skip_rsa_key_validation" in inspect.signature(_cryptography().serialization.load_pem_private_key).parameters


def cryptography_import_error() -> t.Optional[str]:
    """Import cryptography (once); return None when it is usable, else the import's traceback."""
    return _import_cryptography()[1]


def _cryptography() -> types.SimpleNamespace:
    crypto = _import_cryptography()[0]
    if crypto is None:
        raise UcsKubeconfigError("the Python library cryptography is required to validate kubeconfigs")
    return crypto


__all__ = [
    "IDENTITY_EXTENSION",
    "EntryStatus",
    "KubeconfigInfo",
    "KubeconfigSyntaxError",
    "check_entry",
    "cryptography_import_error",
    "dump_kubeconfig",
    "format_time",
    "merge_kubeconfig",
    "parse_kubeconfig",
    "renewal_reason",
    "sensitive_values",
    "stamp_identity",
    "summary",
    "validate_kubeconfig",
]

# Name of the cluster extension that records which fleet (and VPC) a kubeconfig was issued for.
# kubectl keeps cluster extensions when it rewrites a kubeconfig, so the stamp survives
# `kubectl config use-context` and friends.
IDENTITY_EXTENSION = "ucs_cloud.fleet"

# A fresh certificate's notBefore is the issuer's clock; tolerate a controller clock that is a
# little behind, or every new certificate would look "not yet valid" for a moment.
CLOCK_SKEW = datetime.timedelta(minutes=5)

# Issuers round validity periods (and may back-date notBefore): "agrees" means within a day.
DURATION_TOLERANCE = datetime.timedelta(days=1)

# Conventional order of a kubeconfig's top-level keys (what people expect to read). Other keys
# follow in the order they came in.
TOP_LEVEL_ORDER = ("apiVersion", "kind", "clusters", "contexts", "current-context", "preferences", "users")

# Sections of a kubeconfig and the key of each entry's body.
SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))

# Bounds for documents read from disk: a hostile or broken file (YAML alias bombs, cycles) must
# not hang the run while it is copied.
MAX_NODES = 100000
MAX_DEPTH = 64

_CERT_BLOCK_RE = re.compile(rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL)
_KEY_BEGIN_RE = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----")
_UTC = datetime.timezone.utc


class KubeconfigSyntaxError(UcsKubeconfigError):
    """The text is not YAML/JSON (or not UTF-8) at all; the message gives a position, never content."""


class KubeconfigInfo(t.NamedTuple):
    """What a validated kubeconfig says about one context; holds no key material.

    ``not_before``/``not_after`` are aware UTC datetimes of the client certificate; ``fleet_id`` and
    ``vpc_id`` come from the identity stamp (None without one); ``warnings`` are for the user.
    """

    server: str
    cluster_name: str
    user_name: str
    context_name: str
    current_context: t.Optional[str]
    not_before: datetime.datetime
    not_after: datetime.datetime
    insecure_skip_tls_verify: bool
    cert_sha256: str
    fleet_id: t.Optional[str]
    vpc_id: t.Optional[str]
    warnings: t.List[str]


class EntryStatus(t.NamedTuple):
    """Result of check_entry(): ``reason`` is None when the entries need no update."""

    reason: t.Optional[str]
    info: t.Optional[KubeconfigInfo]


class _Entry(t.NamedTuple):
    # One named entry of a section and where it is, for messages.
    path: str
    name: str
    body: t.Mapping[str, t.Any]


# --------------------------------------------------------------------------------------------
# small helpers


def _require_yaml() -> None:
    if not HAS_YAML:
        raise UcsKubeconfigError("the Python library PyYAML is required to read and write kubeconfigs")


def _q(name: t.Any) -> str:
    """Quote a name (not a secret) for a message, on one line and bounded."""
    return "'" + clean_text(str(name), 80) + "'"


def _type_name(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, t.Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a " + type(value).__name__


def format_time(value: datetime.datetime) -> str:
    """Return ``value`` as ISO 8601 UTC with second precision, e.g. ``2027-11-29T02:00:00Z``.

    Args:
        value: an aware datetime (a naive one is taken as UTC).
    Returns:
        The formatted time.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(now: t.Optional[datetime.datetime]) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(_UTC)
    # A naive "now" is taken as UTC rather than local time: certificate times are UTC.
    return now if now.tzinfo is not None else now.replace(tzinfo=_UTC)


def _plain(value: t.Any, path: str = "the kubeconfig", depth: int = 0, budget: t.Optional[t.List[int]] = None) -> t.Any:
    """Deep-copy ``value`` into plain dict/list/str values.

    Mapping subclasses and str subclasses (Ansible's unsafe text, say) become dict and str, so
    yaml.safe_dump can write them; shared YAML aliases become independent copies, bounded by
    MAX_NODES and MAX_DEPTH.
    """
    if budget is None:
        budget = [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise UcsKubeconfigError(f"{path} is too large or too deeply nested")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, t.Mapping):
        return {(str(k) if isinstance(k, str) else k): _plain(v, path, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, path, depth + 1, budget) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# parse


def _error_position(text: str) -> str:
    """Where the pure-Python loader finds the error: libyaml often reports only the end of the text."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f" (line {mark.line + 1}, column {mark.column + 1})"
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # ValueError: a scalar that looks like a date but is not one (2020-13-45).
        pass
    return ""


def parse_kubeconfig(source: t.Union[str, bytes, t.Mapping[str, t.Any]], *, allow_empty: bool = False) -> t.Dict[str, t.Any]:
    """Read a kubeconfig from YAML or JSON text, or copy it from a mapping.

    Args:
        source: YAML or JSON text (str, or UTF-8 bytes), or a mapping.
        allow_empty: return ``{}`` for an empty document (blank, or comments only) instead of failing.
    Returns:
        A new plain dict (the caller's mapping is never shared).
    Raises:
        KubeconfigSyntaxError: the text is not UTF-8, not YAML/JSON; the message gives line and column
            only, because PyYAML's own messages quote the document.
        UcsKubeconfigError: the document is empty (unless allowed) or not a mapping at the top level.
    """
    if isinstance(source, t.Mapping):
        return _plain(source)
    if isinstance(source, (bytes, bytearray)):
        try:
            # utf-8-sig: editors on some systems write a byte order mark.
            source = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise KubeconfigSyntaxError("the kubeconfig is not UTF-8 text") from None
    if not isinstance(source, str):
        raise UcsKubeconfigError(f"the kubeconfig must be YAML or JSON text or a mapping, not {_type_name(source)}")
    text = str(source)
    data: t.Any = None
    parsed = False
    if text.lstrip().startswith("{"):
        # JSON is YAML too, but PyYAML rejects tab indentation that JSON allows: try JSON first and
        # let YAML report the position when that fails.
        try:
            data = json.loads(text)
            parsed = True
        except ValueError:
            parsed = False
    if not parsed:
        _require_yaml()
        try:
            data = yaml.load(text, Loader=_SafeLoader)
        except (yaml.YAMLError, ValueError, TypeError, RecursionError):
            raise KubeconfigSyntaxError(f"the kubeconfig is not valid YAML{_error_position(text)}") from None
    if data is None:
        if allow_empty:
            return {}
        raise UcsKubeconfigError("the kubeconfig is empty")
    if not isinstance(data, t.Mapping):
        raise UcsKubeconfigError(f"the kubeconfig must be a mapping at the top level, not {_type_name(data)}")
    return _plain(data)


# --------------------------------------------------------------------------------------------
# structure


def _section(config: t.Mapping[str, t.Any], section: str, body_key: str) -> t.List[_Entry]:
    """Return the entries of one section, checking names (non-empty, unique) and bodies."""
    value = config.get(section)
    if value is None:
        raise UcsKubeconfigError(f"{section} is missing")
    if not isinstance(value, list):
        raise UcsKubeconfigError(f"{section} must be a list, not {_type_name(value)}")
    if not value:
        raise UcsKubeconfigError(f"{section} is empty")
    entries: t.List[_Entry] = []
    seen: t.Dict[str, int] = {}
    for index, entry in enumerate(value):
        path = f"{section}[{index}]"
        if not isinstance(entry, t.Mapping):
            raise UcsKubeconfigError(f"{path} must be a mapping, not {_type_name(entry)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise UcsKubeconfigError(f"{path}.name must be a non-empty string")
        if name in seen:
            raise UcsKubeconfigError(f"{path}.name {_q(name)} is already used by {section}[{seen[name]}]")
        seen[name] = index
        body = entry.get(body_key)
        if body is None:
            raise UcsKubeconfigError(f"{path}.{body_key} is missing")
        if not isinstance(body, t.Mapping):
            raise UcsKubeconfigError(f"{path}.{body_key} must be a mapping, not {_type_name(body)}")
        entries.append(_Entry(path, name, body))
    return entries


def _context_refs(context: _Entry) -> t.Tuple[str, str]:
    refs = []
    for key in ("cluster", "user"):
        value = context.body.get(key)
        if not isinstance(value, str) or not value:
            raise UcsKubeconfigError(f"{context.path}.context.{key} must be a non-empty string")
        refs.append(value)
    return refs[0], refs[1]


def _find(entries: t.Sequence[_Entry], name: str) -> t.Optional[_Entry]:
    return next((entry for entry in entries if entry.name == name), None)


def _current_context(config: t.Mapping[str, t.Any]) -> t.Optional[str]:
    value = config.get("current-context")
    return value if isinstance(value, str) and value else None


# --------------------------------------------------------------------------------------------
# data fields


def _b64(value: t.Any, path: str) -> bytes:
    """Strictly decode a base64 data field (surrounding whitespace and line breaks tolerated)."""
    if not isinstance(value, str):
        raise UcsKubeconfigError(f"{path} must be a base64 string, not {_type_name(value)}")
    # Go's decoder (kubectl) skips line breaks; anything else that is not base64 is an error.
    compact = value.strip().replace("\r", "").replace("\n", "")
    if not compact:
        raise UcsKubeconfigError(f"{path} is empty")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise UcsKubeconfigError(f"{path} is not valid base64") from None


def _certificates(data: bytes, path: str) -> t.List[t.Any]:
    """Load every PEM certificate block of ``data`` (a bundle is allowed)."""
    blocks = _CERT_BLOCK_RE.findall(data)
    if not blocks:
        raise UcsKubeconfigError(f"{path} is not a PEM certificate (no BEGIN CERTIFICATE block after base64 decoding)")
    crypto = _cryptography()
    certs = []
    for number, block in enumerate(blocks, start=1):
        try:
            certs.append(crypto.x509.load_pem_x509_certificate(block))
        except (ValueError, TypeError, crypto.exceptions.UnsupportedAlgorithm):
            where = "" if len(blocks) == 1 else f" (certificate {number} of {len(blocks)})"
            raise UcsKubeconfigError(f"{path} holds a PEM certificate that does not parse as X.509{where}") from None
    return certs


def _private_key(data: bytes, path: str, *, check_rsa_key: bool = True) -> t.Any:
    if not _KEY_BEGIN_RE.search(data):
        raise UcsKubeconfigError(f"{path} is not a PEM private key (no BEGIN PRIVATE KEY block after base64 decoding)")
    crypto = _cryptography()
    options: t.Dict[str, t.Any] = {}
    if not check_rsa_key and _can_skip_rsa_key_check():
        # The RSA consistency check takes ~35 ms per 2048-bit key; the status check of an existing
        # file only compares the public parts with the certificate, once per host and run.
        options["unsafe_skip_rsa_key_validation"] = True
    try:
        return crypto.serialization.load_pem_private_key(data, password=None, **options)
    except TypeError:
        # cryptography raises TypeError when a passphrase would be needed.
        raise UcsKubeconfigError(f"{path} is encrypted; a kubeconfig client key must not need a passphrase") from None
    except (ValueError, crypto.exceptions.UnsupportedAlgorithm):
        raise UcsKubeconfigError(f"{path} does not parse as a private key") from None


def _spki(public_key: t.Any) -> bytes:
    serialization = _cryptography().serialization
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _not_before(cert: t.Any) -> datetime.datetime:
    # cryptography >= 42 has the aware properties; older versions only the naive UTC ones.
    value = getattr(cert, "not_valid_before_utc", None)
    return value if value is not None else cert.not_valid_before.replace(tzinfo=_UTC)


def _not_after(cert: t.Any) -> datetime.datetime:
    value = getattr(cert, "not_valid_after_utc", None)
    return value if value is not None else cert.not_valid_after.replace(tzinfo=_UTC)


def _issued_by(cert: t.Any, issuer: t.Any) -> bool:
    """Whether ``issuer`` signed ``cert`` (names and signature)."""
    crypto = _cryptography()
    failures = (ValueError, TypeError, crypto.exceptions.InvalidSignature, crypto.exceptions.UnsupportedAlgorithm)
    if hasattr(cert, "verify_directly_issued_by"):
        try:
            cert.verify_directly_issued_by(issuer)
        except failures:
            return False
        return True
    # cryptography < 40 (old target hosts): check the name and the signature by hand.
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, crypto.rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, crypto.padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, crypto.ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, crypto.ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, (crypto.ed25519.Ed25519PublicKey, crypto.ed448.Ed448PublicKey)):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except failures:
        return False
    return True


def _chains_to(leaf: t.Any, intermediates: t.Sequence[t.Any], anchors: t.Sequence[t.Any]) -> bool:
    """Whether ``leaf`` chains to one of ``anchors``, possibly through ``intermediates``."""
    current = leaf
    for _step in range(len(intermediates) + 1):
        if any(_issued_by(current, anchor) for anchor in anchors):
            return True
        parent = next((cert for cert in intermediates if cert is not current and _issued_by(current, cert)), None)
        if parent is None:
            return False
        current = parent
    return False


def _insecure_flag(cluster: _Entry) -> bool:
    path = f"{cluster.path}.cluster.insecure-skip-tls-verify"
    value = cluster.body.get("insecure-skip-tls-verify")
    # The API documents the field as a string; an empty string means "not set", as the API's
    # examples send empty strings for the fields it does not fill.
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise UcsKubeconfigError(f"{path} must be true or false (a boolean or the string 'true'/'false')")


def _server(cluster: _Entry) -> str:
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
    if parsed.scheme.lower() != "https":
        raise UcsKubeconfigError(f"{path} must be an https:// URL (the federation API server is reached over TLS)")
    if not host:
        raise UcsKubeconfigError(f"{path} must be an https:// URL with a host")
    return server


def _identity(cluster_body: t.Mapping[str, t.Any]) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """Read (fleet_id, vpc_id) from the identity stamp; a missing or malformed stamp gives (None, None)."""
    extensions = cluster_body.get("extensions")
    if not isinstance(extensions, list):
        return None, None
    for item in extensions:
        if isinstance(item, t.Mapping) and item.get("name") == IDENTITY_EXTENSION:
            data = item.get("extension")
            if not isinstance(data, t.Mapping):
                return None, None
            fleet_id = data.get("fleet-id")
            vpc_id = data.get("vpc-id")
            return (
                fleet_id if isinstance(fleet_id, str) and fleet_id else None,
                vpc_id if isinstance(vpc_id, str) and vpc_id else None,
            )
    return None, None


def _inspect(
    cluster: _Entry,
    user: _Entry,
    *,
    context_name: str,
    current_context: t.Optional[str],
    now: datetime.datetime,
    expected_duration_days: t.Optional[int],
    check_rsa_key: bool = True,
) -> KubeconfigInfo:
    """Check one cluster/user pair (server, CA, client certificate and key) and describe it.

    ``check_rsa_key=False`` skips the (slow) consistency check of an RSA private key's secret
    parts; the key must still match the certificate's public key.
    """
    crypto = _cryptography()
    warnings: t.List[str] = []
    server = _server(cluster)
    insecure = _insecure_flag(cluster)

    ca_path = f"{cluster.path}.cluster.certificate-authority-data"
    ca_value = cluster.body.get("certificate-authority-data")
    ca_certs: t.List[t.Any] = []
    if ca_value is None or ca_value == "":
        if not insecure:
            hint = " (certificate-authority files are not supported: the data must be inline)" if cluster.body.get("certificate-authority") else ""
            raise UcsKubeconfigError(f"{cluster.path}.cluster has no certificate-authority-data and insecure-skip-tls-verify is not true{hint}")
    else:
        ca_certs = _certificates(_b64(ca_value, ca_path), ca_path)
    if insecure:
        warnings.append(
            f"{cluster.path}.cluster.insecure-skip-tls-verify is true: kubectl will not verify the identity of the API server {clean_text(server, 200)}"
        )
        if ca_certs:
            # client-go refuses this combination ("specifying a root certificates file with the
            # insecure flag is not allowed"), so kubectl will not connect with it as it is.
            warnings.append(f"{cluster.path}.cluster sets both certificate-authority-data and insecure-skip-tls-verify, which kubectl refuses")

    user_path = f"{user.path}.user"
    cert_path = f"{user_path}.client-certificate-data"
    key_path = f"{user_path}.client-key-data"
    cert_value = user.body.get("client-certificate-data")
    if cert_value is None or cert_value == "":
        hint = " (client-certificate files are not supported: the data must be inline)" if user.body.get("client-certificate") else ""
        raise UcsKubeconfigError(f"{user_path} has no client-certificate-data{hint}")
    key_value = user.body.get("client-key-data")
    if key_value is None or key_value == "":
        hint = " (client-key files are not supported: the data must be inline)" if user.body.get("client-key") else ""
        raise UcsKubeconfigError(f"{user_path} has no client-key-data{hint}")
    chain = _certificates(_b64(cert_value, cert_path), cert_path)
    cert = chain[0]
    key = _private_key(_b64(key_value, key_path), key_path, check_rsa_key=check_rsa_key)
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise UcsKubeconfigError(f"{key_path} does not match the client certificate in {cert_path}")

    not_before = _not_before(cert)
    not_after = _not_after(cert)
    if now + CLOCK_SKEW < not_before:
        raise UcsKubeconfigError(f"{cert_path} is not valid yet (not before {format_time(not_before)})")
    if now >= not_after:
        raise UcsKubeconfigError(f"{cert_path} has expired (not after {format_time(not_after)})")
    if ca_certs and not _chains_to(cert, chain[1:], ca_certs):
        raise UcsKubeconfigError(f"{cert_path} was not issued by the certificate authority in {ca_path}")
    if expected_duration_days is not None:
        validity = not_after - not_before
        if abs(validity - datetime.timedelta(days=expected_duration_days)) > DURATION_TOLERANCE:
            days = round(validity.total_seconds() / 86400, 2)
            raise UcsKubeconfigError(f"{cert_path} is valid for {days:g} days, not the {expected_duration_days} days requested")

    fleet_id, vpc_id = _identity(cluster.body)
    return KubeconfigInfo(
        server=server,
        cluster_name=cluster.name,
        user_name=user.name,
        context_name=context_name,
        current_context=current_context,
        not_before=not_before,
        not_after=not_after,
        insecure_skip_tls_verify=insecure,
        cert_sha256=cert.fingerprint(crypto.hashes.SHA256()).hex(),
        fleet_id=fleet_id,
        vpc_id=vpc_id,
        warnings=warnings,
    )


# --------------------------------------------------------------------------------------------
# validate


def validate_kubeconfig(
    config: t.Mapping[str, t.Any],
    *,
    now: t.Optional[datetime.datetime] = None,
    expected_duration_days: t.Optional[int] = None,
    context: t.Optional[str] = None,
) -> KubeconfigInfo:
    """Check a whole kubeconfig and describe the context it will be used with.

    Structure: kind Config, apiVersion v1, non-empty clusters/users/contexts of entries with unique
    non-empty names, every context's cluster and user resolving. For the chosen context (the
    current context, or ``context``): an https server with a host; the CA data (required unless
    insecure-skip-tls-verify is true) as base64 of PEM X.509 (a bundle is allowed); the client
    certificate and key (RSA, EC, Ed25519) as base64 of PEM, the key matching the certificate; the
    certificate valid at ``now``, issued by the CA, and valid for about ``expected_duration_days``.

    Args:
        config: the parsed kubeconfig (see parse_kubeconfig()).
        now: the time to check validity at (aware; default: the current time).
        expected_duration_days: when set, the certificate's validity must agree within one day.
        context: the context to inspect; None means the current context, which must then be set.
    Returns:
        KubeconfigInfo; ``warnings`` says when insecure-skip-tls-verify is true.
    Raises:
        UcsKubeconfigError: the first rule broken, naming the field path and the rule.
    """
    if not isinstance(config, t.Mapping):
        raise UcsKubeconfigError(f"the kubeconfig must be a mapping, not {_type_name(config)}")
    for key, expected in (("kind", "Config"), ("apiVersion", "v1")):
        value = config.get(key)
        if value != expected:
            got = "it is missing" if value is None else (f"not {_q(value)}" if isinstance(value, str) else f"not {_type_name(value)}")
            raise UcsKubeconfigError(f"{key} must be '{expected}', {got}")
    clusters = _section(config, "clusters", "cluster")
    users = _section(config, "users", "user")
    contexts = _section(config, "contexts", "context")
    for entry in contexts:
        cluster_ref, user_ref = _context_refs(entry)
        if _find(clusters, cluster_ref) is None:
            raise UcsKubeconfigError(f"{entry.path}.context.cluster names cluster {_q(cluster_ref)}, which is not in clusters")
        if _find(users, user_ref) is None:
            raise UcsKubeconfigError(f"{entry.path}.context.user names user {_q(user_ref)}, which is not in users")

    current = config.get("current-context")
    if current is not None and not isinstance(current, str):
        raise UcsKubeconfigError(f"current-context must be a string, not {_type_name(current)}")
    if context is None:
        if not current:
            raise UcsKubeconfigError("current-context is not set")
        target = _find(contexts, current)
        if target is None:
            raise UcsKubeconfigError(f"current-context names context {_q(current)}, which is not in contexts")
    else:
        target = _find(contexts, context)
        if target is None:
            raise UcsKubeconfigError(f"context {_q(context)} is not in contexts")
    cluster_ref, user_ref = _context_refs(target)
    cluster = _find(clusters, cluster_ref)
    user = _find(users, user_ref)
    if cluster is None or user is None:  # pragma: no cover - every context was resolved above
        raise UcsKubeconfigError(f"{target.path}.context does not resolve")
    return _inspect(cluster, user, context_name=target.name, current_context=current or None, now=_aware(now), expected_duration_days=expected_duration_days)


# --------------------------------------------------------------------------------------------
# identity and renewal


def _resolve(config: t.Mapping[str, t.Any], what: str) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, t.Any], t.Dict[str, t.Any]]:
    """Return the (context, cluster, user) entries of the current context of ``config``.

    Only what is needed to find them is checked; ``what`` names the config in messages.
    """
    current = _current_context(config)
    if current is None:
        raise UcsKubeconfigError(f"{what}: current-context is not set")
    found: t.Dict[str, t.Dict[str, t.Any]] = {}
    wanted = {"contexts": current}
    for section, body_key in (("contexts", "context"), ("clusters", "cluster"), ("users", "user")):
        entries = config.get(section)
        if not isinstance(entries, list):
            raise UcsKubeconfigError(f"{what}: {section} must be a list")
        name = wanted[section]
        index, entry = next(((i, e) for i, e in enumerate(entries) if isinstance(e, dict) and e.get("name") == name), (None, None))
        if entry is None:
            raise UcsKubeconfigError(f"{what}: {section} has no entry named {_q(name)}")
        if not isinstance(entry.get(body_key), dict):
            raise UcsKubeconfigError(f"{what}: {section}[{index}].{body_key} must be a mapping")
        found[section] = entry
        if section == "contexts":
            body = entry["context"]
            for key, target_section in (("cluster", "clusters"), ("user", "users")):
                if not isinstance(body.get(key), str) or not body.get(key):
                    raise UcsKubeconfigError(f"{what}: {section}[{index}].context.{key} must be a non-empty string")
                wanted[target_section] = body[key]
    return found["contexts"], found["clusters"], found["users"]


def stamp_identity(config: t.Mapping[str, t.Any], fleet_id: str, vpc_id: t.Optional[str]) -> t.Dict[str, t.Any]:
    """Return a copy of ``config`` whose current cluster carries the ``ucs_cloud.fleet`` extension.

    The extension is ``{name: ucs_cloud.fleet, extension: {fleet-id: ..., vpc-id: ...}}`` (``vpc-id``
    left out when ``vpc_id`` is None); an older stamp is replaced, other extensions are kept.

    Args:
        config: a kubeconfig whose current context resolves.
        fleet_id: the fleet the kubeconfig was issued for.
        vpc_id: the VPC its connection was created in, or None.
    Returns:
        The stamped copy (``config`` is not changed).
    Raises:
        UcsKubeconfigError: the current context's cluster cannot be found.
    """
    stamped = parse_kubeconfig(config)
    cluster = _resolve(stamped, "cannot stamp the kubeconfig")[1]
    body = cluster["cluster"]
    extensions = body.get("extensions")
    if extensions is None:
        extensions = []
    if not isinstance(extensions, list):
        raise UcsKubeconfigError("cannot stamp the kubeconfig: the cluster's extensions must be a list")
    identity: t.Dict[str, t.Any] = {"fleet-id": fleet_id}
    if vpc_id is not None:
        identity["vpc-id"] = vpc_id
    kept = [item for item in extensions if not (isinstance(item, dict) and item.get("name") == IDENTITY_EXTENSION)]
    body["extensions"] = [*kept, {"name": IDENTITY_EXTENSION, "extension": identity}]
    return stamped


def renewal_reason(
    info: KubeconfigInfo,
    *,
    fleet_id: str,
    vpc_id: t.Optional[str],
    renew_before_days: int,
    now: t.Optional[datetime.datetime] = None,
) -> t.Optional[str]:
    """Say why a validated kubeconfig must be replaced, or None to keep it.

    The reason is a predicate to follow "the kubeconfig at <path>": ``has no ucs_cloud.fleet
    identity``, ``belongs to another fleet (<id>)``, ``was issued for another VPC (<id>)``,
    ``has expired``, ``expires on <time> (within <n> days)``.

    Args:
        info: from validate_kubeconfig().
        fleet_id: the wanted fleet.
        vpc_id: the wanted VPC, or None not to compare VPCs.
        renew_before_days: renew when the certificate is valid for this many days or fewer.
        now: the current time (aware; default: now).
    Returns:
        The reason, or None.
    """
    moment = _aware(now)
    if info.fleet_id is None:
        return f"has no {IDENTITY_EXTENSION} identity"
    if info.fleet_id != fleet_id:
        return f"belongs to another fleet ({clean_text(info.fleet_id, 80)})"
    if vpc_id is not None and info.vpc_id != vpc_id:
        return "was issued for another VPC" + (f" ({clean_text(info.vpc_id, 80)})" if info.vpc_id else "")
    if moment >= info.not_after:
        return "has expired"
    if info.not_after - moment <= datetime.timedelta(days=renew_before_days):
        return f"expires on {format_time(info.not_after)} (within {renew_before_days} days)"
    return None


# --------------------------------------------------------------------------------------------
# output


def _name_first(item: t.Any) -> t.Any:
    if isinstance(item, dict) and "name" in item:
        return {"name": item["name"], **{key: value for key, value in item.items() if key != "name"}}
    return item


def _ordered(config: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Put top-level keys in the conventional order and ``name`` first in every entry."""
    result: t.Dict[str, t.Any] = {}
    keys = [key for key in TOP_LEVEL_ORDER if key in config] + [key for key in config if key not in TOP_LEVEL_ORDER]
    for key in keys:
        value = config[key]
        if key in ("clusters", "contexts", "users") and isinstance(value, list):
            value = [_name_first(item) for item in value]
        result[key] = value
    return result


if HAS_YAML:

    class _Dumper(_SafeDumperBase):  # type: ignore[valid-type,misc]
        # Never write anchors/aliases: two equal entries are written out in full, as kubectl does.
        def ignore_aliases(self, data: t.Any) -> bool:
            return True


def dump_kubeconfig(config: t.Mapping[str, t.Any]) -> str:
    """Write ``config`` as YAML text, deterministically.

    Top-level keys in the conventional order (apiVersion, kind, clusters, contexts,
    current-context, preferences, users, then any other key as given); ``name`` first in each
    entry; everything else in the given order; no timestamps, no anchors, long lines unwrapped.

    Args:
        config: a kubeconfig mapping.
    Returns:
        The YAML text (ends with a newline).
    Raises:
        UcsKubeconfigError: PyYAML is missing or the config is too large.
    """
    _require_yaml()
    plain = _ordered(_plain(config))
    return yaml.dump(plain, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30)


def sensitive_values(config: t.Mapping[str, t.Any]) -> t.Set[str]:
    """Return every secret string of ``config``, for ``module.no_log_values``.

    Covers each user's client-key-data (as written, stripped, decoded PEM, and each PEM body line
    of more than 16 characters), token, password and auth-provider secrets. Empty values are left
    out (masking "" would mask everything).

    Args:
        config: a kubeconfig mapping (anything malformed is skipped, never an error).
    Returns:
        The set of strings to mask.
    """
    found: t.Set[str] = set()

    def add(value: t.Any) -> None:
        if isinstance(value, str) and value.strip():
            found.add(value)
            found.add(value.strip())

    users = config.get("users") if isinstance(config, t.Mapping) else None
    for entry in users if isinstance(users, list) else []:
        body = entry.get("user") if isinstance(entry, t.Mapping) else None
        if not isinstance(body, t.Mapping):
            continue
        key_data = body.get("client-key-data")
        add(key_data)
        if isinstance(key_data, str) and key_data.strip():
            try:
                pem = base64.b64decode(key_data.strip().replace("\r", "").replace("\n", ""), validate=True).decode("ascii")
            except (binascii.Error, ValueError):
                pem = ""
            add(pem)
            for raw_line in pem.splitlines():
                line = raw_line.strip()
                if len(line) > 16 and not line.startswith("-----"):
                    found.add(line)
        for name in ("token", "password"):
            add(body.get(name))
        provider = body.get("auth-provider")
        provider_config = provider.get("config") if isinstance(provider, t.Mapping) else None
        if isinstance(provider_config, t.Mapping):
            for name, value in provider_config.items():
                if any(word in str(name).lower() for word in ("token", "secret", "password")):
                    add(value)
    return found


def summary(info: KubeconfigInfo) -> t.Dict[str, t.Any]:
    """Return a redacted view of ``info`` for diffs and results (no key material).

    Args:
        info: from validate_kubeconfig().
    Returns:
        server, cluster_name, user_name, context_name, current_context, not_before, not_after
        (``2027-11-29T02:00:00Z``), cert_sha256, insecure_skip_tls_verify, fleet_id, vpc_id.
    """
    return {
        "server": info.server,
        "cluster_name": info.cluster_name,
        "user_name": info.user_name,
        "context_name": info.context_name,
        "current_context": info.current_context,
        "not_before": format_time(info.not_before),
        "not_after": format_time(info.not_after),
        "cert_sha256": info.cert_sha256,
        "insecure_skip_tls_verify": info.insecure_skip_tls_verify,
        "fleet_id": info.fleet_id,
        "vpc_id": info.vpc_id,
    }


# --------------------------------------------------------------------------------------------
# merge


def _put(entries: t.List[t.Any], entry: t.Dict[str, t.Any]) -> t.List[t.Any]:
    """Replace the entry of the same name in place (dropping later duplicates), else append."""
    result: t.List[t.Any] = []
    placed = False
    for item in entries:
        if isinstance(item, dict) and item.get("name") == entry["name"]:
            if not placed:
                result.append(entry)
                placed = True
            continue
        result.append(item)
    if not placed:
        result.append(entry)
    return result


def merge_kubeconfig(
    existing: t.Optional[t.Mapping[str, t.Any]],
    fleet_config: t.Mapping[str, t.Any],
    *,
    cluster_name: str,
    user_name: str,
    context_name: str,
    set_current: bool,
) -> t.Dict[str, t.Any]:
    """Merge the fleet's current context into another kubeconfig under the given names.

    The fleet's current cluster, user and context are renamed (the context's references follow).
    In ``existing``, entries of the same names are replaced where they are, others appended;
    every other entry and key (``preferences``, unknown keys) is kept as it was.

    Args:
        existing: the kubeconfig to merge into; None or empty gives a standalone kubeconfig.
        fleet_config: the fleet's kubeconfig (from the module).
        cluster_name, user_name, context_name: names of the entries in the result.
        set_current: make ``context_name`` the current context; when false the existing current
            context is kept (and set to ``context_name`` only when there is none).
    Returns:
        A new kubeconfig dict (the arguments are not changed).
    Raises:
        UcsKubeconfigError: the fleet kubeconfig's current context does not resolve ("the fleet
            kubeconfig: ..."), or a section of ``existing`` is not a list ("the existing kubeconfig: ...").
    """
    fleet = parse_kubeconfig(fleet_config)
    fleet_context, fleet_cluster, fleet_user = _resolve(fleet, "the fleet kubeconfig")
    context_body = dict(fleet_context["context"])
    context_body["cluster"] = cluster_name
    context_body["user"] = user_name
    new_entries = {
        "clusters": {"name": cluster_name, "cluster": copy.deepcopy(fleet_cluster["cluster"])},
        "users": {"name": user_name, "user": copy.deepcopy(fleet_user["user"])},
        "contexts": {"name": context_name, "context": context_body},
    }

    result = parse_kubeconfig(existing) if existing else {}
    result.setdefault("apiVersion", "v1")
    result.setdefault("kind", "Config")
    for section in ("clusters", "contexts", "users"):
        entries = result.get(section)
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            raise UcsKubeconfigError(f"the existing kubeconfig: {section} must be a list, not {_type_name(entries)}")
        result[section] = _put(entries, new_entries[section])
    if set_current or not _current_context(result):
        result["current-context"] = context_name
    return result


# --------------------------------------------------------------------------------------------
# status of named entries (used by the role)


def check_entry(
    existing: t.Union[str, bytes, t.Mapping[str, t.Any], None],
    *,
    cluster_name: str,
    user_name: str,
    context_name: str,
    fleet_id: str,
    vpc_id: t.Optional[str],
    renew_before_days: int,
    now: t.Optional[datetime.datetime] = None,
    set_current: bool = True,
    expected_server: t.Optional[str] = None,
) -> EntryStatus:
    """Check the fleet's named entries in a kubeconfig; never raises on bad content.

    Only the named context, cluster and user are validated (other entries of a shared kubeconfig
    are none of our business), with messages that use their real positions in the file.

    Args:
        existing: the kubeconfig text or mapping, or None when there is no file.
        cluster_name, user_name, context_name: the names the fleet's entries should have.
        fleet_id, vpc_id, renew_before_days: as for renewal_reason().
        now: the current time (aware; default: now).
        set_current: whether current-context must be ``context_name``.
        expected_server: when set, the cluster's server must be this URL.
    Returns:
        EntryStatus(reason, info): reason None when nothing needs to change; info when the entries
        validated (even if they need renewal).
    """
    moment = _aware(now)
    if existing is None:
        return EntryStatus("the kubeconfig is missing", None)
    try:
        config = parse_kubeconfig(existing)
    except UcsKubeconfigError as exc:
        return EntryStatus(exc.msg, None)
    try:
        entries = {section: _loose_entries(config, section, body_key) for section, body_key in SECTIONS}
    except UcsKubeconfigError as exc:
        return EntryStatus(exc.msg, None)
    context = _find(entries["contexts"], context_name)
    if context is None:
        return EntryStatus(f"context {_q(context_name)} is missing", None)
    cluster = _find(entries["clusters"], cluster_name)
    if cluster is None:
        return EntryStatus(f"cluster {_q(cluster_name)} is missing", None)
    user = _find(entries["users"], user_name)
    if user is None:
        return EntryStatus(f"user {_q(user_name)} is missing", None)
    for key, wanted in (("cluster", cluster_name), ("user", user_name)):
        if context.body.get(key) != wanted:
            return EntryStatus(f"context {_q(context_name)} does not use {key} {_q(wanted)}", None)
    try:
        # The key was fully checked when it was downloaded; this check runs on every run, per host.
        info = _inspect(
            cluster,
            user,
            context_name=context_name,
            current_context=_current_context(config),
            now=moment,
            expected_duration_days=None,
            check_rsa_key=False,
        )
    except UcsKubeconfigError as exc:
        return EntryStatus(exc.msg, None)
    reason = renewal_reason(info, fleet_id=fleet_id, vpc_id=vpc_id, renew_before_days=renew_before_days, now=moment)
    if reason is not None:
        return EntryStatus(f"context {_q(context_name)} {reason}", info)
    if expected_server is not None and info.server.rstrip("/") != expected_server.strip().rstrip("/"):
        return EntryStatus(f"the server of cluster {_q(cluster_name)} differs from {clean_text(expected_server, 200)}", info)
    if set_current and info.current_context != context_name:
        return EntryStatus(f"current-context is not {_q(context_name)}", info)
    return EntryStatus(None, info)


def _loose_entries(config: t.Mapping[str, t.Any], section: str, body_key: str) -> t.List[_Entry]:
    """Entries of a section of a shared kubeconfig: malformed foreign entries are skipped, not errors."""
    value = config.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UcsKubeconfigError(f"{section} must be a list, not {_type_name(value)}")
    entries: t.List[_Entry] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, t.Mapping) or not isinstance(entry.get("name"), str):
            continue
        body = entry.get(body_key)
        path = f"{section}[{index}]"
        if not isinstance(body, t.Mapping):
            # Ours, but broken: report it (a foreign one would never be looked up).
            body = {}
        if _find(entries, entry["name"]) is None:
            entries.append(_Entry(path, entry["name"], body))
    return entries
