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

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsApiError, UcsError, UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._http_answer import JsonAnswer

CONNECTION_ID_OPTIONS = ("project_id", "vpc_id", "subnet_id")


class UcsFederationStateError(UcsError):
    """The fleet exists but its federation cannot serve a kubeconfig."""


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
    return word[len("federation") :] if word.startswith("federation") and len(word) > len("federation") else word


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
            f"Fleet {label}: {state.description}. Enable federation for the fleet in the UCS console "
            f"(Fleets > the fleet > Enable Federation) or with POST /v1/clustergroups/{fleet_id}/federations, "
            "wait until it is available, then run again."
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
