# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The stamp: which fleet (its ID, and its name when it was named so) and VPC a cluster entry was
issued for, with the seal of the facts checked then (``_kubeconfig_check.seal_of``).

It is a cluster extension named ``ucs_cloud.fleet``. kubectl keeps cluster extensions when it
rewrites a kubeconfig, so the stamp survives ``kubectl config use-context`` and friends.
"""

import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import FleetEntries

IDENTITY_EXTENSION = "ucs_cloud.fleet"


def read_stamp(cluster_body: t.Mapping[str, t.Any]) -> t.Optional[t.Mapping[str, t.Any]]:
    """The ``ucs_cloud.fleet`` extension of a cluster body, None when it has none (or a malformed one)."""
    extensions = cluster_body.get("extensions")
    for item in extensions if isinstance(extensions, list) else []:
        if isinstance(item, t.Mapping) and item.get("name") == IDENTITY_EXTENSION:
            data = item.get("extension")
            return data if isinstance(data, t.Mapping) else None
    return None


def read_identity(cluster_body: t.Mapping[str, t.Any]) -> t.Tuple[t.Optional[str], t.Optional[str], t.Optional[str]]:
    """Read (fleet_id, vpc_id, fleet_name) from the identity stamp; each None where it is missing or malformed."""
    data = read_stamp(cluster_body) or {}
    found = [data.get(key) for key in ("fleet-id", "vpc-id", "fleet-name")]
    fleet_id, vpc_id, fleet_name = (value if isinstance(value, str) and value else None for value in found)
    return fleet_id, vpc_id, fleet_name


def is_the_fleets(cluster_body: t.Mapping[str, t.Any], wanted: FleetEntries) -> bool:
    """Whether a cluster's stamp names the wanted fleet: by its ID, or by its name when only that is known."""
    fleet_id, _vpc_id, fleet_name = read_identity(cluster_body)
    return fleet_id == wanted.fleet_id if wanted.fleet_id is not None else fleet_name is not None and fleet_name == wanted.fleet_name


def stamped(cluster_body: t.Mapping[str, t.Any], wanted: FleetEntries, checked: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    """A copy of a cluster body carrying the ``ucs_cloud.fleet`` extension (other extensions kept):
    the fleet (its ID, and its name when it was named so) and VPC, and ``checked``, the seal of the
    facts found when it was downloaded."""
    body = dict(cluster_body)
    extensions = body.get("extensions")
    if extensions is None:
        extensions = []
    if not isinstance(extensions, list):
        raise UcsKubeconfigError("the cluster's extensions must be a list")
    identity = {"fleet-id": wanted.fleet_id}  # type: t.Dict[str, t.Any]
    if wanted.fleet_name is not None:
        identity["fleet-name"] = wanted.fleet_name
    if wanted.vpc_id is not None:
        identity["vpc-id"] = wanted.vpc_id
    identity.update(checked or {})
    kept = [item for item in extensions if not (isinstance(item, t.Mapping) and item.get("name") == IDENTITY_EXTENSION)]
    body["extensions"] = [*kept, {"name": IDENTITY_EXTENSION, "extension": identity}]
    return body
