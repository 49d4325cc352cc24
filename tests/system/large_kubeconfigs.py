"""Kubeconfigs as large as people keep them, which kubectl loads: the yardstick of issue 23 item 5.

- ``certificate``: client-certificate contexts (an EC CA per cluster, an EC client key and
  certificate per user), as a CI system or a fleet operator that collects clusters has them;
- ``token``: users with a bearer token (a JWT of about 600 characters), as cloud plugins write them;
- ``rsa``: contexts whose CA, client certificate and key are RSA 2048, the largest per context.

Every entry has its own names; the key material is real (made with cryptography) and shared by
the entries, which changes nothing for a loader: each is a string of its own in the file.
Standard library, PyYAML and cryptography only, so that a script can import it as well as a test.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import yaml

from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import cert_pem, key_pem, make_ca, make_cert, make_key

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# (shape, number of contexts): the sizes the issue names, which kubectl loads in 1.4 s or less.
ISSUE_SIZES = (("certificate", 6500), ("token", 9000), ("rsa", 4000))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _material(kind: str) -> dict[str, str]:
    ca_cert, ca_key = make_ca(slot=7, kind=kind)
    key = make_key(kind, 77)
    cert = make_cert("system:masters:large", key, issuer=(ca_cert, ca_key))
    fmt = "traditional" if kind == "rsa" else "pkcs8"
    return {
        "certificate-authority-data": _b64(cert_pem(ca_cert)),
        "client-certificate-data": _b64(cert_pem(cert)),
        "client-key-data": _b64(key_pem(key, fmt=fmt)),
    }


def _token() -> str:
    """A bearer token shaped like a JWT (header.payload.signature), about 600 characters."""
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"large-kubeconfig"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(secrets.token_bytes(280)).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
    return f"{header}.{payload}.{signature}"


def large_kubeconfig(shape: str, contexts: int) -> dict[str, Any]:
    """A kubeconfig of ``contexts`` clusters, users and contexts of one shape."""
    material = _material("rsa" if shape == "rsa" else "ec") if shape != "token" else None
    token = _token() if shape == "token" else None
    config: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": [], "users": [], "contexts": []}
    for index in range(contexts):
        name = f"{shape}-{index:05d}"
        cluster: dict[str, Any] = {"server": f"https://{name}.clusters.example.test:6443"}
        user: dict[str, Any] = {"token": f"{token}{index:05d}"}
        if material is not None:
            cluster["certificate-authority-data"] = material["certificate-authority-data"]
            user = {key: material[key] for key in ("client-certificate-data", "client-key-data")}
        config["clusters"].append({"name": name, "cluster": cluster})
        config["users"].append({"name": name, "user": user})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}})
    config["current-context"] = f"{shape}-00000"
    return config


def write_large_kubeconfig(path: Path, shape: str, contexts: int) -> int:
    """Write the kubeconfig at path, 0600; return its size in bytes."""
    text = yaml.dump(large_kubeconfig(shape, contexts), Dumper=DUMPER, default_flow_style=False, sort_keys=False, width=1 << 30)
    path.write_text(text)
    path.chmod(0o600)
    return path.stat().st_size
