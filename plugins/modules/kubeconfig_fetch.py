#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation of the action plugin plugins/action/kubeconfig_fetch.py (no module code).

DOCUMENTATION = r"""
module: kubeconfig_fetch
short_description: Download a fleet's kubeconfig for the ucs_kubeconfig role
version_added: 0.1.0
description:
  - The download step of the P(ucs_cloud.fleet.ucs_kubeconfig#role) role, run once per fleet
    and VPC on the controller. Runs M(ucs_cloud.fleet.ucs_federation_cert) with
    C(return_content=true).
  - The module gets exactly the options that are set, highest first, the role's variables,
    C(module_defaults) for C(group/ucs_cloud.fleet.ucs) (this action belongs to that group), then
    the module's environment variables.
  - A download made earlier in the run with the same options (an earlier C(serial) batch, or an
    earlier run of the role in the playbook) is used again, with no API call, while its
    certificate is not due for renewal, so the run asks for one certificate per fleet.
  - A failed download fails this item, naming the fleet, its hosts and the cause; the role
    ignores the failure here and fails the hosts of that fleet only, in its write step.
  - A result that carries the kubeconfig is C(no_log).
  - Internal to the role.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ucs_cloud.fleet.attributes.role_step
  - ucs_cloud.fleet.connection
attributes:
  check_mode:
    support: full
    details: The module makes read calls only and returns no kubeconfig.
  diff_mode:
    support: none
options:
  plan:
    description:
      - The result of M(ucs_cloud.fleet.kubeconfig_plan) of the fleet's first host that needs it.
    type: dict
    required: true
  hosts:
    description:
      - The hosts that need this download, named in its messages.
    type: list
    elements: str
    default: []
  earlier:
    description:
      - Results of earlier runs of this step in the playbook; one with the same options whose
        certificate is not due for renewal is used instead of a new download.
    type: list
    elements: raw
    default: []
seealso:
  - module: ucs_cloud.fleet.ucs_federation_cert
"""

EXAMPLES = r"""
---
# kubeconfig_fetch is the download step of the role ucs_cloud.fleet.ucs_kubeconfig. It belongs to
# the action group ucs_cloud.fleet.ucs, so module_defaults of that group reach the role's download
# as they reach ucs_cloud.fleet.ucs_federation_cert (the role's variables, when set, win).
- name: Install the fleet kubeconfig, the connection set once for every UCS task
  ansible.builtin.import_role:
    name: ucs_cloud.fleet.ucs_kubeconfig
  vars:
    ucs_kubeconfig_fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
    ucs_kubeconfig_project_id: 08d44be1ef00d22e2f6fc0061f54a2f1
    ucs_kubeconfig_vpc_id: 11c9fe72-5a90-4295-bcfe-774726fb9066
    ucs_kubeconfig_subnet_id: 0de91d89-1e06-4e24-b371-35d5d3d3779b
  module_defaults:
    group/ucs_cloud.fleet.ucs:
      endpoint: "{{ ucs_endpoint }}"
      timeout: 60
      retries: 5
"""

RETURN = r"""
fleet:
  description: The fleet and VPC, as C(<fleet id>/<vpc id>).
  returned: always
  type: str
hosts:
  description: The hosts that need this download.
  returned: always
  type: list
  elements: str
fetch_args:
  description: The options the download was made with (no secret); a later run uses it again only for the same ones.
  returned: always
  type: dict
reused:
  description: Whether the kubeconfig is an earlier download of the run, used again without an API call.
  returned: success
  type: bool
kubeconfig:
  description: The fleet's kubeconfig (YAML). Holds the client key; the result is then C(no_log).
  returned: when the download succeeded, outside check mode
  type: str
not_before:
  description: When the client certificate of the downloaded kubeconfig became valid (ISO 8601, UTC).
  returned: when the download succeeded, outside check mode
  type: str
  sample: "2026-03-01T02:00:00Z"
not_after:
  description: When the client certificate of the downloaded kubeconfig expires (ISO 8601, UTC).
  returned: when the download succeeded, outside check mode
  type: str
  sample: "2027-03-01T02:00:00Z"
"""
