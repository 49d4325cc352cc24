"""ucs_fleet_info, ucs_federation and playbooks/fleet_federation.yml through real ansible and
ansible-playbook runs against the simulator.

For each module: ad hoc and in a playbook; a second run reports changed=false and the simulator
logs no write call; check mode predicts the change exactly and writes nothing. The flow playbook
runs twice: enable and wait, install the kubeconfig with the role, kubectl reaches the
simulator's federation API server; the second run changes nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AnsibleRunner, Run, Simulator, assert_nothing_leaked, secrets_in_kubeconfig
from harness import ROOT, VENV_BIN

pytestmark = pytest.mark.system

INFO = "ucs_cloud.fleet.ucs_fleet_info"
FEDERATION = "ucs_cloud.fleet.ucs_federation"
PLAYBOOK = ROOT / "playbooks" / "fleet_federation.yml"
DEMO_INVENTORY = ROOT / "playbooks" / "inventory" / "demo.yml"
# Each job phase lasts this long in the simulator; the module looks every second.
STEP = 0.5


def writes(sim: Simulator) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sim.requests() if r["method"] != "GET" and not r["path"].startswith("/v3/")]


def result_of(run: Run) -> dict[str, Any]:
    """The JSON result of an ad hoc run (``localhost | CHANGED => {...}``)."""
    match = re.search(r"^localhost \| \w+!? => (\{.*\})\s*\Z", run.stdout, re.S | re.M)
    assert match, run.stdout[-3000:] + run.stderr[-2000:]
    return json.loads(match.group(1))


def adhoc(ansible: AnsibleRunner, module: str, args: str, *options: str) -> tuple[Run, dict[str, Any]]:
    run = ansible.adhoc(module, args, *options, env=ansible.credential_env("aksk"))
    return run, result_of(run)


def plain(sim: Simulator) -> dict[str, Any]:
    return sim.plain_fleet


@pytest.fixture
def quick_jobs(sim: Simulator) -> Simulator:
    sim.control("POST", "lifecycle", {"step": STEP})
    return sim


# --- ucs_fleet_info ---------------------------------------------------------------------------------


def test_fleet_info_every_fleet_by_id_and_by_name(ansible: AnsibleRunner, sim: Simulator) -> None:
    sim.control("POST", "lifecycle", {"page_cap": 1})  # the list comes one fleet per page
    run, result = adhoc(ansible, INFO, "")
    assert run.returncode == 0 and result["changed"] is False
    assert {fleet["name"]: fleet["federation_enabled"] for fleet in result["fleets"]} == {"fleet-federated": True, "fleet-plain": False}
    federated = next(fleet for fleet in result["fleets"] if fleet["federation_enabled"])
    assert federated["federation_id"] == sim.federated_fleet["federation_id"] and federated["connect_gateway_endpoints"]
    assert federated["federation_condition"]["type"] == "Federation"
    assert [r["path"] for r in sim.requests()] == ["/v1/clustergroups"] * 2, "two pages of one fleet; total says when the list ends"
    _run, by_id = adhoc(ansible, INFO, f"fleet_id={sim.federated_fleet['id']}")
    _run, by_name = adhoc(ansible, INFO, "fleet_name=fleet-federated", "--check")
    assert by_id["fleets"] == by_name["fleets"] == [federated]
    assert writes(sim) == []
    assert_nothing_leaked(run, sim)


def test_fleet_info_names_the_candidates(ansible: AnsibleRunner, sim: Simulator) -> None:
    sim.control("POST", "fleets", {"name": "fleet-plain", "federation": False, "id": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"})
    run, result = adhoc(ansible, INFO, "fleet_name=fleet-plain")
    assert run.returncode != 0
    assert result["msg"] == (
        f"2 fleets are named 'fleet-plain': fleet-plain (0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6), fleet-plain ({plain(sim)['id']}). "
        "Set fleet_id to the ID of the one you mean"
    )
    _run, missing = adhoc(ansible, INFO, "fleet_name=staging")
    assert missing["msg"].startswith("No fleet is named 'staging'. The account's fleets: fleet-federated (")


# --- ucs_federation ----------------------------------------------------------------------------------


def test_enable_ad_hoc_check_mode_real_run_and_second_run(ansible: AnsibleRunner, quick_jobs: Simulator) -> None:
    sim = quick_jobs
    args = "fleet_name=fleet-plain wait_sleep=1"
    _run, predicted = adhoc(ansible, FEDERATION, args, "--check")
    assert (predicted["changed"], predicted["action"]) == (True, "enable") and writes(sim) == []
    run, result = adhoc(ansible, FEDERATION, args)
    assert run.returncode == 0 and "localhost | CHANGED" in run.stdout
    assert (result["changed"], result["action"], result["phase"]) == (predicted["changed"], predicted["action"], "Success")
    assert [entry["phase"] for entry in result["progress"]][-1] == "Success" and len(result["progress"]) >= 2
    assert result["fleet"]["federation_enabled"] is True
    assert writes(sim) == [("POST", f"/v1/clustergroups/{plain(sim)['id']}/federations")]
    sim.control("DELETE", "requests")
    _run, again = adhoc(ansible, FEDERATION, args)
    _run, checked = adhoc(ansible, FEDERATION, args, "--check")
    assert again["changed"] is False and checked["changed"] is False and writes(sim) == []
    assert_nothing_leaked(run, sim)


def test_disable_ad_hoc(ansible: AnsibleRunner, quick_jobs: Simulator) -> None:
    sim = quick_jobs
    fleet_id = sim.federated_fleet["id"]
    args = f"fleet_id={fleet_id} state=absent wait_sleep=1"
    _run, predicted = adhoc(ansible, FEDERATION, args, "--check")
    assert (predicted["changed"], predicted["action"]) == (True, "disable") and writes(sim) == []
    _run, result = adhoc(ansible, FEDERATION, args)
    assert (result["changed"], result["action"]) == (True, "disable") and result["fleet"]["federation_enabled"] is False
    assert writes(sim) == [("DELETE", f"/v1/clustergroups/{fleet_id}/federations")]
    sim.control("DELETE", "requests")
    _run, again = adhoc(ansible, FEDERATION, args)
    assert again["changed"] is False and writes(sim) == []


def federation_play(**args: Any) -> str:
    task = {"name": "Federation", FEDERATION: args, "register": "federation"}
    return yaml.safe_dump([{"name": "Federation", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [task]}])


def test_playbook_shows_progress_with_v_and_second_run_changes_nothing(ansible: AnsibleRunner, quick_jobs: Simulator) -> None:
    sim = quick_jobs
    play = federation_play(fleet_id=plain(sim)["id"], wait_sleep=1)
    env = ansible.credential_env("aksk")
    checked = ansible.playbook(play, "--check", env=env).assert_ok()
    first = ansible.playbook(play, "-v", env=env).assert_ok()
    assert checked.changed() == first.changed() == 1
    assert re.search(r'"phase": "Initializing"|"phase": "Running"', first.stdout) and '"phase": "Success"' in first.stdout, "progress in the -v output"
    sim.control("DELETE", "requests")
    second = ansible.playbook(play, env=env).assert_ok()
    assert second.changed() == 0 and writes(sim) == []


def test_failed_job_fails_the_task_with_its_reason(ansible: AnsibleRunner, quick_jobs: Simulator) -> None:
    quick_jobs.control("POST", "lifecycle", {"job": "failing"})
    run, result = adhoc(ansible, FEDERATION, "fleet_name=fleet-plain wait_sleep=1")
    assert run.returncode != 0 and result["phase"] == "Failed"
    assert "enabling federation failed: the job ended in phase 'Failed': sub-job CreateNetworkResource failed; CreateNetworkResource failed: " in result["msg"]


def test_unknown_phase_word_runs_until_the_timeout(ansible: AnsibleRunner, sim: Simulator) -> None:
    sim.control("POST", "lifecycle", {"job": "unknown-word", "step": 3})
    run, result = adhoc(ansible, FEDERATION, "fleet_name=fleet-plain wait_sleep=1 wait_timeout=4")
    assert run.returncode != 0 and result["phase"] == "Provisioning"
    assert "timed out after 4 seconds (wait_timeout)" in result["msg"] and "'Provisioning' (a word this module does not know" in result["msg"]
    assert "reports phase 'Provisioning', a word this module does not know" in run.stderr + run.stdout
    # The job goes on; a later run waits for it (no second POST) and sees it succeed.
    sim.control("DELETE", "requests")
    _run, later = adhoc(ansible, FEDERATION, "fleet_name=fleet-plain wait_sleep=1 wait_timeout=30")
    # When the job ended before this run looked, the fleet reads as enabled and no phase is waited on.
    assert not later.get("failed") and later["changed"] is False and later.get("phase", "Success") == "Success" and writes(sim) == []


# --- the flow playbook ---------------------------------------------------------------------------------


def flow(ansible: AnsibleRunner, sim: Simulator, kubeconfig: Path, *options: str) -> Run:
    net = sim.seed["network"]
    extra = {
        "fleet_name": "fleet-plain",
        "fleet_wait_sleep": 1,
        "fleet_wait_timeout": 60,
        "ucs_kubeconfig_project_id": net["project_id"],
        "ucs_kubeconfig_vpc_id": net["vpc_id"],
        "ucs_kubeconfig_subnet_id": net["subnet_id"],
        "ucs_kubeconfig_path": str(kubeconfig),
    }
    args = [str(VENV_BIN / "ansible-playbook"), "-i", str(DEMO_INVENTORY), str(PLAYBOOK), "-e", json.dumps(extra), *options]
    return ansible._run(args, ansible.credential_env("aksk"))


def test_flow_playbook_runs_twice(ansible: AnsibleRunner, quick_jobs: Simulator, tmp_path: Path) -> None:
    sim = quick_jobs
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    checked = flow(ansible, sim, kubeconfig, "--check").assert_ok()
    assert writes(sim) == [] and not kubeconfig.exists()
    # Check mode predicts the federation; the kubeconfig of a federation not yet there is not planned.
    assert checked.changed() == 1 and "would be enabled first; the kubeconfig is planned once the federation exists" in checked.stdout
    first = flow(ansible, sim, kubeconfig).assert_ok()
    assert first.changed() == 2, "federation enabled, kubeconfig written"
    assert "Server Version: v1.28.3" in first.stdout, "kubectl reached the federation API server"
    fleet_id = plain(sim)["id"]
    assert writes(sim) == [("POST", f"/v1/clustergroups/{fleet_id}/federations"), ("POST", f"/v1/clustergroups/{fleet_id}/cert")]
    assert kubeconfig.is_file()
    sim.control("DELETE", "requests")
    second = flow(ansible, sim, kubeconfig).assert_ok()
    assert second.changed() == 0 and writes(sim) == [], "the second run changes nothing and writes nothing"
    assert "Server Version: v1.28.3" in second.stdout
    # Once everything is in place, check mode predicts exactly that: nothing.
    again = flow(ansible, sim, kubeconfig, "--check").assert_ok()
    assert again.changed() == 0 and writes(sim) == []
    # Check mode of a fleet already federated whose hosts lack the kubeconfig predicts the write.
    kubeconfig.unlink()
    predicted = flow(ansible, sim, kubeconfig, "--check").assert_ok()
    assert predicted.changed() == 1 and not kubeconfig.exists() and writes(sim) == []
    assert flow(ansible, sim, kubeconfig).assert_ok().changed() == predicted.changed()
    for run in (checked, first, second, again, predicted):
        assert_nothing_leaked(run, sim, secrets_in_kubeconfig(kubeconfig))


def test_module_defaults_of_the_action_group_reach_both_modules(ansible: AnsibleRunner, quick_jobs: Simulator) -> None:
    """Credentials set once for group/ucs_cloud.fleet.ucs, none in the environment; IAM password auth."""
    sim = quick_jobs
    seed = sim.seed
    defaults = {
        "endpoint": sim.endpoint,
        "ca_path": sim.ca_path,
        "auth_method": "password",
        "username": seed["iam_user"]["name"],
        "password": seed["iam_user"]["password"],
        "domain_name": seed["domain"]["name"],
        "iam_endpoint": sim.info["iam_endpoint"] + "/v3",
    }
    tasks = [
        {"name": "List", INFO: {"fleet_name": "fleet-plain"}, "register": "listed"},
        {"name": "Enable", FEDERATION: {"fleet_id": "{{ listed.fleets[0].id }}", "wait_sleep": 1}, "register": "enabled"},
        {"name": "Check", "ansible.builtin.assert": {"that": ["enabled.phase == 'Success'", "enabled.fleet.federation_enabled"]}},
    ]
    group = {"group/ucs_cloud.fleet.ucs": defaults}
    play = [{"name": "Defaults", "hosts": "localhost", "connection": "local", "gather_facts": False, "module_defaults": group, "tasks": tasks}]
    run = ansible.playbook(yaml.safe_dump(play)).assert_ok()  # no credential environment at all
    assert run.changed() == 1
    assert {r["auth"] for r in sim.requests()} == {"iam", "token"}
    assert_nothing_leaked(run, sim)
