"""ucs_federation_cert through real ansible-playbook and ansible runs against the simulator."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AnsibleRunner, Simulator, assert_no_secrets, secrets_in_kubeconfig

MODULE = "ucs_cloud.fleet.ucs_federation_cert"
KUBECTL = "/usr/bin/kubectl"
FOREIGN_TOKEN = "token-of-a-kind-cluster-0123456789abcdef"


def network(sim: Simulator) -> dict[str, str]:
    """Project, VPC and subnet of the simulator's seed."""
    net = sim.seed["network"]
    return {"project_id": net["project_id"], "vpc_id": net["vpc_id"], "subnet_id": net["subnet_id"]}


def task_args(sim: Simulator, dest: Path | str | None, **extra: Any) -> dict[str, Any]:
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


@pytest.mark.every_core
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
    name = f"ucs-fleet-{sim.federated_fleet['id']}"
    view = kubectl_view(dest)
    assert [c["name"] for c in view["contexts"]] == [name] and view["current-context"] == name
    assert result["context_name"] == name and result["current_context"] == name

    sim.control("DELETE", "requests")
    run2, result2 = run_module(ansible, sim, task_args(sim, dest))
    assert result2["changed"] is False and result2["connection_created"] is False
    assert sim.requests() == [], "a valid kubeconfig at dest must mean no API call at all"
    assert run2.changed() == 0
    assert len(sim.connections()) == 1
    assert_no_secrets(run.output + run2.output, sim.secrets() + secrets_in_kubeconfig(dest))


@pytest.mark.every_core
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


# A task environment makes the action leave the run to the module (the module reads its
# environment fallbacks where it runs); any variable does.
MODULE_DECIDES = {"UCS_FLEET_TEST_MODULE_DECIDES": "1"}
ANSIBALLZ_RE = re.compile(r"AnsiballZ_\w+\.py")


def run_one_way(
    ansible: AnsibleRunner, args: dict[str, Any], options: tuple[str, ...], environment: dict[str, str] | None
) -> tuple[Any, dict[str, Any], list[str]]:
    """One run of the module's task; its result, and the AnsiballZ payloads it executed."""
    saved = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    task: dict[str, Any] = {"name": "Run the module", MODULE: args, "register": "result"}
    if environment:
        task["environment"] = environment
    save = {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(saved), "mode": "0600"}, "changed_when": False, "check_mode": False}
    play = [{"name": "One way", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [task, dict(save, name="Save the result")]}]
    run = ansible.playbook(yaml.safe_dump(play), "-vvv", *options, env=ansible.credential_env())
    assert run.returncode == 0, run.stdout[-4000:]
    # The commands that run a payload (older cores append "&& sleep 0").
    executed: list[str] = []
    for line in run.stdout.split("TASK [Save the result]")[0].splitlines():
        if "EXEC" in line and "python" in line:
            executed += ANSIBALLZ_RE.findall(line)[-1:]
    return run, json.loads(saved.read_text()), executed


@pytest.mark.every_core
@pytest.mark.parametrize("mode", ["0600", "u=rw,g=r"])
@pytest.mark.parametrize("options", [(), ("--check", "--diff")], ids=["run", "check-diff"])
def test_a_run_that_changes_nothing_is_answered_on_the_controller_as_the_module_answers(
    ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, mode: str, options: tuple[str, ...]
) -> None:
    """The action reads a right dest with kubeconfig_file_info and returns the module's own result
    (warning and diff included); the same task with a task environment runs the module."""
    dest = tmp_path / "kube" / "config"
    args = task_args(sim, dest, mode=mode)
    run_module(ansible, sim, args)
    sim.control("DELETE", "requests")
    by_action_run, by_action, by_action_executed = run_one_way(ansible, args, options, None)
    by_module_run, by_module, by_module_executed = run_one_way(ansible, args, options, MODULE_DECIDES)
    assert by_action_executed == ["AnsiballZ_kubeconfig_file_info.py"] and by_module_executed == ["AnsiballZ_ucs_federation_cert.py"]
    assert by_action["changed"] is False and by_action["reason"] is None and by_action["dest"] == str(dest)
    ignored = ("invocation", "warnings", "ansible_facts")
    assert {k: v for k, v in by_action.items() if k not in ignored} == {k: v for k, v in by_module.items() if k not in ignored}
    for run in (by_action_run, by_module_run):
        loose = [line for line in run.stderr.splitlines() if "[WARNING]" in line and "mode 0640 gives its group access to a file that holds" in line]
        assert len(loose) == (0 if mode == "0600" else 1), run.stderr[-3000:]
        assert run.changed() == 0
        assert_no_secrets(run.output, secrets_in_kubeconfig(dest))
    assert sim.requests() == []


