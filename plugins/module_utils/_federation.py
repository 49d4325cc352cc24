# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The fleet's federation: what its details say about it, and the calls that read and use it.

Nothing here knows AnsibleModule, so every decision runs in plain pytest.
"""

import typing as t
from urllib.parse import urlsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsError, UcsResponseError, UcsValidationError, clean_text
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._http_answer import JsonAnswer

CONNECTION_ID_OPTIONS = ("project_id", "vpc_id", "subnet_id")


class UcsFederationStateError(UcsError):
    """The fleet exists but its federation cannot serve a kubeconfig."""


def uses_existing_connection(request: t.Any, label: t.Callable[[str], str] = str) -> bool:
    """True when neither vpc_id nor subnet_id is given: the kubeconfig comes from the fleet's
    existing connection (POST /kubeconfig). With either, /cert creates (or reuses) the connection
    in that VPC and needs all three IDs; a partial set is an error naming what is missing. A
    project_id alone (HUAWEICLOUD_SDK_PROJECT_ID is often exported for other tools) names no VPC."""
    if request.vpc_id is None and request.subnet_id is None:
        return True
    require_connection_ids(request, label)
    return False


def require_connection_ids(request: t.Any, label: t.Callable[[str], str] = str) -> None:
    """The /cert call needs the project, VPC and subnet; say which are missing before calling."""
    missing = [name for name in CONNECTION_ID_OPTIONS if not getattr(request, name)]
    if missing:
        names = ", ".join(label(name) for name in CONNECTION_ID_OPTIONS)
        raise UcsValidationError(
            f"{', '.join(label(name) for name in missing)} {'is' if len(missing) == 1 else 'are'} required to create the federation connection "
            f"of fleet {request.fleet_id} and download its kubeconfig ({names} name where "
            "the VPC endpoint to the federation API server is created)",
            option=missing[0],
        )


def fleet_path(fleet_id: str) -> str:
    return f"/v1/clustergroups/{fleet_id}"


# Vocabulary of the fleet's Federation condition (status.conditions[type=Federation].status and
# .reason). The API reference (ShowClusterGroup, ListClusterGroups) shows state words such as
# "status": "Unavailable", "reason": "FederationUnavailable"; the SDK types the status as a free
# string, and the word of a healthy federation is not documented (see docs/fidelity.md). Only an
# explicit word refuses before /cert: a negative one (federation is off or broken) or a
# transitional one (it is being installed or changed: wait). An unknown word is a warning, and
# the API's own answer to /cert (UCS.01080006 "federation not enabled") stays the final word.
# Words are compared in lower case without a "federation" prefix (FederationInstalling = installing).
NEGATIVE_STATES = frozenset(("false", "unavailable", "disabled", "failed", "error", "timedout", "deleted"))
# Negative whatever the reason says: a failed installation is not one to wait for.
FAILED_STATES = frozenset(("disabled", "failed", "error", "timedout", "deleted"))
TRANSITIONAL_STATES = frozenset(
    ("installing", "enabling", "creating", "pending", "running", "inprogress", "upgrading", "updating", "initializing", "provisioning", "processing")
)
POSITIVE_STATES = frozenset(("true", "available", "ready", "enabled", "succeeded", "success", "normal", "healthy", "active"))


class FederationState(t.NamedTuple):
    """What the fleet's details say about its federation."""

    enabled: bool  # False only on positive evidence that federation is off or not ready yet
    description: str
    warning: t.Optional[str]  # an unknown word: /cert is tried, the API decides
    in_progress: bool = False  # federation is being installed or changed: wait, do not enable it


def _word(value: t.Optional[str]) -> str:
    word = (value or "").strip().lower()
    prefix = "federation"
    return word.replace(prefix, "", 1) if word.startswith(prefix) and word != prefix else word


def _as_answer(fleet: t.Mapping[str, t.Any]) -> JsonAnswer:
    # A JsonAnswer from UcsClient names its request in errors; any other mapping is read the same way.
    return fleet if isinstance(fleet, JsonAnswer) else JsonAnswer(fleet)


def _federation_condition(fleet: JsonAnswer) -> t.Optional[int]:
    """The index of the condition of type Federation in status.conditions, or None."""
    for index in range(len(fleet.field("status.conditions", list) or [])):
        if (fleet.field(f"status.conditions[{index}].type", str) or "").strip().lower() == "federation":
            return index
    return None


