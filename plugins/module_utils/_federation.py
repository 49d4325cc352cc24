# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The fleet's federation: what its details say about it, and the calls that read and use it.

Nothing here knows AnsibleModule, so every decision runs in plain pytest.
"""

import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError

CONNECTION_ID_OPTIONS = ("project_id", "vpc_id", "subnet_id")


class UcsFederationStateError(UcsError):
    """The fleet exists but its federation cannot serve a kubeconfig."""


def require_connection_ids(request: t.Any) -> None:
    """The /cert call needs the project, VPC and subnet; say which are missing before calling."""
    missing = [name for name in CONNECTION_ID_OPTIONS if not getattr(request, name)]
    if missing:
        raise UcsValidationError(
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required to create the federation connection "
            f"of fleet {request.fleet_id} and download its kubeconfig (project_id, vpc_id and subnet_id name where "
            "the VPC endpoint to the federation API server is created)"
        )


def fleet_path(fleet_id: str) -> str:
    return f"/v1/clustergroups/{fleet_id}"


# Vocabulary of the fleet's Federation condition (status.conditions[type=Federation].status and
# .reason). The API reference (ShowClusterGroup, ListClusterGroups) shows state words such as
# "status": "Unavailable", "reason": "FederationUnavailable"; the SDK types the status as a free
# string, and the word of a healthy federation is not documented (see docs/fidelity.md). Only an
# explicit negative refuses before /cert; an unknown word is a warning, and the API's own answer to
# /cert (UCS.01080006 "federation not enabled") stays the final word.
NEGATIVE_STATES = frozenset(
    ("false", "unavailable", "federationunavailable", "disabled", "federationdisabled", "failed", "federationfailed", "error", "timedout", "deleted")
)
POSITIVE_STATES = frozenset(("true", "available", "federationavailable", "ready", "enabled", "succeeded", "success", "normal", "healthy", "active"))


class FederationState(t.NamedTuple):
    """What the fleet's details say about its federation."""

    enabled: bool  # False only on positive evidence that federation is off
    description: str
    warning: t.Optional[str]  # an unknown or transitional word: /cert is tried, the API decides


def _word(value: t.Any) -> str:
    return str(value).strip() if value is not None else ""


def federation_state(fleet: t.Mapping[str, t.Any]) -> FederationState:
    """Return FederationState(enabled, description, warning) from a fleet's details.

    Refused (enabled=False) only when spec.federationId is missing or empty, or when the
    Federation condition carries an explicit negative word in its status (or, when the status is
    not a known word, in its reason). A condition with an unknown word is accepted with a warning.
    """
    spec = fleet.get("spec") or {}
    status = fleet.get("status") or {}
    if not isinstance(spec, dict) or not spec.get("federationId"):
        return FederationState(False, "federation is not enabled (the fleet has no spec.federationId)", None)
    conditions = status.get("conditions") if isinstance(status, dict) else None
    condition = next(
        (c for c in conditions or [] if isinstance(c, dict) and _word(c.get("type")).lower() == "federation"),
        None,
    )
    if condition is None:
        return FederationState(True, "federation is enabled", None)
    state, reason = _word(condition.get("status")), _word(condition.get("reason"))
    label = state or "no status"
    if reason and reason != state:
        label = f"{label} ({reason})"
    if state.lower() in NEGATIVE_STATES or (state.lower() not in POSITIVE_STATES and reason.lower() in NEGATIVE_STATES):
        return FederationState(False, f"federation is not available (condition Federation: {label})", None)
    if state.lower() in POSITIVE_STATES:
        return FederationState(True, "federation is enabled", None)
    return FederationState(
        True,
        "federation is enabled",
        f"the fleet's Federation condition says {label!r}, a state this module does not know; requesting the kubeconfig anyway "
        "(the API refuses it if federation is not ready)",
    )


def check_federation(fleet: t.Mapping[str, t.Any], fleet_id: str) -> t.List[str]:
    """Raise UcsFederationStateError with what to do when the fleet's federation is positively off.

    Returns:
        Warnings for the module to show (an unknown state word); empty when there is nothing to say.
    """
    state = federation_state(fleet)
    if not state.enabled:
        name = (fleet.get("metadata") or {}).get("name")
        label = f"{fleet_id} ({name})" if name else fleet_id
        raise UcsFederationStateError(
            f"Fleet {label}: {state.description}. Enable federation for the fleet in the UCS console "
            f"(Fleets > the fleet > Enable Federation) or with POST /v1/clustergroups/{fleet_id}/federations, "
            "wait until it is available, then run again."
        )
    return [f"Fleet {fleet_id}: {state.warning}"] if state.warning else []


def read_fleet(client: t.Any, request: t.Any) -> t.Dict[str, t.Any]:
    """GET the fleet's details (a read call, also made in check mode)."""
    return client.get_json(fleet_path(request.fleet_id), what=f"read fleet {request.fleet_id}")


def create_federation_cert(client: t.Any, request: t.Any) -> t.Dict[str, t.Any]:
    """POST /cert: creates (or reuses) the VPC endpoint and returns a fresh kubeconfig."""
    body = {
        "projectID": request.project_id,
        "vpcID": request.vpc_id,
        "subnetID": request.subnet_id,
        "duration": request.duration,
    }
    return client.post_json(
        fleet_path(request.fleet_id) + "/cert",
        body,
        what=f"create the federation connection of fleet {request.fleet_id}",
        expected=(200, 201),
    )
