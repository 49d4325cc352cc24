"""State absent: the fleet's entries leave the file, every other byte stays where it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_remove import fleet_entries_in, remove_fleet

FLEET = "fleet-1"
NAME = f"ucs-fleet-{FLEET}"
WANTED = kc.FleetEntries(FLEET, "vpc-1", NAME, NAME, NAME, {}, True, None)

# A hand-edited kubeconfig: comments, odd spacing, quoting and order that a re-dump would lose.
MIXED = f"""\
# my clusters -- keep this comment
apiVersion: v1
kind: Config
preferences: {{colors: true}}   # inline flow
clusters:
-   name: on-prem     # indented more than usual
    cluster:
      server: 'https://10.1.2.3:6443'
- name: {NAME}
  cluster:
    server: https://127.0.0.1:5443
    extensions:
    - name: ucs_cloud.fleet
      extension: {{fleet-id: {FLEET}, vpc-id: vpc-1}}
- name: renamed-by-hand
  cluster:
    server: https://127.0.0.1:5444
    extensions:
    - {{name: ucs_cloud.fleet, extension: {{fleet-id: {FLEET}}}}}
users:
- name: on-prem-admin
  user: {{token: "foreign-token-0123456789"}}
- name: {NAME}
  user:
    token: fleet-token-0123456789
- name: shared
  user: {{token: shared-token-0123456789}}
contexts:
- name: on-prem
  context: {{cluster: on-prem, user: on-prem-admin, namespace: ops}}
- name: {NAME}
  context: {{cluster: {NAME}, user: {NAME}}}
- name: hand
  context: {{cluster: renamed-by-hand, user: shared}}
- name: also-shared
  context: {{cluster: on-prem, user: shared}}
current-context: {NAME}  # the fleet's
"""


# MIXED without the fleet's entries, cut by hand: every other byte as it was.
EXPECTED = """\
# my clusters -- keep this comment
apiVersion: v1
kind: Config
preferences: {colors: true}   # inline flow
clusters:
-   name: on-prem     # indented more than usual
    cluster:
      server: 'https://10.1.2.3:6443'
users:
- name: on-prem-admin
  user: {token: "foreign-token-0123456789"}
- name: shared
  user: {token: shared-token-0123456789}
contexts:
- name: on-prem
  context: {cluster: on-prem, user: on-prem-admin, namespace: ops}
- name: also-shared
  context: {cluster: on-prem, user: shared}
current-context: ""  # the fleet's
"""


def test_the_fleets_entries_go_and_every_other_byte_stays() -> None:
    removal, new = remove_fleet(MIXED.encode(), WANTED)
    assert removal.names == {
        "clusters": frozenset({NAME, "renamed-by-hand"}),  # by name and by the stamp
        "contexts": frozenset({NAME, "hand"}),  # by name and by a cluster of the fleet
        "users": frozenset({NAME}),  # 'shared' is used by a context that stays
    }
    assert removal.current
    assert new.decode() == EXPECTED


def test_json_kubeconfigs_are_edited_in_place_too() -> None:
    config = yaml.safe_load(MIXED)
    text = json.dumps(config, indent=2)
    _removal, new = remove_fleet(text, WANTED)
    assert json.loads(new) == {
        **config,
        **{
            "clusters": [config["clusters"][0]],
            "users": [config["users"][0], config["users"][2]],
            "contexts": [config["contexts"][0], config["contexts"][3]],
            "current-context": "",
        },
    }
    # The kept entries keep their JSON layout.
    assert json.dumps(config["clusters"][0], indent=2).replace("\n", "\n    ") in new.decode()


def test_a_file_that_held_only_the_fleet_goes() -> None:
    only = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": NAME,
        "clusters": [{"name": NAME, "cluster": {"server": "https://127.0.0.1:5443"}}],
        "users": [{"name": NAME, "user": {"token": "t-0123456789"}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME}}],
    }
    removal, new = remove_fleet(kc.dump_kubeconfig(only).encode(), WANTED)
    assert removal.found and new is None


def test_nothing_of_the_fleet_changes_nothing() -> None:
    text = MIXED.replace(FLEET, "other-fleet").encode()
    removal, new = remove_fleet(text, WANTED)
    assert not removal.found and new == text


def test_anchors_shared_with_kept_entries_are_written_anew_not_broken() -> None:
    text = f"""\
clusters:
- &fleet {{name: {NAME}, cluster: {{server: "https://127.0.0.1:5443"}}}}
- name: other
  cluster: {{server: "https://10.0.0.1"}}
users: [{{name: {NAME}, user: {{token: t-0123456789}}}}]
contexts: [{{name: {NAME}, context: {{cluster: {NAME}, user: {NAME}}}}}]
backup: *fleet
"""
    _removal, new = remove_fleet(text, WANTED)
    config = yaml.safe_load(new)
    assert config["backup"]["name"] == NAME and [c["name"] for c in config["clusters"]] == ["other"]


def test_not_a_kubeconfig_is_an_error() -> None:
    with pytest.raises(UcsKubeconfigError):
        remove_fleet(b"- just\n- a list\n", WANTED)


@pytest.mark.parametrize("config", [{}, {"clusters": None}, {"contexts": [{"name": NAME}]}])
def test_partial_documents(config: dict[str, Any]) -> None:
    removal = fleet_entries_in(config, WANTED)
    assert removal.found is bool(config.get("contexts"))