def federation_state(fleet: t.Mapping[str, t.Any]) -> FederationState:
    """Return FederationState(enabled, description, warning, in_progress) from a fleet's details.

    Refused (enabled=False) when spec.federationId is missing or empty, or when the Federation
    condition carries an explicit negative or transitional word in its status (or, when the
    status is not a known word, in its reason). A condition with an unknown word is accepted with
    a warning. Every field read is checked for its JSON type (UcsResponseError otherwise).
    """
    answer = _as_answer(fleet)
    if not answer.field("spec.federationId", str):
        return FederationState(False, "federation is not enabled (the fleet has no spec.federationId)", None)
    index = _federation_condition(answer)
    if index is None:
        return FederationState(True, "federation is enabled", None)
    path = f"status.conditions[{index}]"
    status_text = (answer.field(path + ".status", str) or "").strip()
    reason_text = (answer.field(path + ".reason", str) or "").strip()
    label = status_text or "no status"
    if reason_text and reason_text != status_text:
        label = f"{label} ({reason_text})"
    state, reason = _word(status_text), _word(reason_text)
    if state in POSITIVE_STATES:
        return FederationState(True, "federation is enabled", None)
    if state not in FAILED_STATES and TRANSITIONAL_STATES & {state, reason}:
        return FederationState(False, f"federation is not ready yet (condition Federation: {label})", None, in_progress=True)
    if state in NEGATIVE_STATES or reason in NEGATIVE_STATES:
        return FederationState(False, f"federation is not available (condition Federation: {label})", None)
    return FederationState(
        True,
        "federation is enabled",
        f"the fleet's Federation condition says {label!r}, a state this module does not know; requesting the kubeconfig anyway "
        "(the API refuses it if federation is not ready)",
    )


def check_federation(fleet: t.Mapping[str, t.Any], fleet_id: str) -> t.List[str]:
    """Raise UcsFederationStateError with what to do when the fleet's federation is off or not ready yet.

    Returns:
        Warnings for the module to show (an unknown state word); empty when there is nothing to say.
    Raises:
        UcsResponseError: a field read from the fleet has another JSON type than the API documents.
    """
    answer = _as_answer(fleet)
    name = answer.field("metadata.name", str)
    label = f"{fleet_id} ({name})" if name else fleet_id
    state = federation_state(answer)
    if state.in_progress:
        raise UcsFederationStateError(
            f"Fleet {label}: {state.description}: it is being installed or changed. Wait until it is available "
            "(UCS console: Fleets > the fleet), then run again."
        )
    if not state.enabled:
        raise UcsFederationStateError(
            f"Fleet {label}: {state.description}. Enable federation for the fleet with the module ucs_cloud.fleet.ucs_federation "
            "(state: present, which waits until it is available), or in the UCS console (Fleets > the fleet > Enable Federation), "
            "then run again."
        )
    return [f"Fleet {label}: {state.warning}"] if state.warning else []


def read_fleet(client: t.Any, request: t.Any, label: t.Callable[[str], str] = str) -> t.Dict[str, t.Any]:
    """GET the fleet's details (a read call, also made in check mode); a 404 says what to check."""
    try:
        return client.get_json(fleet_path(request.fleet_id), what=f"read fleet {request.fleet_id}")
    except UcsApiError as exc:
        if exc.http_status != 404:
            raise
        host = urlsplit(exc.http_url or "").netloc or "the endpoint"
        raise UcsApiError(
            f"{exc.msg}. Check {label('fleet_id')}, and that the fleet belongs to the account (domain) of the credentials and to the UCS site "
            f"of {host} (endpoint, region): UCS answers 404 for a fleet of another account or site",
            status=404,
            method=exc.http_method,
            url=exc.http_url,
            error_code=exc.error_code,
            error_msg=exc.error_msg,
            request_id=exc.request_id,
        ) from None


