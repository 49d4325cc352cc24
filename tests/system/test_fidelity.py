"""Fidelity: every simulator profile through the module and the role, then kubectl on the result.

Each profile is one answer the UCS API reference leaves open (tests/simulator/ucs_simulator.py,
"Profiles"; docs/fidelity.md). For each one, the module (standalone dest, and a dest that already
holds other contexts) and the role (merged into ~/.kube/config with other contexts, and a standalone file) must:

- succeed, and not call /cert again on a second run (every needless /cert issues a certificate);
- write a file that ``kubectl config view`` loads (and, merged, with the other contexts intact);
- give ``kubectl version`` a working connection to the simulator's federation API server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import ucs_simulator
import yaml
from conftest import AnsibleRunner, Run, Simulator, assert_nothing_leaked
from sshd import local_host_vars, write_inventory

pytestmark = pytest.mark.system

MODULE = "ucs_cloud.fleet.ucs_federation_cert"
# Every answer profile the simulator has: a new way the real cloud may answer is tested here
# the moment it is added there (test_simulator.py pins the list itself).
PROFILES = list(ucs_simulator.PROFILES)
ROLE_PLAY = """\
- name: Install the fleet kubeconfig
  hosts: all
  gather_facts: false
  roles:
    - role: ucs_cloud.fleet.ucs_kubeconfig
