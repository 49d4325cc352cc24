"""main() of ucs_federation_cert with a fake UCS client: decisions, check mode, errors, leaks."""

from __future__ import annotations

import datetime
import json
import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import dump_kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.modules import ucs_federation_cert
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig

FLEET = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"
VPC = "11c9fe72-5a90-4295-bcfe-774726fb9066"
SK = "unit-secret-key-0000000000000000000000001"
FEDERATED = {"metadata": {"name": "prod"}, "spec": {"federationId": "fed-1"}, "status": {"conditions": [{"type": "Federation", "status": "True"}]}}


def now() -> datetime.datetime:
    """Certificates made for these tests start now: the module checks them against the real clock."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


class FakeClient:
    """Stands in for UcsClient; records every call and answers from a script."""

    instances: ClassVar[list[FakeClient]] = []
    fleet: ClassVar[dict[str, Any]] = FEDERATED
    answer: ClassVar[Any] = None
    errors: ClassVar[list[Exception]] = []

    def __init__(self, endpoint: str, credentials: Any, **options: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        FakeClient.instances.append(self)

    def get_json(self, path: str, what: str, expected: tuple[int, ...] = (200,)) -> dict[str, Any]:
        self.calls.append(("GET", path))
        return self.fleet

    def post_json(self, path: str, body: dict[str, Any], what: str, expected: tuple[int, ...] = (200, 201)) -> dict[str, Any]:
        self.calls.append(("POST", path))
        if self.errors:
            raise self.errors[0]
        return self.answer


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeClient]:
    FakeClient.instances = []
    FakeClient.errors = []
    FakeClient.fleet = FEDERATED
    FakeClient.answer = make_kubeconfig(days=365, not_before=now()).config
    monkeypatch.setattr(ucs_federation_cert.http, "UcsClient", FakeClient)
    return FakeClient


def calls(fake: type[FakeClient]) -> list[tuple[str, str]]:
    return [call for client in fake.instances for call in client.calls]


def run_main(capsys: pytest.CaptureFixture[str], **args: Any) -> dict[str, Any]:
    module_args = {
        "fleet_id": FLEET,
        "project_id": "08d44be1ef00d22e2f6fc0061f54a2f1",
        "vpc_id": VPC,
        "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b",
        "access_key": "AKUNIT",
        "secret_key": SK,
        "domain_id": "domain-unit",
        "endpoint": "https://ucs.example.test",
    }
    module_args.update(args)
    with patch_module_args(module_args), pytest.raises(SystemExit):
        ucs_federation_cert.main()
    out = capsys.readouterr().out
    assert SK not in out
    return json.loads(out)


def stamped_file(path: Path, days: float = 365, fleet_id: str = FLEET, vpc_id: str | None = VPC) -> Any:
    material = make_kubeconfig(days=days, fleet_id=fleet_id, vpc_id=vpc_id, key_slot=1, not_before=now())
    path.write_text(dump_kubeconfig(material.config))
    path.chmod(0o600)
    return material


def test_without_dest_calls_the_api_and_returns_no_key(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys)
    assert calls(fake) == [("GET", f"/v1/clustergroups/{FLEET}"), ("POST", f"/v1/clustergroups/{FLEET}/cert")]
    assert result["changed"] and result["connection_created"] and result["kubeconfig_downloaded"]
    assert "kubeconfig" not in result and result["not_after"].endswith("Z")


def test_valid_dest_means_no_client_at_all(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "k.yaml"
    stamped_file(dest)
    before = dest.read_bytes()
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] is False and result["reason"] is None
    assert fake.instances == [] and dest.read_bytes() == before


@pytest.mark.parametrize(
    ("days", "fleet_id", "vpc_id", "reason"),
    [
        (10, FLEET, VPC, "within 30 days"),
        (365, "another-fleet", VPC, "another fleet"),
        (365, FLEET, "another-vpc", "another VPC"),
    ],
)
def test_dest_needing_renewal_is_replaced(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, days: int, fleet_id: str, vpc_id: str, reason: str
) -> None:
    dest = tmp_path / "k.yaml"
    old = stamped_file(dest, days=days, fleet_id=fleet_id, vpc_id=vpc_id)
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] and reason in result["reason"]
    assert [c[0] for c in calls(fake)] == ["GET", "POST"]
    assert old.secrets[0] not in dest.read_text()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_check_mode_reads_only(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "k.yaml"
    result = run_main(capsys, dest=str(dest), _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True and not dest.exists()
    assert calls(fake) == [("GET", f"/v1/clustergroups/{FLEET}")]
    assert result["diff"]["after"]["certificate"] == "new, valid for 365 days"


def test_federation_disabled_fails_before_writing(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    fake.fleet = {"metadata": {"name": "plain"}, "spec": {}}
    result = run_main(capsys)
    assert result["failed"] and "federation is not enabled" in result["msg"]
    assert [c[0] for c in calls(fake)] == ["GET"]


def test_return_content_needs_no_log(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, return_content=True)
    assert result["failed"] and "no_log" in result["msg"] and fake.instances == []


def test_return_content_with_no_log(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, return_content=True, _ansible_no_log=True)
    assert "client-key-data" in result["kubeconfig"] and "fleet-id: " + FLEET in result["kubeconfig"]


def test_unusable_answer_leaves_dest_alone(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "k.yaml"
    dest.write_text("old\n")
    bad = make_kubeconfig(cert_key=make_kubeconfig(key_slot=3).key, not_before=now())
    fake.answer = bad.config
    result = run_main(capsys, dest=str(dest))
    assert result["failed"] and "does not match" in result["msg"] and dest.read_text() == "old\n"
    assert not any(secret in json.dumps(result) for secret in bad.secrets)


def test_api_error_fields_reach_the_result(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    fake.errors = [
        UcsApiError(
            "Failed to create the federation connection: HTTP 400 UCS.01080006",
            status=400,
            method="POST",
            url="https://ucs.example.test/v1/x",
            error_code="UCS.01080006",
            error_msg="federation not enabled",
            request_id="req-1",
        )
    ]
    result = run_main(capsys)
    assert result["failed"] and result["http_status"] == 400 and result["error_code"] == "UCS.01080006" and result["request_id"] == "req-1"


def test_diff_never_shows_key_material(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "k.yaml"
    old = stamped_file(dest, days=5)
    result = run_main(capsys, dest=str(dest), _ansible_diff=True)
    text = json.dumps(result["diff"])
    assert result["diff"]["before"]["fleet_id"] == FLEET
    assert not any(secret in text for secret in old.secrets)
    assert "client-key-data" not in text
