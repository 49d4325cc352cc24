"""ucs_federation_cert through real ansible-playbook and ansible runs against the simulator."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AnsibleRunner, Simulator, assert_no_secrets, secrets_in_kubeconfig

MODULE = "ucs_cloud.fleet.ucs_federation_cert"


def network(sim: Simulator) -> dict[str, str]:
    """Project, VPC and subnet of the simulator's seed."""
    net = sim.seed["network"]
    return {"project_id": net["project_id"], "vpc_id": net["vpc_id"], "subnet_id": net["subnet_id"]}


def task_args(sim: Simulator, dest: Path | None, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"fleet_id": sim.federated_fleet["id"], **network(sim)}
    if dest is not None:
        args["dest"] = str(dest)
    args.update(extra)
    return args


def one_task_playbook(args: dict[str, Any], *, no_log: bool = False, register_to: Path | None = None) -> str:
    """A playbook running the module once and saving its (secret-free) result as JSON."""
    task = {"name": "Run the module", MODULE: args, "register": "result"}
    if no_log:
        task["no_log"] = True
    tasks: list[dict[str, Any]] = [task]
    if register_to is not None:
        tasks[0]["ignore_errors"] = True
        tasks.append(
            {
                "name": "Save the result",
                "ansible.builtin.copy": {
                    "content": "{{ result | dict2items | rejectattr('key', 'equalto', 'kubeconfig') | items2dict | to_json }}",
                    "dest": str(register_to),
                    "mode": "0600",
                },
                # Test plumbing: never part of what the run reports or of check mode.
                "changed_when": False,
                "check_mode": False,
            }
        )
    return yaml.safe_dump([{"name": "Module test", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])


def run_module(ansible: AnsibleRunner, sim: Simulator, args: dict[str, Any], *options: str, method: str = "aksk") -> tuple[Any, dict[str, Any]]:
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    run = ansible.playbook(one_task_playbook(args, register_to=out), *options, env=ansible.credential_env(method))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return run, json.loads(out.read_text())


def writes(sim: Simulator) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["method"] != "GET" and not r["path"].startswith("/v3/")]


