"""main() of ucs_federation_cert with a fake UCS client: decisions, merge, check mode, errors, leaks."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import stat
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files, _http
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import dump_kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._plan import MERGE_ATTEMPTS
from ansible_collections.ucs_cloud.fleet.plugins.modules import ucs_federation_cert
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import Material, make_kubeconfig

FLEET = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"
VPC = "11c9fe72-5a90-4295-bcfe-774726fb9066"
NAME = f"ucs-fleet-{FLEET}"
SK = "unit-secret-key-0000000000000000000000001"
FOREIGN_TOKEN = "foreign-token-of-another-cluster-0123456789"
FEDERATED = {"metadata": {"name": "prod"}, "spec": {"federationId": "fed-1"}, "status": {"conditions": [{"type": "Federation", "status": "True"}]}}
GET = ("GET", f"/v1/clustergroups/{FLEET}")
POST = ("POST", f"/v1/clustergroups/{FLEET}/cert")


def now() -> datetime.datetime:
    """Certificates made for these tests start now: the module checks them against the real clock."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def days_ago(days: float) -> datetime.datetime:
    return now() - datetime.timedelta(days=days)


class FakeClient:
    """Stands in for UcsClient; records every call and answers from a script."""

    instances: ClassVar[list[FakeClient]] = []
    fleet: ClassVar[dict[str, Any]] = FEDERATED
    answer: ClassVar[Any] = None
    errors: ClassVar[list[Exception]] = []

    def __init__(self, endpoint: str, credentials: Any, **options: Any) -> None:
        self.endpoint = endpoint
        self.calls: list[tuple[str, str]] = []
        FakeClient.instances.append(self)

    def get_json(self, path: str, what: str, query: Any = ()) -> dict[str, Any]:
        self.calls.append(("GET", path))
        if path == "/v1/clustergroups":  # the paged list, one page
            others = [{"metadata": {"uid": f"other-{n}", "name": f"staging-{n}"}} for n in range(2)]
            return {"items": [*others, dict(self.fleet, metadata={"uid": FLEET, "name": "prod"})], "total": 3}
        return self.fleet

    def post_json(self, path: str, body: dict[str, Any], what: str, expected: tuple[int, ...] = (200, 201)) -> dict[str, Any]:
        self.calls.append(("POST", path))
        if self.errors:
            raise self.errors[0]
        return copy.deepcopy(self.answer)


def answer(days: float = 365, slot: int = 0) -> Material:
    """What POST /cert answers: the API's own names and an empty token, as in its example."""
    return make_kubeconfig(days=days, not_before=now(), key_slot=slot)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeClient]:
    for name in list(os.environ):
        if name.startswith(("UCS_", "HUAWEICLOUD_SDK_", "OS_")):
            monkeypatch.delenv(name)
    FakeClient.instances = []
    FakeClient.errors = []
    FakeClient.fleet = FEDERATED
    FakeClient.answer = answer().config
    monkeypatch.setattr(_http, "UcsClient", FakeClient)
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
    module_args = {key: value for key, value in module_args.items() if value is not None}
    with patch_module_args(module_args), pytest.raises(SystemExit):
        ucs_federation_cert.main()
    out = capsys.readouterr().out
    assert SK not in out
    return json.loads(out)


def fleet_material(
    days: float = 365, *, start: datetime.datetime | None = None, fleet_id: str = FLEET, vpc_id: str | None = VPC, name: str = NAME, **extra: Any
) -> Material:
    """The fleet's entries as the module writes them: its names, stamped, in kubectl's normal form."""
    return make_kubeconfig(
        days=days,
        not_before=start or now(),
        fleet_id=fleet_id,
        vpc_id=vpc_id,
        key_slot=1,
        cluster=name,
        user=name,
        context=name,
        token=None,
        **extra,
    )


def write_config(path: Path, config: dict[str, Any], mode: int = 0o600) -> None:
    path.write_text(dump_kubeconfig(config))
    path.chmod(mode)


def fleet_file(path: Path, days: float = 365, **options: Any) -> Material:
    material = fleet_material(days, **options)
    write_config(path, material.config)
    return material


