"""Shared by the ecosystem tests: AWX's handling of the credential type, tool runs, the built tarball.

- awx_validate() checks a credential type as AWX does when it is saved; awx_inject() renders its
  injectors as AWX does for a job (awx/main/models/credential: only filled-in fields, jinja2's
  default Undefined, the file injector written with mkstemp into the job's private data directory
  and readable by its owner only, every env injector set even when it renders empty).
- build_collection() and install_collection() run ansible-galaxy as users do.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ROOT, VENV_BIN, ansible_env
from jinja2 import StrictUndefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "ucs_credential_type.yml"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
TARBALL_NAME = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
SECRET_FIELDS = {"secret_key", "security_token", "auth_token", "password"}


def clean_env(tmp_path: Path, collections_path: str | None = None) -> dict[str, str]:
    """An environment without credentials or Ansible settings of the caller, for tool runs."""
    env = ansible_env(tmp_path)
    if collections_path is not None:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections_path
    # Only the collections path given counts (an installed tarball must be tested alone).
    env.update(ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False", ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    return env


def run_tool(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def build_collection(work: Path) -> Path:
    """`ansible-galaxy collection build` of the checkout into work; the tarball."""
    env = clean_env(work, collections_path=str(work / "none"))
    build = run_tool([str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(work), str(ROOT)], env, work)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = work / TARBALL_NAME
    assert tarball.is_file(), f"no {TARBALL_NAME} in {sorted(p.name for p in work.iterdir())}"
    return tarball


def install_collection(tarball: Path, installed: Path, work: Path) -> None:
    """Install a tarball into an otherwise empty collections path."""
    # Only that path is searched, so nothing installed elsewhere (~/.ansible) can satisfy it.
    env = clean_env(work, collections_path=str(installed))
    install = run_tool([str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--force", str(tarball), "-p", str(installed)], env, work)
    assert install.returncode == 0, install.stdout + install.stderr


def load_credential_type() -> dict[str, Any]:
    return yaml.safe_load(CREDENTIAL_TYPE.read_text())


class _Tower:
    """AWX's reserved ``tower`` namespace: ``tower.filename`` is the path of the file injector."""

    def __init__(self, filename: str | None) -> None:
        if filename is not None:
            self.filename = filename


def awx_validate(credential_type: dict[str, Any]) -> None:
    """What AWX checks when a credential type is saved: every template renders with every field set.

    AWX renders each injector with StrictUndefined and a namespace holding every declared field
    (and tower.filename when there is a file injector), so a template naming an unknown field fails.
    """
    namespace: dict[str, Any] = {field["id"]: "EXAMPLE" for field in credential_type["inputs"]["fields"]}
    files = credential_type["injectors"].get("file", {})
    namespace["tower"] = _Tower("EXAMPLE_FILENAME" if "template" in files else None)
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    for kind, injector in credential_type["injectors"].items():
        for key, template in injector.items():
            if kind == "env":
                assert not key.startswith("ANSIBLE_"), f"AWX refuses ANSIBLE_* variables in credentials: {key}"
            try:
                env.from_string(template).render(namespace)
            except UndefinedError as exc:  # pragma: no cover - the assertion message is the point
                pytest.fail(f"injector {kind}.{key} uses an undefined field: {exc}")


def awx_inject(credential_type: dict[str, Any], inputs: dict[str, str], private_dir: Path) -> dict[str, str]:
    """Render the injectors as AWX does for a job: the environment variables a playbook run gets.

    As in AWX, only inputs with a non-empty value are in the namespace, templates render with
    jinja2's default Undefined (an absent field renders as ''), the single file injector is written
    to a file of its own in private_dir (AWX: mkstemp in the job's private data directory's env/,
    mode 0600) whose path is ``tower.filename``, and every env injector is set, even when it renders
    empty.
    """
    declared = {field["id"] for field in credential_type["inputs"]["fields"]}
    assert set(inputs) <= declared, f"inputs not declared by the credential type: {set(inputs) - declared}"
    missing = [name for name in credential_type["inputs"].get("required", []) if not inputs.get(name)]
    assert not missing, f"AWX would refuse this credential: required inputs missing: {missing}"
    namespace: dict[str, Any] = {name: value for name, value in inputs.items() if value}
    sandbox = ImmutableSandboxedEnvironment()
    tower = _Tower(None)
    for label, template in credential_type["injectors"].get("file", {}).items():
        assert label == "template", "this credential type uses the single-file syntax"
        handle, name = tempfile.mkstemp(dir=private_dir)
        with os.fdopen(handle, "w") as file:
            file.write(sandbox.from_string(template).render(tower=tower, **namespace))
        os.chmod(name, 0o600)
        tower.filename = name
    return {name: sandbox.from_string(template).render(tower=tower, **namespace) for name, template in credential_type["injectors"].get("env", {}).items()}


def credential_inputs(sim: Any, method: str) -> dict[str, str]:
    """Inputs of a UCS credential as a user would enter them in AWX, from the simulator's seed."""
    seed = sim.seed
    inputs = {"endpoint": sim.endpoint, "ca_certificate": Path(sim.ca_path).read_text()}
    if method == "aksk":
        inputs.update(access_key=seed["aksk"]["access_key"], secret_key=seed["aksk"]["secret_key"], domain_id=seed["domain"]["id"])
    elif method == "temporary_aksk":
        temporary = seed["temporary_aksk"]
        inputs.update(
            access_key=temporary["access_key"], secret_key=temporary["secret_key"], security_token=temporary["security_token"], domain_id=seed["domain"]["id"]
        )
    elif method == "password":
        inputs.update(
            username=seed["iam_user"]["name"],
            password=seed["iam_user"]["password"],
            domain_name=seed["domain"]["name"],
            iam_endpoint=sim.info["iam_endpoint"] + "/v3",
        )
    else:  # pragma: no cover
        raise ValueError(method)
    return inputs
