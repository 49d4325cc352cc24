"""Every request of the fleet list and the federation lifecycle, ours against the official SDK's.

Part 1, on the wire: each call is made twice, by huaweicloudsdkucs (its UcsClient) and by the
collection (``_federation`` over ``_http.UcsClient``), both with AK/SK through a recording
transport. They must agree on the method, the path, the query string (byte for byte), the body
(the same JSON) and the signed headers that authenticate (Host, X-Domain-Id, X-Security-Token,
X-Sdk-Date), and each signature must be the other signer's result for that request.

The differences that remain are deliberate and listed in ``DOCUMENTED``: the SDK sends and signs
``Content-Type: application/json`` on requests without a body (ours sends no Content-Type when
there is no body, RFC 9110 8.3), signs its own User-Agent, and serialises JSON with ", " and ": "
separators (ours without spaces; each side signs the bytes it sends). We also sign Accept.

Part 2, against the simulator: the SDK's models read what the simulator answers to the new calls.
"""

from __future__ import annotations

import datetime
import io
import json
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

import pytest
import requests
import urllib3
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

pytest.importorskip("huaweicloudsdkucs")

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkucs.v1 import (
    CreateFederationCertRequest,
    CreateFederationCertRequestBody,
    DisableFederationRequest,
    DownloadFederationKubeconfigRequest,
    DownloadFederationKubeconfigRequestBody,
    EnableFederationRequest,
    ListClusterGroupRequest,
    ShowFederationProgressRequest,
    UcsClient,
)

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import Credentials
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._signer import sign_request

if TYPE_CHECKING:
    from conftest import SimHandle

ENDPOINT = "https://ucs.example.com"
AK, SK, DOMAIN = "AKWIRE0001", "SKwire-secret-000000000000000000000001", "dom-wire-1"
SECURITY_TOKEN = "wire-security-token/with+chars="
FLEET = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"
NET = {"project_id": "08d44be1ef00d22e2f6fc0061f54a2f1", "vpc_id": "11c9fe72-5a90-4295-bcfe-774726fb9066", "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b"}
JOB = {"kind": "Job", "apiVersion": "v3", "spec": {"type": "CreateFederationContainer", "subJobs": []}, "status": {"phase": "Running"}}
KUBECONFIG = {
    "kind": "Config",
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:5443", "certificate-authority-data": ""}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "x",
}
# Signed header names one side has and the other has not, on purpose (see the module docstring).
DOCUMENTED = {"ours only": {"accept"}, "sdk only, without a body": {"content-type"}}


