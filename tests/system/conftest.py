"""Fixtures of the system tests: a running simulator and a way to run Ansible against it.

The simulator starts once per session; each test resets its state (fleets, connections, faults,
request log) through the control API, so tests stay independent and fast.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "tests" / "simulator" / "ucs_simulator.py"
VENV_BIN = Path(sys.executable).parent
RECAP_RE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)", re.M)


class Simulator:
    """Handle on a running simulator: its published settings and its control API."""

    def __init__(self, state_dir: Path, process: subprocess.Popen[bytes]) -> None:
        self.state_dir = state_dir
        self.process = process
        self.info: dict[str, Any] = json.loads((state_dir / "simulator.json").read_text())
        self.endpoint: str = self.info["endpoint"]
        self.ca_path: str = self.info["ca_path"]
        self.seed: dict[str, Any] = self.info["seed"]
        self._context = ssl.create_default_context(cafile=self.ca_path)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + "/_sim/" + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self._context, timeout=10) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def requests(self) -> list[dict[str, Any]]:
        return self.control("GET", "requests")

    def calls(self, method: str | None = None, suffix: str = "") -> list[dict[str, Any]]:
        """Logged UCS/IAM requests, optionally filtered by method and path suffix."""
        return [r for r in self.requests() if (method is None or r["method"] == method) and r["path"].endswith(suffix)]

    def connections(self) -> list[dict[str, Any]]:
        return self.control("GET", "connections")

    def fault(self, fault: str, operation: str = "any", count: int = 1, **extra: Any) -> None:
        self.control("POST", "faults", {"fault": fault, "operation": operation, "count": count, **extra})

    # Seeded values, named for the tests.
    @property
    def federated_fleet(self) -> dict[str, Any]:
        return next(f for f in self.seed["fleets"] if f["federation"])

    @property
    def plain_fleet(self) -> dict[str, Any]:
        return next(f for f in self.seed["fleets"] if not f["federation"])

    def secrets(self) -> list[str]:
        """Every credential the simulator knows; none may ever show up in output."""
        seed = self.seed
        values = [seed["aksk"]["secret_key"], seed["temporary_aksk"]["secret_key"], seed["temporary_aksk"]["security_token"], seed["iam_user"]["password"]]
        return [v for v in values if v]


@pytest.fixture(scope="session")
def simulator_session(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    state_dir = tmp_path_factory.mktemp("simulator")
    process = subprocess.Popen(
        [sys.executable, str(SIMULATOR), "--port", "0", "--state-dir", str(state_dir)],
        stdout=(state_dir / "stdout.log").open("wb"),
        stderr=(state_dir / "stderr.log").open("wb"),
    )
    deadline = time.monotonic() + 15
    while not (state_dir / "simulator.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"simulator did not start: {(state_dir / 'stderr.log').read_text()}")
        time.sleep(0.05)
    sim = Simulator(state_dir, process)
    yield sim
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


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
        collections = subprocess.run([str(ROOT / "scripts" / "link-collection.sh")], check=True, capture_output=True, text=True).stdout.strip()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HUAWEICLOUD_SDK_", "OS_", "UCS_", "ANSIBLE_"))}
        self.env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            ANSIBLE_COLLECTIONS_PATH=collections,
            ANSIBLE_COLLECTIONS_ON_ANSIBLE_VERSION_MISMATCH="ignore",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_LOCALHOST_WARNING="False",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
            ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
        )

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
