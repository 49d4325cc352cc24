"""extensions/awx/README.md, followed step by step with ansible-runner, as AWX runs a job.

AWX runs every job with ansible-runner in a private data directory of its own: the project's
files in project/, the inventory in inventory/, the extra variables in env/extravars and the
job's environment, credentials included, in env/envvars; a credential's file injector is written
into env/ (mkstemp, mode 0600). This test builds that directory from the README's own blocks:

1. the credential: the credential type's injectors rendered as AWX renders them for a job
   (ecosystem_helpers.awx_inject), from inputs made of the simulator's seed;
2. the project: the README's federation_kubeconfig.yml, and its collections/requirements.yml
   installed as AWX's project sync does (`ansible-galaxy collection install -r` from the
   project's root) with the built tarball beside it; the git form of requirements.yml is
   installed from a local clone of this repository;
3. the inventory: the README's groups (federation_clients), each with a local host (the README's
   hosts do not exist here);
4. the execution environment: the venv running these tests (the newest core);
5. the job template: the README's extra variables, exactly as written (the simulator is seeded
   with their IDs).

The job runs twice: the first run writes the kubeconfig, the second reports changed=0 and makes
no request at all. Every file of artifacts/ except `command` is searched for every secret; the
`command` file is checked to hold the secret, as the README warns.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Simulator, assert_no_secrets, assert_simulator_logs_clean
from ecosystem_helpers import TARBALL_NAME, awx_inject, build_collection, clean_env, credential_inputs, load_credential_type, run_tool
from harness import ROOT, VENV_BIN, ansible_env

README = ROOT / "extensions" / "awx" / "README.md"
GROUP = "federation_clients"
# The environment variable of each method's secret input, and the input.
SECRET_VARIABLE = {
    "aksk": ("HUAWEICLOUD_SDK_SK", "secret_key"),
    "temporary_aksk": ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "security_token"),
    "password": ("OS_PASSWORD", "password"),
}


def readme_blocks() -> dict[str, str]:
    """The README's YAML blocks, by their first line ("# collections/requirements.yml")."""
    blocks = {}
    for _indent, indented in re.findall(r"^( *)```yaml\n(.*?)^\1```", README.read_text(), re.S | re.M):
        body = textwrap.dedent(indented)
        title = body.splitlines()[0]
        assert title.startswith("# "), f"a YAML block of {README.name} does not start with a '# name' line: {title!r}"
        blocks[title[2:].strip()] = body
    return blocks


BLOCKS = readme_blocks()


