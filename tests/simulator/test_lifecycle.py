"""The simulator's federation lifecycle: the paged fleet list, the enabling and disabling jobs, /kubeconfig.

Every setting of ``POST /_sim/lifecycle`` is one behaviour the API documents leave open
(docs/fidelity.md); each is shown here with the answers a client sees.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List

import pytest

if TYPE_CHECKING:
    from conftest import SimHandle

STEP = 0.4  # seconds per job phase in these tests (a poll every STEP/4 sees every phase)


def lifecycle(sim: SimHandle, **settings: Any) -> Dict[str, Any]:
    return sim.control("POST", "lifecycle", {"step": STEP, **settings})


def fleet_ids(sim: SimHandle) -> Dict[str, str]:
    return {fleet["name"]: fleet["id"] for fleet in sim.seed["fleets"]}


def progress(sim: SimHandle, fleet_id: str) -> Any:
    return sim.call("GET", f"/v1/clustergroups/{fleet_id}/federations/progress")


def phases_until_done(sim: SimHandle, fleet_id: str, timeout: float = 10) -> List[str]:
    """The distinct phases the job shows, polled every STEP/4 seconds until it ends."""
    seen: List[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = progress(sim, fleet_id)
        assert answer.status_code == 200, answer.text
        phase = answer.json()["status"]["phase"]
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if phase in ("Success", "Failed"):
            return seen
        time.sleep(STEP / 4)
    raise AssertionError(f"the job did not end: {seen}")


def spec(sim: SimHandle, fleet_id: str) -> Dict[str, Any]:
    return sim.call("GET", f"/v1/clustergroups/{fleet_id}").json()["spec"]


def condition(sim: SimHandle, fleet_id: str) -> Dict[str, Any]:
    conditions = sim.call("GET", f"/v1/clustergroups/{fleet_id}").json()["status"]["conditions"]
    return next((item for item in conditions if item["type"] == "Federation"), {})


# --- the paged list ----------------------------------------------------------------------------------


def add_fleets(sim: SimHandle, count: int) -> None:
    for number in range(count):
        sim.control("POST", "fleets", {"name": f"extra-{number:02d}", "federation": number % 2 == 0})


def names(answer: Any) -> List[str]:
    return [item["metadata"]["name"] for item in answer.json()["items"]]


def test_list_pages_by_limit_and_offset(simulator: SimHandle) -> None:
    add_fleets(simulator, 5)
    everything = simulator.call("GET", "/v1/clustergroups")
    assert everything.json()["total"] == 7 and len(names(everything)) == 7
    # The documented default -1, and 0, mean every fleet from offset.
    for limit in ("-1", "0"):
        assert names(simulator.call("GET", f"/v1/clustergroups?limit={limit}")) == names(everything)
    pages = [names(simulator.call("GET", f"/v1/clustergroups?limit=3&offset={offset}")) for offset in (0, 3, 6, 9)]
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [name for page in pages for name in page] == names(everything), "offset counts items, pages join to the whole list"
    assert simulator.call("GET", "/v1/clustergroups?limit=2&offset=5").json()["total"] == 7


def test_list_order(simulator: SimHandle) -> None:
    ids = fleet_ids(simulator)
    simulator.control("POST", "fleets", {"name": "newest", "federation": False})
    time.sleep(1.1)  # creation times have a resolution of one second
    newer = simulator.control("POST", "fleets", {"name": "newer-still", "federation": False})
    listed = names(simulator.call("GET", "/v1/clustergroups"))
    assert listed[0] == "newer-still", "newest first by default, as the reference's example lists them"
    oldest_first = names(simulator.call("GET", "/v1/clustergroups?order_by=create_at&order=asc"))
    assert oldest_first[-1] == "newer-still" and set(oldest_first) == set(listed)
    assert newer["id"] not in ids.values()


@pytest.mark.parametrize("query", ["limit=x", "offset=-1", "limit=-2", "order=up", "order_by=name", "offset=1.5"])
def test_list_refuses_bad_query_values(simulator: SimHandle, query: str) -> None:
    answer = simulator.call("GET", f"/v1/clustergroups?{query}")
    assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01000011"


def test_list_page_cap(simulator: SimHandle) -> None:
    add_fleets(simulator, 3)
    lifecycle(simulator, page_cap=2)
    for query in ("", "?limit=100", "?limit=-1&offset=0"):
        answer = simulator.call("GET", f"/v1/clustergroups{query}")
        assert len(answer.json()["items"]) == 2 and answer.json()["total"] == 5, query
    assert len(simulator.call("GET", "/v1/clustergroups?limit=1").json()["items"]) == 1


# --- enabling ------------------------------------------------------------------------------------------


def test_enable_job_advances_and_sets_the_federation(simulator: SimHandle) -> None:
    lifecycle(simulator)
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    before = progress(simulator, fleet_id)
    assert before.status_code == 400 and before.json()["error_code"] == "UCS.01080006", "no job yet: the default no_job answer"
    enabled = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert enabled.status_code == 201 and enabled.json() == {}
    assert "federationId" not in spec(simulator, fleet_id), "by default the federation ID appears when the job succeeds"
    busy = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert busy.status_code == 400 and busy.json()["error_code"] == "UCS.01080004"
    assert phases_until_done(simulator, fleet_id) == ["Initializing", "Running", "Success"]
    job = progress(simulator, fleet_id).json()
    assert (job["kind"], job["apiVersion"], job["spec"]["type"]) == ("Job", "v3", "CreateFederationContainer")
    assert [sub["spec"]["type"] for sub in job["spec"]["subJobs"]] == ["InstallFederationChart", "CreateNetworkResource", "CreateCert", "CreateNode"]
    assert {sub["status"]["phase"] for sub in job["spec"]["subJobs"]} == {"Success"} and job["status"]["completionTime"].endswith("+0000 UTC")
    assert spec(simulator, fleet_id)["federationId"] == job["spec"]["federationUID"]
    assert condition(simulator, fleet_id)["status"] == "True"
    again = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert again.status_code == 400 and again.json()["error_code"] == "UCS.01080002"
    # The federation now serves /cert.
    assert simulator.create_cert(fleet_id).status_code == 201


def test_failing_job(simulator: SimHandle) -> None:
    lifecycle(simulator, job="failing")
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    assert simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations").status_code == 201
    assert phases_until_done(simulator, fleet_id) == ["Initializing", "Running", "Failed"]
    job = progress(simulator, fleet_id).json()
    assert job["status"]["reason"] == "sub-job CreateNetworkResource failed"
    failed = [sub for sub in job["spec"]["subJobs"] if sub["status"]["phase"] == "Failed"]
    assert [sub["spec"]["type"] for sub in failed] == ["CreateNetworkResource"] and "quota" in failed[0]["status"]["reason"]
    assert "federationId" not in spec(simulator, fleet_id)
    assert simulator.create_cert(fleet_id).status_code == 400
    # A failed job may be started again.
    assert simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations").status_code == 201


def test_unknown_word_job(simulator: SimHandle) -> None:
    lifecycle(simulator, job="unknown-word")
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert phases_until_done(simulator, fleet_id) == ["Initializing", "Provisioning", "Success"]
    assert spec(simulator, fleet_id)["federationId"]


def test_federation_id_at_the_start_of_the_job(simulator: SimHandle) -> None:
    lifecycle(simulator, federation_id_at="start", step=0.5)
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert spec(simulator, fleet_id)["federationId"], "the ID is there while the job runs"
    assert condition(simulator, fleet_id)["status"] == "Creating"
    busy = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    assert busy.status_code == 400 and busy.json()["error_code"] == "UCS.01080004"
    phases_until_done(simulator, fleet_id)
    assert condition(simulator, fleet_id)["status"] == "True"


def test_enable_refuses_bad_retryjoinall_and_unknown_fleets(simulator: SimHandle) -> None:
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    answer = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations?retryjoinall=maybe")
    assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01000011"
    assert simulator.call("POST", "/v1/clustergroups/00000000-0000-0000-0000-000000000000/federations").status_code == 404
    assert simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations?retryjoinall=false").status_code == 201


@pytest.mark.parametrize(("no_job", "status", "body"), [("400", 400, "UCS.01080006"), ("404", 404, "UCS.01000013"), ("empty", 200, None)])
def test_progress_of_a_fleet_without_a_job(simulator: SimHandle, no_job: str, status: int, body: Any) -> None:
    lifecycle(simulator, no_job=no_job)
    answer = progress(simulator, fleet_ids(simulator)["fleet-plain"])
    assert answer.status_code == status
    assert (answer.json().get("error_code") if body else answer.json()) == (body or {})
    # A fleet seeded with federation (no job here) still shows a finished job.
    assert progress(simulator, simulator.federated_fleet["id"]).json()["status"]["phase"] == "Success"


# --- disabling ------------------------------------------------------------------------------------------


def test_disable_removes_the_federation_and_its_connections(simulator: SimHandle) -> None:
    lifecycle(simulator, step=0.4)
    fleet_id = simulator.federated_fleet["id"]
    assert simulator.create_cert(fleet_id).status_code == 201 and len(simulator.connections()) == 1
    deleted = simulator.call("DELETE", f"/v1/clustergroups/{fleet_id}/federations")
    assert deleted.status_code == 200 and deleted.content == b""
    assert condition(simulator, fleet_id)["status"] == "Deleting" and spec(simulator, fleet_id)["federationId"]
    busy = simulator.call("DELETE", f"/v1/clustergroups/{fleet_id}/federations")
    assert busy.status_code == 400 and busy.json()["error_code"] == "UCS.01080004"
    job = progress(simulator, fleet_id).json()
    assert job["spec"]["type"] == "DeleteFederation" and job["spec"]["subJobs"] == []
    assert phases_until_done(simulator, fleet_id) == ["Running", "Success"]
    assert "federationId" not in spec(simulator, fleet_id) and simulator.connections() == []
    again = simulator.call("DELETE", f"/v1/clustergroups/{fleet_id}/federations")
    assert again.status_code == 400 and again.json()["error_code"] == "UCS.01080006"
    assert simulator.create_cert(fleet_id).status_code == 400


def test_disable_refused_while_enabling(simulator: SimHandle) -> None:
    lifecycle(simulator, step=5)
    fleet_id = fleet_ids(simulator)["fleet-plain"]
    simulator.call("POST", f"/v1/clustergroups/{fleet_id}/federations")
    answer = simulator.call("DELETE", f"/v1/clustergroups/{fleet_id}/federations")
    assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01080004"


# --- /kubeconfig for an existing connection ---------------------------------------------------------------


@pytest.mark.parametrize(("choice", "served"), [("oldest", 0), ("newest", 1)])
def test_kubeconfig_serves_one_connection_of_several(simulator: SimHandle, choice: str, served: int) -> None:
    lifecycle(simulator, kubeconfig_connection=choice)
    fleet_id = simulator.federated_fleet["id"]
    assert simulator.create_cert(fleet_id).status_code == 201
    other = simulator.cert_body(network="other_network")
    assert simulator.call("POST", f"/v1/clustergroups/{fleet_id}/cert", other).status_code == 201
    answer = simulator.call("POST", f"/v1/clustergroups/{fleet_id}/kubeconfig", {"duration": 30})
    assert answer.status_code == 201 and answer.json()["kind"] == "Config"
    calls = [connection["kubeconfig_calls"] for connection in simulator.connections()]
    assert calls == [1 if index == served else 0 for index in range(2)]


def test_kubeconfig_needs_a_connection(simulator: SimHandle) -> None:
    answer = simulator.call("POST", f"/v1/clustergroups/{simulator.federated_fleet['id']}/kubeconfig", {"duration": 30})
    assert answer.status_code == 400 and answer.json()["error_code"] == "UCS.01080012"


# --- the control API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [{"job": "exploding"}, {"step": -1}, {"step": True}, {"page_cap": 0}, {"page_cap": "2"}, {"no_job": "500"}, {"kubeconfig_connection": "any"}, {"nope": 1}],
)
def test_lifecycle_settings_are_checked(simulator: SimHandle, settings: Dict[str, Any]) -> None:
    before = simulator.control("GET", "lifecycle")
    with pytest.raises(Exception, match="400"):
        simulator.control("POST", "lifecycle", settings)
    assert simulator.control("GET", "lifecycle") == before


def test_reset_restores_the_lifecycle_defaults(simulator: SimHandle) -> None:
    defaults = simulator.control("GET", "lifecycle")
    assert defaults == {
        "job": "advancing",
        "step": 1.0,
        "federation_id_at": "success",
        "page_cap": None,
        "no_job": "400",
        "kubeconfig_connection": "oldest",
        "jobs": {},
    }
    lifecycle(simulator, job="failing", page_cap=1)
    simulator.call("POST", f"/v1/clustergroups/{fleet_ids(simulator)['fleet-plain']}/federations")
    assert simulator.control("GET", "lifecycle")["jobs"]
    simulator.reset()
    assert simulator.control("GET", "lifecycle") == defaults


@pytest.mark.parametrize(("operation", "call"), [("enable_federation", "POST"), ("disable_federation", "DELETE")])
def test_faults_reach_the_new_operations(simulator: SimHandle, operation: str, call: str) -> None:
    fleet_id = simulator.federated_fleet["id"] if call == "DELETE" else fleet_ids(simulator)["fleet-plain"]
    simulator.fault("503", operation)
    assert simulator.call(call, f"/v1/clustergroups/{fleet_id}/federations").status_code == 503
    assert simulator.control("GET", "lifecycle")["jobs"] == {}, "a faulted call starts no job"
    logged = simulator.requests()[-1]
    assert (logged["operation"], logged["fault"]) == (operation, "503")


def test_request_log_names_the_new_operations(simulator: SimHandle) -> None:
    lifecycle(simulator, step=0)
    plain, federated = fleet_ids(simulator)["fleet-plain"], simulator.federated_fleet["id"]
    calls: List[Callable[[], Any]] = [
        lambda: simulator.call("GET", "/v1/clustergroups?limit=1&offset=0"),
        lambda: simulator.call("POST", f"/v1/clustergroups/{plain}/federations"),
        lambda: progress(simulator, plain),
        lambda: simulator.call("DELETE", f"/v1/clustergroups/{federated}/federations"),
    ]
    for call in calls:
        call()
    logged = [(entry["method"], entry["path"], entry["status"], entry["operation"]) for entry in simulator.requests()]
    assert logged == [
        ("GET", "/v1/clustergroups", 200, "list_fleets"),
        ("POST", f"/v1/clustergroups/{plain}/federations", 201, "enable_federation"),
        ("GET", f"/v1/clustergroups/{plain}/federations/progress", 200, "federation_progress"),
        ("DELETE", f"/v1/clustergroups/{federated}/federations", 200, "disable_federation"),
    ]