class Recorder(BaseAdapter):
    """A transport that keeps each prepared request and answers with the next canned body."""

    def __init__(self, answers: List[Tuple[int, Any]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: List[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        self.sent.append(request)
        status, body = self.answers.pop(0)
        content = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(content))}
        # A streamed answer, as HTTPAdapter builds it (our client reads response.raw itself).
        response = requests.Response()
        response.status_code = status
        response.raw = urllib3.HTTPResponse(body=io.BytesIO(content), headers=headers, status=status, preload_content=False, decode_content=False)
        response.headers = CaseInsensitiveDict(headers)
        response.url, response.request = request.url or "", request
        return response

    def close(self) -> None:
        pass


def sdk_client(recorder: Recorder, temporary: bool) -> Any:
    credentials = GlobalCredentials(AK, SK, DOMAIN)
    if temporary:
        credentials = credentials.with_security_token(SECURITY_TOKEN)
    client = UcsClient.new_builder().with_http_config(HttpConfig.get_default_config()).with_credentials(credentials).with_endpoints([ENDPOINT]).build()
    # The SDK's own requests.Session: only its transport is replaced.
    client._http_client._session.mount("https://", recorder)
    return client


def our_client(recorder: Recorder, temporary: bool) -> _http.UcsClient:
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", recorder)
    credentials = Credentials("aksk", access_key=AK, secret_key=SK, domain_id=DOMAIN, security_token=SECURITY_TOKEN if temporary else None)
    return _http.UcsClient(ENDPOINT, credentials, session=session, retries=0)


REQUEST = SimpleNamespace(fleet_id=FLEET, duration=30, **NET)


class Call(SimpleNamespace):
    name: str
    answer: Tuple[int, Any]
    sdk: Callable[[Any], Any]
    ours: Callable[[_http.UcsClient], Any]


CALLS = [
    Call(
        name="ListClusterGroup",
        answer=(200, {"items": [], "total": 0}),
        sdk=lambda c: c.list_cluster_group(ListClusterGroupRequest(limit=federation.LIST_PAGE_SIZE, offset=0)),
        ours=federation.list_fleets,
    ),
    Call(
        name="EnableFederation",
        answer=(201, {}),
        sdk=lambda c: c.enable_federation(EnableFederationRequest(clustergroupid=FLEET)),
        ours=lambda c: federation.enable_federation(c, FLEET),
    ),
    Call(
        name="ShowFederationProgress",
        answer=(200, JOB),
        sdk=lambda c: c.show_federation_progress(ShowFederationProgressRequest(clustergroupid=FLEET)),
        ours=lambda c: federation.read_federation_progress(c, FLEET),
    ),
    Call(
        name="DisableFederation",
        answer=(200, None),
        sdk=lambda c: c.disable_federation(DisableFederationRequest(clustergroupid=FLEET)),
        ours=lambda c: federation.disable_federation(c, FLEET),
    ),
    Call(
        name="DownloadFederationKubeconfig",
        answer=(201, KUBECONFIG),
        sdk=lambda c: c.download_federation_kubeconfig(
            DownloadFederationKubeconfigRequest(clustergroupid=FLEET, body=DownloadFederationKubeconfigRequestBody(duration=30))
        ),
        ours=lambda c: federation.download_kubeconfig(c, REQUEST),
    ),
    Call(
        name="CreateFederationCert",
        answer=(201, KUBECONFIG),
        sdk=lambda c: c.create_federation_cert(
            CreateFederationCertRequest(
                clustergroupid=FLEET,
                body=CreateFederationCertRequestBody(project_id=NET["project_id"], vpc_id=NET["vpc_id"], subnet_id=NET["subnet_id"], duration=30),
            )
        ),
        ours=lambda c: federation.create_federation_cert(c, REQUEST),
    ),
]


def signed(request: requests.PreparedRequest) -> Dict[str, str]:
    names = request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    return {name: request.headers[name] for name in names}


def body_of(request: requests.PreparedRequest) -> Optional[Any]:
    raw = request.body
    if raw in (None, b"", ""):
        return None
    return json.loads(raw)


def resign_ours(request: requests.PreparedRequest) -> str:
    """Our signer over a captured request (its signed headers, its date): the Authorization it must carry."""
    headers = signed(request)
    date = headers.pop("x-sdk-date")
    return sign_request(request.method or "", request.url or "", headers, request.body, AK, SK, date)["Authorization"]


def resign_sdk(request: requests.PreparedRequest, temporary: bool) -> str:
    """The SDK's signer over a captured request of ours."""
    parts = urlsplit(request.url or "")
    headers = {name: value for name, value in signed(request).items() if name.lower() not in ("x-domain-id", "x-security-token")}
    query = [tuple(item.split("=", 1)) for item in parts.query.split("&")] if parts.query else []
    sdk = SdkRequest(
        method=request.method,
        schema="https",
        host=parts.netloc,
        resource_path=parts.path,
        query_params=[(unquote(k), unquote(v)) for k, v in query],
        header_params=headers,
        body=request.body or "",
    )
    credentials = GlobalCredentials(AK, SK, DOMAIN)
    if temporary:
        credentials = credentials.with_security_token(SECURITY_TOKEN)
    credentials.sign_request(sdk)
    return sdk.header_params["Authorization"]


@pytest.mark.parametrize("temporary", [False, True], ids=["aksk", "temporary-aksk"])
@pytest.mark.parametrize("call", CALLS, ids=[call.name for call in CALLS])
def test_our_request_is_the_sdks(call: Call, temporary: bool) -> None:
    sdk_recorder, our_recorder = Recorder([call.answer]), Recorder([call.answer])
    call.sdk(sdk_client(sdk_recorder, temporary))
    call.ours(our_client(our_recorder, temporary))
    (theirs,), (ours,) = sdk_recorder.sent, our_recorder.sent
    their_url, our_url = urlsplit(theirs.url or ""), urlsplit(ours.url or "")
    assert (ours.method, our_url.path, our_url.query) == (theirs.method, their_url.path, their_url.query)
    assert body_of(ours) == body_of(theirs)
    if body_of(ours) is None:
        assert ours.body is None and ours.headers.get("Content-Length", "0") == "0" and "Content-Type" not in ours.headers

    their_headers = {name.lower(): value for name, value in signed(theirs).items()}
    our_headers = {name.lower(): value for name, value in signed(ours).items()}
    authenticating = {"host", "x-domain-id", "x-sdk-date"} | ({"x-security-token"} if temporary else set())
    assert authenticating <= set(our_headers) and authenticating <= set(their_headers)
    for name in authenticating - {"x-sdk-date"}:
        assert our_headers[name] == their_headers[name], name
    assert set(our_headers) - set(their_headers) == DOCUMENTED["ours only"]
    expected_sdk_only = DOCUMENTED["sdk only, without a body"] if body_of(ours) is None else set()
    assert set(their_headers) - set(our_headers) == expected_sdk_only
    if body_of(ours) is not None:
        assert our_headers["content-type"] == their_headers["content-type"] == "application/json"

    # Each side's signature is the other signer's result for that very request.
    assert resign_ours(theirs) == theirs.headers["Authorization"]
    assert resign_sdk(ours, temporary) == ours.headers["Authorization"]


def test_the_comparison_sees_a_different_query() -> None:
    """Self-test: a list call with another page size is a different request."""
    sdk_recorder, our_recorder = Recorder([CALLS[0].answer]), Recorder([CALLS[0].answer])
    sdk_client(sdk_recorder, False).list_cluster_group(ListClusterGroupRequest(limit=50, offset=0))
    CALLS[0].ours(our_client(our_recorder, False))
    assert urlsplit(sdk_recorder.sent[0].url).query != urlsplit(our_recorder.sent[0].url).query


# --- Part 2: the SDK reads the simulator's answers to the new calls ------------------------------------


def simulator_sdk(sim: SimHandle) -> Any:
    credentials = GlobalCredentials(sim.seed["aksk"]["access_key"], sim.seed["aksk"]["secret_key"], sim.seed["domain"]["id"])
    config = HttpConfig.get_default_config()
    config.ssl_ca_cert = sim.ca_path
    config.timeout = (5, 15)
    return UcsClient.new_builder().with_http_config(config).with_credentials(credentials).with_endpoints([sim.endpoint]).build()


def test_sdk_pages_through_the_simulators_list(simulator: SimHandle) -> None:
    for number in range(3):
        simulator.control("POST", "fleets", {"name": f"paged-{number}", "federation": False})
    client = simulator_sdk(simulator)
    pages = [client.list_cluster_group(ListClusterGroupRequest(limit=2, offset=offset)) for offset in (0, 2, 4)]
    assert [page.total for page in pages] == [5, 5, 5]
    names = [item.metadata.name for page in pages for item in page.items]
    assert len(names) == 5 and set(names) == {"fleet-federated", "fleet-plain", "paged-0", "paged-1", "paged-2"}
    assert all(entry["path"] == "/v1/clustergroups" and entry["status"] == 200 for entry in simulator.requests())


def test_sdk_enables_waits_and_disables_on_the_simulator(simulator: SimHandle) -> None:
    simulator.control("POST", "lifecycle", {"step": 0.2})
    client = simulator_sdk(simulator)
    fleet_id = simulator.plain_fleet["id"]
    assert client.enable_federation(EnableFederationRequest(clustergroupid=fleet_id)).status_code == 201
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=10)
    while True:
        job = client.show_federation_progress(ShowFederationProgressRequest(clustergroupid=fleet_id))
        if job.status.phase == "Success" or datetime.datetime.now() > deadline:
            break
    assert job.status.phase == "Success" and job.spec.type == "CreateFederationContainer"
    assert [sub.spec.type for sub in job.spec.sub_jobs] == ["InstallFederationChart", "CreateNetworkResource", "CreateCert", "CreateNode"]
    assert job.status.completion_time and job.spec.federation_uid
    disabled = client.disable_federation(DisableFederationRequest(clustergroupid=fleet_id))
    assert disabled.status_code == 200
    operations = [entry["operation"] for entry in simulator.requests()]
    assert operations[0] == "enable_federation" and operations[-1] == "disable_federation"
