"""One engine: the module and the role fed the same situations decide, change and say the same.

Each situation is a host (local connection) with two copies of the same file, one for the module
(``ucs_federation_cert`` with ``dest``) and one for the role (``ucs_kubeconfig`` with
``ucs_kubeconfig_path``), and the same settings, written once as role variables that the module
task maps to its options. One playbook runs both, in check mode with --diff and then for real; the
test compares, per host: the decision (the reason), ``changed``, the failure message in the
caller's words (``dest``/``standalone`` against ``ucs_kubeconfig_path``/``ucs_kubeconfig_standalone``),
the warnings, whether a diff is shown, and what the files hold afterwards.
"""

from __future__ import annotations

import copy
import grp
import json
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AnsibleRunner, Simulator
from sshd import local_host_vars, write_inventory

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import role_argument_spec, role_variable

pytestmark = pytest.mark.system

PLAY = """\
- name: The module and the role, side by side
  hosts: all
  gather_facts: false
  tasks:
    - name: The module
      ucs_cloud.fleet.ucs_federation_cert:
        fleet_id: "{{ ucs_kubeconfig_fleet_id }}"
        project_id: "{{ ucs_kubeconfig_project_id }}"
        vpc_id: "{{ ucs_kubeconfig_vpc_id }}"
        subnet_id: "{{ ucs_kubeconfig_subnet_id }}"
        dest: "{{ module_dest }}"
        duration: "{{ ucs_kubeconfig_duration | default(omit) }}"
        renew_before: "{{ ucs_kubeconfig_renew_before | default(omit) }}"
        mode: "{{ ucs_kubeconfig_mode | default(omit) }}"
        group: "{{ ucs_kubeconfig_group | default(omit) }}"
        standalone: "{{ ucs_kubeconfig_standalone | default(omit) }}"
        namespace: "{{ ucs_kubeconfig_namespace | default(omit) }}"
        set_current_context: "{{ ucs_kubeconfig_set_current_context | default(omit) }}"
        force: "{{ ucs_kubeconfig_force | default(omit) }}"
        state: "{{ ucs_kubeconfig_state | default(omit) }}"
        cluster_name: "{{ ucs_kubeconfig_cluster_name | default(omit) }}"
        user_name: "{{ ucs_kubeconfig_user_name | default(omit) }}"
        context_name: "{{ ucs_kubeconfig_context_name | default(omit) }}"
      register: module_result
      ignore_errors: true  # noqa: ignore-errors

    - name: The role
      block:
        - name: Include the role
          ansible.builtin.include_role:
            name: ucs_cloud.fleet.ucs_kubeconfig
      rescue:
        - name: Keep the role's failure
          ansible.builtin.set_fact:
            role_failure: "{{ ansible_failed_result.msg }}"

    - name: Keep both results
      ansible.builtin.copy:
        content: "{{ {'module': module_result, 'role': ucs_kubeconfig_result | default(None), 'role_failure': role_failure | default(None)} | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      check_mode: false
      diff: false
"""


def fleet_file(ansible: AnsibleRunner, path: Path, duration: int) -> dict[str, Any]:
    """A kubeconfig holding the fleet's entries, issued by the simulator through the module."""
    net = ansible.sim.seed["network"]
    args = (
        f"fleet_id={ansible.sim.federated_fleet['id']} project_id={net['project_id']} vpc_id={net['vpc_id']} "
        f"subnet_id={net['subnet_id']} dest={path} duration={duration}"
    )
    ansible.adhoc("ucs_cloud.fleet.ucs_federation_cert", args, env=ansible.credential_env("aksk")).assert_ok()
    return yaml.safe_load(path.read_text())


