"""Unit tests of the UCS simulator: settings, TLS, IAM, AK/SK, the UCS endpoints, faults, log, federation server."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from conftest import SimHandle

Launch = Callable[..., "SimHandle"]


def fed_id(sim: SimHandle) -> str:
    return sim.federated_fleet["id"]


def assert_apigw_401(answer: requests.Response, fragment: str) -> None:
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error_code"] == "APIGW.0301"
    assert fragment in body["error_msg"]
    assert body["request_id"] == answer.headers["X-Request-Id"]


def decode_kubeconfig(config: Dict[str, Any]) -> Dict[str, Any]:
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    return {
        "ca": x509.load_pem_x509_certificate(base64.b64decode(cluster["certificate-authority-data"])),
        "cert": x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"])),
        "key": serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), password=None),
        "server": cluster["server"],
    }


def key_matches(cert: x509.Certificate, key: Any) -> bool:
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(serialization.Encoding.PEM, pub) == key.public_key().public_bytes(serialization.Encoding.PEM, pub)


def write_kubeconfig(path: Path, config: Dict[str, Any]) -> Path:
    # JSON is YAML: kubectl and the kubernetes client both read it.
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


# --- start-up and settings ------------------------------------------------------------------------


def test_starts_and_publishes_settings(launch: Launch) -> None:
    # No timing assertion: start-up time on a loaded CI machine says nothing about the code.
    sim = launch()
    info = sim.info
    assert info["pid"] == sim.process.pid
    assert info["endpoint"].startswith("https://127.0.0.1:") and info["iam_endpoint"] == info["endpoint"]
    assert info["federation_server"].startswith("https://127.0.0.1:") and info["federation_server"] != info["endpoint"]
    assert Path(info["ca_path"]).read_text(encoding="utf-8").startswith("-----BEGIN CERTIFICATE-----")
    assert Path(info["request_log"]).exists()
    seed = info["seed"]
    assert seed["domain"] == {"id": "sim0domain0id000000000000000001", "name": "sim-domain"}
    assert seed["aksk"] == {"access_key": "SIMAK00000000000000001", "secret_key": "simSK0000000000000000000000000000000000001"}
    assert seed["temporary_aksk"]["security_token"] == "simSecurityToken-0001"
    assert seed["iam_user"]["name"] == "sim-user" and seed["iam_user"]["password"] == "sim-Password-0001"
    assert seed["network"]["project_id"] == "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    assert seed["other_network"]["project_id"] == seed["network"]["project_id"] and seed["other_network"]["vpc_id"] != seed["network"]["vpc_id"]
    assert {f["name"]: f["federation"] for f in seed["fleets"]} == {"fleet-federated": True, "fleet-plain": False}
    assert oct(Path(sim.state_dir / "simulator.json").stat().st_mode & 0o777) == "0o600"
    assert not list(sim.state_dir.glob(".*")), "temporary key and JSON files must be gone"


def test_seed_file_overrides(launch: Launch, tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"fleets": [{"id": "11111111-2222-4333-8444-555555555555", "name": "other", "federation": True}], "domain": {"name": "d2"}}))
    sim = launch("--seed", str(seed))
    assert sim.seed["domain"] == {"id": "sim0domain0id000000000000000001", "name": "d2"}
    answer = sim.call("GET", "/v1/clustergroups")
    assert [item["metadata"]["name"] for item in answer.json()["items"]] == ["other"]


def test_tls_verifies_only_with_the_published_ca(simulator: SimHandle) -> None:
    assert requests.get(simulator.endpoint + "/_sim/fleets", verify=simulator.ca_path, timeout=10).status_code == 200
    port = simulator.endpoint.rsplit(":", 1)[1]
    assert requests.get(f"https://localhost:{port}/_sim/fleets", verify=simulator.ca_path, timeout=10).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(simulator.endpoint + "/_sim/fleets", verify=True, timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(simulator.endpoint + "/_sim/fleets", verify=simulator.info["federation_ca_path"], timeout=10)


# --- IAM and tokens --------------------------------------------------------------------------------


def test_iam_token_issue_and_use(simulator: SimHandle) -> None:
    answer = simulator.iam_token()
    assert answer.status_code == 201
    token = answer.headers["X-Subject-Token"]
    body = answer.json()["token"]
    assert body["methods"] == ["password"] and body["domain"]["name"] == "sim-domain" and body["user"]["name"] == "sim-user"
    expires = dt.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    issued = dt.datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((expires - issued).total_seconds() - 86400) < 5
    assert token not in answer.text
    listed = simulator.call("GET", "/v1/clustergroups", auth=token)
    assert listed.status_code == 200 and listed.json()["total"] == 2
    assert [r["auth"] for r in simulator.requests()] == ["iam", "token"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"wrong": "password"}, 401),
        ("unknown-user", 401),
        ("wrong-domain", 401),
        (b"not json", 400),
        ({"auth": {}}, 400),
        ({"auth": {"identity": {"methods": ["token"], "token": {"id": "x"}}}}, 400),
    ],
)
def test_iam_token_rejections(simulator: SimHandle, body: Any, status: int) -> None:
    user = simulator.seed["iam_user"]
    good = {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": user["name"], "password": user["password"], "domain": {"name": "sim-domain"}}}},
            "scope": {"domain": {"name": "sim-domain"}},
        }
    }
    if body == {"wrong": "password"}:
        good["auth"]["identity"]["password"]["user"]["password"] = "wrong"
        body = good
    elif body == "unknown-user":
        good["auth"]["identity"]["password"]["user"]["name"] = "nobody"
        body = good
    elif body == "wrong-domain":
        good["auth"]["identity"]["password"]["user"]["domain"] = {"name": "other"}
        body = good
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = simulator.session.post(simulator.endpoint + "/v3/auth/tokens", data=data, headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == status and error["title"] == ("Unauthorized" if status == 401 else "Bad Request")
    assert "X-Subject-Token" not in answer.headers


def test_force_expired_and_unknown_tokens_are_rejected(simulator: SimHandle) -> None:
    token = simulator.iam_token().headers["X-Subject-Token"]
    assert simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}", auth=token).status_code == 200
    assert simulator.control("POST", "tokens/expire") == {"expired": 1}
    assert_apigw_401(simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}", auth=token), "token expires")
    assert_apigw_401(simulator.call("GET", "/v1/clustergroups", auth="MIInot-a-token"), "decrypt token fail")
    issued = simulator.control("POST", "tokens", {})
    assert simulator.call("GET", "/v1/clustergroups", auth=issued["token"]).status_code == 200


def test_tokens_expire_after_ttl(launch: Launch) -> None:
    sim = launch("--token-ttl", "1")
    token = sim.iam_token().headers["X-Subject-Token"]
    assert sim.call("GET", "/v1/clustergroups", auth=token).status_code == 200
    time.sleep(1.2)
    assert_apigw_401(sim.call("GET", "/v1/clustergroups", auth=token), "token expires")


# --- AK/SK ----------------------------------------------------------------------------------------


def test_aksk_accepted(simulator: SimHandle) -> None:
    assert simulator.call("GET", "/v1/clustergroups?offset=0&limit=1").json()["total"] == 2
    assert len(simulator.call("GET", "/v1/clustergroups?limit=1&offset=1").json()["items"]) == 1
    assert simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").status_code == 200
    assert simulator.create_cert().status_code == 201
    assert {r["auth"] for r in simulator.requests()} == {"aksk"}


def test_own_signer_matches_the_sdk_signer() -> None:
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    date = "20250101T000000Z"
    headers = {"Content-Type": "application/json", "X-Domain-Id": "d", "Host": "127.0.0.1:1"}
    body = b'{"duration": 3}'
    request = SdkRequest(
        method="POST",
        schema="https",
        host="127.0.0.1:1",
        resource_path="/v1/clustergroups/a b/cert",
        query_params=[("z", "1"), ("a", "x y")],
        header_params={**headers, "X-Sdk-Date": date},
        body=body,
    )
    expected = Signer(BasicCredentials("AK", "SK")).sign(request).header_params["Authorization"]
    from conftest import sign

    assert (
        sign("POST", "https://127.0.0.1:1/v1/clustergroups/a%20b/cert?z=1&a=x%20y", headers, body, access_key="AK", secret_key="SK", sdk_date=date)[
            "Authorization"
        ]
        == expected
    )


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("tampered-signature", "verify aksk signature fail"),
        ("tampered-body", "verify aksk signature fail"),
        ("tampered-path", "verify aksk signature fail"),
        ("unsigned-domain", "verify aksk signature fail"),
        ("unknown-ak", "ak SIMUNKNOWN not exist"),
        ("stale-date", "signature expired"),
        ("future-date", "signature expired"),
        ("bad-date", "x-sdk-date"),
        ("missing-domain", "verify aksk signature fail"),
        ("wrong-domain", "X-Domain-Id"),
        ("no-auth", "x-auth-token not found"),
        ("other-algorithm", "Authorization"),
    ],
)
def test_aksk_rejections(simulator: SimHandle, case: str, fragment: str) -> None:
    path = f"/v1/clustergroups/{fed_id(simulator)}/cert"
    body = json.dumps(simulator.cert_body()).encode()
    options: Dict[str, Any] = {}
    if case == "stale-date":
        options["date"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    elif case == "future-date":
        options["date"] = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    elif case == "bad-date":
        options["date"] = "2025-01-01T00:00:00Z"
    elif case == "missing-domain":
        options["domain_id"] = None
    elif case == "wrong-domain":
        options["domain_id"] = "someoneelsesdomain000000000001"
    headers = simulator.signed_headers("POST", path, body, **options)
    if case == "tampered-signature":
        headers["Authorization"] = headers["Authorization"][:-4] + ("0000" if not headers["Authorization"].endswith("0000") else "1111")
    elif case == "tampered-body":
        body = body.replace(b'"duration": 30', b'"duration": 31')
    elif case == "tampered-path":
        path = f"/v1/clustergroups/{simulator.plain_fleet['id']}/cert"
    elif case == "unsigned-domain":
        headers = simulator.signed_headers("POST", path, body, domain_id=None)
        headers["X-Domain-Id"] = simulator.seed["domain"]["id"]
    elif case == "unknown-ak":
        headers["Authorization"] = headers["Authorization"].replace(simulator.seed["aksk"]["access_key"], "SIMUNKNOWN")
    elif case == "no-auth":
        headers = {"Content-Type": "application/json"}
    elif case == "other-algorithm":
        headers["Authorization"] = headers["Authorization"].replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3")
    answer = simulator.session.post(simulator.endpoint + path, data=body, headers=headers, timeout=10)
    assert_apigw_401(answer, fragment)
    assert simulator.connections() == []
    [entry] = simulator.requests()
    assert entry["status"] == 401 and entry["auth"] == ("none" if case == "no-auth" else "aksk")


def test_temporary_credentials_need_the_security_token(simulator: SimHandle) -> None:
    assert simulator.call("GET", "/v1/clustergroups", auth="temporary").status_code == 200
    wrong = simulator.call("GET", "/v1/clustergroups", auth="temporary", headers={"X-Security-Token": "simSecurityToken-9999"})
    assert_apigw_401(wrong, "security token")
    # Without the token the signature cannot cover it.
    keys = simulator.seed["temporary_aksk"]
    from conftest import current_sdk_date, sign

    url = simulator.endpoint + "/v1/clustergroups"
    headers = sign(
        "GET",
        url,
        {"X-Domain-Id": simulator.seed["domain"]["id"]},
        b"",
        access_key=keys["access_key"],
        secret_key=keys["secret_key"],
        sdk_date=current_sdk_date(),
    )
    assert_apigw_401(simulator.session.get(simulator.endpoint + "/v1/clustergroups", headers=headers, timeout=10), "verify aksk signature fail")


# --- UCS endpoints --------------------------------------------------------------------------------


def test_fleet_documents(simulator: SimHandle) -> None:
    listed = simulator.call("GET", "/v1/clustergroups")
    assert listed.status_code == 200 and listed.headers["X-Request-Id"]
    items = {item["metadata"]["name"]: item for item in listed.json()["items"]}
    federated, plain = items["fleet-federated"], items["fleet-plain"]
    assert federated["kind"] == "ClusterGroup" and federated["apiVersion"] == "v1"
    assert federated["metadata"]["uid"] == fed_id(simulator)
    assert federated["spec"]["federationId"] == simulator.federated_fleet["federation_id"]
    [endpoint] = federated["spec"]["connectGatewayEndpoints"]
    assert set(endpoint) == {"type", "name", "id", "region"}
    [condition] = federated["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Federation", "True", "Available")
    assert "federationId" not in plain["spec"] and plain["status"]["conditions"] == []
    assert simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").json() == federated


def test_unknown_fleet_and_routes(simulator: SimHandle) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    for method, path, body in [
        ("GET", f"/v1/clustergroups/{missing}", None),
        ("POST", f"/v1/clustergroups/{missing}/cert", simulator.cert_body()),
        ("POST", f"/v1/clustergroups/{missing}/kubeconfig", {"duration": 5}),
    ]:
        answer = simulator.call(method, path, body)
        assert answer.status_code == 404 and answer.json()["error_code"] == "UCS.01100005", path
    for method, path in [("GET", "/v1/nothing"), ("DELETE", f"/v1/clustergroups/{fed_id(simulator)}"), ("GET", f"/v1/clustergroups/{fed_id(simulator)}/cert")]:
        answer = simulator.call(method, path)
        assert answer.status_code == 404 and answer.json()["error_code"].startswith("UCS.") and answer.headers["X-Request-Id"]


def test_federation_progress(simulator: SimHandle) -> None:
    job = simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}/federations/progress").json()
    assert job["kind"] == "Job" and job["status"]["phase"] == "Success"
    assert simulator.call("GET", f"/v1/clustergroups/{simulator.plain_fleet['id']}/federations/progress").json()["error_code"] == "UCS.01080006"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"projectID": None}, 400, "UCS.01000006"),
        ({"vpcID": None}, 400, "UCS.01000006"),
        ({"subnetID": None}, 400, "UCS.01000006"),
        ({"duration": None}, 400, "UCS.01000006"),
        ({"projectID": 12}, 400, "UCS.01000006"),
        ({"vpcID": ""}, 400, "UCS.01000006"),
        ({"duration": True}, 400, "UCS.01000006"),
        ({"duration": "30"}, 400, "UCS.01000006"),
        ({"duration": 30.0}, 400, "UCS.01000006"),
        ({"duration": 0}, 400, "UCS.01000006"),
        ({"duration": -1}, 400, "UCS.01000006"),
        ({"duration": 1826}, 400, "UCS.01000006"),
        ({"duration": 1}, 201, None),
        ({"duration": 1825}, 201, None),
        ({"vpcID": "2b7e4c1d-93a6-4f08-8d2e-5c1f0a9b3e47"}, 400, "UCS.01080011"),
        ({"vpcID": "ffffffff-93a6-4f08-8d2e-5c1f0a9b3e47"}, 400, "UCS.01080010"),
        ({"projectID": "ffffffffffffffffffffffffffffffff"}, 400, "UCS.01080010"),
        ({"subnetID": "6f2d8a41-0c3e-4b9f-a715-3e8d2c6b1f90"}, 400, "UCS.01080011"),
    ],
)
def test_cert_body_validation(simulator: SimHandle, change: Dict[str, Any], status: int, code: str) -> None:
    body = simulator.cert_body()
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    answer = simulator.call("POST", f"/v1/clustergroups/{fed_id(simulator)}/cert", body)
    assert answer.status_code == status, answer.text
    if code:
        assert answer.json()["error_code"] == code
        assert simulator.connections() == []
    else:
        assert answer.json()["kind"] == "Config" and len(simulator.connections()) == 1


@pytest.mark.parametrize(("content_type", "data"), [("text/plain", None), ("application/json", b"{not json"), ("application/json", b"[1]")])
def test_cert_needs_a_json_object(simulator: SimHandle, content_type: str, data: bytes) -> None:
    body = data or json.dumps(simulator.cert_body()).encode()
    answer = simulator.call("POST", f"/v1/clustergroups/{fed_id(simulator)}/cert", body, headers={"Content-Type": content_type})
    assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01000006"


def test_cert_answers_a_valid_kubeconfig(simulator: SimHandle) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    answer = simulator.create_cert(duration=30)
    assert answer.status_code == 201 and answer.headers["X-Request-Id"]
    config = answer.json()
    assert config["kind"] == "Config" and config["apiVersion"] == "v1"
    [cluster], [user], [context] = config["clusters"], config["users"], config["contexts"]
    assert config["current-context"] == context["name"]
    assert context["context"] == {"cluster": cluster["name"], "user": user["name"]}
    assert "insecure-skip-tls-verify" not in cluster["cluster"]
    decoded = decode_kubeconfig(config)
    assert decoded["server"] == simulator.federation_server
    cert: x509.Certificate = decoded["cert"]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=30)
    assert before <= cert.not_valid_before_utc <= dt.datetime.now(dt.timezone.utc)
    assert key_matches(cert, decoded["key"]) and isinstance(decoded["key"], ec.EllipticCurvePrivateKey)
    # Default profile client-ca: the CA data is the federation server's CA, the client certificate
    # comes from a separate client CA (the API server's --client-ca-file), as Kubernetes allows.
    assert cert.issuer != decoded["ca"].subject and "client CA" in cert.issuer.rfc4514_string()
    assert decoded["ca"].subject == x509.load_pem_x509_certificate(Path(simulator.info["federation_ca_path"]).read_bytes()).subject
    assert decoded["ca"].subject != x509.load_pem_x509_certificate(Path(simulator.ca_path).read_bytes()).subject
    # Each call issues a new key.
    again = decode_kubeconfig(simulator.create_cert(duration=30).json())
    assert again["cert"].serial_number != cert.serial_number and not key_matches(again["cert"], decoded["key"])


def test_kubeconfig_needs_a_connection_and_cert_reuses_it(simulator: SimHandle) -> None:
    fleet = fed_id(simulator)
    before = simulator.call("POST", f"/v1/clustergroups/{fleet}/kubeconfig", {"duration": 7})
    assert before.status_code == 400 and before.json()["error_code"] == "UCS.01080012"
    assert simulator.create_cert().status_code == 201
    assert simulator.create_cert().status_code == 201
    [connection] = simulator.connections()
    net = simulator.seed["network"]
    assert connection["fleet_id"] == fleet and connection["vpc_id"] == net["vpc_id"] and connection["subnet_id"] == net["subnet_id"]
    assert connection["project_id"] == net["project_id"] and connection["endpoint_id"]
    assert (connection["cert_calls"], connection["certificates_issued"]) == (2, 2)
    after = simulator.call("POST", f"/v1/clustergroups/{fleet}/kubeconfig", {"duration": 7})
    assert after.status_code == 201
    cert = decode_kubeconfig(after.json())["cert"]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=7)
    [connection] = simulator.connections()
    assert (connection["cert_calls"], connection["certificates_issued"], connection["kubeconfig_calls"]) == (2, 3, 1)
    for bad in ({"duration": "7"}, {"duration": 0}, {}):
        assert simulator.call("POST", f"/v1/clustergroups/{fleet}/kubeconfig", bad).status_code == 400
    other = simulator.call("POST", f"/v1/clustergroups/{fleet}/cert", simulator.cert_body(network="other_network"))
    assert other.status_code == 201 and len(simulator.connections()) == 2


def test_federation_not_enabled(simulator: SimHandle) -> None:
    plain = simulator.plain_fleet["id"]
    for path, body in [(f"/v1/clustergroups/{plain}/cert", simulator.cert_body()), (f"/v1/clustergroups/{plain}/kubeconfig", {"duration": 5})]:
        answer = simulator.call("POST", path, body)
        assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01080006"
    assert simulator.connections() == []


# --- control API ----------------------------------------------------------------------------------


def test_control_fleets_and_reset(simulator: SimHandle) -> None:
    created = simulator.control("POST", "fleets", {"name": "fleet-new", "federation": False})
    fleet = simulator.call("GET", f"/v1/clustergroups/{created['id']}").json()
    assert fleet["metadata"]["name"] == "fleet-new" and "federationId" not in fleet["spec"]
    updated = simulator.control("POST", "fleets", {"id": created["id"], "name": "fleet-new", "federation": True})
    assert updated["federation_id"]
    assert simulator.create_cert(created["id"]).status_code == 201
    installing = simulator.control(
        "POST", "fleets", {"id": created["id"], "name": "fleet-new", "federation": True, "federation_status": "False", "federation_reason": "Installing"}
    )
    assert installing["federation_id"] == updated["federation_id"]
    assert simulator.create_cert(created["id"]).json()["error_code"] == "UCS.01080006"
    assert len(simulator.control("GET", "fleets")) == 3
    simulator.fault("500")
    simulator.reset()
    assert len(simulator.control("GET", "fleets")) == 2 and simulator.connections() == [] and simulator.control("GET", "faults") == []
    assert simulator.requests() == []


@pytest.mark.parametrize("body", [{"fault": "nope"}, {"fault": "500", "operation": "delete_everything"}, {"fault": "500", "count": 0}])
def test_control_rejects_bad_faults(simulator: SimHandle, body: Dict[str, Any]) -> None:
    with pytest.raises(Exception, match="400"):
        simulator.control("POST", "faults", body)


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "extra", "expected"),
    [
        ("429", {}, (429, "UCS.01000002", "1")),
        ("429", {"retry_after": 3}, (429, "UCS.01000002", "3")),
        ("429-no-retry-after", {}, (429, "UCS.01000002", None)),
        ("500", {}, (500, "UCS.01000001", None)),
        ("502", {}, (502, "APIGW.0202", None)),
        ("503", {}, (503, "UCS.01000003", None)),
        ("504", {}, (504, "APIGW.0203", None)),
        ("401", {}, (401, "UCS.01000004", None)),
        ("403", {}, (403, "UCS.01000005", None)),
        ("token-expired", {}, (401, "APIGW.0301", None)),
    ],
)
def test_status_faults(simulator: SimHandle, fault: str, extra: Dict[str, Any], expected: Tuple[int, str, Optional[str]]) -> None:
    status, code, retry_after = expected
    simulator.fault(fault, operation="create_cert", **extra)
    assert simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").status_code == 200, "another operation is not affected"
    answer = simulator.create_cert()
    assert answer.status_code == status and answer.json()["error_code"] == code and answer.headers["X-Request-Id"]
    assert answer.headers.get("Retry-After") == retry_after
    assert simulator.connections() == [], "a faulted /cert must not create a connection"
    assert simulator.control("GET", "faults") == []
    assert simulator.create_cert().status_code == 201, "the fault is consumed"
    entries = simulator.requests()
    assert [(e["operation"], e["status"], e["fault"]) for e in entries] == [
        ("get_fleet", 200, None),
        ("create_cert", status, fault),
        ("create_cert", 201, None),
    ]


def test_fault_count_fleet_and_always(simulator: SimHandle) -> None:
    path = f"/v1/clustergroups/{fed_id(simulator)}"
    simulator.fault("503", operation="get_fleet", count=2, fleet_id=fed_id(simulator))
    assert simulator.call("GET", f"/v1/clustergroups/{simulator.plain_fleet['id']}").status_code == 200
    assert [simulator.call("GET", path).status_code for _attempt in range(3)] == [503, 503, 200]
    simulator.fault("500", count=-1)
    assert [simulator.call("GET", path).status_code for _attempt in range(3)] == [500, 500, 500]
    assert simulator.control("GET", "faults")[0]["count"] == -1
    simulator.control("DELETE", "faults")
    assert simulator.call("GET", path).status_code == 200


def test_iam_token_fault(simulator: SimHandle) -> None:
    simulator.fault("503", operation="iam_token")
    assert simulator.iam_token().status_code == 503
    assert simulator.iam_token().status_code == 201


def test_slow_fault(simulator: SimHandle) -> None:
    simulator.fault("slow", operation="create_cert", delay=0.4)
    started = time.monotonic()
    assert simulator.create_cert().status_code == 201
    assert time.monotonic() - started >= 0.4
    assert simulator.connections()[0]["cert_calls"] == 1, "the server did its work"


def test_streams_record_how_long_the_client_kept_reading(simulator: SimHandle) -> None:
    """A trickled answer read to its end is complete; one the client leaves is cut at its hang-up."""
    path = f"/v1/clustergroups/{fed_id(simulator)}"
    simulator.fault("hostile-trickle", operation="get_fleet", delay=0.001)
    assert simulator.call("GET", path).status_code == 200
    streams = simulator.control("GET", "streams")
    whole = streams[-1]
    assert whole["path"] == path and whole["complete"] is True
    simulator.fault("hostile-trickle", operation="get_fleet", delay=0.03)
    # Read the first bytes (a fraction of a second of an answer that takes about 20 s), then hang up.
    with simulator.session.get(simulator.endpoint + path, headers=simulator.signed_headers("GET", path, b""), stream=True, timeout=15) as response:
        assert response.raw.read(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(simulator.control("GET", "streams")) == len(streams):
        time.sleep(0.05)
    cut = simulator.control("GET", "streams")[-1]
    assert cut["complete"] is False and cut["seconds"] < 5, cut


@pytest.mark.parametrize("fault", ["drop", "reset"])
def test_connection_faults(simulator: SimHandle, fault: str) -> None:
    simulator.fault(fault, operation="create_cert")
    with pytest.raises(requests.exceptions.ConnectionError):
        simulator.create_cert()
    assert simulator.connections() == []
    assert simulator.requests()[-1]["status"] is None
    assert simulator.create_cert().status_code == 201


def test_malformed_and_truncated_json(simulator: SimHandle) -> None:
    simulator.fault("malformed-json", operation="create_cert")
    answer = simulator.create_cert()
    assert answer.status_code == 201
    with pytest.raises(ValueError):
        answer.json()
    full = simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").content
    simulator.fault("truncated-json", operation="get_fleet")
    cut = simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}")
    assert cut.status_code == 200 and int(cut.headers["Content-Length"]) == len(cut.content) < len(full)
    with pytest.raises(ValueError):
        json.loads(cut.content)
    simulator.fault("truncated-json", operation="create_cert")
    assert simulator.create_cert().status_code == 201
    assert simulator.connections() == [], "malformed/truncated answers must not create a connection"


@pytest.mark.parametrize(
    ("field", "value", "read"),
    [
        ("metadata", "fleet-federated", lambda doc: doc["metadata"]),
        ("status.conditions", 3, lambda doc: doc["status"]["conditions"]),
        ("status.conditions[0].reason", {"why": 1}, lambda doc: doc["status"]["conditions"][0]["reason"]),
        ("spec.federationId", None, lambda doc: doc["spec"]["federationId"]),
        ("extra.deeper", [1], lambda doc: doc["extra"]["deeper"]),
    ],
)
def test_wrong_type_fault_changes_one_field_of_the_real_answer(simulator: SimHandle, field: str, value: Any, read: Callable[[Any], Any]) -> None:
    path = f"/v1/clustergroups/{fed_id(simulator)}"
    normal = simulator.call("GET", path).json()
    simulator.fault("wrong-type", operation="get_fleet", field=field, value=value)
    changed = simulator.call("GET", path).json()
    assert read(changed) == value
    assert changed["kind"] == normal["kind"] and changed["apiVersion"] == normal["apiVersion"], "everything else as the server answers it"
    assert simulator.call("GET", path).json() == normal, "the fault is consumed"


def test_wrong_type_fault_on_cert_issues_the_certificate(simulator: SimHandle) -> None:
    """The server did its work: the certificate is issued and counted, the answer is then changed."""
    simulator.fault("wrong-type", operation="create_cert", field="clusters[0].cluster", value="text")
    answer = simulator.create_cert()
    assert answer.status_code == 201 and answer.json()["clusters"][0]["cluster"] == "text"
    assert [c["certificates_issued"] for c in simulator.connections()] == [1]
    assert len(simulator.control("GET", "secrets")["client_keys"]) == 1


def test_iam_token_not_a_token_fault(simulator: SimHandle) -> None:
    simulator.fault("iam-token-not-a-token", operation="iam_token")
    answer = simulator.iam_token()
    token = answer.headers["X-Subject-Token"]
    assert answer.status_code == 201 and " " in token
    issued = simulator.control("GET", "secrets")["tokens"]
    assert issued == [token.replace(" ", "")], "the token was issued; the header carries it with a space"
    assert " " not in simulator.iam_token().headers["X-Subject-Token"]


@pytest.mark.parametrize(
    "body",
    [
        {"fault": "wrong-type", "operation": "get_fleet", "value": 1},
        {"fault": "wrong-type", "operation": "get_fleet", "field": "a..b", "value": 1},
        {"fault": "wrong-type", "operation": "get_fleet", "field": "metadata"},
        {"fault": "iam-token-not-a-token", "operation": "get_fleet"},
    ],
)
def test_control_rejects_incomplete_type_faults(simulator: SimHandle, body: Dict[str, Any]) -> None:
    with pytest.raises(Exception, match="400"):
        simulator.control("POST", "faults", body)


def test_kubeconfig_faults_skip_operations_without_a_kubeconfig(simulator: SimHandle) -> None:
    simulator.fault("kubeconfig-missing-users")
    assert simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").status_code == 200
    assert "users" not in simulator.create_cert().json()


@pytest.mark.parametrize(
    "fault",
    [
        "kubeconfig-missing-users",
        "kubeconfig-missing-current-context",
        "kubeconfig-bad-base64",
        "kubeconfig-key-mismatch",
        "kubeconfig-expired-cert",
        "kubeconfig-wrong-duration",
        "kubeconfig-insecure",
        "kubeconfig-http-server",
    ],
)
@pytest.mark.parametrize("operation", ["create_cert", "download_kubeconfig"])
def test_kubeconfig_faults(simulator: SimHandle, fault: str, operation: str) -> None:
    fleet = fed_id(simulator)
    if operation == "download_kubeconfig":
        simulator.create_cert()
    simulator.fault(fault, operation=operation)
    if operation == "create_cert":
        answer = simulator.create_cert(duration=30)
    else:
        answer = simulator.call("POST", f"/v1/clustergroups/{fleet}/kubeconfig", {"duration": 30})
    assert answer.status_code == 201
    config = answer.json()
    [connection] = simulator.connections()
    assert connection["certificates_issued"] == (1 if operation == "create_cert" else 2), "content faults still count"
    if fault == "kubeconfig-missing-users":
        assert "users" not in config
        return
    if fault == "kubeconfig-missing-current-context":
        assert "current-context" not in config
        return
    if fault == "kubeconfig-bad-base64":
        with pytest.raises(ValueError):
            base64.b64decode(config["users"][0]["user"]["client-certificate-data"], validate=True)
        return
    decoded = decode_kubeconfig(config)
    cert = decoded["cert"]
    now = dt.datetime.now(dt.timezone.utc)
    if fault == "kubeconfig-key-mismatch":
        assert not key_matches(cert, decoded["key"])
    elif fault == "kubeconfig-expired-cert":
        assert cert.not_valid_after_utc < now
    elif fault == "kubeconfig-wrong-duration":
        assert cert.not_valid_after_utc - cert.not_valid_before_utc != dt.timedelta(days=30) and cert.not_valid_after_utc > now
    elif fault == "kubeconfig-insecure":
        assert config["clusters"][0]["cluster"]["insecure-skip-tls-verify"] == "true"
    elif fault == "kubeconfig-http-server":
        assert decoded["server"].startswith("http://") and decoded["server"][7:] == simulator.federation_server[8:]


# --- request log and secrets ----------------------------------------------------------------------


def test_request_log_and_no_secrets(simulator: SimHandle) -> None:
    token = simulator.iam_token().headers["X-Subject-Token"]
    simulator.call("GET", "/v1/clustergroups?limit=5&marker=secretquery", auth=token)
    simulator.call("GET", "/v1/clustergroups", auth="temporary")
    config = simulator.create_cert().json()
    simulator.iam_token(password="wrong-password-value")
    entries = simulator.requests()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert set(entries[0]) >= {"seq", "method", "path", "status", "auth", "fleet_id"}
    assert [(e["method"], e["path"], e["status"], e["auth"]) for e in entries] == [
        ("POST", "/v3/auth/tokens", 201, "iam"),
        ("GET", "/v1/clustergroups", 200, "token"),
        ("GET", "/v1/clustergroups", 200, "aksk"),
        ("POST", f"/v1/clustergroups/{fed_id(simulator)}/cert", 201, "aksk"),
        ("POST", "/v3/auth/tokens", 401, "iam"),
    ]
    assert entries[3]["fleet_id"] == fed_id(simulator)
    lines = [json.loads(line) for line in Path(simulator.info["request_log"]).read_text(encoding="utf-8").splitlines()]
    assert lines == entries, "the file mirrors the list and control calls are not logged"
    key_pem = base64.b64decode(config["users"][0]["user"]["client-key-data"]).decode()
    key_body = "".join(line for line in key_pem.splitlines() if "PRIVATE KEY" not in line)
    texts = Path(simulator.info["request_log"]).read_text(encoding="utf-8") + simulator.output() + json.dumps(entries)
    for secret in [*simulator.secrets(), token, key_pem, key_body[:40], config["users"][0]["user"]["client-key-data"], "secretquery", "wrong-password-value"]:
        assert secret not in texts
    assert simulator.control("DELETE", "requests") == {"cleared": 5}
    assert simulator.requests() == [] and Path(simulator.info["request_log"]).read_text(encoding="utf-8") == ""


def test_issued_secrets_are_listed_for_leak_scans(simulator: SimHandle) -> None:
    token = simulator.iam_token().headers["X-Subject-Token"]
    key_data = simulator.create_cert().json()["users"][0]["user"]["client-key-data"]
    issued = simulator.control("GET", "secrets")
    assert issued == {"tokens": [token], "client_keys": [key_data]}
    body_line = base64.b64decode(key_data).decode().splitlines()[1]
    assert {token, key_data, body_line} <= set(simulator.issued_secrets())
    simulator.reset()
    assert simulator.control("GET", "secrets") == {"tokens": [], "client_keys": []}


# --- federation API server ------------------------------------------------------------------------


def test_python_kubernetes_client_connects(simulator: SimHandle, tmp_path: Path) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    path = write_kubeconfig(tmp_path / "config", simulator.create_cert().json())
    client = kubernetes.config.new_client_from_config(config_file=str(path))
    try:
        version = kubernetes.client.VersionApi(client).get_code()
    finally:
        client.close()
    assert version.git_version == "v1.28.3" and version.major == "1"
    assert simulator.control("GET", "federation-requests")[-1]["path"] == "/version"


def run_kubectl(path: Path, *args: str) -> subprocess.CompletedProcess:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"))}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["HOME"] = str(path.parent)
    return subprocess.run(
        [kubectl, "--kubeconfig", str(path), "--request-timeout", "10s", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_kubectl_connects(simulator: SimHandle, tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", simulator.create_cert().json())
    version = run_kubectl(path, "version", "-o", "json")
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.28.3"
    versions = run_kubectl(path, "api-versions")
    assert versions.returncode == 0, versions.stderr
    assert versions.stdout.split() == ["v1"]


def test_kubectl_fails_with_an_expired_certificate(simulator: SimHandle, tmp_path: Path) -> None:
    simulator.fault("kubeconfig-expired-cert", operation="create_cert")
    path = write_kubeconfig(tmp_path / "config", simulator.create_cert().json())
    version = run_kubectl(path, "version", "-o", "json")
    assert version.returncode != 0 and "serverVersion" not in version.stdout


def tls_to_federation(simulator: SimHandle, cert: bytes | None, key: bytes | None, tmp_path: Path) -> requests.Response:
    cert_files = None
    if cert is not None and key is not None:
        (tmp_path / "c.pem").write_bytes(cert)
        (tmp_path / "k.pem").write_bytes(key)
        cert_files = (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    return requests.get(simulator.federation_server + "/version", verify=simulator.info["federation_ca_path"], cert=cert_files, timeout=10)


def test_federation_server_requires_a_client_certificate_from_its_ca(simulator: SimHandle, tmp_path: Path) -> None:
    decoded = decode_kubeconfig(simulator.create_cert().json())
    good_cert = decoded["cert"].public_bytes(serialization.Encoding.PEM)
    good_key = decoded["key"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    assert tls_to_federation(simulator, good_cert, good_key, tmp_path).json()["gitVersion"] == "v1.28.3"
    # A certificate from another CA (the other simulator CA would do too; a fresh one is clearer).
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    now = dt.datetime.now(dt.timezone.utc)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    foreign_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for cert, private in [(foreign.public_bytes(serialization.Encoding.PEM), foreign_key), (None, None)]:
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            tls_to_federation(simulator, cert, private, tmp_path)
    # The server certificate is not trusted through the UCS API CA.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(simulator.federation_server + "/version", verify=simulator.ca_path, cert=(str(tmp_path / "c.pem"), str(tmp_path / "k.pem")), timeout=10)
    context = ssl.create_default_context(cafile=simulator.info["federation_ca_path"])
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_sigterm_stops_cleanly(launch: Launch) -> None:
    sim = launch()
    assert sim.stop() == 0
    assert "stopped" in sim.output()


def test_control_delete_fleet_and_unknown_calls(simulator: SimHandle) -> None:
    assert simulator.control("DELETE", f"fleets/{simulator.plain_fleet['id']}") == {"deleted": True}
    assert simulator.call("GET", f"/v1/clustergroups/{simulator.plain_fleet['id']}").status_code == 404
    for method, path in [("DELETE", f"fleets/{simulator.plain_fleet['id']}"), ("GET", "nothing")]:
        with pytest.raises(Exception, match="404"):
            simulator.control(method, path)
    assert simulator.requests() == [
        {
            "seq": 1,
            "method": "GET",
            "path": f"/v1/clustergroups/{simulator.plain_fleet['id']}",
            "status": 404,
            "auth": "aksk",
            "fleet_id": simulator.plain_fleet["id"],
            "operation": "get_fleet",
            "fault": None,
        }
    ]


# --- profiles (what the API documents leave open) ---------------------------------------------------


def use_profile(simulator: SimHandle, name: str) -> Dict[str, Any]:
    return simulator.control("POST", "profile", {"profile": name})


def kubectl(path: Path, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "SSL_CERT"))}
    base.update(NO_PROXY="127.0.0.1,localhost", HOME=str(path.parent), **(env or {}))
    command = [binary, "--kubeconfig", str(path), "--request-timeout", "10s", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=base, check=False)


def server_version(path: Path, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return kubectl(path, "version", "-o", "json", *args, env=env)


def issuer_and_ca(config: Dict[str, Any]) -> Tuple[x509.Name, Optional[x509.Name]]:
    cert = x509.load_pem_x509_certificate(base64.b64decode(config["users"][0]["user"]["client-certificate-data"]))
    data = config["clusters"][0]["cluster"].get("certificate-authority-data")
    ca = x509.load_pem_x509_certificate(base64.b64decode(data)).subject if data else None
    return cert.issuer, ca


def test_profile_control_api(simulator: SimHandle) -> None:
    info = simulator.control("GET", "profile")
    assert info["profile"] == info["default"]
    assert set(info["profiles"]) == {
        "client-ca",
        "legacy",
        "empty-ca",
        "insecure-string",
        "ca-and-insecure",
        "token-user",
        "capped-validity",
        "no-current-context",
        "state-words",
    }
    assert use_profile(simulator, "token-user")["profile"] == "token-user"
    with pytest.raises(Exception, match="400"):
        use_profile(simulator, "no-such-profile")
    assert simulator.control("GET", "profile")["profile"] == "token-user"
    simulator.reset()
    assert simulator.control("GET", "profile")["profile"] == info["default"]


def test_start_up_profile_flag(launch: Launch) -> None:
    sim = launch("--profile", "no-current-context")
    assert sim.control("GET", "profile")["default"] == "no-current-context"
    assert "current-context" not in sim.create_cert().json()
    sim.reset()
    assert sim.control("GET", "profile")["profile"] == "no-current-context"


def test_profile_legacy_one_ca_signs_both(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "legacy")
    config = simulator.create_cert().json()
    issuer, ca = issuer_and_ca(config)
    assert issuer == ca
    decoded = decode_kubeconfig(config)
    decoded["cert"].verify_directly_issued_by(decoded["ca"])
    assert server_version(write_kubeconfig(tmp_path / "config", config)).returncode == 0


def test_profile_client_ca_differs_from_server_ca_and_kubectl_connects(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "client-ca")
    config = simulator.create_cert().json()
    issuer, ca = issuer_and_ca(config)
    assert ca is not None and issuer != ca
    assert "client CA" in issuer.rfc4514_string()
    # The CA data verifies the server: kubectl connects although the client certificate does not chain to it.
    version = server_version(write_kubeconfig(tmp_path / "config", config))
    assert version.returncode == 0, version.stderr
    assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.28.3"


def test_profile_empty_ca_needs_the_ca_from_elsewhere(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "empty-ca")
    config = simulator.create_cert().json()
    cluster = config["clusters"][0]["cluster"]
    assert cluster["certificate-authority-data"] == "" and "insecure-skip-tls-verify" not in cluster
    path = write_kubeconfig(tmp_path / "config", config)
    # kubectl uses the system trust store: it does not know the simulator's CA...
    failed = server_version(path)
    assert failed.returncode != 0 and "certificate" in failed.stderr
    # ...until the system store (here SSL_CERT_FILE, honoured by Go on Linux) holds it.
    version = server_version(path, env={"SSL_CERT_FILE": simulator.info["federation_ca_path"]})
    assert version.returncode == 0, version.stderr


def test_profile_insecure_string_breaks_kubectl_until_it_is_a_boolean(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "insecure-string")
    config = simulator.create_cert().json()
    cluster = config["clusters"][0]["cluster"]
    assert cluster["insecure-skip-tls-verify"] == "true" and cluster["certificate-authority-data"] == ""
    raw = server_version(write_kubeconfig(tmp_path / "raw", config))
    assert raw.returncode != 0 and "cannot unmarshal string" in raw.stderr
    cluster["insecure-skip-tls-verify"] = True
    del cluster["certificate-authority-data"]
    fixed = server_version(write_kubeconfig(tmp_path / "fixed", config))
    assert fixed.returncode == 0, fixed.stderr


def test_profile_ca_and_insecure_is_refused_by_kubectl_as_a_pair(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "ca-and-insecure")
    config = simulator.create_cert().json()
    cluster = config["clusters"][0]["cluster"]
    assert cluster["insecure-skip-tls-verify"] == "true" and cluster["certificate-authority-data"]
    cluster["insecure-skip-tls-verify"] = True
    both = server_version(write_kubeconfig(tmp_path / "both", config))
    assert both.returncode != 0 and "insecure" in both.stderr
    del cluster["insecure-skip-tls-verify"]
    ca_only = server_version(write_kubeconfig(tmp_path / "ca-only", config))
    assert ca_only.returncode == 0, ca_only.stderr


def test_profile_token_user(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "token-user")
    config = simulator.create_cert().json()
    user = config["users"][0]["user"]
    assert set(user) == {"token"} and user["token"].startswith("ucs-federation-token-")
    assert user["token"] in simulator.control("GET", "secrets")["tokens"]
    assert user["token"] in simulator.issued_secrets()
    version = server_version(write_kubeconfig(tmp_path / "config", config))
    assert version.returncode == 0, version.stderr
    ca = simulator.info["federation_ca_path"]
    # Without a certificate the server answers 401 unless the bearer token is one it issued.
    assert requests.get(simulator.federation_server + "/version", verify=ca, timeout=10).status_code == 401
    wrong = requests.get(simulator.federation_server + "/version", verify=ca, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["reason"] == "Unauthorized"
    good = requests.get(simulator.federation_server + "/version", verify=ca, headers={"Authorization": f"Bearer {user['token']}"}, timeout=10)
    assert good.status_code == 200
    simulator.reset()
    # Back in the default profile the token is forgotten and a client certificate is required again.
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(simulator.federation_server + "/version", verify=ca, headers={"Authorization": f"Bearer {user['token']}"}, timeout=10)


@pytest.mark.parametrize(("duration", "days"), [(365, 90), (1825, 90), (90, 90), (30, 30), (1, 1)])
def test_profile_capped_validity(simulator: SimHandle, duration: int, days: int) -> None:
    use_profile(simulator, "capped-validity")
    config = simulator.create_cert(duration=duration).json()
    cert = x509.load_pem_x509_certificate(base64.b64decode(config["users"][0]["user"]["client-certificate-data"]))
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=days)


def test_profile_no_current_context(simulator: SimHandle, tmp_path: Path) -> None:
    use_profile(simulator, "no-current-context")
    config = simulator.create_cert().json()
    assert "current-context" not in config and len(config["contexts"]) == 1
    path = write_kubeconfig(tmp_path / "config", config)
    assert kubectl(path, "config", "view").returncode == 0
    # kubectl loads it but has no context to use; naming the only context (what the module does) works.
    assert server_version(path).returncode != 0
    version = server_version(path, "--context", config["contexts"][0]["name"])
    assert version.returncode == 0, version.stderr


def test_profile_state_words(simulator: SimHandle) -> None:
    use_profile(simulator, "state-words")
    plain = simulator.call("GET", f"/v1/clustergroups/{simulator.plain_fleet['id']}").json()
    [condition] = plain["status"]["conditions"]
    assert {key: condition[key] for key in ("type", "status", "reason")} == {"type": "Federation", "status": "Unavailable", "reason": "FederationUnavailable"}
    assert "federationId" not in plain["spec"]
    fleet = simulator.call("GET", f"/v1/clustergroups/{fed_id(simulator)}").json()
    condition = fleet["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Federation", "Available", "FederationAvailable")
    assert simulator.create_cert().status_code == 201
    # Only an explicit negative word stops /cert; an unknown word is served.
    for status, expected in [("Mystery", 201), ("Installing", 201), ("Unavailable", 400), ("False", 400), ("Failed", 400)]:
        simulator.control("POST", "fleets", {"id": fed_id(simulator), "name": "fleet-federated", "federation": True, "federation_status": status})
        answer = simulator.create_cert()
        assert answer.status_code == expected, (status, answer.text)
        if expected == 400:
            assert answer.json()["error_code"] == "UCS.01080006"
    listed = simulator.call("GET", "/v1/clustergroups").json()["items"]
    states = {item["metadata"]["name"]: item["status"]["conditions"][0]["status"] for item in listed}
    assert states == {"fleet-federated": "Failed", "fleet-plain": "Unavailable"}