def test_first_run_creates_second_run_changes_nothing(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "kube" / "fleet.yaml"
    dest.parent.mkdir()
    run, result = run_module(ansible, sim, task_args(sim, dest))
    assert result["changed"] is True and result["connection_created"] is True and result["kubeconfig_downloaded"] is True
    assert len(sim.calls("POST", "/cert")) == 1
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert result["server"] == sim.info["federation_server"]
    assert result["not_after"].endswith("Z")
    assert "kubeconfig" not in result

    sim.control("DELETE", "requests")
    run2, result2 = run_module(ansible, sim, task_args(sim, dest))
    assert result2["changed"] is False and result2["connection_created"] is False
    assert sim.requests() == [], "a valid kubeconfig at dest must mean no API call at all"
    assert run2.changed() == 0
    assert len(sim.connections()) == 1
    assert_no_secrets(run.output + run2.output, sim.secrets() + secrets_in_kubeconfig(dest))


def test_check_mode_reads_only_and_predicts(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    _run, result = run_module(ansible, sim, task_args(sim, dest), "--check", "--diff")
    assert result["changed"] is True
    assert not dest.exists()
    assert writes(sim) == [] and len(sim.calls("GET")) == 1
    run_module(ansible, sim, task_args(sim, dest))
    sim.control("DELETE", "requests")
    _run, again = run_module(ansible, sim, task_args(sim, dest), "--check")
    assert again["changed"] is False and sim.requests() == []


def test_expiring_dest_is_renewed_with_one_call(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    run_module(ansible, sim, task_args(sim, dest, duration=10, renew_before=5))
    sim.control("DELETE", "requests")
    old = dest.read_bytes()
    run, result = run_module(ansible, sim, task_args(sim, dest, duration=365, renew_before=30))
    assert result["changed"] is True and "within 30 days" in result["reason"]
    assert len(sim.calls("POST", "/cert")) == 1
    assert dest.read_bytes() != old
    assert "Renewing the federation kubeconfig" in run.output
    assert len(sim.connections()) == 1 and sim.connections()[0]["cert_calls"] == 2


@pytest.mark.parametrize("method", ["aksk", "temporary", "token", "password"])
def test_each_auth_method(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, method: str) -> None:
    seed = sim.seed
    args = task_args(sim, tmp_path / "fleet.yaml", endpoint=sim.endpoint, ca_path=sim.ca_path)
    env = {}
    if method == "temporary":
        tmp = seed["temporary_aksk"]
        args.update(access_key=tmp["access_key"], secret_key=tmp["secret_key"], security_token=tmp["security_token"], domain_id=seed["domain"]["id"])
    elif method == "token":
        args["auth_token"] = sim.control("POST", "tokens", {})["token"]
    elif method == "password":
        env = ansible.credential_env("password")
    else:
        env = ansible.credential_env("aksk")
    out = tmp_path / "result.json"
    run = ansible.playbook(one_task_playbook(args, register_to=out), "-vvv", env=env)
    result = json.loads(out.read_text())
    assert result.get("changed") is True, result
    expected_auth = {"aksk": "aksk", "temporary": "aksk", "token": "token", "password": "token"}[method]
    assert [r["auth"] for r in sim.calls("POST", "/cert")] == [expected_auth]
    if method == "password":
        assert len(sim.calls("POST", "/v3/auth/tokens")) == 1
    assert_no_secrets(run.output, sim.secrets() + secrets_in_kubeconfig(tmp_path / "fleet.yaml"))


def test_adhoc_with_credentials_from_environment(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "ucs-fleet.yaml"
    net = network(sim)
    module_args = f"fleet_id={sim.federated_fleet['id']} project_id={net['project_id']} vpc_id={net['vpc_id']} subnet_id={net['subnet_id']} dest={dest}"
    run = ansible.adhoc(MODULE, module_args, "-vvv", env=ansible.credential_env("aksk")).assert_ok()
    assert "CHANGED" in run.stdout and dest.exists()
    again = ansible.adhoc(MODULE, module_args, env=ansible.credential_env("aksk")).assert_ok()
    assert "SUCCESS" in again.stdout and len(sim.calls("POST", "/cert")) == 1
    assert_no_secrets(run.output + again.output, sim.secrets() + secrets_in_kubeconfig(dest))


def test_return_content_requires_no_log(ansible: AnsibleRunner, sim: Simulator) -> None:
    run = ansible.playbook(one_task_playbook(task_args(sim, None, return_content=True)), env=ansible.credential_env())
    assert run.returncode != 0 and "set no_log: true on the task" in run.output
    assert sim.requests() == []


def failure(ansible: AnsibleRunner, sim: Simulator, args: dict[str, Any], *options: str, method: str = "aksk") -> tuple[Any, dict[str, Any]]:
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    run = ansible.playbook(one_task_playbook(args, register_to=out), *options, env=ansible.credential_env(method))
    result = json.loads(out.read_text())
    assert result.get("failed") is True, result
    assert "Traceback" not in result["msg"]
    assert_no_secrets(run.output + json.dumps(result), sim.secrets())
    return run, result


def test_blank_environment_values_count_as_unset(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """AWX injects every credential-type variable, empty when the field is blank."""
    env = {
        **ansible.credential_env("aksk"),
        "OS_USERNAME": "",
        "OS_PASSWORD": "",
        "OS_AUTH_TOKEN": "",
        "HUAWEICLOUD_SDK_PROJECT_ID": sim.seed["network"]["project_id"],
    }
    args = task_args(sim, tmp_path / "f.yaml")
    args.pop("project_id")
    out = tmp_path / "result.json"
    ansible.playbook(one_task_playbook(args, register_to=out), env=env)
    result = json.loads(out.read_text())
    assert result.get("changed") is True, result
    assert len(sim.calls("POST", "/cert")) == 1
