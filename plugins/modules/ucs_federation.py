#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ucs_federation
short_description: Enable or disable the federation of a UCS fleet, and wait for it
version_added: 0.1.0
description:
  - Enables the federation of a fleet (cluster group) with
    C(POST /v1/clustergroups/{clustergroupid}/federations) when it has none
    (C(spec.federationId) is unset) and no enabling job is running, then waits for the
    enabling job (C(GET .../federations/progress)) until it succeeds, fails, or O(wait_timeout)
    passes.
  - With O(state=absent), disables the federation with
    C(DELETE /v1/clustergroups/{clustergroupid}/federations) when the fleet has one, then waits
    until the fleet has no federation. Disabling removes the federation API server and its
    connections; kubeconfigs issued for it stop working.
  - A job whose phase is a word the module does not know counts as still running; the module
    warns, naming the word. Known words are C(Initializing) and C(Running) (running),
    C(Success) and C(Succeeded) (done), C(Failed) and C(TimedOut) (failed).
  - A job that leads elsewhere (a fleet being disabled when O(state=present), being enabled when
    O(state=absent)) is an error that changes nothing.
  - Each phase seen while waiting is in RV(progress), which C(-v) shows; the last one in RV(phase).
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ucs_cloud.fleet.connection
  - ucs_cloud.fleet.attributes
attributes:
  check_mode:
    support: full
    details: Makes read calls only (the fleet and its job) and predicts whether federation would be enabled or disabled.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A fleet already in the wanted state costs two read calls and no write.
  safe_file_operations:
    support: N/A
    details: Writes no file.
  platform:
    platforms: posix
options:
  fleet_id:
    description:
      - ID of the fleet. Exactly one of O(fleet_id) and O(fleet_name) is required.
    type: str
    aliases: [clustergroup_id]
  fleet_name:
    description:
      - Name of the fleet, compared exactly, resolved through the paged fleet list. None or
        several fleets of that name is an error that lists the fleets' names and IDs.
    type: str
  state:
    description:
      - V(present) enables federation, V(absent) disables it.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until federation is enabled (or disabled) before returning. Also waits for a job
        that was already running toward O(state).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait, 1 to 7200. When they pass, the task fails saying so and naming
        the job's last phase; the job goes on in the cloud, and a later run waits for it again.
    type: int
    default: 600
  wait_sleep:
    description:
      - Seconds between two looks at the job, 1 to 300, at most O(wait_timeout).
    type: int
    default: 5