def foreign() -> dict[str, Any]:
    """A kubeconfig of another cluster that the user keeps in the same file."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {"colors": True},
        "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "kind-dev", "user": {"token": FOREIGN_TOKEN}}],
        "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev", "namespace": "dev"}}],
        "current-context": "kind-dev",
    }


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """The sections of several kubeconfigs, one after the other (the rest from the first)."""
    result = copy.deepcopy(parts[0])
    for part in parts[1:]:
        for section in ("clusters", "users", "contexts"):
            result[section] = result.get(section, []) + copy.deepcopy(part[section])
    return result


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def entry(config: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    found = [item for item in config[section] if item["name"] == name]
    assert len(found) == 1, f"{section} {name}: {len(found)} entries"
    return found[0]


def names(config: dict[str, Any], section: str) -> list[str]:
    return [item["name"] for item in config.get(section) or []]


def client_key(config: dict[str, Any], user: str = NAME) -> str:
    return entry(config, "users", user)["user"]["client-key-data"]


def warnings(result: dict[str, Any]) -> str:
    """The warnings of a result as one text (plain strings, or ansible-core 2.19's warning events)."""
    return json.dumps(result.get("warnings", []))


def no_lock_left(path: Path) -> bool:
    return not Path(str(path) + ".lock").exists()


# ---------------------------------------------------------------------------------------------
# without dest, first download, names


def test_without_dest_calls_the_api_and_returns_no_key(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys)
    assert calls(fake) == [GET, POST]
    assert result["changed"] and result["connection_created"] and result["kubeconfig_downloaded"]
    assert result["reason"] == "no dest is set"
    assert "kubeconfig" not in result and "dest" not in result and result["not_after"].endswith("Z")
    assert fake.instances[0].endpoint == "https://ucs.example.test"


def test_first_run_writes_the_fleet_under_its_default_names(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest))
    assert calls(fake) == [GET, POST]
    assert result["changed"] is True and result["reason"] == "the kubeconfig does not exist" and result["dest"] == str(dest)
    config = load(dest)
    for section in ("clusters", "users", "contexts"):
        assert names(config, section) == [NAME]
    assert config["current-context"] == NAME
    assert entry(config, "contexts", NAME)["context"] == {"cluster": NAME, "user": NAME}
    cluster = entry(config, "clusters", NAME)["cluster"]
    stamp = next(item["extension"] for item in cluster["extensions"] if item["name"] == "ucs_cloud.fleet")
    assert {key: stamp[key] for key in ("fleet-id", "vpc-id")} == {"fleet-id": FLEET, "vpc-id": VPC}
    assert set(stamp) == {"fleet-id", "vpc-id", "not-before", "not-after", "cert-sha256", "seal"}
    # The API's empty token is left out: kubectl reads "" as unset anyway.
    assert "token" not in entry(config, "users", NAME)["user"]
    assert client_key(config) == fake.answer["users"][0]["user"]["client-key-data"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600 and no_lock_left(dest)
    assert (result["context_name"], result["current_context"], result["namespace"], result["auth"]) == (NAME, NAME, None, "client certificate")


def test_names_from_the_options(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), cluster_name="prod-cluster", user_name="prod-admin", context_name="prod")
    config = load(dest)
    assert (names(config, "clusters"), names(config, "users"), names(config, "contexts")) == (["prod-cluster"], ["prod-admin"], ["prod"])
    assert entry(config, "contexts", "prod")["context"] == {"cluster": "prod-cluster", "user": "prod-admin"}
    assert config["current-context"] == "prod" and result["context_name"] == "prod"
    fake.instances.clear()
    again = run_main(capsys, dest=str(dest), cluster_name="prod-cluster", user_name="prod-admin", context_name="prod")
    assert again["changed"] is False and fake.instances == []


def test_return_content_with_no_log_is_the_named_fleet_kubeconfig(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, return_content=True, namespace="team-a", _ansible_no_log=True)
    config = yaml.safe_load(result["kubeconfig"])
    assert names(config, "contexts") == [NAME] and config["current-context"] == NAME
    assert entry(config, "contexts", NAME)["context"]["namespace"] == "team-a"
    assert client_key(config) == fake.answer["users"][0]["user"]["client-key-data"]
    assert "fleet-id: " + FLEET in result["kubeconfig"]


def test_return_content_needs_no_log(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, return_content=True)
    assert result["failed"] and "no_log" in result["msg"] and fake.instances == []


# ---------------------------------------------------------------------------------------------
# a dest that is right, or needs a new certificate


