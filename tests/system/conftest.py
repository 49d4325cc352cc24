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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

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
    callback_dir: Path | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr + self.log

    def artifacts(self) -> dict[str, str]:
        """Everything the run printed or logged, by kind: what a leak scan must cover."""
        found = {"stdout": self.stdout, "stderr": self.stderr, "ANSIBLE_LOG_PATH": self.log}
        if self.callback_dir is not None:
            for kind, pattern in (("tree callback JSON", "tree/*"), ("junit callback XML", "junit/*.xml")):
                texts = [path.read_text(errors="replace") for path in sorted(self.callback_dir.glob(pattern)) if path.is_file()]
                if texts:
                    found[kind] = "\n".join(texts)
        return found

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

    def _run(self, args: list[str], env: dict[str, str] | None, preexec_fn: Callable[[], None] | None = None) -> Run:
        self.count += 1
        log_path = self.tmp_path / f"ansible-{self.count}.log"
        # The tree (JSON per host) and junit callbacks write what a CI system or AWX would keep.
        callback_dir = self.tmp_path / f"callbacks-{self.count}"
        callbacks = {
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree,ansible.builtin.junit",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_CALLBACK_TREE_DIR": str(callback_dir / "tree"),
            "JUNIT_OUTPUT_DIR": str(callback_dir / "junit"),
        }
        full_env = {**self.env, "ANSIBLE_LOG_PATH": str(log_path), **callbacks, **(env or {})}
        proc = subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=300, cwd=self.tmp_path, check=False, preexec_fn=preexec_fn)
        log = log_path.read_text() if log_path.exists() else ""
        recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")} for m in RECAP_RE.finditer(proc.stdout)}
        return Run(args, proc.returncode, proc.stdout, proc.stderr, log, recap, callback_dir)

    def playbook(
        self,
        text: str,
        *options: str,
        env: dict[str, str] | None = None,
        inventory: str = "localhost,",
        extra_vars: dict[str, Any] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> Run:
        path = self.tmp_path / f"playbook-{self.count + 1}.yml"
        path.write_text(textwrap.dedent(text))
        args = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(path), *options]
        if extra_vars:
            args += ["-e", json.dumps(extra_vars)]
        return self._run(args, env, preexec_fn)

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


# Figures of the secret scans of this session, printed in the reliability summary.
SCAN_STATS: Counter[str] = Counter()
SCANNED_KINDS: Counter[str] = Counter()


def assert_no_secrets(text: str, secrets: list[str], kind: str = "ansible output") -> None:
    """Fail when any secret value occurs in text; counts every scan for the summary."""
    values = [s for s in secrets if s]
    assert values, "a leak scan needs at least one secret value to look for"
    leaked = [s[:6] + "..." for s in values if s in text]
    SCAN_STATS["scans"] += 1
    SCAN_STATS["bytes"] += len(text.encode("utf-8", "replace"))
    SCAN_STATS["checks"] += len(values)
    SCAN_STATS["hits"] += len(leaked)
    SCANNED_KINDS[kind] += 1
    assert not leaked, f"secret values leaked into {kind}: {leaked}"


def assert_nothing_leaked(run: Run, sim: Simulator, extra: list[str] | None = None) -> None:
    """Scan every artifact of a run and the simulator's logs for every secret known so far."""
    secrets = sim.issued_secrets() + (extra or [])
    for kind, text in run.artifacts().items():
        assert_no_secrets(text, secrets, kind)
    assert_simulator_logs_clean(sim, secrets)


def assert_simulator_logs_clean(sim: Simulator, secrets: list[str]) -> None:
    assert_no_secrets(json.dumps(sim.requests()), secrets, "simulator request log")
    assert_no_secrets(Path(sim.info["request_log"]).read_text(encoding="utf-8"), secrets, "simulator request log")
    assert_no_secrets(sim.output(), secrets, "simulator stdout/stderr")


# --- Summary of the reliability suite -----------------------------------------------------------
# Every test marked `reliability(category, proves)` is one scenario; the summary at the end of the
# session says, per category, how many were tried and passed, and what the secret scans covered.

_OUTCOMES: dict[str, dict[str, str]] = defaultdict(dict)
_PROVES: dict[str, str] = {}
_FIGURES: list[str] = []


def report_figure(text: str) -> None:
    """A measured figure of a scenario (counts, times), printed in the suite's summary."""
    _FIGURES.append(text)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item):
    outcome = yield
    marker = item.get_closest_marker("reliability")
    report = outcome.get_result()
    if marker is None or (report.when != "call" and report.passed):
        return
    category = marker.args[0] if marker.args else marker.kwargs["category"]
    _PROVES.setdefault(category, marker.args[1] if len(marker.args) > 1 else marker.kwargs.get("proves", ""))
    # A failure in setup or teardown counts against the scenario too.
    previous = _OUTCOMES[category].get(item.nodeid)
    if previous in (None, "passed"):
        _OUTCOMES[category][item.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _OUTCOMES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability suite (docs/reliability.md)")
    write(f"{'category':<12} {'tried':>5} {'passed':>6} {'failed':>6} {'skipped':>7}  what a pass proves")
    totals: Counter[str] = Counter()
    for category in sorted(_OUTCOMES):
        counts = Counter(_OUTCOMES[category].values())
        tried = sum(counts.values())
        totals.update(counts)
        totals["tried"] += tried
        write(f"{category:<12} {tried:>5} {counts['passed']:>6} {counts['failed']:>6} {counts['skipped']:>7}  {_PROVES[category]}")
    write(f"{'total':<12} {totals['tried']:>5} {totals['passed']:>6} {totals['failed']:>6} {totals['skipped']:>7}")
    for figure in _FIGURES:
        write(f"figure: {figure}")
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(SCANNED_KINDS.items()))
    write(
        f"secret scans: {SCAN_STATS['scans']} texts, {SCAN_STATS['bytes']} bytes, "
        f"{SCAN_STATS['checks']} secret-value checks, {SCAN_STATS['hits']} hits ({kinds})"
    )