def restamped(config: dict[str, Any], fleet_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(config)
    for item in changed["clusters"][0]["cluster"]["extensions"]:
        if item["name"] == "ucs_cloud.fleet":
            item["extension"]["fleet-id"] = fleet_id
    return changed


def with_foreign_entries(config: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(config)
    merged["clusters"].append({"name": "kind", "cluster": {"server": "https://127.0.0.1:40000", "insecure-skip-tls-verify": True}})
    merged["users"].append({"name": "kind", "user": {"token": "foreign-token-0123456789"}})
    merged["contexts"].append({"name": "kind", "context": {"cluster": "kind", "user": "kind"}})
    return merged


def situations(valid: dict[str, Any], short: dict[str, Any]) -> dict[str, tuple[Any, int, dict[str, Any]]]:
    """host: (file content or None, file mode, role variables)."""
    # Any group but the file's own (root's): gid 1 exists on every Linux system (daemon or bin).
    other_group = grp.getgrgid(1).gr_name
    table: dict[str, tuple[Any, int, dict[str, Any]]] = {
        "missing": (None, 0, {}),
        "valid": (valid, 0o600, {}),
        "expiring": (short, 0o600, {"ucs_kubeconfig_renew_before": 30}),
        "other-fleet": (restamped(valid, "another-fleet"), 0o600, {}),
        "mode-drift": (valid, 0o644, {}),
        "symbolic-right": (valid, 0o600, {"ucs_kubeconfig_mode": "u=rw,go="}),
        "symbolic-drift": (valid, 0o640, {"ucs_kubeconfig_mode": "go-rwx"}),
        "loose": (valid, 0o600, {"ucs_kubeconfig_mode": "go+r"}),
        "loose-octal": (valid, 0o600, {"ucs_kubeconfig_mode": "0640"}),
        "merged": (with_foreign_entries(valid), 0o600, {}),
        "merged-standalone": (with_foreign_entries(valid), 0o600, {"ucs_kubeconfig_standalone": True}),
        "blocker": ("- just\n- a list\n", 0o600, {}),
        "blocker-standalone": ("- just\n- a list\n", 0o600, {"ucs_kubeconfig_standalone": True}),
        "float-duration": (None, 0, {"ucs_kubeconfig_duration": "{{ 730 / 2 }}"}),
        "new-file-no-current": (None, 0, {"ucs_kubeconfig_set_current_context": False}),
        "namespace": (valid, 0o600, {"ucs_kubeconfig_namespace": "team-a"}),
        "force": (valid, 0o600, {"ucs_kubeconfig_force": True}),
        "bad-namespace": (valid, 0o600, {"ucs_kubeconfig_namespace": "Team_A"}),
        "bad-mode": (valid, 0o600, {"ucs_kubeconfig_mode": 600}),
        "group-drift": (valid, 0o600, {"ucs_kubeconfig_group": other_group}),
        "absent-merged": (with_foreign_entries(valid), 0o600, {"ucs_kubeconfig_state": "absent"}),
        "absent-alone": (valid, 0o600, {"ucs_kubeconfig_state": "absent"}),
        "absent-missing": (None, 0, {"ucs_kubeconfig_state": "absent"}),
        "absent-foreign": (
            restamped(with_foreign_entries(valid), "another-fleet"),
            0o644,
            {"ucs_kubeconfig_state": "absent", "ucs_kubeconfig_cluster_name": "x", "ucs_kubeconfig_user_name": "x", "ucs_kubeconfig_context_name": "x"},
        ),
    }
    return table


def lay_out(tmp_path: Path, table: dict[str, tuple[Any, int, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    hosts = {}
    for host, (content, file_mode, variables) in table.items():
        for side in ("module", "role"):
            path = tmp_path / host / side / "config"
            path.parent.mkdir(parents=True)
            if content is not None:
                path.write_text(content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False))
                path.chmod(file_mode)
        hosts[host] = local_host_vars(
            module_dest=str(tmp_path / host / "module" / "config"), ucs_kubeconfig_path=str(tmp_path / host / "role" / "config"), **variables
        )
    return hosts


# The role's words and the module's for the same thing, so that messages compare.
WORDS = sorted(((role_variable(option), option) for option in role_argument_spec()), key=lambda pair: -len(pair[0]))


def in_module_words(text: str | None, host: str, tmp_path: Path) -> str | None:
    if text is None:
        return None
    text = re.sub(rf"^ucs_kubeconfig on {re.escape(host)}: ", "", text)
    for variable, option in WORDS:
        text = text.replace(variable, option)
    return text.replace(str(tmp_path / host / "role"), "<dir>").replace(str(tmp_path / host / "module"), "<dir>")


def outcome(result: dict[str, Any], host: str, tmp_path: Path) -> dict[str, Any]:
    """What a run did for one host, in the module's words: failure, reason, changed, warnings, diff."""
    module, role = result["module"], result["role"] or {}
    failure = result["role_failure"]
    sides = {
        "module": {
            "failed": in_module_words(module.get("msg"), host, tmp_path) if module.get("failed") else None,
            "reason": None if module.get("failed") else in_module_words(module.get("reason"), host, tmp_path),
            "changed": bool(module.get("changed")) and not module.get("failed"),
            "warnings": sorted(in_module_words(w, host, tmp_path) for w in module.get("warnings") or [] if "Renewing" in w or "gives" in w),
            "diff": bool(module.get("diff")) and module["diff"]["before"] != module["diff"]["after"],
        },
        "role": {
            "failed": in_module_words(failure, host, tmp_path) if failure else None,
            "reason": None if failure else in_module_words(role.get("reason"), host, tmp_path),
            "changed": bool(role.get("changed")) and not failure,
            "warnings": sorted(in_module_words(w, host, tmp_path) for w in role.get("warnings") or [] if "Renewing" in w or "gives" in w),
            "diff": bool(role.get("diff")) and role["diff"]["before"] != role["diff"]["after"],
        },
    }
    return sides


def run(ansible: AnsibleRunner, inventory: str, results: Path, *options: str) -> dict[str, dict[str, Any]]:
    if results.exists():
        shutil.rmtree(results)
    results.mkdir()
    ansible.playbook(PLAY, *options, env=ansible.credential_env("aksk"), inventory=inventory)
    return {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}


def file_view(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    config = yaml.safe_load(path.read_text())
    info = path.stat()
    if not isinstance(config, dict):
        return {"text": path.read_text(), "mode": stat.S_IMODE(info.st_mode)}
    contexts = {item["name"]: item["context"] for item in config.get("contexts") or []}
    return {
        "current-context": config.get("current-context"),
        "contexts": contexts,
        "clusters": sorted(item["name"] for item in config.get("clusters") or []),
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "group": grp.getgrgid(info.st_gid).gr_name,
    }


def test_the_module_and_the_role_decide_change_and_say_the_same(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    valid = fleet_file(ansible, tmp_path / "seed" / "valid", 365)
    short = fleet_file(ansible, tmp_path / "seed" / "short", 10)
    table = situations(valid, short)
    hosts = lay_out(tmp_path, table)
    results = tmp_path / "results"
    net = sim.seed["network"]
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        hosts,
        results_dir=str(results),
        ucs_kubeconfig_fleet_id=sim.federated_fleet["id"],
        ucs_kubeconfig_project_id=net["project_id"],
        ucs_kubeconfig_vpc_id=net["vpc_id"],
        ucs_kubeconfig_subnet_id=net["subnet_id"],
    )

    predicted = run(ansible, inventory, results, "--check", "--diff")
    assert set(predicted) == set(table), f"hosts without results: {set(table) - set(predicted)}"
    for host, result in predicted.items():
        sides = outcome(result, host, tmp_path)
        assert sides["module"] == sides["role"], f"{host} in check mode:\nmodule {sides['module']}\nrole   {sides['role']}"
    # Check mode wrote nothing.
    for host, (content, _mode, _vars) in table.items():
        assert (tmp_path / host / "module" / "config").exists() is (content is not None), host

    written = run(ansible, inventory, results, "--diff")
    for host, result in written.items():
        sides = outcome(result, host, tmp_path)
        assert sides["module"] == sides["role"], f"{host}:\nmodule {sides['module']}\nrole   {sides['role']}"
        assert sides["role"]["changed"] == outcome(predicted[host], host, tmp_path)["role"]["changed"], f"{host}: check mode did not predict the run"
        module_file, role_file = file_view(tmp_path / host / "module" / "config"), file_view(tmp_path / host / "role" / "config")
        assert module_file == role_file, f"{host}: the files differ\nmodule {module_file}\nrole   {role_file}"
        if host.startswith("absent") and (tmp_path / host / "role" / "config").exists():
            module_bytes, role_bytes = ((tmp_path / host / side / "config").read_bytes() for side in ("module", "role"))
            assert module_bytes == role_bytes, f"{host}: the module and the role took the fleet out differently"

    expectations = {
        "missing": ("the kubeconfig does not exist", True),
        "valid": (None, False),
        "symbolic-right": (None, False),
        "mode-drift": ("mode 0644, not 0600", True),
        "symbolic-drift": ("mode 0640, not 0600", True),
        "loose": ("mode 0600, not 0644", True),
        "merged": (None, False),
        "merged-standalone": ("the file holds other entries than the fleet's, and it is to hold the fleet alone", True),
        "force": ("force is set", True),
        "absent-missing": (None, False),
        "absent-foreign": (None, False),
    }
    for host, (reason, changed) in expectations.items():
        side = outcome(written[host], host, tmp_path)["role"]
        assert (side["reason"], side["changed"]) == (reason, changed), host
    failures = {host: outcome(written[host], host, tmp_path)["role"]["failed"] for host in ("blocker", "bad-namespace", "bad-mode")}
    assert failures["blocker"].startswith("dest <dir>/config holds something that is not a kubeconfig") and "set standalone=true" in failures["blocker"]
    assert failures["bad-namespace"].startswith("namespace 'Team_A' is not an RFC 1123 label: 1 to 63 lower-case letters")
    assert failures["bad-mode"].startswith("mode 600 is an integer")
    loose = outcome(written["loose"], "loose", tmp_path)["role"]["warnings"]
    assert loose == ["mode 0644 gives its group and all other users access to a file that holds a private key; '0600' keeps it to its owner"]
    assert file_view(tmp_path / "new-file-no-current" / "role" / "config")["current-context"] == f"ucs-fleet-{sim.federated_fleet['id']}"
    # State absent: the fleet's entries went, the foreign ones stayed; a file of the fleet alone went.
    merged = file_view(tmp_path / "absent-merged" / "role" / "config")
    assert merged["clusters"] == ["kind"] and merged["current-context"] == "" and not (tmp_path / "absent-alone" / "role" / "config").exists()
    assert outcome(written["absent-alone"], "absent-alone", tmp_path)["role"]["reason"].endswith("nothing else is in it, so the file is removed")
    # A second run finds nothing to take out: no change, no request.
    sim.control("DELETE", "requests")
    again = run(ansible, inventory, results, "--limit", "absent-merged,absent-alone,absent-missing")
    assert all(not outcome(result, host, tmp_path)[side]["changed"] for host, result in again.items() for side in ("module", "role"))
    assert sim.requests() == []
