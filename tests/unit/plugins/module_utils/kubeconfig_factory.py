"""Build real kubeconfigs for tests: CAs, client certificates and keys made with cryptography.

No PEM is hard-coded: every certificate is signed here, with validity relative to ``NOW`` (or to
the times a test asks for). Keys are generated once per (type, slot) and cached, because RSA key
generation is the only slow part.

Import as ``ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory``.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
SERVER = "https://federation.example.test:5443"
FLEET_ID = "fleet-0001"
VPC_ID = "vpc-0001"

KEY_TYPES = ("rsa", "ec", "ed25519")


@functools.lru_cache(maxsize=None)
def make_key(kind: str = "ec", slot: int = 0) -> Any:
    """A private key of ``kind`` (rsa, ec, ed25519); the same (kind, slot) gives the same key."""
    del slot  # only part of the cache key: different slots give different keys
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def _hash_for(key: Any) -> Any:
    # Ed25519 signs without a separate hash.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_cert(
    common_name: str,
    key: Any,
    *,
    issuer: tuple[x509.Certificate, Any] | None = None,
    not_before: datetime.datetime | None = None,
    days: float = 365,
    ca: bool = False,
) -> x509.Certificate:
    """A certificate for ``key``; self-signed unless ``issuer`` (certificate, key) is given."""
    start = not_before if not_before is not None else NOW - datetime.timedelta(hours=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signing_key, _hash_for(signing_key))


@functools.lru_cache(maxsize=None)
def make_ca(slot: int = 0, kind: str = "ec") -> tuple[x509.Certificate, Any]:
    """A self-signed CA (certificate, key), valid from a year before NOW for ten years."""
    key = make_key(kind, 100 + slot)
    cert = make_cert(f"test federation CA {slot}", key, not_before=NOW - datetime.timedelta(days=365), days=3650, ca=True)
    return cert, key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Any, *, fmt: str = "pkcs8", password: bytes | None = None) -> bytes:
    private_format = serialization.PrivateFormat.TraditionalOpenSSL if fmt == "traditional" else serialization.PrivateFormat.PKCS8
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, private_format, encryption)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def pem_lines(pem: bytes | str) -> list[str]:
    """The body lines of a PEM text (what a leak would show)."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    return [line for line in text.splitlines() if line and not line.startswith("-----")]


@dataclass
class Material:
    """A kubeconfig and the secret strings in it (for leak scans)."""

    config: dict[str, Any]
    key: Any
    cert: x509.Certificate
    ca: x509.Certificate | None
    secrets: list[str] = field(default_factory=list)

    def copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)


def make_kubeconfig(
    *,
    key_type: str = "ec",
    key_slot: int = 0,
    days: float = 365,
    not_before: datetime.datetime | None = None,
    ca_slot: int = 0,
    signer: tuple[x509.Certificate, Any] | None = None,
    cert_key: Any = None,
    server: str = SERVER,
    cluster: str = "cluster-demo",
    user: str = "user",
    context: str = "demo",
    include_ca: bool = True,
    insecure: Any = "absent",
    token: str | None = "",
    fleet_id: str | None = None,
    vpc_id: str | None = None,
) -> Material:
    """A kubeconfig shaped like the API's answer (CreateFederationCert) with real certificates.

    Args:
        key_type, key_slot: the client key.
        days, not_before: validity of the client certificate.
        ca_slot: the CA named in certificate-authority-data.
        signer: who signs the client certificate (default: that CA).
        cert_key: put another key's public key in the certificate (a mismatch).
        include_ca: write certificate-authority-data.
        insecure: value of insecure-skip-tls-verify ("absent" leaves it out).
        token: the user's token ("" as in the API's example; None leaves it out).
        fleet_id, vpc_id: add the identity stamp when fleet_id is set.
    """
    ca_cert, ca_key = make_ca(ca_slot)
    key = make_key(key_type, key_slot)
    cert = make_cert("fleet-user", cert_key if cert_key is not None else key, issuer=signer or (ca_cert, ca_key), not_before=not_before, days=days)
    key_text = key_pem(key)
    cert_text = cert_pem(cert)
    cluster_body: dict[str, Any] = {"server": server}
    if include_ca:
        cluster_body["certificate-authority-data"] = b64(cert_pem(ca_cert))
    if insecure != "absent":
        cluster_body["insecure-skip-tls-verify"] = insecure
    if fleet_id is not None:
        identity = {"fleet-id": fleet_id}
        if vpc_id is not None:
            identity["vpc-id"] = vpc_id
        cluster_body["extensions"] = [{"name": "ucs_cloud.fleet", "extension": identity}]
    user_body: dict[str, Any] = {"client-certificate-data": b64(cert_text), "client-key-data": b64(key_text)}
    if token is not None:
        user_body["token"] = token
    config = {
        "kind": "Config",
        "apiVersion": "v1",
        "clusters": [{"name": cluster, "cluster": cluster_body}],
        "users": [{"name": user, "user": user_body}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
    }
    secrets = [b64(key_text), key_text.decode(), *pem_lines(key_text), b64(cert_text), *pem_lines(cert_text)]
    return Material(config=config, key=key, cert=cert, ca=ca_cert if include_ca else None, secrets=secrets)


def leaked(text: str, secrets: list[str]) -> list[str]:
    """Which secrets (shortened) appear in ``text``; a 40-character window of each is checked too."""
    found = []
    for secret in secrets:
        if not secret:
            continue
        probes = {secret}
        if len(secret) > 40:
            probes.update(secret[i : i + 40] for i in range(0, len(secret) - 40, 40))
        if any(probe in text for probe in probes):
            found.append(secret[:8] + "...")
    return found


def file_info_answer(path: str, data: bytes | None, file_mode: str = "0600", **extra: Any) -> dict[str, Any]:
    """What kubeconfig_file_info returns for ``path`` holding ``data`` (None: no file), owned by ops."""
    if data is None:
        return {"path": path, "exists": False, **extra}
    return {
        "path": path,
        "exists": True,
        "content": base64.b64encode(data).decode(),
        "checksum": hashlib.sha256(data).hexdigest(),
        "mode": file_mode,
        "uid": 1000,
        "gid": 1000,
        "owner": "ops",
        "group": "ops",
        **extra,
    }