@pytest.mark.every_core
def test_module_defaults_reach_the_action_as_they_reach_the_module(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Credentials and the endpoint from module_defaults of the action group alone: the first run
    downloads, the second is answered on the controller (only the read runs), no API call."""
    dest = tmp_path / "kube" / "config"
    seed = sim.seed
    defaults = {
        "endpoint": sim.endpoint,
        "ca_path": sim.ca_path,
        "access_key": seed["aksk"]["access_key"],
        "secret_key": "{{ ucs_secret_key }}",
        "domain_id": seed["domain"]["id"],
    }
    task = {"name": "Run the module", MODULE: task_args(sim, dest)}
    play = [
        {
            "name": "Defaults",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "module_defaults": {"group/ucs_cloud.fleet.ucs": defaults},
            "tasks": [task],
        }
    ]
    extra = {"ucs_secret_key": seed["aksk"]["secret_key"]}
    first = ansible.playbook(yaml.safe_dump(play), extra_vars=extra)  # no credential environment at all
    assert first.returncode == 0 and first.changed() == 1, first.stdout[-3000:]
    sim.control("DELETE", "requests")
    second = ansible.playbook(yaml.safe_dump(play), "-vvv", extra_vars=extra)
    assert second.returncode == 0 and second.changed() == 0, second.stdout[-3000:]
    assert ANSIBALLZ_RE.findall(second.stdout) and set(ANSIBALLZ_RE.findall(second.stdout)) == {"AnsiballZ_kubeconfig_file_info.py"}
    assert sim.requests() == []
    assert_no_secrets(first.output + second.output, [seed["aksk"]["secret_key"], *secrets_in_kubeconfig(dest)])


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


@pytest.mark.every_core
@pytest.mark.parametrize("extra", ["", " duration=7", " duration=1"])
def test_adhoc_with_credentials_from_environment(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, extra: str) -> None:
    """The README's command: credentials and UCS_ENDPOINT from the environment, dest under ~;
    a short duration with renew_before unset works (renewal after two thirds of the lifetime)."""
    home = tmp_path / "home"
    home.mkdir()
    net = network(sim)
    ids = f"fleet_id={sim.federated_fleet['id']} project_id={net['project_id']} vpc_id={net['vpc_id']} subnet_id={net['subnet_id']}"
    module_args = f"{ids} dest=~/.kube/ucs-fleet.yaml{extra}"
    env = {**ansible.credential_env("aksk"), "HOME": str(home)}
    assert "UCS_ENDPOINT" in env and "endpoint=" not in module_args
    run = ansible.adhoc(MODULE, module_args, "-vvv", env=env).assert_ok()
    dest = home / ".kube" / "ucs-fleet.yaml"
    assert "CHANGED" in run.stdout and dest.is_file()
    assert "every run will renew" not in run.output and "must be smaller than duration" not in run.output
    sim.control("DELETE", "requests")
    again = ansible.adhoc(MODULE, module_args, env=env).assert_ok()
    assert "SUCCESS" in again.stdout and "CHANGED" not in again.stdout
    assert sim.requests() == [] and len(sim.connections()) == 1 and sim.connections()[0]["cert_calls"] == 1
    assert_no_secrets(run.output + again.output, sim.secrets() + secrets_in_kubeconfig(dest))


@pytest.mark.every_core
def test_adhoc_without_endpoint_or_region_fails_before_any_request(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    net = network(sim)
    module_args = (
        f"fleet_id={sim.federated_fleet['id']} project_id={net['project_id']} vpc_id={net['vpc_id']} subnet_id={net['subnet_id']} dest={tmp_path / 'k'}"
    )
    env = {key: value for key, value in ansible.credential_env("aksk").items() if key != "UCS_ENDPOINT"}
    run = ansible.adhoc(MODULE, module_args, env=env)
    assert run.returncode != 0 and "endpoint is required when region is not set" in run.output
    assert sim.requests() == [] and not (tmp_path / "k").exists()


@pytest.mark.every_core
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


@pytest.mark.every_core
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


# --- kubectl's view of what was written -------------------------------------------------------


def kubectl(path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"))}
    env.update(NO_PROXY="127.0.0.1,localhost", HOME=str(path.parent))
    return subprocess.run([KUBECTL, "--kubeconfig", str(path), *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def kubectl_view(path: Path, *args: str) -> dict[str, Any]:
    """`kubectl config view -o json --raw`: what kubectl loads (a failure means it cannot load the file)."""
    view = kubectl(path, "config", "view", "-o", "json", "--raw", *args)
    assert view.returncode == 0, f"kubectl cannot load {path}: {view.stderr[-2000:]}"
    return json.loads(view.stdout)


def kubectl_written_config(path: Path) -> None:
    """A ~/.kube/config as kubectl writes it, with two clusters of the user's own."""
    for args in (
        ["set-cluster", "kind-dev", "--server=https://127.0.0.1:6443", "--insecure-skip-tls-verify=true"],
        ["set-credentials", "kind-dev", f"--token={FOREIGN_TOKEN}"],
        ["set-context", "kind-dev", "--cluster=kind-dev", "--user=kind-dev", "--namespace=dev"],
        ["set-cluster", "staging", "--server=https://staging.example.test:6443"],
        ["set-credentials", "staging", "--username=admin", "--password=staging-password-0123456789"],
        ["set-context", "staging", "--cluster=staging", "--user=staging"],
        ["use-context", "kind-dev"],
    ):
        done = kubectl(path, "config", *args)
        assert done.returncode == 0, done.stderr


def mine(view: dict[str, Any]) -> dict[str, Any]:
    """Only the user's own entries (every entry that is not the fleet's)."""
    return {section: [item for item in view.get(section) or [] if not item["name"].startswith("ucs-fleet-")] for section in ("clusters", "users", "contexts")}


def test_merge_into_the_users_kube_config_keeps_every_other_entry(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".kube" / "config"
    config.parent.mkdir(parents=True)
    kubectl_written_config(config)
    before = kubectl_view(config)
    env = {**ansible.credential_env("aksk"), "HOME": str(home)}
    out = tmp_path / "result.json"
    run = ansible.playbook(one_task_playbook(task_args(sim, "~/.kube/config"), register_to=out), env=env)
    result = json.loads(out.read_text())
    assert result.get("changed") is True, result.get("msg")
    name = f"ucs-fleet-{sim.federated_fleet['id']}"
    after = kubectl_view(config)
    own = mine(after)
    assert own == mine(before), "the user's clusters, users and contexts must mean exactly what they meant"
    assert after.get("preferences") == before.get("preferences")
    assert [c["name"] for c in after["contexts"]] == ["kind-dev", "staging", name]
    assert after["current-context"] == name and result["dest"] == str(config)
    minified = kubectl_view(config, "--minify")
    assert minified["clusters"][0]["cluster"]["server"] == sim.info["federation_server"]
    other = kubectl_view(config, "--minify", "--context", "kind-dev")
    assert other["contexts"][0]["context"]["namespace"] == "dev"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and not Path(str(config) + ".lock").exists()

    sim.control("DELETE", "requests")
    again_out = tmp_path / "again.json"
    again = ansible.playbook(one_task_playbook(task_args(sim, "~/.kube/config"), register_to=again_out), env=env)
    assert json.loads(again_out.read_text())["changed"] is False and again.changed() == 0
    assert sim.requests() == []
    assert_no_secrets(run.output + again.output, sim.secrets() + secrets_in_kubeconfig(config) + [FOREIGN_TOKEN, "staging-password-0123456789"])


def test_set_current_context_false_leaves_the_users_current_context(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config"
    kubectl_written_config(config)
    before = kubectl_view(config)
    run_module(ansible, sim, task_args(sim, config, set_current_context=False))
    after = kubectl_view(config)
    assert after["current-context"] == "kind-dev" and mine(after) == mine(before)
    assert f"ucs-fleet-{sim.federated_fleet['id']}" in [c["name"] for c in after["contexts"]]


def test_standalone_replaces_the_file(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config"
    kubectl_written_config(config)
    _run, result = run_module(ansible, sim, task_args(sim, config, standalone=True))
    after = kubectl_view(config)
    assert result["changed"] is True and mine(after) == {"clusters": [], "users": [], "contexts": []}
    assert FOREIGN_TOKEN not in config.read_text()


def test_a_file_that_cannot_be_merged_into_fails_before_any_request(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("- this is\n- not a kubeconfig\n")
    _run, result = failure(ansible, sim, task_args(sim, config))
    assert "standalone=true" in result["msg"] and sim.requests() == []
    assert config.read_text() == "- this is\n- not a kubeconfig\n"


def test_namespace_is_what_kubectl_uses_and_a_second_run_is_a_no_op(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "kube" / "config"
    _run, result = run_module(ansible, sim, task_args(sim, config, namespace="team-a"))
    assert result["changed"] is True and len(sim.calls("POST", "/cert")) == 1
    minified = kubectl_view(config, "--minify")
    assert minified["contexts"][0]["context"]["namespace"] == "team-a"
    namespace = kubectl(config, "config", "view", "--minify", "-o", "jsonpath={..namespace}")
    assert namespace.returncode == 0 and namespace.stdout == "team-a"
    sim.control("DELETE", "requests")
    again, result2 = run_module(ansible, sim, task_args(sim, config, namespace="team-a"))
    assert result2["changed"] is False and again.changed() == 0 and sim.requests() == []


def test_adding_a_namespace_later_needs_no_api_call(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A rewrite from the file's own entries: the certificate is kept and UCS is not asked."""
    config = tmp_path / "config"
    run_module(ansible, sim, task_args(sim, config))
    key_before = secrets_in_kubeconfig(config)
    sim.control("DELETE", "requests")
    _run, result = run_module(ansible, sim, task_args(sim, config, namespace="ops"))
    assert result["changed"] is True and result["kubeconfig_downloaded"] is False and "namespace 'ops'" in result["reason"]
    assert sim.requests() == [], "a namespace needs no new certificate"
    assert secrets_in_kubeconfig(config) == key_before
    assert kubectl_view(config, "--minify")["contexts"][0]["context"]["namespace"] == "ops"
    _again, result2 = run_module(ansible, sim, task_args(sim, config, namespace="ops"))
    assert result2["changed"] is False and sim.requests() == []


@pytest.mark.every_core
def test_fresh_home_without_kube_directory(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    home.mkdir(mode=0o755)
    env = {**ansible.credential_env("aksk"), "HOME": str(home)}
    out = tmp_path / "result.json"
    run = ansible.playbook(one_task_playbook(task_args(sim, "~/.kube/config"), register_to=out), env=env)
    result = json.loads(out.read_text())
    assert result.get("changed") is True, result.get("msg")
    kube = home / ".kube"
    assert stat.S_IMODE(kube.stat().st_mode) == 0o700, oct(kube.stat().st_mode)
    assert stat.S_IMODE((kube / "config").stat().st_mode) == 0o600
    assert sorted(p.name for p in kube.iterdir()) == ["config"], "no lock, temporary or backup file is left"
    assert kubectl_view(kube / "config")["current-context"] == f"ucs-fleet-{sim.federated_fleet['id']}"
    assert_no_secrets(run.output, sim.secrets() + secrets_in_kubeconfig(kube / "config"))


def test_check_mode_in_a_fresh_home_creates_nothing(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {**ansible.credential_env("aksk"), "HOME": str(home)}
    out = tmp_path / "result.json"
    ansible.playbook(one_task_playbook(task_args(sim, "~/.kube/config"), register_to=out), "--check", env=env)
    assert json.loads(out.read_text())["changed"] is True
    assert not (home / ".kube").exists() and writes(sim) == []
