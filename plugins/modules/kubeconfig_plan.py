#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation of the action plugin plugins/action/kubeconfig_plan.py (no module code).

DOCUMENTATION = r"""
module: kubeconfig_plan
short_description: Decide what a host's kubeconfig needs (step of the ucs_kubeconfig role)
version_added: 0.1.0
description:
  - The first step of the P(ucs_cloud.fleet.ucs_kubeconfig#role) role, run for every host.
    It reads the role's C(ucs_kubeconfig_*) variables, which are the options of
    M(ucs_cloud.fleet.ucs_federation_cert) under the role's names, checks them by the module's
    argument spec and rules, reads the kubeconfig on the target with
    M(ucs_cloud.fleet.kubeconfig_file_info), which also compares its mode, owner and group there,
    and decides on the controller, with the module's own planner, whether the file must be
    written and whether that needs a new certificate.
  - Warns about a C(ucs_kubeconfig_*) variable that the role does not know, naming the closest
    known one, and refuses the C(free) and C(host_pinned) strategies, under which each host
    would download a certificate of its own.
  - C(~) in C(ucs_kubeconfig_path) is resolved once, on the target, from the HOME of the process
    that reads the file; RV(path) is that absolute path, which the role then writes.
  - A bad setting fails the host with a message that names the variable and the rule.
  - The result of a host whose file must be written carries the file's content to the write
    step, base64-encoded in C(content) (so that the file is read only once more, under the
    lock), and is then C(no_log). Every other result holds no key material.
  - When the tags of the run leave out the write step, nothing is to be written or downloaded,
    and C(msg) says so.
  - Takes no options; it reads the role's variables, so that a task running it outside the role
    sets those the role's defaults would give (see the example).
  - Alone, it is a read-only audit of which hosts need a new kubeconfig and why (RV(reason)),
    with no API call, no credentials and no write.
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ucs_cloud.fleet.attributes.role_step
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
options: {}
seealso:
  - module: ucs_cloud.fleet.kubeconfig_install
  - module: ucs_cloud.fleet.kubeconfig_fetch
"""

EXAMPLES = r"""
---
# Alone, kubeconfig_plan is a read-only audit: it reads each host's kubeconfig and says what the
# role ucs_cloud.fleet.ucs_kubeconfig would do there, with no API call, no credentials and no
# write. It reads the role's variables; outside the role, set those the role's defaults give.
- name: Read each host's kubeconfig and decide what it needs
  ucs_cloud.fleet.kubeconfig_plan:
  vars:
    ucs_kubeconfig_fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
    ucs_kubeconfig_vpc_id: 11c9fe72-5a90-4295-bcfe-774726fb9066
    ucs_kubeconfig_path: ~/.kube/config
    ucs_kubeconfig_mode: "0600"
    ucs_kubeconfig_dir_mode: "0700"
    ucs_kubeconfig_duration: 365
    ucs_kubeconfig_set_current_context: true
    ucs_kubeconfig_backup: false
    ucs_kubeconfig_standalone: false
    ucs_kubeconfig_controller: localhost
  register: kubeconfig_audit

- name: Say which hosts need a new kubeconfig, and why
  ansible.builtin.debug:
    msg: >-
      {{ kubeconfig_audit.path }}:
      {{ kubeconfig_audit.reason if kubeconfig_audit.needs_write else 'right, its certificate expires ' ~ kubeconfig_audit.not_after }}
      {{ '(needs a new certificate)' if kubeconfig_audit.needs_fetch else '' }}
"""

RETURN = r"""
path:
  description: The kubeconfig's absolute path on the target, C(~) resolved there.
  returned: success
  type: str
  sample: /home/ops/.kube/config
fleet:
  description: The fleet and VPC whose download the host needs, as C(<fleet id>/<vpc id>).
  returned: success
  type: str
needs_write:
  description: Whether the file must be written (entries, mode, owner or group).
  returned: success
  type: bool
needs_fetch:
  description: Whether that needs a new certificate (one API call per fleet).
  returned: success
  type: bool
needs_entries:
  description: Whether the fleet's entries must be written; false when only attributes drifted.
  returned: success
  type: bool
reason:
  description: Why the file must be written, or null.
  returned: success
  type: str
not_after:
  description: Expiry of the fleet's client certificate in the file, when its entries are valid.
  returned: success
  type: str
exists:
  description: Whether the file exists.
  returned: success
  type: bool
checksum:
  description: SHA-256 of the file that was read, or null; the write step writes only if the file still has it.
  returned: when RV(needs_write) is true
  type: str
written:
  description:
    - Always false. Returned by a host whose plan needs no write, where the role ends (its write
      step is included only where it writes); the role registers this result as
      C(ucs_kubeconfig_result) and shows it at every verbosity.
  returned: when RV(needs_write) is false
  type: bool
host:
  description: The inventory name of the host.
  returned: success
  type: str
notes:
  description: Warnings for the write step to show (a renewal, a mode that gives others access).
  returned: when RV(needs_write) is true
  type: list
  elements: str
diff:
  description: What a write would change, redacted (mode, owner, group and a summary of the fleet's entries); never key material.
  returned: when RV(needs_write) is true
  type: dict
fetch_args:
  description: The options of M(ucs_cloud.fleet.ucs_federation_cert) that the host's variables set; no secret.
  returned: when RV(needs_write) is true
  type: dict
"""