def create_federation_cert(client: t.Any, request: t.Any) -> t.Dict[str, t.Any]:
    """POST /cert: creates (or reuses) the VPC endpoint and returns a fresh kubeconfig."""
    body = {
        "projectID": request.project_id,
        "vpcID": request.vpc_id,
        "subnetID": request.subnet_id,
        "duration": request.duration,
    }
    return client.post_json(fleet_path(request.fleet_id) + "/cert", body, what=f"create the federation connection of fleet {request.fleet_id}")


# --- The fleet list, the federation's lifecycle and the existing connection ---------------------
# ListClusterGroup, EnableFederation, ShowFederationProgress, DisableFederation and
# DownloadFederationKubeconfig, sent as huaweicloudsdkucs sends them (tests/simulator/test_sdk_wire.py).

FLEETS_PATH = "/v1/clustergroups"
# ListClusterGroup: ``limit`` (default -1, all) and ``offset`` (default 0, the first item) are
# integers. A server may answer fewer than asked (a cap of its own), so the next offset is the
# number of items received, and the list ends at ``total`` (or, without it, at an empty page).
LIST_PAGE_SIZE = 100
# A bound against a server that never ends its list: far beyond any account's fleet quota.
MAX_LIST_PAGES = 50
# How many fleets a lookup error names before "and N more".
SHOWN_CANDIDATES = 20
# "Cluster group has not been federalized" (UCS Error Codes): how progress may answer a fleet with no job.
FEDERATION_NOT_ENABLED_CODE = "UCS.01080006"


class UcsFleetLookupError(UcsError):
    """No fleet, or more than one, has the name asked for."""


def _text(value: t.Any) -> str:
    """A server's string for a message: one line, no control characters, bounded."""
    return clean_text(str(value), 200) if value is not None else ""


def fleet_id_of(fleet: t.Mapping[str, t.Any]) -> str:
    """The fleet's ID (``metadata.uid``), or "" when the answer has none."""
    metadata = fleet.get("metadata")
    uid = metadata.get("uid") if isinstance(metadata, dict) else None
    return str(uid) if uid is not None else ""


def fleet_name_of(fleet: t.Mapping[str, t.Any]) -> str:
    """The fleet's name (``metadata.name``), or "" when the answer has none."""
    metadata = fleet.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return str(name) if name is not None else ""


def _list_error(problem: str) -> UcsResponseError:
    return UcsResponseError(f"Failed to list the fleets: {problem}", http_method="GET")


def list_fleets(client: t.Any, *, page_size: int = LIST_PAGE_SIZE, max_pages: int = MAX_LIST_PAGES) -> t.List[t.Dict[str, t.Any]]:
    """Every fleet of the account, through the pages of ``GET /v1/clustergroups`` (read calls only).

    A fleet seen on an earlier page (the list shifted between two calls) is kept once.

    Raises:
        UcsResponseError: an answer without a list of fleets, or more than ``max_pages`` pages.
        The errors of ``client.get_json``.
    """
    fleets = []  # type: t.List[t.Dict[str, t.Any]]
    seen = set()  # type: t.Set[str]
    offset, total = 0, None  # type: t.Tuple[int, t.Optional[int]]
    for page in range(1, max_pages + 1):
        answer = client.get_json(FLEETS_PATH, what=f"list the fleets (page {page})", query=(("limit", page_size), ("offset", offset)))
        items = answer.get("items")
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise _list_error(f"page {page} of the answer has no list of fleets in 'items'")
        count = answer.get("total")
        # bool is an int to Python; a "total" of another type is no count at all.
        total = count if isinstance(count, int) and not isinstance(count, bool) else None
        for item in items:
            uid = fleet_id_of(item)
            if uid and uid in seen:
                continue
            seen.add(uid)
            fleets.append(item)
        offset += len(items)
        if not items or (total is not None and offset >= total):
            return fleets
    counted = f", the server counts {total})" if total is not None else ")"
    raise _list_error(
        f"the list did not end after {max_pages} pages of {page_size} ({len(fleets)} fleets so far{counted}; the server keeps answering new pages"
    )


def describe_fleets(fleets: t.Sequence[t.Mapping[str, t.Any]], limit: int = SHOWN_CANDIDATES) -> str:
    """``name (ID)`` of each fleet, sorted by name, at most ``limit`` of them."""
    shown = sorted((_text(fleet_name_of(fleet)) or "(no name)", _text(fleet_id_of(fleet)) or "no ID") for fleet in fleets)
    text = ", ".join(f"{name} ({uid})" for name, uid in shown[:limit])
    return text + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


