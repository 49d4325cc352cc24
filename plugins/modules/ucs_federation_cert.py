#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ucs_federation_cert
short_description: Obtain a validated kubeconfig for the federation API server of a UCS fleet
version_added: 0.1.0
description:
  - Creates the federation connection of a UCS fleet (a VPC endpoint to its Karmada federation
    API server) and downloads a kubeconfig for it with
    C(POST /v1/clustergroups/{clustergroupid}/cert).
  - Idempotent from observed state. While O(dest) holds a valid kubeconfig of this fleet (same
    fleet and VPC, client key matching its certificate, not expiring within O(renew_before) days)
    and O(force) is off, the module makes no API call at all.
  - Otherwise it reads the fleet, fails with guidance when federation is not enabled, then calls
    the API once. The cloud reuses the VPC endpoint already created for the same VPC and issues a
    new client certificate.
  - Every kubeconfig is validated before it is written or returned. A bad answer is an error and
    O(dest) is left as it was.
  - The kubeconfig is stamped with the fleet and VPC IDs (a C(ucs_cloud.fleet) cluster extension,
    which kubectl keeps), so later runs can tell which fleet a file belongs to.
  - Key material is never part of the result unless O(return_content=true).
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
  - ucs_cloud.fleet.connection
  - ucs_cloud.fleet.attributes