def block(title: str) -> str:
    assert title in BLOCKS, f"{README.name} has no YAML block starting with '# {title}' (it has {sorted(BLOCKS)})"
    return BLOCKS[title]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Step 2: the project as the README lays it out, synced as AWX syncs it."""
    work = tmp_path_factory.mktemp("awx-project")
    (work / "build").mkdir()
    tarball = build_collection(work / "build")
    project = work / "project"
    (project / "collections").mkdir(parents=True)
    (project / "federation_kubeconfig.yml").write_text(block("federation_kubeconfig.yml (at the root of the project)"))
    requirements = block("collections/requirements.yml")
    (project / "collections" / "requirements.yml").write_text(requirements)
    # The tarball the README names is the one `ansible-galaxy collection build` makes.
    names = [item["name"] for item in yaml.safe_load(requirements)["collections"]]
    assert names == [f"collections/{TARBALL_NAME}"], f"the README's requirements.yml names {names}, the build makes {TARBALL_NAME}"
    shutil.copy(tarball, project / "collections" / TARBALL_NAME)
    # AWX's project sync: `ansible-galaxy collection install -r <project>/collections/requirements.yml`,
    # run from the project's root, into the path its environment names.
    installed = work / "requirements_collections"
    sync = run_tool(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", str(project / "collections" / "requirements.yml")],
        clean_env(work, collections_path=str(installed)),
        project,
    )
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert (installed / "ansible_collections" / "ucs_cloud" / "fleet" / "MANIFEST.json").is_file(), sync.stdout
    return {"project": project, "installed": installed, "work": work}


def test_requirements_from_git_install(tmp_path: Path) -> None:
    """The README's git form of requirements.yml, with its URL pointing at a clone of this repository."""
    text = block("collections/requirements.yml (from git)")
    entry = yaml.safe_load(text)["collections"][0]
    assert entry["type"] == "git" and entry["name"].endswith(".git"), entry
    clone = tmp_path / "fleet.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(clone)], check=True, capture_output=True)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "-C", str(clone), "update-ref", f"refs/heads/{entry['version']}", head], check=True, capture_output=True)
    requirements = tmp_path / "requirements.yml"
    requirements.write_text(text.replace(entry["name"], clone.as_uri()))
    installed = tmp_path / "collections"
    result = run_tool(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "-r", str(requirements)], clean_env(tmp_path, collections_path=str(installed)), tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((installed / "ansible_collections" / "ucs_cloud" / "fleet" / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]


def seed_extra_variables(sim: Simulator, extra: dict[str, Any]) -> None:
    """Make the fleet and network of the README's extra variables exist in the simulator."""
    names = [f"ucs_kubeconfig_{key}" for key in ("fleet_id", "project_id", "vpc_id", "subnet_id")]
    assert all(name in extra for name in names), f"the README's extra variables must set {names} (the role reads no other names): {sorted(extra)}"
    sim.control("POST", "fleets", {"id": extra["ucs_kubeconfig_fleet_id"], "name": "awx-readme", "federation": True})
    network = {key: extra[f"ucs_kubeconfig_{key}"] for key in ("project_id", "vpc_id", "subnet_id")}
    sim.control("POST", "networks", network)


def inventory() -> dict[str, Any]:
    """Step 3: the README's inventory groups, each holding one local host instead of the README's."""
    groups = yaml.safe_load(block("inventory.yml"))
    assert GROUP in groups, f"the README's inventory has no group {GROUP}: {sorted(groups)}"
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    return {group: {"hosts": {f"{group}-host": local}} for group in groups}


def run_job(sim: Simulator, project: dict[str, Path], tmp_path: Path, method: str, ident: str, *options: str) -> Path:
    """One job: a fresh private data directory, as AWX makes for every job, run by ansible-runner."""
    private = tmp_path / f"private-{ident}"
    shutil.copytree(project["project"], private / "project")
    (private / "inventory").mkdir(parents=True)
    (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory()))
    (private / "env").mkdir()
    env = awx_inject(load_credential_type(), credential_inputs(sim, method), private / "env")
    # AWX also puts the project's synced collections on the job's collections path.
    env["ANSIBLE_COLLECTIONS_PATH"] = str(project["installed"])
    (private / "env" / "envvars").write_text(yaml.safe_dump(env))
    (private / "env" / "extravars").write_text(block("Extra variables"))
    process_env = ansible_env(tmp_path)
    process_env.pop("ANSIBLE_COLLECTIONS_PATH")  # only the synced collections: never this checkout
    process_env.update(HOME=str(tmp_path / "home"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False")
    args = [str(VENV_BIN / "ansible-runner"), "run", str(private), "-p", "federation_kubeconfig.yml", "--ident", ident, *options]
    result = subprocess.run(args, env=process_env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    artifacts = private / "artifacts" / ident
    status = (artifacts / "status").read_text() if (artifacts / "status").is_file() else "(none)"
    outcome = f"job {ident}: rc {result.returncode}, status {status}"
    assert result.returncode == 0 and status == "successful", f"{outcome}\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}"
    return artifacts


def stats(artifacts: Path) -> dict[str, dict[str, int]]:
    """The play recap of a job, from its playbook_on_stats event."""
    for path in (artifacts / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event["event_data"]
    pytest.fail(f"no playbook_on_stats event in {artifacts}")


def scan_artifacts(artifacts: Path, secrets: list[str]) -> int:
    """Search every artifact except `command` for every secret; the number of files searched."""
    files = [path for path in sorted(artifacts.rglob("*")) if path.is_file() and path.name != "command"]
    for path in files:
        assert_no_secrets(path.read_text(errors="replace"), secrets, f"ansible-runner artifact {path.relative_to(artifacts)}")
    return len(files)


@pytest.mark.parametrize("method", ["aksk", "temporary_aksk", "password"])
def test_awx_job_with_ansible_runner_as_the_readme_says(sim: Simulator, project: dict[str, Path], tmp_path: Path, method: str) -> None:
    extra = yaml.safe_load(block("Extra variables"))
    seed_extra_variables(sim, extra)
    host = f"{GROUP}-host"
    kubeconfig = tmp_path / "home" / ".kube" / "config"

    first = run_job(sim, project, tmp_path, method, "job-1")
    recap = stats(first)
    assert recap["changed"].get(host, 0) >= 1 and not recap.get("failures") and not recap.get("dark"), recap
    assert len(sim.calls("POST", "/cert")) == 1
    config = yaml.safe_load(kubeconfig.read_text())
    assert any(extra["ucs_kubeconfig_fleet_id"] in cluster["name"] for cluster in config["clusters"]), config["clusters"]

    # The second job: nothing to do, no request at all. --omit-env-files leaves `command` as it is.
    before = len(sim.requests())
    second = run_job(sim, project, tmp_path, method, "job-2", "--omit-env-files")
    recap = stats(second)
    assert not recap["changed"] and recap["ok"].get(host, 0) >= 1 and not recap.get("failures"), recap
    assert sim.requests()[before:] == [], "the second job made requests"

    secrets = sim.issued_secrets()
    searched = sum(scan_artifacts(artifacts, secrets) for artifacts in (first, second))
    assert searched > 10, f"only {searched} artifact files searched"
    assert_simulator_logs_clean(sim, secrets)
    # What the README warns about: `command` holds the job's environment verbatim.
    variable, field = SECRET_VARIABLE[method]
    secret = credential_inputs(sim, method)[field]
    for artifacts in (first, second):
        assert json.loads((artifacts / "command").read_text())["env"].get(variable) == secret, (
            f"ansible-runner no longer writes {variable} into artifacts/<ident>/command: update the warning in {README.name}"
        )
