#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ucs_fleet_info
short_description: List the fleets of a UCS account and their federation
version_added: 0.1.0
description:
  - Lists every fleet (cluster group) of the account, or one fleet by O(fleet_id) or
    O(fleet_name), with its federation facts.
  - Every fleet is read through the pages of C(GET /v1/clustergroups); one fleet by ID with
    C(GET /v1/clustergroups/{clustergroupid}).
  - The module only reads; it never changes anything.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ucs_cloud.fleet.connection
  - ucs_cloud.fleet.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads, in check mode as in a normal run.
  diff_mode:
    support: none
  idempotent:
    support: full
  safe_file_operations:
    support: N/A
    details: Writes no file.
  platform:
    platforms: posix
options:
  fleet_id:
    description:
      - ID of the fleet to describe. Not set (and no O(fleet_name)) means every fleet.
      - Mutually exclusive with O(fleet_name).
    type: str
    aliases: [clustergroup_id]
  fleet_name:
    description:
      - Name of the fleet to describe, compared exactly. It must name exactly one fleet; none or
        several is an error that lists the fleets' names and IDs.
      - Mutually exclusive with O(fleet_id).
    type: str
notes:
  - The module runs where the credentials are, usually the controller (C(delegate_to=localhost)).
seealso:
  - module: ucs_cloud.fleet.ucs_federation
  - name: ListClusterGroup API
    description: Obtaining the fleet list.
    link: https://support.huaweicloud.com/intl/en-us/api-ucs/ListClusterGroup.html
requirements:
  - requests
"""

EXAMPLES = r"""
---
- name: List every fleet of the account
  ucs_cloud.fleet.ucs_fleet_info:
  delegate_to: localhost
  register: all_fleets

- name: Show the name and federation state of each fleet
  ansible.builtin.debug:
    msg: "{{ all_fleets.fleets | map(attribute='name') | zip(all_fleets.fleets | map(attribute='federation_enabled')) | list }}"

- name: Look a fleet up by its name
  ucs_cloud.fleet.ucs_fleet_info:
    fleet_name: "{{ fleet_name }}"
  delegate_to: localhost
  register: named_fleet

- name: Use its ID
  ansible.builtin.debug:
    msg: "{{ named_fleet.fleets[0].id }}"

- name: Describe one fleet by ID
  ucs_cloud.fleet.ucs_fleet_info:
    fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
  delegate_to: localhost
"""

RETURN = r"""
fleets:
  description: The fleets asked for (every fleet, or the one named), in the order the API lists them.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The fleet's ID (C(metadata.uid)).
      type: str
      sample: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
    name:
      description: The fleet's name.
      type: str
      sample: production
    description:
      description: The fleet's description, or null.
      type: str
      sample: Production clusters
    federation_enabled:
      description: Whether the fleet has a federation (C(spec.federationId) is set).
      type: bool
      sample: true
    federation_id:
      description: ID of the fleet's federation, or null.
      type: str
      sample: e2f27cc6-82b5-11ee-84e3-0255ac100032
    federation_version:
      description: Version of the federation, or null.
      type: str
      sample: v1.7.0-t1109
    federation_expiration:
      description: Expiration timestamp of the federation as the API gives it, or null.
      type: str
      sample: "2027-11-14T06:20:20Z"
    federation_condition:
      description:
        - The fleet's C(Federation) condition exactly as the API sent it, or null when there is
          none. C(status) is a word such as C(Available), C(Creating), C(Unavailable) or
          C(Deleting).
      type: dict
      sample:
        type: Federation
        status: Available
        reason: FederationAvailable
        message: federation is available
        lastTransitionTime: "2026-12-07T09:14:59Z"
    connect_gateway_endpoints:
      description:
        - The endpoints through which the federation API server is reached (C(spec.connectGatewayEndpoints)),
          as the API sent them; empty without federation.
      type: list
      elements: dict
      sample:
        - type: VPCEP
          name: ucs-federation.5fc05258-f125-48f5-8a0a-a724a37f5ff1
          id: 5fc05258-f125-48f5-8a0a-a724a37f5ff1
          region: ap-southeast-1
"""

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec, unset_blank_values
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._client import ucs_client
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError


def argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    spec = connection_argument_spec()
    spec.update(fleet_id={"type": "str", "aliases": ["clustergroup_id"]}, fleet_name={"type": "str"})
    return spec


def run(module: AnsibleModule) -> t.Dict[str, t.Any]:
    target = lifecycle.check_options(module.params)
    client = ucs_client(module)
    fleets = [lifecycle.read_target(client, target)] if target.fleet_id or target.fleet_name else federation.list_fleets(client)
    return {"changed": False, "fleets": [federation.fleet_facts(fleet) for fleet in fleets]}


def main() -> None:
    spec = argument_spec()
    module = AnsibleModule(argument_spec=spec, mutually_exclusive=[("fleet_id", "fleet_name")], supports_check_mode=True)
    unset_blank_values(module.params, spec)
    try:
        result = run(module)
    except UcsError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