attributes:
  check_mode:
    support: full
    details: Makes read calls only (the fleet's details) and predicts RV(changed) exactly.
  diff_mode:
    support: full
    details: Shows a summary of the kubeconfig before and after (server, fleet, validity); key material is never shown.
  idempotent:
    support: full
    details: Needs O(dest); without it every run downloads a new kubeconfig.
  safe_file_operations:
    support: full
  platform:
    platforms: posix
options:
  fleet_id:
    description:
      - ID of the fleet (cluster group) whose federation API server to connect to.
    type: str
    required: true
    aliases: [clustergroup_id]
  project_id:
    description:
      - ID of the project that owns O(vpc_id). Required when a connection must be created.
      - If not set, the value of E(HUAWEICLOUD_SDK_PROJECT_ID) or E(OS_PROJECT_ID) is used.
    type: str
  vpc_id:
    description:
      - ID of the VPC in which the endpoint to the federation API server is created.
        Required when a connection must be created.
      - When set, a kubeconfig at O(dest) issued for another VPC is replaced.
    type: str
  subnet_id:
    description:
      - ID of the subnet of O(vpc_id) for the endpoint. Required when a connection must be created.
    type: str
  duration:
    description:
      - Validity of the client certificate, in days, from 1 to 1825.
    type: int
    default: 365
  dest:
    description:
      - Where to keep the kubeconfig on the host that runs the module.
      - Written atomically; mode V(0600) unless O(mode) says otherwise. The directory must exist.
      - The file holds only this fleet. To merge the fleet into an existing kubeconfig, use the
        P(ucs_cloud.fleet.ucs_kubeconfig#role) role.
      - Without O(dest) every run calls the API.
    type: path
  renew_before:
    description:
      - An existing kubeconfig at O(dest) whose client certificate is valid for longer than this
        many days is kept without any API call; otherwise a new one is downloaded.
      - Must be smaller than O(duration).
    type: int
    default: 30
  force:
    description:
      - Always download a fresh kubeconfig, even when the one at O(dest) is still valid.
    type: bool
    default: false
  return_content:
    description:
      - Return the kubeconfig (YAML text) in RV(kubeconfig).
      - It carries the client key, so the task must set C(no_log=true); the module refuses
        otherwise.
    type: bool
    default: false
  backup:
    description:
      - Keep a copy of the previous O(dest), with its restricted mode, before replacing it.
    type: bool
    default: false
notes:
  - The module runs where the credentials are, usually the controller (C(delegate_to=localhost)).
    It needs the Python packages C(requests), C(cryptography) and C(PyYAML) there.
  - Retries and renewals are reported as warnings, so a long run is never silent.
seealso:
  - name: CreateFederationCert API
    description: Creating a federation connection and downloading kubeconfig.
    link: https://support.huaweicloud.com/intl/en-us/api-ucs/CreateFederationCert.html
  - module: ansible.builtin.copy
requirements:
  - cryptography
  - PyYAML
"""

EXAMPLES = r"""
---
- name: Keep a kubeconfig of the fleet's federation API server on the controller
  ucs_cloud.fleet.ucs_federation_cert:
    fleet_id: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
    project_id: 08d44be1ef00d22e2f6fc0061f54a2f1
    vpc_id: 11c9fe72-5a90-4295-bcfe-774726fb9066
    subnet_id: 0de91d89-1e06-4e24-b371-35d5d3d3779b
    duration: 90
    renew_before: 14
    dest: ~/.kube/ucs-fleet.yaml
  delegate_to: localhost

- name: Set the credentials once for every module of the collection
  module_defaults:
    group/ucs_cloud.fleet.ucs:
      access_key: "{{ ucs_access_key }}"
      secret_key: "{{ ucs_secret_key }}"
      domain_id: "{{ ucs_domain_id }}"
  block:
    - name: Obtain the kubeconfig with AK/SK credentials
      ucs_cloud.fleet.ucs_federation_cert:
        fleet_id: "{{ fleet_id }}"
        project_id: "{{ project_id }}"
        vpc_id: "{{ vpc_id }}"
        subnet_id: "{{ subnet_id }}"
        dest: /etc/ucs/federation.kubeconfig
        owner: root
        group: root
        mode: "0600"
        backup: true

- name: Use IAM password authentication (Open Telekom Cloud style variables work too)
  ucs_cloud.fleet.ucs_federation_cert:
    fleet_id: "{{ fleet_id }}"
    project_id: "{{ project_id }}"
    vpc_id: "{{ vpc_id }}"
    subnet_id: "{{ subnet_id }}"
    username: "{{ iam_user }}"
    password: "{{ iam_password }}"
    domain_name: "{{ iam_domain }}"
    iam_endpoint: https://iam.eu-de.otc.t-systems.com/v3
    endpoint: "{{ ucs_endpoint }}"
    dest: ~/.kube/ucs-fleet.yaml

- name: Get the kubeconfig into a variable without writing a file
  ucs_cloud.fleet.ucs_federation_cert:
    fleet_id: "{{ fleet_id }}"
    project_id: "{{ project_id }}"
    vpc_id: "{{ vpc_id }}"
    subnet_id: "{{ subnet_id }}"
    return_content: true
  delegate_to: localhost
  no_log: true
  register: federation
"""

RETURN = r"""
changed:
  description: Whether a kubeconfig was (or in check mode, would be) downloaded or O(dest) changed.
  returned: always
  type: bool
connection_created:
  description:
    - Whether the module called the API that creates the federation connection (the cloud
      reuses the endpoint of the same VPC).
  returned: always
  type: bool
  sample: true
kubeconfig_downloaded:
  description: Whether a new kubeconfig (and client certificate) was obtained.
  returned: always
  type: bool
  sample: true
reason:
  description: Why a new kubeconfig was needed, or null when the one in hand was kept.
  returned: always
  type: str
  sample: the kubeconfig at dest expires on 2026-12-12T10:00:00Z (within 30 days)
fleet_id:
  description: The fleet.
  returned: always
  type: str
  sample: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
server:
  description: URL of the federation API server in the kubeconfig.
  returned: when a kubeconfig is in hand (not in check mode before the first download)
  type: str
  sample: https://192.168.0.10:5443
current_context:
  description: The kubeconfig's current context.
  returned: when a kubeconfig is in hand
  type: str
  sample: fleet-federated
not_before:
  description: Start of the client certificate's validity (ISO 8601, UTC).
  returned: when a kubeconfig is in hand
  type: str
  sample: "2026-11-29T02:00:00Z"
not_after:
  description: Expiry of the client certificate (ISO 8601, UTC).
  returned: when a kubeconfig is in hand
  type: str
  sample: "2027-11-29T02:00:00Z"
dest:
  description: Path of the kubeconfig file.
  returned: when O(dest) is set
  type: str
  sample: /root/.kube/ucs-fleet.yaml
backup_file:
  description: Name of the backup file.
  returned: when O(backup=true) and a previous O(dest) was replaced
  type: str
  sample: /root/.kube/ucs-fleet.yaml.12345.2026-11-29@02:00:00~
kubeconfig:
  description: The kubeconfig as YAML text, including the client key.
  returned: when O(return_content=true) and a kubeconfig is in hand
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files as files
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http as http
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec, unset_blank_values
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import resolve_credentials
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError, UcsValidationError


def argument_spec() -> dict:
    spec = connection_argument_spec()
    spec.update(
        fleet_id={"type": "str", "required": True, "aliases": ["clustergroup_id"]},
        project_id={"type": "str", "fallback": (env_fallback, ["HUAWEICLOUD_SDK_PROJECT_ID", "OS_PROJECT_ID"])},
        vpc_id={"type": "str"},
        subnet_id={"type": "str"},
        duration={"type": "int", "default": 365},
        dest={"type": "path"},
        renew_before={"type": "int", "default": 30},
        force={"type": "bool", "default": False},
        return_content={"type": "bool", "default": False},
        backup={"type": "bool", "default": False},
    )
    return spec


def run(module: AnsibleModule, now: datetime.datetime) -> dict:
    params = module.params
    request = federation.validate_request(params)
    credentials = resolve_credentials(params)
    dest = params["dest"]
    final_mode = files.check_mode_option(params["mode"])
    if final_mode is None and params["mode"] is None:
        final_mode = files.DEFAULT_MODE
    if params["return_content"] and not module.no_log:
        raise UcsValidationError("return_content=true returns the client key: set no_log: true on the task")
    if dest:
        files.check_dest(dest)
    if not params["validate_certs"]:
        module.warn("validate_certs is false: the identity of the UCS endpoint is not checked. Use this for testing only.")

    existing = files.read_text(dest) if dest else None
    decision = federation.plan(existing, request, now) if dest else federation.Plan(True, "no dest is set", None)
    result: dict = {"changed": False, "connection_created": False, "kubeconfig_downloaded": False, "reason": decision.reason, "fleet_id": request.fleet_id}
    before = kubeconfig.summary(decision.current) if decision.current else {}
    info = decision.current
    new_text = None

    if decision.fetch:
        federation.require_connection_ids(request)
        client = http.UcsClient(
            params["endpoint"],
            credentials,
            validate_certs=params["validate_certs"],
            ca_path=params["ca_path"],
            timeout=params["timeout"],
            retries=params["retries"],
            on_retry=module.warn,
        )
        federation.check_federation(federation.read_fleet(client, request), request.fleet_id)
        result["changed"] = True
        if decision.current is not None:
            module.warn(f"Renewing the federation kubeconfig of fleet {request.fleet_id}: {decision.reason}")
        if not module.check_mode:
            answer = federation.create_federation_cert(client, request)
            result["connection_created"] = True
            config, info = federation.accept_kubeconfig(answer, request, now)
            result["kubeconfig_downloaded"] = True
            if not params["return_content"]:
                # Defence in depth: even an accidental echo of these values is masked.
                module.no_log_values.update(kubeconfig.sensitive_values(config))
            for warning in info.warnings:
                module.warn(warning)
            new_text = kubeconfig.dump_kubeconfig(config)
            if dest:
                backup_file = files.write_atomically(module, dest, new_text.encode("utf-8"), params["backup"], final_mode)
                if backup_file:
                    result["backup_file"] = backup_file

    if dest:
        result["dest"] = dest
        if not decision.fetch or not module.check_mode:
            file_args = module.load_file_common_arguments(params, path=dest)
            if file_args["mode"] is None:
                file_args["mode"] = final_mode
            result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
        if params["return_content"] and new_text is None and existing is not None and not decision.fetch:
            new_text = existing

    if info is not None:
        summary = kubeconfig.summary(info)
        result.update({key: summary[key] for key in ("server", "current_context", "not_before", "not_after")})
    if params["return_content"] and new_text is not None:
        result["kubeconfig"] = new_text
    if module._diff:
        if not decision.fetch:
            after = before
        elif module.check_mode:
            after = {"fleet_id": request.fleet_id, "vpc_id": request.vpc_id, "certificate": f"new, valid for {request.duration} days"}
        else:
            after = kubeconfig.summary(info)
        label = dest or "kubeconfig"
        result["diff"] = {"before": before, "after": after, "before_header": label, "after_header": label}
    return result


def main() -> None:
    spec = argument_spec()
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, add_file_common_args=True)
    unset_blank_values(module.params, spec)
    for name, error in (
        ("requests", http.REQUESTS_IMPORT_ERROR),
        ("cryptography", kubeconfig.cryptography_import_error()),
        ("PyYAML", kubeconfig.YAML_IMPORT_ERROR),
    ):
        if error is not None:
            module.fail_json(msg=missing_required_lib(name), exception=error)
    try:
        result = run(module, datetime.datetime.now(datetime.timezone.utc))
    except UcsError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
