"""The official Huawei Cloud Python SDK (huaweicloudsdkucs + huaweicloudsdkcore) against the simulator.

Proves that the simulator's AK/SK verification accepts the official signer, and that the SDK's
response models parse the simulator's answers.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Optional

import pytest

pytest.importorskip("huaweicloudsdkucs")

from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkucs.v1 import (
    CreateFederationCertRequest,
    CreateFederationCertRequestBody,
    DownloadFederationKubeconfigRequest,
    DownloadFederationKubeconfigRequestBody,
    ListClusterGroupRequest,
    ShowClusterGroupRequest,
    ShowFederationProgressRequest,
    UcsClient,
)

if TYPE_CHECKING:
    from conftest import SimHandle


def sdk_client(sim: SimHandle, *, secret_key: Optional[str] = None, temporary: bool = False, security_token: Optional[str] = None) -> Any:
    keys = sim.seed["temporary_aksk" if temporary else "aksk"]
    credentials = GlobalCredentials(keys["access_key"], secret_key or keys["secret_key"], sim.seed["domain"]["id"])
    if temporary:
        credentials = credentials.with_security_token(security_token or keys["security_token"])
    config = HttpConfig.get_default_config()
    config.ssl_ca_cert = sim.ca_path
    config.timeout = (5, 15)
    return UcsClient.new_builder().with_http_config(config).with_credentials(credentials).with_endpoints([sim.endpoint]).build()


def test_sdk_reads_fleets(simulator: SimHandle) -> None:
    client = sdk_client(simulator)
    listed = client.list_cluster_group(ListClusterGroupRequest())
    assert listed.total == 2 and {item.metadata.name for item in listed.items} == {"fleet-federated", "fleet-plain"}
    fleet = client.show_cluster_group(ShowClusterGroupRequest(clustergroupid=simulator.federated_fleet["id"]))
    assert fleet.kind == "ClusterGroup" and fleet.metadata.uid == simulator.federated_fleet["id"]
    assert fleet.spec.federation_id == simulator.federated_fleet["federation_id"]
    assert fleet.spec.connect_gateway_endpoints[0].id
    [condition] = fleet.status.conditions
    assert (condition.type, condition.status, condition.reason) == ("Federation", "True", "Available")
    progress = client.show_federation_progress(ShowFederationProgressRequest(clustergroupid=simulator.federated_fleet["id"]))
    assert progress.status.phase == "Success" and progress.spec.federation_uid == simulator.federated_fleet["federation_id"]
    assert {r["auth"] for r in simulator.requests()} == {"aksk"}


def test_sdk_creates_cert_and_downloads_kubeconfig(simulator: SimHandle) -> None:
    client = sdk_client(simulator)
    net = simulator.seed["network"]
    fleet_id = simulator.federated_fleet["id"]
    body = CreateFederationCertRequestBody(project_id=net["project_id"], vpc_id=net["vpc_id"], subnet_id=net["subnet_id"], duration=30)
    config = client.create_federation_cert(CreateFederationCertRequest(clustergroupid=fleet_id, body=body))
    assert config.status_code == 201 and config.kind == "Config" and config.api_version == "v1"
    assert config.clusters[0].cluster.server == simulator.federation_server
    assert base64.b64decode(config.clusters[0].cluster.certificate_authority_data).startswith(b"-----BEGIN CERTIFICATE-----")
    assert base64.b64decode(config.users[0].user.client_certificate_data).startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" in base64.b64decode(config.users[0].user.client_key_data)
    assert config.contexts[0].context.cluster == config.clusters[0].name and config.current_context == config.contexts[0].name
    download = client.download_federation_kubeconfig(
        DownloadFederationKubeconfigRequest(clustergroupid=fleet_id, body=DownloadFederationKubeconfigRequestBody(duration=10))
    )
    assert download.status_code == 201 and download.users[0].name == config.users[0].name
    [connection] = simulator.connections()
    assert (connection["cert_calls"], connection["certificates_issued"], connection["kubeconfig_calls"]) == (1, 2, 1)


def test_sdk_error_mapping(simulator: SimHandle) -> None:
    client = sdk_client(simulator)
    with pytest.raises(ClientRequestException) as raised:
        client.show_cluster_group(ShowClusterGroupRequest(clustergroupid="00000000-0000-0000-0000-000000000000"))
    assert raised.value.status_code == 404 and raised.value.error_code == "UCS.01100005" and raised.value.request_id


def test_sdk_wrong_secret_key_is_rejected(simulator: SimHandle) -> None:
    client = sdk_client(simulator, secret_key="simSK-wrong-0000000000000000000000000000001")
    with pytest.raises(ClientRequestException) as raised:
        client.list_cluster_group(ListClusterGroupRequest())
    assert raised.value.status_code == 401 and raised.value.error_code == "APIGW.0301"
    assert "verify aksk signature fail" in raised.value.error_msg
    assert raised.value.request_id


def test_sdk_temporary_credentials(simulator: SimHandle) -> None:
    listed = sdk_client(simulator, temporary=True).list_cluster_group(ListClusterGroupRequest())
    assert listed.total == 2
    with pytest.raises(ClientRequestException) as raised:
        sdk_client(simulator, temporary=True, security_token="simSecurityToken-bad").list_cluster_group(ListClusterGroupRequest())
    assert raised.value.status_code == 401 and raised.value.error_code == "APIGW.0301"
