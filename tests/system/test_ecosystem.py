"""The collection in the Ansible ecosystem: AWX credential type, execution environment, packaging, docs.

- The AWX credential type (extensions/awx/ucs_credential_type.yml) is checked the way AWX checks it
  when it is saved, its injectors are rendered the way AWX renders them for a job, and the
  resulting environment (and nothing else) authenticates a module run against the simulator.
- ansible-builder turns extensions/ee/execution-environment.yml into a build context, and the
  context's own introspection finds the collection's Python and system requirements (building the
  image needs a container engine, which this machine lacks).
- The tarball of `ansible-galaxy collection build` carries no venv, test output or caches, and
  works when installed into an empty collections path.
- module_defaults with group/ucs_cloud.fleet.ucs supplies the credentials.
- ansible-doc renders the module and the role; the changelog fragments render.

galaxy-importer and the antsibull-docs lint run in test_galaxy_tools.py; the AWX job path with
ansible-runner in test_awx_runner.py.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import AnsibleRunner, Simulator, assert_no_secrets
from cores import SUPPORTED_CORES, venv_for
from ecosystem_helpers import (
    SECRET_FIELDS,
    TARBALL_NAME,
    awx_inject,
    awx_validate,
    build_collection,
    clean_env,
    credential_inputs,
    install_collection,
    load_credential_type,
    run_tool,
)
from harness import ROOT, VENV_BIN

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec

MODULE = "ucs_cloud.fleet.ucs_federation_cert"
EE_DEFINITION = ROOT / "extensions" / "ee" / "execution-environment.yml"
ROLE_SPEC = ROOT / "roles" / "ucs_kubeconfig" / "meta" / "argument_specs.yml"

# Credential options of each authentication method (what the credential type must be able to carry).
CREDENTIAL_OPTIONS = {
    "endpoint",
    "region",
    "access_key",
    "secret_key",
    "security_token",
    "domain_id",
    "auth_token",
    "username",
    "password",
    "domain_name",
    "iam_endpoint",
    "ca_path",
}


# --- helpers -------------------------------------------------------------------------------------


def module_env_names() -> dict[str, str]:
    """Environment variable -> option, for every connection option with an environment fallback."""
    names = {}
    for option, spec in connection_argument_spec().items():
        fallback = spec.get("fallback")
        if fallback:
            for name in fallback[1]:
                names[name] = option
    return names


def requirement_lines(path: Path) -> list[str]:
    """The requirements of a requirements.txt or bindep.txt file, without comments and blank lines."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def module_args(sim: Simulator, dest: Path) -> str:
    net = sim.seed["network"]
    return f"fleet_id={sim.federated_fleet['id']} project_id={net['project_id']} vpc_id={net['vpc_id']} subnet_id={net['subnet_id']} dest={dest}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The checkout built with ansible-galaxy and installed from the tarball into an empty path."""
    work = tmp_path_factory.mktemp("galaxy")
    tarball = build_collection(work)
    installed = work / "collections"
    install_collection(tarball, installed, work)
    return {"work": work, "tarball": tarball, "installed": installed}


# --- (1) AWX credential type ---------------------------------------------------------------------


def test_credential_type_is_valid_for_awx_and_injects_what_the_modules_read(tmp_path: Path) -> None:
    credential_type = load_credential_type()
    assert credential_type["kind"] == "cloud"
    assert credential_type["name"] and credential_type["description"]
    fields = credential_type["inputs"]["fields"]
    ids = [field["id"] for field in fields]
    assert len(ids) == len(set(ids)), "field ids must be unique"
    for field in fields:
        assert field.get("type", "string") == "string" and field.get("label"), field
    assert {field["id"] for field in fields if field.get("secret")} == SECRET_FIELDS
    assert set(credential_type["inputs"].get("required", [])) <= set(ids)
    awx_validate(credential_type)

    # Exactly the variables the modules read, one per option, covering every credential option.
    env_names = module_env_names()
    injected = credential_type["injectors"]["env"]
    unknown = set(injected) - set(env_names)
    assert not unknown, f"injected variables no module reads: {unknown}"
    options = [env_names[name] for name in injected]
    assert len(options) == len(set(options)), "two variables feed the same option; the first one set wins, even when empty"
    assert set(options) == CREDENTIAL_OPTIONS

    # A credential with only an endpoint: every variable is set, and empty (the modules treat an
    # empty variable as unset), the CA bundle path included.
    env = awx_inject(credential_type, {"endpoint": "https://ucs.myhuaweicloud.com"}, tmp_path)
    assert env.pop("UCS_ENDPOINT") == "https://ucs.myhuaweicloud.com"
    assert set(env.values()) == {""}, env