def select_fleet(fleets: t.Sequence[t.Dict[str, t.Any]], name: str, label: t.Callable[[str], str] = str) -> t.Dict[str, t.Any]:
    """The one fleet named exactly ``name``; UcsFleetLookupError naming the candidates otherwise.

    Args:
        fleets: the account's fleets (``list_fleets``).
        name: the name asked for (compared exactly, as the API stores it).
        label: how a message names an option (the role passes its variable names).
    """
    matches = [fleet for fleet in fleets if fleet_name_of(fleet) == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UcsFleetLookupError(
            f"{len(matches)} fleets are named {name!r}: {describe_fleets(matches)}. Set {label('fleet_id')} to the ID of the one you mean"
        )
    if not fleets:
        raise UcsFleetLookupError(f"No fleet is named {name!r}: the account has no fleets")
    folded = [fleet for fleet in fleets if fleet_name_of(fleet).casefold() == name.casefold()]
    hint = f" ({describe_fleets(folded)} differs only in case: names are compared exactly)" if folded else ""
    raise UcsFleetLookupError(f"No fleet is named {name!r}{hint}. The account's fleets: {describe_fleets(fleets)}")


def find_fleet_by_name(client: t.Any, name: str, label: t.Callable[[str], str] = str) -> t.Dict[str, t.Any]:
    """The details of the one fleet named ``name``, from the paged list (read calls only)."""
    return select_fleet(list_fleets(client), name, label)


def federation_condition(fleet: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The fleet's ``status.conditions`` entry of type Federation, as the API sent it, or None."""
    status = fleet.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    if not isinstance(conditions, list):
        return None
    return next((c for c in conditions if isinstance(c, dict) and _word(c.get("type")).lower() == "federation"), None)


def has_federation(fleet: t.Mapping[str, t.Any]) -> bool:
    """Whether the fleet's details name a federation (spec.federationId set and not empty)."""
    spec = fleet.get("spec")
    return isinstance(spec, dict) and bool(spec.get("federationId"))


def fleet_facts(fleet: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """What ucs_fleet_info returns for a fleet: identity, federation facts, verbatim where they are the API's."""
    spec = fleet.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    endpoints = spec.get("connectGatewayEndpoints")
    return {
        "id": fleet_id_of(fleet),
        "name": fleet_name_of(fleet),
        "description": spec.get("description") or None,
        "federation_enabled": has_federation(fleet),
        "federation_id": spec.get("federationId") or None,
        "federation_version": spec.get("federationVersion") or None,
        "federation_expiration": spec.get("federationExpirationTimestamp") or None,
        "federation_condition": federation_condition(fleet),
        "connect_gateway_endpoints": endpoints if isinstance(endpoints, list) else [],
    }


def federations_path(fleet_id: str) -> str:
    return fleet_path(fleet_id) + "/federations"


def enable_federation(client: t.Any, fleet_id: str) -> t.Dict[str, t.Any]:
    """POST .../federations without a body (as the SDK sends it): starts the enabling job."""
    return client.send_without_body("POST", federations_path(fleet_id), what=f"enable federation for fleet {fleet_id}", expected=(200, 201, 202))


def read_federation_progress(client: t.Any, fleet_id: str) -> t.Optional[t.Dict[str, t.Any]]:
    """GET .../federations/progress: the fleet's federation job, or None when it has none.

    Called after the fleet was read, so a 404 means "no job", not "no fleet"; a 400 with
    UCS.01080006 ("Cluster group has not been federalized") also means no job, and so does an
    answer without a job status (docs/fidelity.md: the docs leave this answer open).
    """
    try:
        job = client.get_json(federations_path(fleet_id) + "/progress", what=f"read the federation job of fleet {fleet_id}")
    except UcsApiError as exc:
        if exc.http_status == 404 or (exc.http_status == 400 and exc.error_code == FEDERATION_NOT_ENABLED_CODE):
            return None
        raise
    return job if isinstance(job.get("status"), dict) and job["status"].get("phase") else None


def disable_federation(client: t.Any, fleet_id: str) -> None:
    """DELETE .../federations (as the SDK sends it): starts disabling the fleet's federation."""
    client.send_without_body("DELETE", federations_path(fleet_id), what=f"disable federation for fleet {fleet_id}", expected=(200, 202, 204))


def download_kubeconfig(client: t.Any, request: t.Any) -> t.Dict[str, t.Any]:
    """POST .../kubeconfig ``{"duration": N}``: a new kubeconfig for a fleet whose connection exists.

    The call names no VPC: which connection's endpoint the kubeconfig points at when the fleet has
    several is not documented (docs/fidelity.md).
    """
    what = f"download the kubeconfig of fleet {request.fleet_id} (existing federation connection)"
    return client.post_json(fleet_path(request.fleet_id) + "/kubeconfig", {"duration": request.duration}, what=what)


# Job phases. ShowFederationProgress's example shows "Success" (the job and its sub-jobs); the same
# job framework (kind Job, apiVersion v3) documents Initializing, Running, Failed and Success in
# CCE's "Reading Job Progress"; an earlier reading of this project listed Succeeded and TimedOut.
# Any other word is taken as still running until the caller's timeout (docs/fidelity.md).
SUCCEEDED_PHASES = frozenset(("success", "succeeded"))
FAILED_PHASES = frozenset(("failed", "timedout"))
RUNNING_PHASES = frozenset(("initializing", "running"))
RUNNING, SUCCEEDED, FAILED, UNKNOWN = "running", "succeeded", "failed", "unknown"


class JobState(t.NamedTuple):
    """What a federation job (ShowFederationProgress) says."""

    kind: str  # "enable" (Create...), "disable" (Delete...) or "other" (Upgrade..., Rollback..., none)
    job_type: str
    phase: str
    outcome: str  # RUNNING, SUCCEEDED, FAILED or UNKNOWN (a word this module does not know: still running)
    reason: str

    @property
    def finished(self) -> bool:
        return self.outcome in (SUCCEEDED, FAILED)


def _sub_jobs(spec: t.Mapping[str, t.Any]) -> t.List[t.Any]:
    subs = spec.get("subJobs")
    return subs if isinstance(subs, list) else []


def job_state(job: t.Mapping[str, t.Any]) -> JobState:
    """Read a job: its kind, type, phase, outcome and reason (with the failed sub-jobs' reasons)."""
    spec = job.get("spec") if isinstance(job.get("spec"), dict) else {}
    status = job.get("status") if isinstance(job.get("status"), dict) else {}
    job_type, phase = _text(spec.get("type")), _text(status.get("phase"))
    kind = "enable" if job_type.lower().startswith("create") else "disable" if job_type.lower().startswith("delete") else "other"
    word = phase.lower()
    outcome = SUCCEEDED if word in SUCCEEDED_PHASES else FAILED if word in FAILED_PHASES else RUNNING if word in RUNNING_PHASES else UNKNOWN
    reasons = [_text(status.get("reason"))] if status.get("reason") else []
    for sub in _sub_jobs(spec):
        sub_spec = sub.get("spec") if isinstance(sub, dict) and isinstance(sub.get("spec"), dict) else {}
        sub_status = sub.get("status") if isinstance(sub, dict) and isinstance(sub.get("status"), dict) else {}
        if _word(sub_status.get("phase")).lower() in FAILED_PHASES:
            reasons.append(
                f"{_text(sub_spec.get('type')) or 'a sub-job'} failed" + (f": {_text(sub_status.get('reason'))}" if sub_status.get("reason") else "")
            )
    return JobState(kind, job_type, phase, outcome, "; ".join(reasons))


def sub_job_phases(job: t.Mapping[str, t.Any]) -> t.Dict[str, str]:
    """``{sub-job type: phase}`` of a job, for the progress the module reports."""
    spec = job.get("spec") if isinstance(job.get("spec"), dict) else {}
    phases = {}  # type: t.Dict[str, str]
    for sub in _sub_jobs(spec):
        if isinstance(sub, dict) and isinstance(sub.get("spec"), dict) and isinstance(sub.get("status"), dict):
            phases[_text(sub["spec"].get("type")) or f"sub-job {len(phases) + 1}"] = _text(sub["status"].get("phase"))
    return phases
