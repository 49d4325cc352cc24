"""Fixtures of the system tests: a running simulator and a way to run Ansible against it.

The simulator starts once per session; each test resets its state (fleets, connections, faults,
request log) through the control API, so tests stay independent and fast.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

# The shared simulator/Ansible harness lives beside the simulator. Appended, not prepended, so
# that `conftest` still names this file for the test modules.
sys.path.append(str(Path(__file__).resolve().parents[1] / "simulator"))
from harness import VENV_BIN, SimulatorProcess, ansible_env

RECAP_RE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


class Simulator(SimulatorProcess):
    """The simulator of the system tests, with a filter over its request log."""

    def calls(self, method: str | None = None, suffix: str = "") -> list[dict[str, Any]]:
        """Logged UCS/IAM requests, optionally filtered by method and path suffix."""
        return [r for r in self.requests() if (method is None or r["method"] == method) and r["path"].endswith(suffix)]


@pytest.fixture(scope="session")
def simulator_session(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    sim = Simulator(tmp_path_factory.mktemp("simulator"))
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator_session: Simulator) -> Simulator:
    simulator_session.reset()
    return simulator_session


@dataclass
class Run:
    """Result of one ansible or ansible-playbook run."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    log: str = ""
    recap: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr + self.log

    def assert_ok(self) -> Run:
        assert self.returncode == 0, f"{self.args} failed ({self.returncode}):\n{self.stdout[-6000:]}\n{self.stderr[-3000:]}"
        return self

    def changed(self, host: str = "localhost") -> int:
        return self.recap[host]["changed"]


class AnsibleRunner:
    """Runs ansible-playbook and ansible with the collection from this checkout."""

    def __init__(self, tmp_path: Path, sim: Simulator) -> None:
        self.tmp_path = tmp_path
        self.sim = sim
        self.count = 0
        self.env = ansible_env(tmp_path)

    def credential_env(self, method: str = "aksk") -> dict[str, str]:
        """Environment variables that authenticate against the simulator, as users set them."""
        seed = self.sim.seed
        env = {"UCS_ENDPOINT": self.sim.endpoint, "UCS_CA_PATH": self.sim.ca_path}
        if method == "aksk":
            env.update(
                HUAWEICLOUD_SDK_AK=seed["aksk"]["access_key"],
                HUAWEICLOUD_SDK_SK=seed["aksk"]["secret_key"],
                HUAWEICLOUD_SDK_DOMAIN_ID=seed["domain"]["id"],
            )
        elif method == "password":
            env.update(
                OS_AUTH_URL=self.sim.info["iam_endpoint"] + "/v3",
                OS_USERNAME=seed["iam_user"]["name"],
                OS_PASSWORD=seed["iam_user"]["password"],
                OS_USER_DOMAIN_NAME=seed["domain"]["name"],
            )
        return env

    def _run(self, args: list[str], env: dict[str, str] | None) -> Run:
        self.count += 1
        log_path = self.tmp_path / f"ansible-{self.count}.log"
        full_env = {**self.env, "ANSIBLE_LOG_PATH": str(log_path), **(env or {})}
        proc = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=300, cwd=self.tmp_path, check=False)
        log = log_path.read_text() if log_path.exists() else ""
        recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")} for m in RECAP_RE.finditer(proc.stdout)}
        return Run(args, proc.returncode, proc.stdout, proc.stderr, log, recap)

    def playbook(
        self, text: str, *options: str, env: dict[str, str] | None = None, inventory: str = "localhost,", extra_vars: dict[str, Any] | None = None
    ) -> Run:
        path = self.tmp_path / f"playbook-{self.count + 1}.yml"
        path.write_text(textwrap.dedent(text))
        args = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(path), *options]
        if extra_vars:
            args += ["-e", json.dumps(extra_vars)]
        return self._run(args, env)

    def adhoc(self, module: str, module_args: str, *options: str, env: dict[str, str] | None = None) -> Run:
        args = [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m", module, "-a", module_args, *options]
        return self._run(args, env)


@pytest.fixture
def ansible(tmp_path: Path, sim: Simulator) -> AnsibleRunner:
    return AnsibleRunner(tmp_path, sim)


def secrets_in_kubeconfig(path: Path) -> list[str]:
    """The client key of a kubeconfig file, as base64 and as PEM lines, for leak scans."""
    config = yaml.safe_load(path.read_text())
    found = []
    for user in config.get("users", []):
        data = user.get("user", {}).get("client-key-data")
        if data:
            found.append(data)
            pem = base64.b64decode(data).decode()
            found += [line for line in pem.splitlines() if len(line) > 20 and "PRIVATE KEY" not in line]
    return found


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    leaked = [s[:6] + "..." for s in secrets if s and s in text]
    assert not leaked, f"secret values leaked into output: {leaked}"
