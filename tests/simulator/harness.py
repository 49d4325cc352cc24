"""Starting the simulator and running Ansible against it: shared by the tests and the benchmark.

Python standard library only, so scripts outside pytest can import it too.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "tests" / "simulator" / "ucs_simulator.py"
VENV_BIN = Path(sys.executable).parent


class SimulatorProcess:
    """A simulator subprocess: its published settings (simulator.json) and its control API."""

    def __init__(self, state_dir: Path, *args: str, startup_timeout: float = 15.0) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = state_dir
        self._stdout = (state_dir / "stdout.log").open("wb")
        self._stderr = (state_dir / "stderr.log").open("wb")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, str(SIMULATOR), "--port", "0", "--state-dir", str(state_dir), *args], stdout=self._stdout, stderr=self._stderr
        )
        while not (state_dir / "simulator.json").exists():
            if self.process.poll() is not None or time.monotonic() - started > startup_timeout:
                self.stop()
                raise RuntimeError(f"simulator did not start: {(state_dir / 'stderr.log').read_text(encoding='utf-8')}")
            time.sleep(0.01)
        self.started_in = time.monotonic() - started
        self.info: Dict[str, Any] = json.loads((state_dir / "simulator.json").read_text(encoding="utf-8"))
        self.endpoint: str = self.info["endpoint"]
        self.ca_path: str = self.info["ca_path"]
        self.federation_server: str = self.info["federation_server"]
        self.seed: Dict[str, Any] = self.info["seed"]
        self._context = ssl.create_default_context(cafile=self.ca_path)

    # -- control API --

    def control(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/_sim/{path}", data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, context=self._context, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def reset(self) -> None:
        self.control("POST", "reset")

    def requests(self) -> List[Dict[str, Any]]:
        return list(self.control("GET", "requests"))

    def connections(self) -> List[Dict[str, Any]]:
        return list(self.control("GET", "connections"))

    def fault(self, fault: str, operation: str = "any", count: int = 1, **extra: Any) -> Dict[str, Any]:
        return self.control("POST", "faults", {"fault": fault, "operation": operation, "count": count, **extra})

    # -- seed --

    @property
    def federated_fleet(self) -> Dict[str, Any]:
        return next(f for f in self.seed["fleets"] if f["federation"])

    @property
    def plain_fleet(self) -> Dict[str, Any]:
        return next(f for f in self.seed["fleets"] if not f["federation"])

    def secrets(self) -> List[str]:
        """Every credential the simulator knows; none may ever show up in output."""
        seed = self.seed
        return [seed["aksk"]["secret_key"], seed["temporary_aksk"]["secret_key"], seed["temporary_aksk"]["security_token"], seed["iam_user"]["password"]]

    def issued_secrets(self) -> List[str]:
        """The seeded credentials plus every IAM token and client key issued since the last reset.

        A client key is listed as its base64 and as the base64 lines of its PEM body, so a key
        printed in either form is found.
        """
        issued = self.control("GET", "secrets")
        found = self.secrets() + list(issued["tokens"])
        for data in issued["client_keys"]:
            found.append(data)
            pem = base64.b64decode(data).decode("ascii")
            found += [line for line in pem.splitlines() if len(line) > 20 and "PRIVATE KEY" not in line]
        return found

    # -- process --

    def output(self) -> str:
        """What the process wrote to stdout and stderr so far."""
        return (self.state_dir / "stdout.log").read_text(encoding="utf-8") + (self.state_dir / "stderr.log").read_text(encoding="utf-8")

    def stop(self) -> int:
        """SIGTERM (the simulator exits cleanly on it), then kill if it hangs; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stdout.close()
        self._stderr.close()
        return self.process.returncode


def ansible_env(work: Path) -> Dict[str, str]:
    """Environment for ansible/ansible-playbook with this checkout as ucs_cloud.fleet.

    Credential and ANSIBLE_* variables of the caller are dropped, so a run authenticates only
    with what the test or benchmark gives it.
    """
    collections = subprocess.run([str(ROOT / "scripts" / "link-collection.sh")], check=True, capture_output=True, text=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUAWEICLOUD_SDK_", "OS_", "UCS_", "ANSIBLE_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=collections,
        ANSIBLE_COLLECTIONS_ON_ANSIBLE_VERSION_MISMATCH="ignore",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(work / "ansible-remote"),
    )
    return env