notes:
  - The module runs where the credentials are, usually the controller (C(delegate_to=localhost)).
  - To obtain a kubeconfig of the federation once it is enabled, use
    M(ucs_cloud.fleet.ucs_federation_cert) or the role P(ucs_cloud.fleet.ucs_kubeconfig#role).
seealso:
  - module: ucs_cloud.fleet.ucs_fleet_info
  - module: ucs_cloud.fleet.ucs_federation_cert
  - name: EnableFederation API
    description: Enabling fleet federation.
    link: https://support.huaweicloud.com/intl/en-us/api-ucs/EnableFederation.html
  - name: ShowFederationProgress API
    description: Querying federation enabling progress.
    link: https://support.huaweicloud.com/intl/en-us/api-ucs/ShowFederationProgress.html
requirements:
  - requests
"""

EXAMPLES = r"""
---
- name: Enable the federation of a fleet and wait for it
  ucs_cloud.fleet.ucs_federation:
    fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
  delegate_to: localhost
  register: federation

- name: Show the phases the enabling job went through
  ansible.builtin.debug:
    var: federation.progress

- name: Enable it by the fleet's name, waiting up to 20 minutes
  ucs_cloud.fleet.ucs_federation:
    fleet_name: "{{ fleet_name }}"
    wait_timeout: 1200
    wait_sleep: 10
  delegate_to: localhost

- name: Disable the federation of a retired fleet
  ucs_cloud.fleet.ucs_federation:
    fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
action:
  description: V(enable) or V(disable) when the module asked for it (or would, in check mode); null when nothing was to change.
  returned: always
  type: str
  sample: enable
reason:
  description: What the module found before acting.
  returned: always
  type: str
  sample: federation is not enabled
phase:
  description:
    - The phase of the fleet's federation job as last seen (for example V(Success)), or null
      when no job was seen (a fleet that never had one, or O(wait=false) after starting it).
  returned: always
  type: str
  sample: Success
progress:
  description:
    - What was seen while waiting, one entry per change. Empty when the module did not wait.
  returned: always
  type: list
  elements: dict
  contains:
    elapsed:
      description: Seconds since the wait began.
      type: float
      sample: 10.0
    phase:
      description: The job's phase, or null when no job (of this change) was visible yet.
      type: str
      sample: Running
    sub_jobs:
      description: The phase of each sub-job, by type.
      type: dict
      sample: {"InstallFederationChart": "Success", "CreateNetworkResource": "Running"}
    condition:
      description: The status word of the fleet's Federation condition, lower case, or null.
      type: str
      sample: creating
  sample:
    - {"elapsed": 0.0, "phase": "Initializing", "sub_jobs": {}, "condition": null}
    - {"elapsed": 5.0, "phase": "Running", "sub_jobs": {"CreateCert": "Running"}, "condition": null}
    - {"elapsed": 65.1, "phase": "Success", "sub_jobs": {"CreateCert": "Success"}, "condition": "available"}
fleet:
  description:
    - The fleet as last read, with the keys M(ucs_cloud.fleet.ucs_fleet_info) returns for each
      fleet (RV(ucs_cloud.fleet.ucs_fleet_info#module:fleets)). After a wait it shows the new state.
  returned: always
  type: dict
  contains:
    id:
      description: The fleet's ID.
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
      description: The fleet's C(Federation) condition exactly as the API sent it, or null.
      type: dict
      sample: {"type": "Federation", "status": "Available", "reason": "FederationAvailable"}
    connect_gateway_endpoints:
      description: The endpoints of the federation API server, as the API sent them.
      type: list
      elements: dict
      sample: [{"type": "VPCEP", "name": "ucs-federation.5fc05258", "id": "5fc05258-f125-48f5-8a0a-a724a37f5ff1", "region": "ap-southeast-1"}]
"""

import time
import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _lifecycle as lifecycle
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec, unset_blank_values
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._client import ucs_client
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError


def argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    spec = connection_argument_spec()
    spec.update(
        fleet_id={"type": "str", "aliases": ["clustergroup_id"]},
        fleet_name={"type": "str"},
        state={"type": "str", "choices": [lifecycle.PRESENT, lifecycle.ABSENT], "default": lifecycle.PRESENT},
        wait={"type": "bool", "default": True},
        wait_timeout={"type": "int", "default": lifecycle.DEFAULT_WAIT_TIMEOUT},
        wait_sleep={"type": "int", "default": lifecycle.DEFAULT_WAIT_SLEEP},
    )
    return spec


def run(module: AnsibleModule) -> t.Dict[str, t.Any]:
    params = module.params
    target = lifecycle.check_options(params)
    lifecycle.check_wait_options(params)
    client = ucs_client(module)
    fleet = lifecycle.read_target(client, target)
    fleet_id = federation.fleet_id_of(fleet) or t.cast(str, target.fleet_id)
    document = federation.read_federation_progress(client, fleet_id)
    job = federation.job_state(document) if document is not None else None
    decision = lifecycle.decide(params["state"], fleet, job)
    result = {
        "changed": decision.action is not None,
        "action": decision.action,
        "reason": decision.reason,
        "phase": job.phase if job is not None else None,
        "progress": [],
        "fleet": federation.fleet_facts(fleet),
    }  # type: t.Dict[str, t.Any]
    if module.check_mode:
        return result
    if decision.action == "enable":
        federation.enable_federation(client, fleet_id)
        result["phase"] = None
    elif decision.action == "disable":
        federation.disable_federation(client, fleet_id)
        result["phase"] = None
    if not (decision.wait and params["wait"]):
        return result
    # The job seen before our call is not ours: until a new one shows up, progress may still answer it.
    previous = document if decision.action else None
    waiter = lifecycle.Waiter(client, fleet, previous, timeout=params["wait_timeout"], interval=params["wait_sleep"], sleep=time.sleep, clock=time.monotonic)
    try:
        outcome = waiter.enabled() if params["state"] == lifecycle.PRESENT else waiter.disabled()
    except (lifecycle.UcsFederationJobError, lifecycle.UcsWaitTimeoutError) as exc:
        for warning in waiter.warnings:
            module.warn(warning)
        last = waiter.job.phase if waiter.job is not None else None
        module.fail_json(**exc.to_fail_kwargs(), **dict(result, phase=last, progress=waiter.progress, fleet=federation.fleet_facts(waiter.fleet)))
    for warning in outcome.warnings:
        module.warn(warning)
    result.update(phase=outcome.phase, progress=outcome.progress, fleet=federation.fleet_facts(outcome.fleet))
    return result


def main() -> None:
    spec = argument_spec()
    module = AnsibleModule(
        argument_spec=spec,
        mutually_exclusive=[("fleet_id", "fleet_name")],
        required_one_of=[("fleet_id", "fleet_name")],
        supports_check_mode=True,
    )
    unset_blank_values(module.params, spec)
    try:
        result = run(module)
    except UcsError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
