"""_federation's fleet list, name lookup, federation job and lifecycle calls, with a scripted client."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsResponseError


def fleet(uid: str, name: str, **spec: Any) -> Dict[str, Any]:
    return {"kind": "ClusterGroup", "metadata": {"uid": uid, "name": name}, "spec": spec, "status": {}}


class PagedClient:
    """Serves a fleet list as a server would: limit/offset, an optional cap per page and total."""

    def __init__(self, fleets: List[Dict[str, Any]], *, cap: Optional[int] = None, total: Any = "count", shift: bool = False) -> None:
        self.fleets = fleets
        self.cap = cap
        self.total = total
        self.shift = shift
        self.queries: List[Dict[str, Any]] = []

    def get_json(self, path: str, what: str, expected: Tuple[int, ...] = (200,), query: Any = ()) -> Dict[str, Any]:
        assert path == "/v1/clustergroups" and "list the fleets" in what
        params = dict(query)
        self.queries.append(params)
        limit, offset = params["limit"], params["offset"]
        size = limit if self.cap is None else min(limit, self.cap)
        if self.shift and len(self.queries) == 2:
            # A fleet was registered between the first two calls; the list is newest first.
            self.fleets = [fleet("id-new", "newcomer"), *self.fleets]
        answer: Dict[str, Any] = {"items": self.fleets[offset : offset + size]}
        if self.total == "count":
            answer["total"] = len(self.fleets)
        elif self.total is not None:
            answer["total"] = self.total
        return answer


FLEETS = [fleet(f"id-{n:03d}", f"fleet-{n:03d}") for n in range(7)]


@pytest.mark.parametrize(
    ("options", "calls"),
    [
        ({}, 1),  # one page holds everything: one call
        ({"cap": 2}, 4),  # the server answers 2 per page whatever limit asks: follow total
        ({"cap": 2, "total": None}, 5),  # no total: until an empty page
        ({"cap": 3, "total": "7"}, 4),  # a total that is no integer counts as none
        ({"cap": 3, "total": True}, 4),
    ],
)
def test_list_fleets_follows_the_pages(options: Dict[str, Any], calls: int) -> None:
    client = PagedClient(FLEETS, **options)
    assert federation.list_fleets(client) == FLEETS
    assert len(client.queries) == calls
    offsets = [q["offset"] for q in client.queries]
    assert offsets == sorted(offsets) and all(q["limit"] == federation.LIST_PAGE_SIZE for q in client.queries)


def test_list_fleets_small_pages_and_overlap() -> None:
    client = PagedClient(list(FLEETS), shift=True)
    # The second page starts one fleet earlier than before: fleet-002 comes again, and is kept once.
    assert federation.list_fleets(client, page_size=3) == FLEETS
    assert [q["offset"] for q in client.queries] == [0, 3, 6]


def test_list_fleets_is_bounded() -> None:
    class Endless:
        calls = 0

        def get_json(self, path: str, what: str, query: Any = (), **_: Any) -> Dict[str, Any]:
            Endless.calls += 1
            return {"items": [fleet(f"id-{Endless.calls}", "x")], "total": 10**9}

    with pytest.raises(UcsResponseError) as raised:
        federation.list_fleets(Endless(), page_size=1, max_pages=5)
    assert Endless.calls == 5
    assert raised.value.msg == (
        "Failed to list the fleets: the list did not end after 5 pages of 1 (5 fleets so far, the server counts 1000000000); "
        "the server keeps answering new pages"
    )


@pytest.mark.parametrize("answer", [{"items": "x"}, {"items": [1, 2]}, {"items": {"a": 1}}])
def test_list_fleets_refuses_answers_without_a_list(answer: Dict[str, Any]) -> None:
    client = SimpleNamespace(get_json=lambda *args, **kwargs: answer)
    with pytest.raises(UcsResponseError, match="page 1 of the answer has no list of fleets in 'items'"):
        federation.list_fleets(client)


def test_list_fleets_without_items_is_empty() -> None:
    assert federation.list_fleets(SimpleNamespace(get_json=lambda *args, **kwargs: {"total": 0})) == []


# --- lookup by name ------------------------------------------------------------------------------------


def test_select_fleet_exactly_one() -> None:
    assert federation.select_fleet(FLEETS, "fleet-003") is FLEETS[3]


def test_select_fleet_none_lists_the_candidates() -> None:
    fleets = [fleet("id-b", "prod"), fleet("id-a", "dev")]
    with pytest.raises(federation.UcsFleetLookupError) as raised:
        federation.select_fleet(fleets, "staging")
    assert raised.value.msg == "No fleet is named 'staging'. The account's fleets: dev (id-a), prod (id-b)"


def test_select_fleet_none_notes_a_case_difference() -> None:
    with pytest.raises(federation.UcsFleetLookupError) as raised:
        federation.select_fleet([fleet("id-a", "Prod")], "prod")
    assert raised.value.msg == "No fleet is named 'prod' (Prod (id-a) differs only in case: names are compared exactly). The account's fleets: Prod (id-a)"


def test_select_fleet_no_fleets_at_all() -> None:
    with pytest.raises(federation.UcsFleetLookupError, match="the account has no fleets"):
        federation.select_fleet([], "prod")


def test_select_fleet_several_names_them_and_the_option() -> None:
    fleets = [fleet("id-2", "prod"), fleet("id-1", "prod"), fleet("id-3", "dev")]
    with pytest.raises(federation.UcsFleetLookupError) as raised:
        federation.select_fleet(fleets, "prod", label=lambda option: f"ucs_kubeconfig_{option}")
    assert raised.value.msg == "2 fleets are named 'prod': prod (id-1), prod (id-2). Set ucs_kubeconfig_fleet_id to the ID of the one you mean"


def test_candidates_are_bounded_and_cleaned() -> None:
    fleets = [fleet(f"id-{n:02d}", f"f{n:02d}") for n in range(25)] + [fleet("id-x", "evil\nname\x1b[31m")]
    with pytest.raises(federation.UcsFleetLookupError) as raised:
        federation.select_fleet(fleets, "missing")
    assert raised.value.msg.endswith("and 6 more") and "\n" not in raised.value.msg and "\x1b" not in raised.value.msg


def test_find_fleet_by_name_lists_then_selects() -> None:
    client = PagedClient(FLEETS, cap=2)
    assert federation.find_fleet_by_name(client, "fleet-006") is FLEETS[6]
    assert len(client.queries) == 4


# --- the facts ucs_fleet_info returns --------------------------------------------------------------


def test_fleet_facts_of_a_federated_fleet() -> None:
    condition = {"type": "Federation", "status": "Unavailable", "reason": "FederationUnavailable", "message": "x", "lastTransitionTime": "0001-01-01T00:00:00Z"}
    endpoints = [{"type": "VPCEP", "name": "svc", "id": "5fc0", "region": "eu-de"}]
    document = fleet(
        "id-1",
        "prod",
        description="Production",
        federationId="fed-1",
        federationVersion="v1.7.0",
        federationExpirationTimestamp="2027-01-01T00:00:00Z",
        connectGatewayEndpoints=endpoints,
    )
    document["status"] = {"conditions": [{"type": "Policy", "status": "Running"}, condition]}
    assert federation.fleet_facts(document) == {
        "id": "id-1",
        "name": "prod",
        "description": "Production",
        "federation_enabled": True,
        "federation_id": "fed-1",
        "federation_version": "v1.7.0",
        "federation_expiration": "2027-01-01T00:00:00Z",
        "federation_condition": condition,
        "connect_gateway_endpoints": endpoints,
    }


@pytest.mark.parametrize("document", [{"metadata": {"uid": "id-2", "name": "dev"}, "spec": {}, "status": {}}, {"metadata": {"uid": "id-2", "name": "dev"}}])
def test_fleet_facts_of_a_plain_fleet(document: Dict[str, Any]) -> None:
    facts = federation.fleet_facts(document)
    assert facts["federation_enabled"] is False and facts["federation_condition"] is None and facts["connect_gateway_endpoints"] == []
    assert (facts["id"], facts["name"], facts["description"], facts["federation_id"]) == ("id-2", "dev", None, None)


# --- the job -----------------------------------------------------------------------------------------


def job(phase: Any, job_type: str = "CreateFederationContainer", reason: str = "", sub_jobs: Optional[List[Any]] = None) -> Dict[str, Any]:
    status = {"phase": phase}
    if reason:
        status["reason"] = reason
    return {"kind": "Job", "spec": {"type": job_type, "subJobs": sub_jobs or []}, "status": status}


@pytest.mark.parametrize(
    ("phase", "outcome"),
    [
        ("Success", federation.SUCCEEDED),
        ("Succeeded", federation.SUCCEEDED),
        ("success", federation.SUCCEEDED),
        ("Failed", federation.FAILED),
        ("TimedOut", federation.FAILED),
        ("Initializing", federation.RUNNING),
        ("Running", federation.RUNNING),
        ("Provisioning", federation.UNKNOWN),
        ("", federation.UNKNOWN),
    ],
)
def test_job_outcome(phase: str, outcome: str) -> None:
    state = federation.job_state(job(phase))
    assert state.outcome == outcome and state.phase == phase
    assert state.finished == (outcome in (federation.SUCCEEDED, federation.FAILED))


@pytest.mark.parametrize(
    ("job_type", "kind"),
    [("CreateFederationContainer", "enable"), ("CreateFederation", "enable"), ("DeleteFederation", "disable"), ("UpgradeFederation", "other"), ("", "other")],
)
def test_job_kind(job_type: str, kind: str) -> None:
    assert federation.job_state(job("Running", job_type)).kind == kind


def test_job_reason_gathers_failed_sub_jobs() -> None:
    subs = [
        {"spec": {"type": "CreateCert"}, "status": {"phase": "Success"}},
        {"spec": {"type": "CreateNetworkResource"}, "status": {"phase": "Failed", "reason": "ELB quota\nexceeded"}},
        {"spec": {}, "status": {"phase": "Failed"}},
        "not a job",
    ]
    state = federation.job_state(job("Failed", reason="sub-job CreateNetworkResource failed", sub_jobs=subs))
    assert state.reason == "sub-job CreateNetworkResource failed; CreateNetworkResource failed: ELB quota exceeded; a sub-job failed"
    assert federation.sub_job_phases(job("Failed", sub_jobs=subs)) == {"CreateCert": "Success", "CreateNetworkResource": "Failed", "sub-job 3": "Failed"}


@pytest.mark.parametrize("document", [{}, {"status": "x"}, {"spec": [], "status": {"phase": 3}}, {"spec": {"subJobs": "x"}, "status": {}}])
def test_job_state_of_odd_answers_never_raises(document: Dict[str, Any]) -> None:
    federation.job_state(document)
    federation.sub_job_phases(document)


# --- the calls ------------------------------------------------------------------------------------------


class RecordingClient:
    def __init__(self, answer: Any = None, error: Optional[Exception] = None) -> None:
        self.answer = answer
        self.error = error
        self.calls: List[Tuple[Any, ...]] = []

    def _reply(self, *call: Any) -> Any:
        self.calls.append(call)
        if self.error is not None:
            raise self.error
        return self.answer

    def get_json(self, path: str, what: str, expected: Tuple[int, ...] = (200,), query: Any = ()) -> Any:
        return self._reply("GET", path, what)

    def post_json(self, path: str, body: Any, what: str, expected: Tuple[int, ...] = (200, 201)) -> Any:
        return self._reply("POST", path, body, what, expected)

    def send_without_body(self, method: str, path: str, what: str, expected: Tuple[int, ...]) -> Any:
        return self._reply(method, path, what, expected)


def api_error(status: int, code: Optional[str] = None) -> UcsApiError:
    return UcsApiError("Failed to read the federation job of fleet f1: ...", status=status, error_code=code)


def test_enable_and_disable_send_no_body() -> None:
    client = RecordingClient({})
    federation.enable_federation(client, "f1")
    federation.disable_federation(client, "f1")
    assert client.calls == [
        ("POST", "/v1/clustergroups/f1/federations", "enable federation for fleet f1", (200, 201, 202)),
        ("DELETE", "/v1/clustergroups/f1/federations", "disable federation for fleet f1", (200, 202, 204)),
    ]


def test_download_kubeconfig_sends_the_duration_only() -> None:
    client = RecordingClient({"kind": "Config"})
    request = SimpleNamespace(fleet_id="f1", duration=30, project_id=None, vpc_id=None, subnet_id=None)
    assert federation.download_kubeconfig(client, request) == {"kind": "Config"}
    method, path, body, what, expected = client.calls[0]
    assert (method, path, body, expected) == ("POST", "/v1/clustergroups/f1/kubeconfig", {"duration": 30}, (200, 201))
    assert "existing federation connection" in what


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: RecordingClient(job("Running")), "Running"),
        (lambda: RecordingClient({}), None),  # 200 without a job
        (lambda: RecordingClient({"status": {}}), None),
        (lambda: RecordingClient(error=api_error(404)), None),
        (lambda: RecordingClient(error=api_error(400, "UCS.01080006")), None),
    ],
)
def test_read_federation_progress(make: Callable[[], RecordingClient], expected: Optional[str]) -> None:
    answer = federation.read_federation_progress(make(), "f1")
    assert (answer["status"]["phase"] if answer else None) == expected


@pytest.mark.parametrize("error", [api_error(400, "UCS.01080001"), api_error(500), api_error(403)])
def test_read_federation_progress_other_errors_propagate(error: UcsApiError) -> None:
    with pytest.raises(UcsApiError):
        federation.read_federation_progress(RecordingClient(error=error), "f1")
