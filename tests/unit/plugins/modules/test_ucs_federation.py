"""main() of ucs_federation and ucs_fleet_info with a fake UCS API: decisions, waiting, check mode, errors, leaks."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any, ClassVar, Dict, List, Tuple

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError
from ansible_collections.ucs_cloud.fleet.plugins.modules import ucs_federation, ucs_fleet_info
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import patch_module_args, refused_naming

PROD = "2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04"
DEV = "7a8b9c0d-1e2f-4a3b-8c5d-6e7f8091a2b3"
SK = "unit-secret-key-0000000000000000000000002"
ENABLE = ["Initializing", "Running", "Success"]


class FakeApi:
    """The fleets of one account and their federation jobs; each read of a job advances it one phase."""

    fleets: ClassVar[Dict[str, Dict[str, Any]]] = {}
    jobs: ClassVar[Dict[str, Dict[str, Any]]] = {}
    schedule: ClassVar[List[str]] = ENABLE
    calls: ClassVar[List[Tuple[str, str]]] = []
    clients: ClassVar[int] = 0

    def __init__(self, endpoint: str, credentials: Any, **options: Any) -> None:
        FakeApi.clients += 1

    @classmethod
    def reset(cls) -> None:
        cls.fleets = {
            PROD: {"name": "prod", "federation_id": "fed-prod"},
            DEV: {"name": "dev", "federation_id": None},
        }
        cls.jobs, cls.calls, cls.clients, cls.schedule = {}, [], 0, ENABLE

    @staticmethod
    def document(uid: str) -> Dict[str, Any]:
        item = FakeApi.fleets[uid]
        spec = {"description": f"{item['name']} fleet"}
        conditions = []
        if item["federation_id"]:
            spec.update(federationId=item["federation_id"], federationVersion="v1.7.0", connectGatewayEndpoints=[{"type": "VPCEP", "id": "svc-1"}])
            conditions.append({"type": "Federation", "status": item.get("condition", "Available"), "reason": "FederationAvailable"})
        return {"kind": "ClusterGroup", "metadata": {"uid": uid, "name": item["name"]}, "spec": spec, "status": {"conditions": conditions}}

    def get_json(self, path: str, what: str, expected: Tuple[int, ...] = (200,), query: Any = ()) -> Dict[str, Any]:
        FakeApi.calls.append(("GET", path))
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            return {"items": [self.document(uid) for uid in self.fleets], "total": len(self.fleets)}
        uid = parts[2]
        if uid not in self.fleets:
            raise UcsApiError(f"Failed to {what}: HTTP 404", status=404, error_code="UCS.01100005")
        if len(parts) == 3:
            return self.document(uid)
        job = self.jobs.get(uid)
        if job is None:
            raise UcsApiError(f"Failed to {what}: HTTP 400", status=400, error_code="UCS.01080006")
        phase = job["phases"][min(job["index"], len(job["phases"]) - 1)]
        job["index"] += 1
        if job["index"] >= len(job["phases"]):
            self.finish(uid, job)
        status = {"phase": phase, "startTime": job["start"]}
        if phase == "Failed":
            status["reason"] = "sub-job CreateNetworkResource failed"
        return {"kind": "Job", "metadata": {"uid": job["uid"]}, "spec": {"type": job["type"], "subJobs": []}, "status": status}

    @staticmethod
    def finish(uid: str, job: Dict[str, Any]) -> None:
        if job["phases"][-1] != "Success":
            return
        FakeApi.fleets[uid]["federation_id"] = "fed-new" if job["type"].startswith("Create") else None

    def send_without_body(self, method: str, path: str, what: str, expected: Tuple[int, ...]) -> Dict[str, Any]:
        FakeApi.calls.append((method, path))
        uid = path.strip("/").split("/")[2]
        number = len(self.jobs) + 1
        if method == "POST":
            self.jobs[uid] = {"type": "CreateFederationContainer", "phases": list(self.schedule), "index": 0, "uid": f"job-{number}", "start": "t"}
        else:
            self.fleets[uid]["condition"] = "Deleting"
            self.jobs[uid] = {"type": "DeleteFederation", "phases": ["Running", "Success"], "index": 0, "uid": f"job-{number}", "start": "t"}
        return {}


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> type[FakeApi]:
    for name in list(os.environ):
        if name.startswith(("UCS_", "HUAWEICLOUD_SDK_", "OS_")):
            monkeypatch.delenv(name)
    FakeApi.reset()
    monkeypatch.setattr(_http, "UcsClient", FakeApi)
    # No real sleeping: the module's clock moves by what it sleeps.
    clock = SimpleNamespace(now=0.0)

    def sleep(seconds: float) -> None:
        clock.now += seconds

    monkeypatch.setattr(ucs_federation, "time", SimpleNamespace(sleep=sleep, monotonic=lambda: clock.now))
    return FakeApi


def run(capsys: pytest.CaptureFixture[str], module: Any, **args: Any) -> Dict[str, Any]:
    module_args = {"access_key": "AKUNIT", "secret_key": SK, "domain_id": "domain-unit", "endpoint": "https://ucs.example.test", **args}
    with patch_module_args({key: value for key, value in module_args.items() if value is not None}), pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    assert SK not in out
    return json.loads(out)


def writes() -> List[Tuple[str, str]]:
    return [call for call in FakeApi.calls if call[0] != "GET"]


# --- ucs_federation -------------------------------------------------------------------------------------


def test_enable_waits_and_reports_the_phases(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, ucs_federation, fleet_name="dev", wait_sleep=2)
    assert (result["changed"], result["action"], result["reason"], result["phase"]) == (True, "enable", "federation is not enabled", "Success")
    assert [entry["phase"] for entry in result["progress"]] == ["Initializing", "Running", "Success"]
    assert [entry["elapsed"] for entry in result["progress"]] == [0.0, 2.0, 4.0]
    assert result["fleet"]["federation_enabled"] is True and result["fleet"]["federation_id"] == "fed-new"
    assert writes() == [("POST", f"/v1/clustergroups/{DEV}/federations")]
    FakeApi.calls.clear()
    again = run(capsys, ucs_federation, fleet_name="dev")
    assert (again["changed"], again["action"], again["reason"], again["progress"]) == (False, None, "federation is enabled", [])
    assert writes() == [], "a second run makes no write call"


def test_check_mode_predicts_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    predicted = run(capsys, ucs_federation, fleet_id=DEV, _ansible_check_mode=True)
    assert (predicted["changed"], predicted["action"]) == (True, "enable") and writes() == []
    real = run(capsys, ucs_federation, fleet_id=DEV, wait_sleep=1)
    assert real["changed"] is predicted["changed"] and real["action"] == predicted["action"]
    assert run(capsys, ucs_federation, fleet_id=DEV, _ansible_check_mode=True)["changed"] is False


def test_wait_false_returns_after_the_request(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, ucs_federation, fleet_id=DEV, wait=False)
    assert (result["changed"], result["phase"], result["progress"]) == (True, None, [])
    assert [call for call in FakeApi.calls if "progress" in call[1]] == [("GET", f"/v1/clustergroups/{DEV}/federations/progress")]
    # The next run finds the job running: no second POST, it waits for that job.
    FakeApi.calls.clear()
    result = run(capsys, ucs_federation, fleet_id=DEV, wait_sleep=1)
    assert (result["changed"], result["phase"]) == (False, "Success") and writes() == []
    assert result["reason"] == "federation is being enabled (CreateFederationContainer in phase 'Initializing')"


def test_disable(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, ucs_federation, fleet_id=PROD, state="absent", _ansible_check_mode=True)["changed"] is True
    assert writes() == []
    result = run(capsys, ucs_federation, fleet_id=PROD, state="absent", wait_sleep=1)
    assert (result["changed"], result["action"], result["phase"]) == (True, "disable", "Success")
    assert result["fleet"]["federation_enabled"] is False and result["fleet"]["connect_gateway_endpoints"] == []
    assert writes() == [("DELETE", f"/v1/clustergroups/{PROD}/federations")]
    FakeApi.calls.clear()
    assert run(capsys, ucs_federation, fleet_id=PROD, state="absent")["changed"] is False and writes() == []


def test_failed_job_fails_the_task_with_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    FakeApi.schedule = ["Initializing", "Running", "Failed"]
    result = run(capsys, ucs_federation, fleet_id=DEV, wait_sleep=1)
    assert result["failed"] is True and result["changed"] is True and result["phase"] == "Failed"
    assert result["msg"] == (f"Fleet {DEV} (dev): enabling federation failed: the job ended in phase 'Failed': sub-job CreateNetworkResource failed")
    assert [entry["phase"] for entry in result["progress"]] == ["Initializing", "Running", "Failed"]


def test_timeout_names_the_unknown_word(capsys: pytest.CaptureFixture[str]) -> None:
    FakeApi.schedule = ["Initializing", *["Provisioning"] * 50, "Success"]
    result = run(capsys, ucs_federation, fleet_id=DEV, wait_timeout=10, wait_sleep=3)
    assert result["failed"] is True and result["phase"] == "Provisioning"
    assert result["msg"].startswith(f"Fleet {DEV} (dev): timed out after 10 seconds (wait_timeout) waiting for federation to be enabled")
    assert "'Provisioning' (a word this module does not know, taken as still running)" in result["msg"]
    # Plain strings, or ansible-core 2.19's warning events: once either way.
    warning = f"Fleet {DEV} (dev): the federation job reports phase 'Provisioning', a word this module does not know; it is taken as still running"
    assert json.dumps(result["warnings"]).count(warning) == 1


def test_a_job_that_leads_elsewhere_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, ucs_federation, fleet_id=PROD, state="absent", wait=False)
    FakeApi.calls.clear()
    result = run(capsys, ucs_federation, fleet_id=PROD)
    assert result["failed"] is True and writes() == []
    assert result["msg"] == (
        f"Fleet {PROD} (prod): federation is being disabled (DeleteFederation in phase 'Running'). Nothing was changed; run again when it has finished"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"fleet_name": "staging"}, f"No fleet is named 'staging'. The account's fleets: dev ({DEV}), prod ({PROD})"),
        ({"fleet_name": "Prod"}, f"No fleet is named 'Prod' (prod ({PROD}) differs only in case: names are compared exactly)"),
        ({}, "one of the following is required: fleet_id, fleet_name"),
        ({"fleet_id": PROD, "fleet_name": "prod"}, "parameters are mutually exclusive: fleet_id|fleet_name"),
        ({"fleet_id": PROD, "wait_timeout": 2, "wait_sleep": 5}, "wait_sleep (5) must not be longer than wait_timeout (2)"),
        ({"fleet_id": PROD, "endpoint": None}, "endpoint"),
    ],
)
def test_refused_before_any_write(capsys: pytest.CaptureFixture[str], args: Dict[str, Any], message: str) -> None:
    result = run(capsys, ucs_federation, **args)
    assert result["failed"] is True and message in result["msg"] and writes() == []


def test_several_fleets_of_one_name(capsys: pytest.CaptureFixture[str]) -> None:
    FakeApi.fleets["0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"] = {"name": "prod", "federation_id": None}
    result = run(capsys, ucs_federation, fleet_name="prod")
    assert result["msg"] == (
        f"2 fleets are named 'prod': prod (0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6), prod ({PROD}). Set fleet_id to the ID of the one you mean"
    )
    assert writes() == []


HOSTILE = {"trailing newline": "{}\n", "leading space": " {}", "NUL": "{}\x00x"}
PLAUSIBLE = {
    "fleet_id": PROD,
    "fleet_name": "prod",
    "endpoint": "https://ucs.example.test",
    "region": "ap-southeast-1",
    "iam_endpoint": "https://iam.example.test/v3",
}


def string_options(spec: Dict[str, Dict[str, Any]]) -> List[str]:
    return sorted(name for name, option in spec.items() if option.get("type", "str") in ("str", "path", "raw") and "choices" not in option)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize(
    ("module", "option"), [(module, option) for module in (ucs_federation, ucs_fleet_info) for option in string_options(module.argument_spec())]
)
def test_hostile_strings_are_refused_before_any_request(capsys: pytest.CaptureFixture[str], module: Any, option: str, kind: str) -> None:
    value = HOSTILE[kind].format(PLAUSIBLE.get(option, f"value-of-{option.replace('_', '-')}"))
    args: Dict[str, Any] = {option: value}
    if option not in ("fleet_id", "fleet_name") and module is ucs_federation:
        args["fleet_id"] = PROD
    if option == "fleet_name":
        args["fleet_id"] = None
    result = run(capsys, module, **args)
    assert result["failed"] is True and refused_naming(option, value, result["msg"]), result["msg"]
    assert value not in result["msg"] and FakeApi.calls == []


# --- ucs_fleet_info -------------------------------------------------------------------------------------


def test_fleet_info_lists_every_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, ucs_fleet_info)
    assert result["changed"] is False
    assert [(f["name"], f["federation_enabled"], f["federation_id"]) for f in result["fleets"]] == [("prod", True, "fed-prod"), ("dev", False, None)]
    assert result["fleets"][0]["federation_condition"] == {"type": "Federation", "status": "Available", "reason": "FederationAvailable"}
    assert result["fleets"][0]["connect_gateway_endpoints"] == [{"type": "VPCEP", "id": "svc-1"}]
    assert FakeApi.calls == [("GET", "/v1/clustergroups")]


ONE_FLEET = [({"fleet_id": DEV}, [("GET", f"/v1/clustergroups/{DEV}")]), ({"fleet_name": "dev"}, [("GET", "/v1/clustergroups")])]


@pytest.mark.parametrize(("args", "calls"), ONE_FLEET)
def test_fleet_info_one_fleet(capsys: pytest.CaptureFixture[str], args: Dict[str, Any], calls: List[Tuple[str, str]]) -> None:
    result = run(capsys, ucs_fleet_info, _ansible_check_mode=True, **args)
    assert [fleet["id"] for fleet in result["fleets"]] == [DEV] and result["fleets"][0]["description"] == "dev fleet"
    assert FakeApi.calls == calls


def test_fleet_info_unknown_id_reports_the_api_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, ucs_fleet_info, fleet_id="0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
    assert result["failed"] is True and result["error_code"] == "UCS.01100005" and result["http_status"] == 404


def test_no_client_without_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, ucs_fleet_info, access_key=None)
    assert result["failed"] is True and "access_key" in result["msg"] and FakeApi.clients == 0 and FakeApi.calls == []


def test_both_modules_take_the_connection_options() -> None:
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec

    for module in (ucs_federation, ucs_fleet_info):
        spec = module.argument_spec()
        assert {name: spec[name] for name in connection_argument_spec()} == connection_argument_spec()
