#!/usr/bin/python
# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: ucs_federation_cert
short_description: Obtain a validated kubeconfig for the federation API server of a UCS fleet
version_added: 0.1.0
description:
  - Creates the federation connection of a UCS fleet (a VPC endpoint to its Karmada federation
    API server) and downloads a kubeconfig for it with
    C(POST /v1/clustergroups/{clustergroupid}/cert).
  - Idempotent from observed state. While O(dest) holds the fleet's entries (same fleet and VPC,
    client key matching its certificate, not due for renewal) and O(force) is off, the module
    makes no API call at all.
  - Otherwise it reads the fleet, fails with guidance when federation is positively off, then
    calls the API once. The cloud reuses the VPC endpoint already created for the same VPC and
    issues a new client certificate.
  - The answer is judged by kubectl's rules and normalised so that kubectl always loads what is
    written (a string C(insecure-skip-tls-verify) becomes a boolean, empty fields are left out,
    CA data together with the insecure flag keeps the CA). An answer kubectl could not use is an
    error and O(dest) is left as it was.
  - The fleet's cluster, user and context are merged into O(dest) under the names O(cluster_name),
    O(user_name) and O(context_name); every other entry of O(dest) is kept, as
    C(kubectl config) does. O(standalone=true) makes O(dest) hold the fleet alone.
  - Writers of O(dest) take kubectl's lock file (C(<dest>.lock)), re-read O(dest) under it and
    replace it atomically, so that concurrent runs and kubectl lose no entry.
  - The cluster is stamped with the fleet and VPC IDs (a C(ucs_cloud.fleet) cluster extension,
    which kubectl keeps), so later runs can tell which fleet the entries belong to.
  - Key material is never part of the result unless O(return_content=true).
  - To install the fleet's kubeconfig on many hosts with one API call per fleet, use the role
    P(ucs_cloud.fleet.ucs_kubeconfig#role).
author:
  - UCS Cloud Fleet maintainers (@ucs-cloud-fleet)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ucs_cloud.fleet.connection
  - ucs_cloud.fleet.attributes
attributes:
  action:
    support: full
    details:
      - A run whose O(dest) is already right is decided on the controller, in the host's worker. The
        action reads O(dest) with M(ucs_cloud.fleet.kubeconfig_file_info) and returns this module's
        own result, without shipping the module's HTTP, signing and writing code to the target.
      - It does so on a local connection without become or a task C(environment), when the target
        runs the controller's own Python (so the module's environment variables and its Python
        packages are the controller's). Every other run, and every run that writes, downloads or
        fails, runs this module.
  async:
    support: full
    details: An C(async) task always runs the module.
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Makes read calls only (the fleet's details) and predicts exactly whether anything would change.
  diff_mode:
    support: full
    details: Shows a summary of the fleet's entries before and after (server, fleet, validity); key material is never shown.
  idempotent:
    support: full
    details: Needs O(dest); without it every run downloads a new kubeconfig.
  safe_file_operations:
    support: full
  platform:
    platforms: posix
options:
  state:
    description:
      - V(present) keeps the fleet's entries in O(dest), downloading a kubeconfig when they are
        missing, unusable or due for renewal.
      - V(absent) takes the fleet's cluster, user and context out of O(dest), with no API call and
        no credentials. They are found by their names (O(cluster_name), O(user_name),
        O(context_name)) and by the C(ucs_cloud.fleet) stamp; a context that uses one of the
        fleet's clusters goes too, and a user goes unless a context that stays uses it. Every
        other entry is left byte for byte as it was (the file is edited where the entries are),
        a current context of the fleet's is unset, and a file that held nothing else is removed.
        Needs O(dest).
    type: str
    choices: [present, absent]
    default: present
  fleet_id:
    description:
      - ID of the fleet (cluster group) whose federation API server to connect to.
      - One of O(fleet_id) and O(fleet_name) is required; they are mutually exclusive.
    type: str
    aliases: [clustergroup_id]
  fleet_name:
    description:
      - Name of the fleet, instead of O(fleet_id). It is looked up in the account's paged fleet
        list (C(GET /v1/clustergroups)) when a kubeconfig must be downloaded; none or several
        fleets of that name is an error that lists the candidates' names and IDs.
      - The stamp of the fleet's entries records the name with the ID, so a run whose O(dest) is
        right makes no API call, as with O(fleet_id).
      - The entries' default names are then C(ucs-fleet-<fleet_name>).
    type: str
  project_id:
    description:
      - ID of the project that owns O(vpc_id). Required with O(vpc_id) and O(subnet_id).
      - If not set, the value of E(HUAWEICLOUD_SDK_PROJECT_ID) or E(OS_PROJECT_ID) is used. A
        project ID alone names no VPC and does not select the path that creates a connection.
    type: str
  vpc_id:
    description:
      - ID of the VPC in which the endpoint to the federation API server is created (or reused),
        with C(POST /v1/clustergroups/{id}/cert); then O(project_id) and O(subnet_id) are required
        too, and a missing one is named before any call.
      - When O(vpc_id) and O(subnet_id) are both omitted, the kubeconfig comes from the fleet's
        existing connection (made in the console, say) with
        C(POST /v1/clustergroups/{id}/kubeconfig); the stamp then names no VPC. When the fleet has
        several connections, which one's endpoint that kubeconfig points at is not documented (see
        the collection's docs/fidelity.md); name the VPC to choose.
      - When set, entries at O(dest) issued for another VPC are replaced.
    type: str
  subnet_id:
    description:
      - ID of the subnet of O(vpc_id) for the endpoint. Required with O(vpc_id).
    type: str
  duration:
    description:
      - Validity of the client certificate, in days, from 1 to 1825. The cloud may issue a shorter
        one; the module then warns and RV(not_after) gives the real expiry.
    type: int
    default: 365
  renew_before:
    description:
      - Entries at O(dest) whose client certificate is valid for longer than this many days are
        kept without any API call; otherwise a new certificate is downloaded.
      - If not set, a third of the certificate's lifetime, at most 30 days (renewal after two
        thirds of the lifetime, as cert-manager does). Must be smaller than O(duration).
      - A user that authenticates with a token has no expiry to read; its entries are renewed
        only with O(force).
    type: int
  dest:
    description:
      - The kubeconfig file to keep the fleet's entries in, on the host that runs the module.
        Its directory is created (mode O(dir_mode)) when missing, as kubectl does for C(~/.kube).
      - Must be a regular file or absent; a link, device, FIFO or directory is refused. A file
        owned by another user than O(owner) (default the running user) is refused.
      - Without O(dest) every run calls the API.
    type: path
  cluster_name:
    description:
      - Name of the fleet's cluster in O(dest). Default C(ucs-fleet-<fleet_id>).
    type: str
  user_name:
    description:
      - Name of the fleet's user in O(dest). Default C(ucs-fleet-<fleet_id>).
    type: str
  context_name:
    description:
      - Name of the fleet's context in O(dest). Default C(ucs-fleet-<fleet_id>).
    type: str
  namespace:
    description:
      - Namespace of the fleet's context, so that kubectl needs no C(-n). Not set means a
        namespace already on the context is kept.
      - An RFC 1123 label, as kubectl requires.
    type: str
  set_current_context:
    description:
      - Make the fleet's context the current context of O(dest). When false, the current context
        is set only when O(dest) has none.
    type: bool
    default: true
  standalone:
    description:
      - Write O(dest) with the fleet's entries only, dropping whatever else it held (also a file
        that is not a kubeconfig at all). By default the fleet is merged into O(dest).
    type: bool
    default: false
  mode:
    description:
      - Permissions of O(dest), as a quoted octal string (V('0600')) or a symbolic mode
        (V(u=rw,go=)). An unquoted YAML integer such as C(600) is refused, since YAML reads it as
        a decimal number.
      - A symbolic mode applies to the mode O(dest) has (V(0600) for a new file), as
        M(ansible.builtin.file) applies it.
      - A file whose mode, owner or group differ is corrected without a new certificate, and
        RV(reason) says how it differed.
      - A mode that gives the group or other users any access warns, since the file holds a private key.
    type: raw
    default: '0600'
  dir_mode:
    description:
      - Permissions of the directories created for O(dest) when they are missing, as O(mode)
        takes them. An existing directory is left as it is.
    type: raw
    default: '0700'
  owner:
    description:
      - Owner of O(dest) (name or UID). Default the user that runs the module. Checked before any
        API call.
    type: str
  group:
    description:
      - Group of O(dest) (name or GID). Default the primary group of the owner. Checked before any
        API call.
    type: str
  backup:
    description:
      - Keep a copy of the previous O(dest), mode V(0600), under an unpredictable name, before
        replacing it.
    type: bool
    default: false
  force:
    description:
      - Always download a fresh kubeconfig, even when the entries at O(dest) are still valid.
    type: bool
    default: false
  return_content:
    description:
      - Return the fleet's kubeconfig (YAML text) in RV(kubeconfig).
      - It carries the client key, so the task must set C(no_log=true); the module refuses
        otherwise.
    type: bool
    default: false