"""

# Contexts of other clusters that must survive any merge, and stay loadable.
FOREIGN: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:40000", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "kind-dev", "user": {"token": "foreign-token-0123456789"}}],
    "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev", "namespace": "ops"}}],
    "current-context": "kind-dev",
}


def use_profile(sim: Simulator, name: str) -> None:
    sim.control("POST", "profile", {"profile": name})


def network(sim: Simulator) -> dict[str, str]:
    net = sim.seed["network"]
    return {"project_id": net["project_id"], "vpc_id": net["vpc_id"], "subnet_id": net["subnet_id"]}


def kubectl(sim: Simulator, path: Path, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "SSL_CERT"))}
    env.update(NO_PROXY="127.0.0.1,localhost", HOME=str(path.parent))
    if sim.control("GET", "profile")["profile"] == "empty-ca":
        # No CA data: kubectl trusts the system store, which SSL_CERT_FILE replaces for Go on Linux.
        env["SSL_CERT_FILE"] = sim.info["federation_ca_path"]
    command = [binary, "--kubeconfig", str(path), "--request-timeout", "10s", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


def assert_kubectl_uses(sim: Simulator, path: Path, foreign: bool = False) -> None:
    """kubectl loads the file and reaches the federation API server with its current context."""
    view = kubectl(sim, path, "config", "view", "-o", "json")
    assert view.returncode == 0, view.stderr
    config = json.loads(view.stdout)
    if foreign:
        assert "kind-dev" in {item["name"] for item in config["contexts"]}, "the other contexts must be kept"
        other = kubectl(sim, path, "config", "view", "--context", "kind-dev", "--minify", "-o", "json")
        assert other.returncode == 0, other.stderr
    before = len(sim.control("GET", "federation-requests"))
    version = kubectl(sim, path, "version", "-o", "json")
    assert version.returncode == 0, f"kubectl version failed: {version.stderr}"
    assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.28.3"
    seen = sim.control("GET", "federation-requests")[before:]
    assert any(item["path"] == "/version" and item["status"] == 200 for item in seen), seen


def module_playbook(args: dict[str, Any]) -> str:
    task = {"name": "Federation kubeconfig", MODULE: args, "register": "result"}
    show = {
        "name": "Show what came back",
        "ansible.builtin.debug": {"msg": "{{ result | dict2items | rejectattr('key', 'equalto', 'kubeconfig') | items2dict }}"},
    }
    return yaml.safe_dump([{"name": "Module", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [task, show]}])


def run_module(ansible: AnsibleRunner, sim: Simulator, dest: Path, fleet_id: str | None = None, **extra: Any) -> Run:
    args = {"fleet_id": fleet_id or sim.federated_fleet["id"], "dest": str(dest), **network(sim), **extra}
    return ansible.playbook(module_playbook(args), env=ansible.credential_env("aksk"))


def cert_calls(sim: Simulator) -> int:
    return len(sim.calls("POST", "/cert"))


@pytest.mark.parametrize("profile", PROFILES)
def test_module_standalone_and_merged(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, profile: str) -> None:
    use_profile(sim, profile)
    dest = tmp_path / "standalone" / "fleet.yaml"
    dest.parent.mkdir()
    first = run_module(ansible, sim, dest)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert cert_calls(sim) == 1
    second = run_module(ansible, sim, dest)
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.changed() == 0 and cert_calls(sim) == 1, "a second run must not issue another certificate"
    assert_kubectl_uses(sim, dest)

    merged = tmp_path / "merged" / "config"
    merged.parent.mkdir()
    merged.write_text(yaml.safe_dump(FOREIGN))
    merged.chmod(0o600)
    third = run_module(ansible, sim, merged)
    assert third.returncode == 0, third.stdout[-4000:]
    assert_kubectl_uses(sim, merged, foreign=True)
    assert_nothing_leaked(third, sim)


@pytest.mark.parametrize("profile", PROFILES)
def test_role_merged_into_kube_config(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, profile: str) -> None:
    use_profile(sim, profile)
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    path = home / ".kube" / "config"
    path.write_text(yaml.safe_dump(FOREIGN))
    path.chmod(0o600)
    net = sim.seed["network"]
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {"localhost": local_host_vars()},
        ucs_kubeconfig_fleet_id=sim.federated_fleet["id"],
        ucs_kubeconfig_project_id=net["project_id"],
        ucs_kubeconfig_vpc_id=net["vpc_id"],
        ucs_kubeconfig_subnet_id=net["subnet_id"],
        ucs_kubeconfig_path=str(path),
    )
    first = ansible.playbook(ROLE_PLAY, env=ansible.credential_env("aksk"), inventory=inventory)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert cert_calls(sim) == 1
    second = ansible.playbook(ROLE_PLAY, env=ansible.credential_env("aksk"), inventory=inventory)
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.changed() == 0 and cert_calls(sim) == 1, "a second run must not issue another certificate"
    assert_kubectl_uses(sim, path, foreign=True)
    assert_nothing_leaked(second, sim)


@pytest.mark.parametrize("profile", PROFILES)
def test_role_standalone_file(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, profile: str) -> None:
    use_profile(sim, profile)
    path = tmp_path / "kube" / "fleet.yaml"
    net = sim.seed["network"]
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {"localhost": local_host_vars()},
        ucs_kubeconfig_fleet_id=sim.federated_fleet["id"],
        ucs_kubeconfig_project_id=net["project_id"],
        ucs_kubeconfig_vpc_id=net["vpc_id"],
        ucs_kubeconfig_subnet_id=net["subnet_id"],
        ucs_kubeconfig_path=str(path),
        ucs_kubeconfig_standalone=True,
    )
    run = ansible.playbook(ROLE_PLAY, env=ansible.credential_env("aksk"), inventory=inventory)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert cert_calls(sim) == 1
    assert len(yaml.safe_load(path.read_text())["contexts"]) == 1
    assert_kubectl_uses(sim, path)


def test_documented_negative_state_refuses_before_cert(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    use_profile(sim, "state-words")
    run = run_module(ansible, sim, tmp_path / "fleet.yaml", fleet_id=sim.plain_fleet["id"])
    assert run.returncode != 0
    assert "federation is not enabled" in run.stdout and "Enable federation" in run.stdout
    assert cert_calls(sim) == 0


def test_unknown_state_word_warns_and_lets_the_api_decide(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    fleet = sim.federated_fleet
    sim.control(
        "POST", "fleets", {"id": fleet["id"], "name": fleet["name"], "federation": True, "federation_status": "Mystery", "federation_reason": "Whatever"}
    )
    dest = tmp_path / "fleet.yaml"
    run = run_module(ansible, sim, dest)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "does not know" in run.output and "Mystery" in run.output
    assert cert_calls(sim) == 1
    assert_kubectl_uses(sim, dest)


@pytest.mark.parametrize(
    ("extra_env", "message"),
    [
        ({"OS_REGION_NAME": "eu-de"}, "endpoint is required for region eu-de (Open Telekom Cloud)"),
        ({"HUAWEICLOUD_SDK_REGION": "eu-nl"}, "endpoint is required for region eu-nl (Open Telekom Cloud)"),
        ({}, "endpoint is required when region is not set"),
    ],
)
def test_no_endpoint_no_request(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, extra_env: dict[str, str], message: str) -> None:
    """Without a documented endpoint the module stops before sending anything, token or not."""
    env = {k: v for k, v in ansible.credential_env("aksk").items() if k != "UCS_ENDPOINT"}
    env["OS_AUTH_TOKEN"] = sim.control("POST", "tokens", {})["token"]
    env.update(extra_env)
    # Should anything still be sent, it goes to a dead local proxy, never to a real cloud.
    env.update(HTTPS_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    args = {"fleet_id": sim.federated_fleet["id"], "dest": str(tmp_path / "fleet.yaml"), "auth_method": "token", **network(sim)}
    run = ansible.playbook(module_playbook(args), env=env)
    assert run.returncode != 0
    assert message in run.stdout
    assert sim.requests() == []
    assert not (tmp_path / "fleet.yaml").exists()