@pytest.mark.parametrize(
    "render",
    [
        dump_kubeconfig,
        # Written by kubectl, by hand or as JSON: right entries in another form are left byte for byte.
        lambda config: "# kept by hand\n" + yaml.safe_dump(config, sort_keys=True),
        lambda config: json.dumps(config, indent=2),
    ],
)
def test_valid_dest_means_no_client_at_all(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, render: Any) -> None:
    dest = tmp_path / "config"
    dest.write_text(render(merged(fleet_material().config, foreign()) | {"current-context": NAME}))
    dest.chmod(0o600)
    before = dest.read_bytes()
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] is False and result["reason"] is None
    assert result["connection_created"] is False and result["kubeconfig_downloaded"] is False
    assert fake.instances == [] and dest.read_bytes() == before
    assert no_lock_left(dest)
    assert result["context_name"] == NAME and result["not_after"].endswith("Z")


@pytest.mark.parametrize(
    ("material", "reason"),
    [
        (lambda: fleet_material(365, start=days_ago(340)), "within 30 days"),
        (lambda: fleet_material(30, start=days_ago(31)), "has expired"),
        (lambda: fleet_material(365, fleet_id="another-fleet"), "belongs to another fleet (another-fleet)"),
        (lambda: fleet_material(365, vpc_id="another-vpc"), "was issued for another VPC (another-vpc)"),
        (lambda: fleet_material(365, name="someone-else"), f"cluster '{NAME}' is missing"),
    ],
)
def test_dest_needing_a_certificate_is_renewed(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, material: Any, reason: str) -> None:
    dest = tmp_path / "config"
    old = material()
    write_config(dest, old.config)
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] and reason in result["reason"]
    assert calls(fake) == [GET, POST]
    assert client_key(load(dest)) == fake.answer["users"][0]["user"]["client-key-data"]
    assert old.secrets[0] not in json.dumps(result)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_force_renews_valid_entries(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    old = fleet_file(dest)
    result = run_main(capsys, dest=str(dest), force=True)
    assert result["changed"] and result["reason"] == "force is set" and calls(fake) == [GET, POST]
    assert client_key(load(dest)) != client_key(old.config)


def test_renewal_warns_and_keeps_a_backup(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    fleet_file(dest, 365, start=days_ago(350))
    before = dest.read_bytes()
    result = run_main(capsys, dest=str(dest), backup=True)
    assert "Renewing the federation kubeconfig" in warnings(result)
    backup = Path(result["backup_file"])
    assert backup.parent == tmp_path and backup.read_bytes() == before
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600


# ---------------------------------------------------------------------------------------------
# merge into dest, or replace it (standalone)


def test_merge_keeps_every_foreign_entry(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] and calls(fake) == [GET, POST]
    config = load(dest)
    for section in ("clusters", "users", "contexts"):
        assert names(config, section) == ["kind-dev", NAME]
        assert entry(config, section, "kind-dev") == entry(foreign(), section, "kind-dev")
    assert config["preferences"] == {"colors": True}
    assert config["current-context"] == NAME
    assert result["current_context"] == NAME
    assert FOREIGN_TOKEN not in json.dumps(result)


def test_merge_replaces_only_the_fleet_entries(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    old = fleet_material(365, start=days_ago(360))
    write_config(dest, merged(foreign(), old.config, foreign() | {"clusters": [{"name": "z-last", "cluster": {"server": "https://10.0.0.1"}}]}))
    run_main(capsys, dest=str(dest))
    config = load(dest)
    # In place, not appended; the entry after it stays after it.
    assert names(config, "clusters") == ["kind-dev", NAME, "z-last"]
    assert client_key(config) == fake.answer["users"][0]["user"]["client-key-data"] != client_key(old.config)


def test_set_current_context_false_keeps_the_users_choice(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    result = run_main(capsys, dest=str(dest), set_current_context=False)
    assert result["changed"] is True and load(dest)["current-context"] == "kind-dev"
    fake.instances.clear()
    again = run_main(capsys, dest=str(dest), set_current_context=False)
    assert again["changed"] is False and fake.instances == []


def test_set_current_context_false_still_sets_a_missing_one(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    config = foreign()
    del config["current-context"]
    write_config(dest, config)
    run_main(capsys, dest=str(dest), set_current_context=False)
    assert load(dest)["current-context"] == NAME


def test_standalone_drops_everything_else(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    result = run_main(capsys, dest=str(dest), standalone=True)
    assert result["changed"] and calls(fake) == [GET, POST]
    config = load(dest)
    for section in ("clusters", "users", "contexts"):
        assert names(config, section) == [NAME]
    assert "preferences" not in config and FOREIGN_TOKEN not in dest.read_text()


def test_standalone_rewrites_a_valid_fleet_file_with_extra_entries_without_a_call(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dest = tmp_path / "config"
    material = fleet_material()
    write_config(dest, merged(material.config, foreign()) | {"current-context": NAME})
    result = run_main(capsys, dest=str(dest), standalone=True)
    config = load(dest)
    assert names(config, "contexts") == [NAME], "standalone: dest holds the fleet alone"
    assert client_key(config) == client_key(material.config)
    assert result["changed"] is True and fake.instances == []


@pytest.mark.parametrize(
    ("text", "blocker"),
    [
        ("- just\n- a list\n", "not a list"),
        ("clusters: {a: b}\n", "clusters must be a list"),
        ("not: [valid", "not valid YAML"),
    ],
)
def test_dest_that_cannot_be_merged_into_fails_before_any_call(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, blocker: str
) -> None:
    dest = tmp_path / "config"
    dest.write_text(text)
    dest.chmod(0o600)
    result = run_main(capsys, dest=str(dest))
    assert result["failed"] and "standalone=true" in result["msg"] and blocker in result["msg"] and result["msg"].startswith(f"dest {dest} holds something")
    assert fake.instances == [] and dest.read_text() == text
    replaced = run_main(capsys, dest=str(dest), standalone=True)
    assert replaced["changed"] and calls(fake) == [GET, POST]
    assert names(load(dest), "contexts") == [NAME]


# ---------------------------------------------------------------------------------------------
# rewrite from dest's own entries: no API call at all


@pytest.mark.parametrize(
    ("change", "args", "reason"),
    [
        (lambda c: c, {"namespace": "team-a"}, f"context '{NAME}' does not have namespace 'team-a'"),
        (lambda c: c | {"current-context": "kind-dev"}, {}, f"current-context is not '{NAME}'"),
        (lambda c: c, {"context_name": "fleet"}, "context 'fleet' is missing"),
    ],
)
def test_rewrite_from_own_entries_makes_no_client(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, change: Any, args: dict[str, Any], reason: str
) -> None:
    dest = tmp_path / "config"
    material = fleet_material()
    write_config(dest, change(merged(material.config, foreign()) | {"current-context": NAME}))
    result = run_main(capsys, dest=str(dest), **args)
    assert result["changed"] is True and result["reason"] == reason
    assert fake.instances == [], "a rewrite needs no certificate: no client, no request"
    assert result["connection_created"] is False and result["kubeconfig_downloaded"] is False
    config = load(dest)
    assert client_key(config) == client_key(material.config)
    assert entry(config, "users", "kind-dev") == entry(foreign(), "users", "kind-dev")
    context = args.get("context_name", NAME)
    assert config["current-context"] == context
    assert entry(config, "contexts", context)["context"]["namespace" if "namespace" in args else "cluster"] == args.get("namespace", NAME)
    again = run_main(capsys, dest=str(dest), **args)
    assert again["changed"] is False and again["reason"] is None and fake.instances == []


def test_rewrite_to_kubectl_form_makes_no_client(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A string insecure flag and empty fields (what the API sends) are put right from the file itself."""
    dest = tmp_path / "config"
    material = fleet_material(include_ca=False, insecure="true")
    config = material.config
    config["users"][0]["user"]["token"] = ""
    write_config(dest, config)
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] is True and "not in the form kubectl needs" in result["reason"] and fake.instances == []
    written = load(dest)
    assert entry(written, "clusters", NAME)["cluster"]["insecure-skip-tls-verify"] is True
    assert "token" not in entry(written, "users", NAME)["user"]


def test_namespace_of_a_renewed_context_is_kept(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    config = fleet_material(365, start=days_ago(350)).config
    config["contexts"][0]["context"]["namespace"] = "ops"
    write_config(dest, config)
    result = run_main(capsys, dest=str(dest))
    assert calls(fake) == [GET, POST]
    assert result["changed"] is True and entry(load(dest), "contexts", NAME)["context"]["namespace"] == "ops"


def test_namespace_on_the_first_download(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), namespace="team-a")
    assert entry(load(dest), "contexts", NAME)["context"] == {"cluster": NAME, "user": NAME, "namespace": "team-a"}
    assert result["namespace"] == "team-a"


def _renewal_of_a_namespaced_context(dest: Path) -> dict[str, Any]:
    config = fleet_material(365, start=days_ago(350)).config
    config["contexts"][0]["context"]["namespace"] = "ops"
    write_config(dest, config)
    return {}


def _download_keeping_another_current_context(dest: Path) -> dict[str, Any]:
    write_config(dest, foreign())
    return {"set_current_context": False}


def _rewrite_for_a_namespace(dest: Path) -> dict[str, Any]:
    write_config(dest, merged(fleet_material().config, foreign()) | {"current-context": "kind-dev"})
    return {"namespace": "team-a"}


@pytest.mark.parametrize("prepare", [_renewal_of_a_namespaced_context, _download_keeping_another_current_context, _rewrite_for_a_namespace])
def test_result_describes_dest_as_written(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, prepare: Any) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), **prepare(dest))
    config = load(dest)
    assert result["changed"] is True
    assert result["current_context"] == config["current-context"]
    assert result["namespace"] == entry(config, "contexts", NAME)["context"].get("namespace")


@pytest.mark.parametrize("namespace", ["Team-A", "team_a", "-x"])
def test_bad_namespace_fails_before_any_call(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, namespace: str) -> None:
    result = run_main(capsys, dest=str(tmp_path / "config"), namespace=namespace)
    assert result["failed"] and "RFC 1123" in result["msg"] and fake.instances == []
    assert not (tmp_path / "config").exists()


# ---------------------------------------------------------------------------------------------
# renew_before


def test_duration_7_with_renew_before_unset(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The issue's ad hoc case: a short certificate and no renew_before must work, and stay."""
    dest = tmp_path / "config"
    fake.answer = answer(days=7).config
    result = run_main(capsys, dest=str(dest), duration=7)
    assert result["changed"] is True and "failed" not in result
    assert "every run will renew" not in warnings(result)
    fake.instances.clear()
    again = run_main(capsys, dest=str(dest), duration=7)
    assert again["changed"] is False and fake.instances == []


@pytest.mark.parametrize(
    ("days", "age", "renewed"),
    [
        (7, 4.5, False),  # 2.5 days left of 7: a third is 2.33 days
        (7, 5, True),
        (365, 334, False),  # 31 days left: the window is at most 30 days
        (365, 336, True),
    ],
)
def test_renew_before_unset_is_a_third_of_the_lifetime_at_most_30_days(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, days: int, age: float, renewed: bool
) -> None:
    dest = tmp_path / "config"
    fleet_file(dest, days, start=days_ago(age))
    result = run_main(capsys, dest=str(dest), duration=days)
    assert result["changed"] is renewed
    assert calls(fake) == ([GET, POST] if renewed else [])


def test_explicit_renew_before_wins(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    fleet_file(dest, 365, start=days_ago(300))
    assert run_main(capsys, dest=str(dest))["changed"] is False
    result = run_main(capsys, dest=str(dest), renew_before=90)
    assert result["changed"] and "within 90 days" in result["reason"] and calls(fake) == [GET, POST]


def test_renew_before_not_below_duration_fails_before_any_call(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, duration=7, renew_before=7)
    assert result["failed"] and "renew_before (7) must be smaller than duration (7)" in result["msg"] and fake.instances == []


# ---------------------------------------------------------------------------------------------
# check mode and diff


def _missing(dest: Path) -> None:
    pass


def _right(dest: Path) -> None:
    fleet_file(dest)


def _rewrite(dest: Path) -> None:
    write_config(dest, merged(fleet_material().config, foreign()) | {"current-context": "kind-dev"})


def _loose_mode(dest: Path) -> None:
    fleet_file(dest)
    dest.chmod(0o644)


def _renewal(dest: Path) -> None:
    fleet_file(dest, 365, start=days_ago(340))


@pytest.mark.parametrize(
    ("prepare", "changed", "check_calls", "real_calls"),
    [
        (_missing, True, [GET], [GET, POST]),
        (_right, False, [], []),
        (_rewrite, True, [], []),
        (_loose_mode, True, [], []),
        (_renewal, True, [GET], [GET, POST]),
    ],
)
def test_check_mode_predicts_exactly(
    fake: type[FakeClient],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    prepare: Any,
    changed: bool,
    check_calls: list[Any],
    real_calls: list[Any],
) -> None:
    dest = tmp_path / "kube" / "config"
    dest.parent.mkdir()
    prepare(dest)
    before = dest.read_bytes() if dest.exists() else None
    predicted = run_main(capsys, dest=str(dest), _ansible_check_mode=True, _ansible_diff=True)
    assert predicted["changed"] is changed and calls(fake) == check_calls
    assert (dest.read_bytes() if dest.exists() else None) == before, "check mode must not touch dest"
    assert sorted(os.listdir(dest.parent)) == ([] if before is None else ["config"]), "no lock, temporary or backup file"
    fake.instances.clear()
    done = run_main(capsys, dest=str(dest))
    assert done["changed"] is changed and calls(fake) == real_calls
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_check_mode_creates_no_directory(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "new" / "kube" / "config"
    result = run_main(capsys, dest=str(dest), _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"] is True and not (tmp_path / "new").exists()
    assert result["diff"]["after"]["certificate"] == "new, valid for 365 days"


def test_diff_never_shows_key_material(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    old = fleet_file(dest, 365, start=days_ago(350))
    fake.answer = answer(slot=2).config
    new_secrets = make_kubeconfig(key_slot=2).secrets[:3]
    result = run_main(capsys, dest=str(dest), _ansible_diff=True)
    assert result["diff"]["before"]["fleet_id"] == FLEET and result["diff"]["after"]["fleet_id"] == FLEET
    assert result["diff"]["before"]["cert_sha256"] != result["diff"]["after"]["cert_sha256"]
    assert result["diff"]["before_header"] == str(dest)
    text = json.dumps(result)
    assert not [secret[:10] for secret in old.secrets + new_secrets if secret in text]
    assert "client-key-data" not in text and "BEGIN" not in text


def test_diff_of_a_rewrite_shows_what_changes(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    material = fleet_file(dest)
    result = run_main(capsys, dest=str(dest), namespace="team-a", _ansible_diff=True)
    diff = result["diff"]
    assert diff["before"]["namespace"] is None and diff["after"]["namespace"] == "team-a"
    assert not [secret[:10] for secret in material.secrets if secret in json.dumps(result)]


# ---------------------------------------------------------------------------------------------
# concurrent writers


def racing_write_file(monkeypatch: pytest.MonkeyPatch, dest: Path, times: int) -> list[str]:
    """Make another writer (kubectl, say) add a context to dest just before our next `times` writes."""
    real = _files.write_file
    log: list[str] = []

    def write_file(path: str, content: bytes, *, check_mode: bool = False, **options: Any) -> Any:
        if not check_mode and log.count("raced") < times:
            config = load(dest) if dest.exists() else {"apiVersion": "v1", "kind": "Config"}
            number = log.count("raced")
            config.setdefault("contexts", []).append({"name": f"late-{number}", "context": {"cluster": "kind-dev", "user": "kind-dev"}})
            write_config(dest, config)
            log.append("raced")
        log.append("check" if check_mode else "write")
        return real(path, content, check_mode=check_mode, **options)

    monkeypatch.setattr(_files, "write_file", write_file)
    return log


def test_conflict_merges_again_and_loses_no_entry(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    log = racing_write_file(monkeypatch, dest, times=1)
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] is True and calls(fake) == [GET, POST], "a conflict re-merges, it never calls the API again"
    # The file is read once to plan and once under the lock per write: no extra dry run.
    assert log == ["raced", "write", "write"]
    config = load(dest)
    assert names(config, "contexts") == ["kind-dev", "late-0", NAME]
    assert client_key(config) == fake.answer["users"][0]["user"]["client-key-data"]
    assert no_lock_left(dest)


def test_conflict_on_a_new_file(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone creates dest between our read (absent) and our write: their entry is kept."""
    dest = tmp_path / "config"
    racing_write_file(monkeypatch, dest, times=1)
    run_main(capsys, dest=str(dest))
    assert names(load(dest), "contexts") == ["late-0", NAME]


def test_endless_conflicts_give_up_and_leave_dest_to_the_other_writer(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    log = racing_write_file(monkeypatch, dest, times=100)
    result = run_main(capsys, dest=str(dest))
    assert result["failed"] and "kept changing" in result["msg"] and f"{MERGE_ATTEMPTS} merges lost the race" in result["msg"]
    assert log.count("write") == MERGE_ATTEMPTS
    assert NAME not in names(load(dest), "contexts") and no_lock_left(dest)
    assert fake.answer["users"][0]["user"]["client-key-data"] not in json.dumps(result)


# ---------------------------------------------------------------------------------------------
# dest, mode, owner and the endpoint: checked before any call


def test_missing_parent_directories_are_created_0700(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    dest = home / ".kube" / "deeper" / "config"
    result = run_main(capsys, dest=str(dest))
    assert result["changed"] and dest.is_file()
    for directory in (home / ".kube", home / ".kube" / "deeper"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("args", "fragment", "option"),
    [
        ({"mode": 600}, "quote", "mode"),
        # Invalid modes that are no octal number: refused before the API issues a certificate.
        ({"mode": "0x600"}, "is invalid", "mode"),
        ({"mode": "u=rwz"}, "is invalid", "mode"),
        ({"mode": "rw-r-----"}, "is invalid", "mode"),
        ({"owner": "no-such-user-h6"}, "no-such-user-h6", "owner"),
        ({"group": "no-such-group-h6"}, "no-such-group-h6", "group"),
        ({"dest": str(Path("/tmp") / "h6-no-such-dir") + "/"}, "ends with '/'", "dest"),
    ],
)
def test_bad_file_options_fail_before_any_call(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, args: dict[str, Any], fragment: str, option: str
) -> None:
    result = run_main(capsys, **{"dest": str(tmp_path / "config"), **args})
    assert result["failed"] and fragment in result["msg"] and option in result["msg"] and fake.instances == []


def test_dest_symlink_fails_before_any_call(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "target"
    fleet_file(target, 365, start=days_ago(350))
    (tmp_path / "config").symlink_to(target)
    result = run_main(capsys, dest=str(tmp_path / "config"))
    assert result["failed"] and "symbolic link" in result["msg"] and fake.instances == []


def test_loose_mode_is_applied_with_a_warning(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), mode="0640")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert "mode 0640 gives its group access" in warnings(result)
    symbolic = run_main(capsys, dest=str(dest), mode="u=rw,go=")
    assert symbolic["changed"] is True and stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert run_main(capsys, dest=str(dest), mode="u=rw,go=")["changed"] is False


def test_endpoint_is_required_without_a_region(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), endpoint=None)
    assert result["failed"] and "endpoint is required when region is not set" in result["msg"]
    assert fake.instances == [] and not dest.exists()


def test_endpoint_is_required_even_when_dest_is_right(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A configuration that would send credentials to a guessed host fails today, not at the first renewal.
    dest = tmp_path / "config"
    fleet_file(dest)
    before = dest.read_bytes()
    assert run_main(capsys, dest=str(dest))["changed"] is False
    result = run_main(capsys, dest=str(dest), endpoint=None)
    assert result["failed"] and "endpoint is required when region is not set" in result["msg"]
    assert fake.instances == [] and dest.read_bytes() == before


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [("cn-north-4", "https://ucs.myhuaweicloud.com"), ("ap-southeast-1", "https://ucs-intl.myhuaweicloud.com")],
)
def test_endpoint_from_the_region(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], region: str, endpoint: str) -> None:
    result = run_main(capsys, endpoint=None, region=region)
    assert result["changed"] and [client.endpoint for client in fake.instances] == [endpoint]


def test_region_without_a_documented_endpoint_fails_before_any_call(fake: type[FakeClient], capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(capsys, endpoint=None, region="eu-de")
    assert result["failed"] and "endpoint" in result["msg"] and fake.instances == []


def test_missing_connection_ids_fail_before_any_request(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, dest=str(tmp_path / "config"), subnet_id=None)
    assert result["failed"] and "subnet_id is required" in result["msg"] and calls(fake) == []


# ---------------------------------------------------------------------------------------------
# the API's answers


def test_federation_disabled_fails_before_writing(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake.fleet = {"metadata": {"name": "plain"}, "spec": {}}
    result = run_main(capsys, dest=str(tmp_path / "config"))
    assert result["failed"] and "federation is not enabled" in result["msg"]
    assert calls(fake) == [GET] and not (tmp_path / "config").exists()


def test_unusable_answer_leaves_dest_alone(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    write_config(dest, foreign())
    before = dest.read_bytes()
    bad = make_kubeconfig(cert_key=make_kubeconfig(key_slot=3).key, not_before=now())
    fake.answer = bad.config
    result = run_main(capsys, dest=str(dest))
    assert result["failed"] and "does not match" in result["msg"] and dest.read_bytes() == before
    assert not any(secret in json.dumps(result) for secret in bad.secrets)
    assert no_lock_left(dest)


def test_answer_with_string_flag_is_written_as_kubectl_needs(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    fake.answer = make_kubeconfig(not_before=now(), include_ca=False, insecure="true").config
    result = run_main(capsys, dest=str(dest))
    assert entry(load(dest), "clusters", NAME)["cluster"]["insecure-skip-tls-verify"] is True
    assert "insecure-skip-tls-verify is true" in warnings(result)
    fake.instances.clear()
    assert run_main(capsys, dest=str(dest))["changed"] is False and fake.instances == []


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


def test_no_key_material_in_any_result(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, dest=str(dest), _ansible_diff=True)
    key = fake.answer["users"][0]["user"]["client-key-data"]
    pem = base64.b64decode(key).decode()
    lines = [line for line in pem.splitlines() if "PRIVATE KEY" not in line]
    text = json.dumps(result)
    assert key not in text and not [line for line in lines if line in text]


# ---------------------------------------------------------------------------------------------
# fleet_name and the existing connection (issue 21)

LIST = ("GET", "/v1/clustergroups")
KUBECONFIG = ("POST", f"/v1/clustergroups/{FLEET}/kubeconfig")


def test_a_fleet_named_by_its_name_is_looked_up_once_and_then_known_by_its_stamp(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dest = tmp_path / "config"
    first = run_main(capsys, fleet_id=None, fleet_name="prod", dest=str(dest))
    assert first["changed"] and (first["fleet_id"], first["fleet_name"]) == (FLEET, "prod")
    assert calls(fake) == [LIST, POST], "the list, then /cert for the fleet's ID: no second read"
    config = load(dest)
    stamp = next(item["extension"] for item in config["clusters"][0]["cluster"]["extensions"] if item["name"] == "ucs_cloud.fleet")
    assert (stamp["fleet-id"], stamp["fleet-name"]) == (FLEET, "prod")
    assert config["current-context"] == "ucs-fleet-prod"
    fake.instances.clear()
    second = run_main(capsys, fleet_id=None, fleet_name="prod", dest=str(dest))
    assert second["changed"] is False and calls(fake) == [] and second["fleet_id"] == FLEET


@pytest.mark.parametrize(("name", "words"), [("nope", f"prod ({FLEET}), staging-0 (other-0), staging-1 (other-1)"), ("PROD", "prod")])
def test_an_unknown_fleet_name_lists_the_candidates(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, words: str) -> None:
    result = run_main(capsys, fleet_id=None, fleet_name=name, dest=str(tmp_path / "config"))
    assert result["failed"] and words in result["msg"] and calls(fake) == [LIST]
    assert not (tmp_path / "config").exists()


def test_fleet_id_and_fleet_name_are_mutually_exclusive(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = run_main(capsys, fleet_name="prod", dest=str(tmp_path / "config"))
    assert result["failed"] and result["msg"].startswith("fleet_id and fleet_name are mutually exclusive") and calls(fake) == []
    result = run_main(capsys, fleet_id=None, dest=str(tmp_path / "config"))
    assert result["failed"] and result["msg"].startswith("fleet_id is not set (nor fleet_name)")


def test_the_existing_connection_needs_fleet_id_and_dest_alone(fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    dest = tmp_path / "config"
    result = run_main(capsys, project_id=None, vpc_id=None, subnet_id=None, dest=str(dest))
    assert result["changed"] and result["kubeconfig_downloaded"] and result["connection_created"] is False
    assert calls(fake) == [GET, KUBECONFIG]
    stamp = next(item["extension"] for item in load(dest)["clusters"][0]["cluster"]["extensions"] if item["name"] == "ucs_cloud.fleet")
    assert "vpc-id" not in stamp
    fake.instances.clear()
    assert run_main(capsys, project_id=None, vpc_id=None, subnet_id=None, dest=str(dest))["changed"] is False and calls(fake) == []


def test_a_project_id_from_the_environment_alone_still_means_the_existing_connection(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "08d44be1ef00d22e2f6fc0061f54a2f1")
    result = run_main(capsys, project_id=None, vpc_id=None, subnet_id=None, dest=str(tmp_path / "config"))
    assert result["changed"] and calls(fake) == [GET, KUBECONFIG]


@pytest.mark.parametrize(("given", "missing"), [({"subnet_id": None}, "subnet_id is required"), ({"vpc_id": None}, "vpc_id is required")])
def test_a_partial_set_of_connection_ids_names_what_is_missing(
    fake: type[FakeClient], capsys: pytest.CaptureFixture[str], tmp_path: Path, given: dict[str, Any], missing: str
) -> None:
    result = run_main(capsys, dest=str(tmp_path / "config"), **given)
    assert result["failed"] and result["msg"].startswith(missing) and calls(fake) == []