notes:
  - The module runs where the credentials are, usually the controller (C(delegate_to=localhost)).
    It needs the Python packages C(requests), C(cryptography) and C(PyYAML) there.
  - Retries, renewals and anything unusual in the answer are reported as warnings.
seealso:
  - name: CreateFederationCert API
    description: Creating a federation connection and downloading kubeconfig.
    link: https://support.huaweicloud.com/intl/en-us/api-ucs/CreateFederationCert.html
requirements:
  - cryptography
  - PyYAML
  - requests
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
    dest: ~/.kube/config
    namespace: default
  delegate_to: localhost

- name: Set the credentials once for every module of the collection
  module_defaults:
    group/ucs_cloud.fleet.ucs:
      access_key: "{{ ucs_access_key }}"
      secret_key: "{{ ucs_secret_key }}"
      domain_id: "{{ ucs_domain_id }}"
  block:
    - name: Obtain the kubeconfig with AK/SK credentials, as a file of its own
      ucs_cloud.fleet.ucs_federation_cert:
        fleet_id: "{{ fleet_id }}"
        project_id: "{{ project_id }}"
        vpc_id: "{{ vpc_id }}"
        subnet_id: "{{ subnet_id }}"
        dest: /etc/ucs/federation.kubeconfig
        standalone: true
        owner: root
        group: root
        mode: "0600"
        backup: true