# Every supported ansible-core, each from its venv (tests/system/cores.py): AWX and Automation
# Platform users run all of them.
@pytest.mark.parametrize("core", SUPPORTED_CORES)
@pytest.mark.parametrize("method", ["aksk", "temporary_aksk", "password"])
def test_awx_credential_environment_authenticates(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, method: str, core: str) -> None:
    """The environment AWX builds from the credential type, and nothing else, authenticates a module run."""
    venv_bin = venv_for(core) / "bin"
    private = tmp_path / "awx-private"
    private.mkdir()
    env = awx_inject(load_credential_type(), credential_inputs(sim, method), private)
    assert env["UCS_CA_PATH"] and Path(env["UCS_CA_PATH"]).read_text() == Path(sim.ca_path).read_text()
    dest = tmp_path / "fleet.kubeconfig"
    # AnsibleRunner drops every HUAWEICLOUD_SDK_*, OS_* and UCS_* variable of the caller; the
    # module runs with the core's own venv, as in an execution environment with that core.
    core_env = {"PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}", "ANSIBLE_PYTHON_INTERPRETER": str(venv_bin / "python")}
    args = [str(venv_bin / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m", MODULE, "-a", module_args(sim, dest)]
    version = run_tool([str(venv_bin / "ansible"), "--version"], clean_env(tmp_path), tmp_path)
    assert f"core {core}." in version.stdout, version.stdout
    run = ansible._run(args, {**env, **core_env})
    run.assert_ok()
    assert "localhost | CHANGED" in run.stdout, run.stdout[-3000:]
    assert len(sim.calls("POST", "/cert")) == 1
    token_requests = sim.calls("POST", "/v3/auth/tokens")
    assert len(token_requests) == (1 if method == "password" else 0)
    assert dest.is_file()
    assert_no_secrets(run.output, sim.secrets())


# --- (4) module_defaults -------------------------------------------------------------------------


def test_module_defaults_group_supplies_credentials(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    seed = sim.seed
    net = seed["network"]
    playbook = f"""
    - name: Credentials from module_defaults only
      hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        group/ucs_cloud.fleet.ucs:
          endpoint: "{{{{ ucs_endpoint }}}}"
          ca_path: "{{{{ ucs_ca_path }}}}"
          access_key: "{{{{ ucs_access_key }}}}"
          secret_key: "{{{{ ucs_secret_key }}}}"
          domain_id: "{{{{ ucs_domain_id }}}}"
      tasks:
        - name: Obtain the kubeconfig
          {MODULE}:
            fleet_id: {sim.federated_fleet["id"]}
            project_id: {net["project_id"]}
            vpc_id: {net["vpc_id"]}
            subnet_id: {net["subnet_id"]}
            dest: {tmp_path / "fleet.kubeconfig"}
    """
    extra = {
        "ucs_endpoint": sim.endpoint,
        "ucs_ca_path": sim.ca_path,
        "ucs_access_key": seed["aksk"]["access_key"],
        "ucs_secret_key": seed["aksk"]["secret_key"],
        "ucs_domain_id": seed["domain"]["id"],
    }
    run = ansible.playbook(textwrap.dedent(playbook), extra_vars=extra)  # no credential environment at all
    run.assert_ok()
    assert run.changed() == 1
    assert len(sim.calls("POST", "/cert")) == 1
    assert_no_secrets(run.stdout + run.log, [seed["aksk"]["secret_key"]])


# --- (3) packaging -------------------------------------------------------------------------------


# What the artifact may hold: what users run and read (fnmatch patterns; "*" also matches "/").
# Anything else in the tarball is a developer file that build_ignore in galaxy.yml must leave out.
TARBALL_ALLOW_LIST = [
    "MANIFEST.json",
    "FILES.json",
    "LICENSE",
    "README.md",
    "bindep.txt",
    "requirements.txt",
    "changelogs/changelog.yaml",
    "changelogs/config.yaml",
    "changelogs/fragments/*.yml",
    "docs/getting-started.md",
    "docs/user-guide.md",
    "extensions/awx/README.md",
    "extensions/awx/ucs_credential_type.yml",
    "extensions/ee/README.md",
    "extensions/ee/execution-environment.yml",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "playbooks/federation_kubeconfig.yml",
    "playbooks/fleet_federation.yml",
    "playbooks/awx_credential_type.yml",
    "playbooks/inventory/demo.yml",
    "plugins/*.py",
    "roles/ucs_kubeconfig/*",
    "tests/config.yml",
    "tests/simulator/ucs_simulator.py",
]
# What users are promised: without these the artifact is broken.
TARBALL_REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "LICENSE",
    "README.md",
    "requirements.txt",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "plugins/modules/ucs_federation_cert.py",
    "plugins/modules/kubeconfig_file_info.py",
    "roles/ucs_kubeconfig/meta/main.yml",
    "roles/ucs_kubeconfig/README.md",
    "docs/getting-started.md",
    "docs/user-guide.md",
    "extensions/awx/ucs_credential_type.yml",
    "extensions/ee/execution-environment.yml",
    "tests/simulator/ucs_simulator.py",
]


def test_tarball_holds_only_the_allow_list(built: dict[str, Path]) -> None:
    with tarfile.open(built["tarball"]) as archive:
        files = sorted(member.name for member in archive.getmembers() if not member.isdir())
    unexpected = [name for name in files if not any(fnmatch.fnmatchcase(name, pattern) for pattern in TARBALL_ALLOW_LIST)]
    assert not unexpected, f"developer files in the tarball (add them to build_ignore in galaxy.yml): {unexpected}"
    missing = [name for name in TARBALL_REQUIRED if name not in files]
    assert not missing, f"the tarball lacks {missing}"
    # Every allowed pattern is still matched by some file (a stale allow-list hides nothing).
    stale = [pattern for pattern in TARBALL_ALLOW_LIST if not any(fnmatch.fnmatchcase(name, pattern) for name in files)]
    assert not stale, f"allow-list patterns that match no file in the tarball: {stale}"
    # The allow-list judges names; the size catches a large file under an allowed name (a
    # benchmark result, a generated kubeconfig). 0.1.0 with its lifecycle modules is about 210 kB.
    size = built["tarball"].stat().st_size
    assert size < 300_000, f"the tarball is {size} bytes"


def test_installed_tarball_runs_module_by_fqcn(ansible: AnsibleRunner, sim: Simulator, built: dict[str, Path], tmp_path: Path) -> None:
    installed = built["installed"]
    assert (installed / "ansible_collections" / "ucs_cloud" / "fleet" / "MANIFEST.json").is_file()
    env = {**ansible.credential_env("aksk"), "ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False"}
    dest = tmp_path / "fleet.kubeconfig"
    run = ansible.adhoc(MODULE, module_args(sim, dest), env=env)
    run.assert_ok()
    assert "localhost | CHANGED" in run.stdout
    assert len(sim.calls("POST", "/cert")) == 1
    # It really ran the installed copy, not this checkout.
    listing = run_tool([str(VENV_BIN / "ansible-galaxy"), "collection", "list", "ucs_cloud.fleet"], clean_env(tmp_path, str(installed)), tmp_path)
    assert str(installed) in listing.stdout, listing.stdout + listing.stderr


def test_installed_tarball_runs_example_playbook(ansible: AnsibleRunner, sim: Simulator, built: dict[str, Path], tmp_path: Path) -> None:
    installed_root = built["installed"] / "ansible_collections" / "ucs_cloud" / "fleet"
    if not (installed_root / "roles" / "ucs_kubeconfig" / "tasks").is_dir():
        pytest.skip("roles/ucs_kubeconfig is not in the collection yet; the example playbook needs it")
    playbook = installed_root / "playbooks" / "federation_kubeconfig.yml"
    inventory = installed_root / "playbooks" / "inventory" / "demo.yml"
    assert playbook.is_file() and inventory.is_file()
    net = sim.seed["network"]
    kubeconfig = tmp_path / "home" / ".kube" / "config"
    extra = {
        "ucs_kubeconfig_fleet_id": sim.federated_fleet["id"],
        "ucs_kubeconfig_project_id": net["project_id"],
        "ucs_kubeconfig_vpc_id": net["vpc_id"],
        "ucs_kubeconfig_subnet_id": net["subnet_id"],
        "ucs_kubeconfig_path": str(kubeconfig),
    }
    env = {**ansible.credential_env("aksk"), "ANSIBLE_COLLECTIONS_PATH": str(built["installed"]), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False"}
    args = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "-e", yaml.safe_dump(extra, default_flow_style=True).strip()]
    run = ansible._run(args, env)
    run.assert_ok()
    assert run.recap["localhost"]["failed"] == 0 and run.recap["localhost"]["changed"] >= 1
    assert kubeconfig.is_file()
    assert len(sim.calls("POST", "/cert")) == 1


# --- (2) execution environment -------------------------------------------------------------------


def test_execution_environment_build_context(built: dict[str, Path], tmp_path: Path) -> None:
    """ansible-builder writes a build context; its introspection finds the collection's requirements.

    Building the image itself needs podman or docker, which this machine lacks.
    """
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert (ROOT / meta["dependencies"]["python"]).is_file() and (ROOT / meta["dependencies"]["system"]).is_file()

    definition = yaml.safe_load(EE_DEFINITION.read_text())
    assert definition["version"] == 3
    sources = [entry["src"] for entry in definition.get("additional_build_files", [])]
    assert TARBALL_NAME in sources, f"{EE_DEFINITION.name} must copy {TARBALL_NAME} (the version of galaxy.yml); it copies {sources}"

    # The shipped definition, unchanged, with the tarball beside it, and the README's own
    # `ansible-builder create` command, run as written from a copy of the repository layout.
    work = tmp_path / "ee"
    (work / "extensions" / "ee").mkdir(parents=True)
    shutil.copy(EE_DEFINITION, work / "extensions" / "ee" / "execution-environment.yml")
    shutil.copy(built["tarball"], work / "extensions" / "ee" / TARBALL_NAME)
    readme = (EE_DEFINITION.parent / "README.md").read_text()
    commands = [line for block in re.findall(r"```sh\n(.*?)```", readme, re.S) for line in block.splitlines() if line.startswith("ansible-builder create")]
    assert len(commands) == 1, f"extensions/ee/README.md shows {len(commands)} `ansible-builder create` commands"
    # The file name the README promises is the one the command writes.
    promised = re.findall(r"`context/(\w+file)`", readme)
    assert promised and set(promised) == {"Containerfile"}, promised
    env = clean_env(tmp_path)
    create = run_tool([str(VENV_BIN / "ansible-builder"), *shlex.split(commands[0])[1:]], env, work)
    assert create.returncode == 0, create.stdout + create.stderr
    context = work / "context"
    assert sorted(p.name for p in context.iterdir() if p.is_file()) == ["Containerfile"], list(context.iterdir())
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile
    assert 'ANSIBLE_INSTALL_REFS="ansible-core' in containerfile
    assert (context / "_build" / "collections" / TARBALL_NAME).is_file()
    galaxy_requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy_requirements["collections"]] == [f"/build/collections/{TARBALL_NAME}"]

    # The image build runs this very script over the installed collections; run it here over the
    # collection installed from the same tarball.
    introspect = context / "_build" / "scripts" / "introspect.py"
    out_pip, out_bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    result = run_tool(
        [sys.executable, str(introspect), "introspect", str(built["installed"]), f"--write-pip={out_pip}", f"--write-bindep={out_bindep}"], env, tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pip_lines = out_pip.read_text().splitlines()
    for requirement in requirement_lines(ROOT / "requirements.txt"):
        if requirement.lower().startswith("pyyaml"):
            # ansible-builder leaves PyYAML out on purpose: ansible-core itself requires it.
            assert not any(line.lower().startswith("pyyaml") for line in pip_lines)
            continue
        assert f"{requirement}  # from collection ucs_cloud.fleet" in pip_lines, pip_lines
    bindep_lines = out_bindep.read_text().splitlines()
    for requirement in requirement_lines(ROOT / "bindep.txt"):
        assert f"{requirement}  # from collection ucs_cloud.fleet" in bindep_lines, bindep_lines


# --- (5) documentation ---------------------------------------------------------------------------


# ansible-core 2.20 and 2.21 warn about their own internal collection (ansible._protomatter) when
# ansible-doc walks the collections, whatever the collection asked for: ansible/ansible#85689.
UPSTREAM_WARNING = re.compile(
    r"^\[WARNING\]: Collection at '[^']*/ansible/_internal/ansible_collections/ansible/_protomatter' does not have a MANIFEST\.json file.*$", re.M
)


def own_warnings(stderr: str) -> str:
    """stderr without the upstream warning above: what the collection itself caused."""
    return UPSTREAM_WARNING.sub("", stderr)


def test_ansible_doc_renders_the_module(tmp_path: Path) -> None:
    result = run_tool([str(VENV_BIN / "ansible-doc"), MODULE], clean_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    for text in ("ucs_federation_cert", "auth_method", "HUAWEICLOUD_SDK_AK", "renew_before", "EXAMPLES", "RETURN VALUES"):
        assert text in result.stdout, f"{text!r} missing from ansible-doc output"
    assert "[WARNING]" not in own_warnings(result.stderr), result.stderr


def test_ansible_doc_renders_the_role(tmp_path: Path) -> None:
    if not ROLE_SPEC.is_file():
        pytest.skip("roles/ucs_kubeconfig/meta/argument_specs.yml does not exist yet")
    result = run_tool([str(VENV_BIN / "ansible-doc"), "-t", "role", "ucs_cloud.fleet.ucs_kubeconfig"], clean_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ucs_kubeconfig_fleet_id" in result.stdout
    assert "[WARNING]" not in own_warnings(result.stderr), result.stderr


def test_changelog_fragments_render(tmp_path: Path) -> None:
    """The fragments make a real release changelog (in a copy; the checkout stays unreleased)."""
    copy = tmp_path / "collection"
    shutil.copytree(ROOT / "changelogs", copy / "changelogs")
    for name in ("galaxy.yml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "plugins", copy / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "roles", copy / "roles")
    shutil.copytree(ROOT / "meta", copy / "meta")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}  # it runs ansible-doc
    subprocess.run(
        [str(VENV_BIN / "antsibull-changelog"), "release", "--version", "0.1.0", "--date", "2026-11-29"],
        cwd=copy,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    # Markdown output escapes punctuation: compare without the backslashes.
    changelog = (copy / "CHANGELOG.md").read_text().replace("\\", "")
    assert "v0.1.0" in changelog
    assert "New Modules" in changelog and "ucs_federation_cert" in changelog
    assert "New Roles" in changelog and "ucs_kubeconfig" in changelog
    assert "credential type" in changelog
