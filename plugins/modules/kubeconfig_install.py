#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation of the action plugin plugins/action/kubeconfig_install.py (no module code).

DOCUMENTATION = r"""
module: kubeconfig_install
short_description: Merge a fleet's entries into a host's kubeconfig, write it safely, report the host
version_added: 0.1.0
description:
  - The write step of the P(ucs_cloud.fleet.ucs_kubeconfig#role) role, run for the hosts whose
    plan writes; its result is then the role's report of the host, shown at every verbosity and
    registered as C(ucs_kubeconfig_result). Elsewhere the plan's result is that report, the one
    this step gives for a plan that needs no write.
  - Merges the fleet's entries, on the controller, into the file as
    M(ucs_cloud.fleet.kubeconfig_plan) read it, and writes through
    M(ucs_cloud.fleet.kubeconfig_file) under kubectl's lock file, only if the file still has the
    checksum the plan read. When another writer changed it meanwhile, the merge is made again on
    the fresh file (at most 5 times, as M(ucs_cloud.fleet.ucs_federation_cert) does), so no
    writer's entries are lost.
  - Hosts that need only new attributes, or only a rewrite of their own entries (namespace,
    current context), need no download.
  - The result holds no key material; C(--diff) shows mode, owner, group and a summary of the
    fleet's entries, never the content.
  - Internal to the role.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ucs_cloud.fleet.attributes.role_step
attributes:
  check_mode:
    support: full
    details: Writes nothing and reports as changed exactly the hosts that a real run would change.
  diff_mode:
    support: full
    details: Mode, owner, group and a summary of the fleet's entries (server, names, validity) before and after; never the content.
options:
  plan:
    description: The result of M(ucs_cloud.fleet.kubeconfig_plan) for this host.
    type: dict
    required: true
  fetched:
    description: The results of M(ucs_cloud.fleet.kubeconfig_fetch) (its loop's C(results)).
    type: list
    elements: raw
    default: []
seealso:
  - module: ucs_cloud.fleet.kubeconfig_file
"""

EXAMPLES = r"""
---
# kubeconfig_install is the write step of the role ucs_cloud.fleet.ucs_kubeconfig. In check mode it
# writes nothing and reports as changed exactly the hosts that a real run would write, with the
# reason; with diff, their mode, owner, group and fleet entries before and after (never the content).
- name: Preview which hosts would get a new kubeconfig, renewing certificates that expire within 30 days
  ansible.builtin.include_role:
    name: ucs_cloud.fleet.ucs_kubeconfig
    apply:
      check_mode: true
      diff: true
  vars:
    ucs_kubeconfig_fleet_id: "{{ fleet_id }}"
    ucs_kubeconfig_project_id: "{{ project_id }}"
    ucs_kubeconfig_vpc_id: "{{ vpc_id }}"
    ucs_kubeconfig_subnet_id: "{{ subnet_id }}"
    ucs_kubeconfig_renew_before: 30

- name: Say when each host's certificate expires
  ansible.builtin.debug:
    msg: "{{ ucs_kubeconfig_result.path }}: {{ ucs_kubeconfig_result.not_after | default('no certificate', true) }}"
"""

RETURN = r"""
path:
  description: The kubeconfig's absolute path on the target.
  returned: always
  type: str
reason:
  description: Why the file was (or would be) written, or null when it was right.
  returned: always
  type: str
not_after:
  description: Expiry of the client certificate in the file after the run (ISO 8601, UTC); null for a token user.
  returned: always
  type: str
  sample: "2027-12-01T02:00:00Z"
written:
  description: Whether the file was written.
  returned: always
  type: bool
backup_file:
  description: The backup of the previous content, with C(ucs_kubeconfig_backup=true).
  returned: when a backup was made
  type: str
"""