- name: Use IAM password authentication (Open Telekom Cloud style variables work too)
  ucs_cloud.fleet.ucs_federation_cert:
    auth_method: password
    fleet_id: "{{ fleet_id }}"
    project_id: "{{ project_id }}"
    vpc_id: "{{ vpc_id }}"
    subnet_id: "{{ subnet_id }}"
    username: "{{ iam_user }}"
    password: "{{ iam_password }}"
    domain_name: "{{ iam_domain }}"
    iam_endpoint: "{{ iam_endpoint }}"
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
connection_created:
  description:
    - Whether the module called the API that creates the federation connection (the cloud
      reuses the endpoint of the same VPC); false when the kubeconfig came from the fleet's
      existing connection.
  returned: always
  type: bool
  sample: true
kubeconfig_downloaded:
  description: Whether a new kubeconfig (and client certificate) was obtained.
  returned: always
  type: bool
  sample: true
reason:
  description: Why O(dest) was (or would be) written, or null when it was right.
  returned: always
  type: str
  sample: cluster 'ucs-fleet-2a9a5b8c' expires on 2026-12-12T10:00:00Z (within 30 days)
fleet_id:
  description: The fleet's ID (found from O(fleet_name) when the fleet was named so and looked up, or read from the stamp).
  returned: always
  type: str
  sample: 2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
fleet_name:
  description: The fleet's name, when it was named by O(fleet_name) (or its stamp records it).
  returned: always
  type: str
  sample: production
server:
  description: URL of the federation API server.
  returned: when the fleet's entries are in hand (not in check mode before the first download)
  type: str
  sample: https://192.168.0.10:5443
context_name:
  description: The fleet's context.
  returned: when the fleet's entries are in hand
  type: str
  sample: ucs-fleet-2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
current_context:
  description: The current context of the kubeconfig.
  returned: when the fleet's entries are in hand
  type: str
  sample: ucs-fleet-2a9a5b8c-6f3e-11ef-8a2b-0255ac100b04
namespace:
  description: The namespace of the fleet's context, or null.
  returned: when the fleet's entries are in hand
  type: str
  sample: default
auth:
  description: How the fleet's user authenticates.
  returned: when the fleet's entries are in hand
  type: str
  sample: client certificate
not_before:
  description: Start of the client certificate's validity (ISO 8601, UTC); null for a token user.
  returned: when the fleet's entries are in hand
  type: str
  sample: "2026-11-29T02:00:00Z"
not_after:
  description: Expiry of the client certificate (ISO 8601, UTC), as issued; null for a token user.
  returned: when the fleet's entries are in hand
  type: str
  sample: "2027-11-29T02:00:00Z"
dest:
  description: Absolute path of the kubeconfig file.
  returned: when O(dest) is set
  type: str
  sample: /root/.kube/config
state:
  description: V(file) when RV(dest) exists after the run, V(absent) when not (in check mode before the first download).
  returned: when O(dest) is set
  type: str
  sample: file
mode:
  description: Permissions of RV(dest), as an octal string.
  returned: when O(dest) is set and the file exists
  type: str
  sample: "0600"
uid:
  description: Numeric owner of RV(dest).
  returned: when O(dest) is set and the file exists
  type: int
  sample: 0
gid:
  description: Numeric group of RV(dest).
  returned: when O(dest) is set and the file exists
  type: int
  sample: 0
owner:
  description: Name of the owner of RV(dest).
  returned: when O(dest) is set and the file exists
  type: str
  sample: root
group:
  description: Name of the group of RV(dest).
  returned: when O(dest) is set and the file exists
  type: str
  sample: root
size:
  description: Size of RV(dest) in bytes.
  returned: when O(dest) is set and the file exists
  type: int
  sample: 5523
backup_file:
  description: Name of the backup file.
  returned: when O(backup=true) and a previous O(dest) was replaced
  type: str
  sample: /root/.kube/config.20261129T020000.3f9a1c2b~
kubeconfig:
  description: The fleet's kubeconfig as YAML text, including the client key.
  returned: when O(return_content=true) and a kubeconfig is in hand
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kubeconfig
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as check
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import federation_cert_argument_spec, unset_blank_values
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._federation_cert import run


def main() -> None:
    spec = federation_cert_argument_spec()
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    unset_blank_values(module.params, spec)
    for name, error in (("cryptography", check.CRYPTOGRAPHY_IMPORT_ERROR), ("PyYAML", kubeconfig.YAML_IMPORT_ERROR)):
        if error is not None:
            module.fail_json(msg=missing_required_lib(name), exception=error)
    try:
        result = run(module, datetime.datetime.now(datetime.timezone.utc))
    except UcsError as exc:
        module.fail_json(**exc.to_fail_kwargs())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
