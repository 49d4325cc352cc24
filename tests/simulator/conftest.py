"""Fixtures of the simulator tests: a running simulator process and a handle on its APIs.

One simulator process serves the whole session (start-up is cheap, but not free); the ``simulator``
fixture resets its state through the control API before each test. ``launch`` starts extra
processes with their own options for the tests that need them (start-up time, token TTL, seed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
from harness import SimulatorProcess


def _encode(value: str) -> str:
    return quote(value, safe="~")


def sign(method: str, url: str, headers: Dict[str, str], body: bytes, *, access_key: str, secret_key: str, sdk_date: str) -> Dict[str, str]:
    """Independent SDK-HMAC-SHA256 signer for the tests (not the collection's module_utils)."""
    split = urlsplit(url)
    signed = dict(headers)
    signed["X-Sdk-Date"] = sdk_date
    signed.setdefault("Host", split.netloc)
    names = sorted(name.lower() for name in signed if "_" not in name)
    lowered = {name.lower(): str(value).strip() for name, value in signed.items()}
    uri = "/".join(_encode(part) for part in unquote(split.path).split("/"))
    uri = uri if uri.endswith("/") else uri + "/"
    pairs = sorted(tuple(item.split("=", 1)) if "=" in item else (item, "") for item in split.query.split("&") if item)
    query = "&".join(f"{_encode(unquote(k))}={_encode(unquote(v))}" for k, v in pairs)
    canonical = "\n".join(
        [
            method.upper(),
            uri,
            query,
            "".join(f"{name}:{lowered[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = f"SDK-HMAC-SHA256\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = f"SDK-HMAC-SHA256 Access={access_key}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return signed


def current_sdk_date(offset: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.timezone.utc) + offset).strftime("%Y%m%dT%H%M%SZ")


class SimHandle(SimulatorProcess):
    """A running simulator: its published settings, its control API and request helpers."""

    def __init__(self, state_dir: Path, *args: str) -> None:
        super().__init__(state_dir, *args)
        self.session = requests.Session()
        # Otherwise REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment override session.verify.
        self.session.trust_env = False
        self.session.verify = self.ca_path

    def cert_body(self, duration: int = 30, network: str = "network") -> Dict[str, Any]:
        net = self.seed[network]
        return {"projectID": net["project_id"], "vpcID": net["vpc_id"], "subnetID": net["subnet_id"], "duration": duration}

    # -- requests --

    def signed_headers(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        temporary: bool = False,
        domain_id: Optional[str] = "",
        extra: Optional[Dict[str, str]] = None,
        date: Optional[str] = None,
    ) -> Dict[str, str]:
        """Headers of an AK/SK-signed request; ``domain_id=None`` leaves X-Domain-Id out."""
        keys = self.seed["temporary_aksk" if temporary else "aksk"]
        headers = {"Content-Type": "application/json", **(extra or {})}
        if domain_id is not None:
            headers["X-Domain-Id"] = domain_id or self.seed["domain"]["id"]
        if temporary and "X-Security-Token" not in headers:
            headers["X-Security-Token"] = keys["security_token"]
        return sign(
            method, self.endpoint + path, headers, body, access_key=keys["access_key"], secret_key=keys["secret_key"], sdk_date=date or current_sdk_date()
        )

    def call(
        self, method: str, path: str, body: Any = None, *, auth: str = "aksk", headers: Optional[Dict[str, str]] = None, **sign_options: Any
    ) -> requests.Response:
        """A UCS/IAM request: ``auth`` is ``aksk``, ``temporary``, ``none`` or a token value."""
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if auth in ("aksk", "temporary"):
            all_headers = self.signed_headers(method, path, data, temporary=auth == "temporary", extra=headers, **sign_options)
        elif auth == "none":
            all_headers = {"Content-Type": "application/json", **(headers or {})}
        else:
            all_headers = {"Content-Type": "application/json", "X-Auth-Token": auth, **(headers or {})}
        return self.session.request(method, self.endpoint + path, data=data or None, headers=all_headers, timeout=15)

    def iam_token(self, password: Optional[str] = None) -> requests.Response:
        user = self.seed["iam_user"]
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": user["name"], "password": password or user["password"], "domain": {"name": self.seed["domain"]["name"]}}},
                },
                "scope": {"domain": {"name": self.seed["domain"]["name"]}},
            }
        }
        return self.session.post(self.endpoint + "/v3/auth/tokens", json=body, timeout=15)

    def create_cert(self, fleet_id: Optional[str] = None, duration: int = 30, **kwargs: Any) -> requests.Response:
        return self.call("POST", f"/v1/clustergroups/{fleet_id or self.federated_fleet['id']}/cert", self.cert_body(duration), **kwargs)

    def stop(self) -> int:
        self.session.close()
        return super().stop()


def start_simulator(state_dir: Path, *args: str) -> SimHandle:
    return SimHandle(state_dir, *args)


@pytest.fixture(scope="session")
def simulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHandle]:
    handle = start_simulator(tmp_path_factory.mktemp("simulator"))
    yield handle
    assert handle.stop() == 0, "the simulator must exit cleanly on SIGTERM"


@pytest.fixture
def simulator(simulator_process: SimHandle) -> SimHandle:
    """The session's simulator, reset to its seed (no connections, faults, tokens or log)."""
    simulator_process.reset()
    return simulator_process


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., SimHandle]]:
    """Start a separate simulator with extra command-line options; stopped after the test."""
    started: List[SimHandle] = []

    def _launch(*args: str) -> SimHandle:
        handle = start_simulator(tmp_path / f"sim-{len(started)}", *args)
        started.append(handle)
        return handle

    yield _launch
    for handle in started:
        assert handle.stop() == 0
