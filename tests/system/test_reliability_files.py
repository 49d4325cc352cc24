"""Reliability suite (issue 4), category "files": the kubeconfig file at dest under stress.

- SIGKILL of whole ansible-playbook runs (at random moments of the module's life, and as soon as
  the temporary file shows up) while a reader polls dest; SIGKILL of write_atomically at chosen
  points inside its write (the deterministic proof);
- concurrent runs on the same dest;
- a permissive umask, mode drift, and backups.

Every check reads the file itself: parsed as YAML, with a client key that loads as a whole private
key. The kill test prints how many kills landed before, during and after the replacement, so the
figure says what the kills actually exercised. Assertions compare fingerprints, never contents,
so a failure does not print key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import functools
import hashlib
import json
import os
import random
import select
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Self

import pytest
import yaml
from conftest import AnsibleRunner, Run, Simulator, assert_no_secrets, assert_nothing_leaked, report_figure
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from harness import ansible_env
from test_ucs_federation_cert import one_task_playbook, run_module, task_args

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import dump_kubeconfig
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig

PROVES = "dest is always a whole valid kubeconfig, and no copy of its key is ever readable beyond the configured mode"
pytestmark = pytest.mark.reliability("files", PROVES)

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MODULE_PROCESS = b"AnsiballZ_ucs_federation_cert"
TEMP_PREFIX = ".ucs-kubeconfig-"
# The kill and concurrency tests follow process trees through this file (Linux, CONFIG_PROC_CHILDREN).
needs_proc_children = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(), reason="needs /proc/PID/task/TID/children to follow process trees"
)


# --- What a valid kubeconfig file is ----------------------------------------------------------


def kubeconfig_problem(data: bytes) -> str | None:
    """None when data is a whole kubeconfig whose client key is a complete PEM private key.

    The answer never quotes the content: it may hold key material.
    """
    try:
        config = yaml.load(data, Loader=LOADER)
    except yaml.YAMLError as exc:
        return f"not YAML ({type(exc).__name__}, {len(data)} bytes)"
    if not isinstance(config, dict):
        return f"not a mapping ({type(config).__name__}, {len(data)} bytes)"
    missing = [key for key in ("clusters", "users", "contexts") if not config.get(key)]
    if missing:
        return f"no {', '.join(missing)} ({len(data)} bytes)"
    try:
        for entry in config["users"]:
            pem = base64.b64decode(entry["user"]["client-key-data"], validate=True)
            if not (pem.startswith(b"-----BEGIN ") and pem.rstrip().endswith(b" PRIVATE KEY-----")):
                return "client-key-data is not a whole PEM private key"
            serialization.load_pem_private_key(pem, password=None)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return f"client key unusable ({type(exc).__name__})"
    return None


def key_matches_certificate(data: bytes) -> bool:
    """Whether every user's client key is the private half of its client certificate."""
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for entry in yaml.load(data, Loader=LOADER)["users"]:
        user = entry["user"]
        key = serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), password=None)
        cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
        if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
            return False
    return True


def client_keys(data: bytes) -> list[str]:
    return [entry["user"]["client-key-data"] for entry in yaml.load(data, Loader=LOADER)["users"]]


def fingerprint(content: bytes | Path) -> str:
    """What assertions compare instead of contents, so that a failure never prints a key."""
    return hashlib.sha256(content.read_bytes() if isinstance(content, Path) else content).hexdigest()[:16]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def others_in(directory: Path, dest: Path) -> list[Path]:
    """Everything in dest's directory but dest: what a run left beside it."""
    return sorted(path for path in directory.iterdir() if path != dest)


class Watcher(threading.Thread):
    """A daemon thread that runs for the length of a `with` block: `done` tells it to stop."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.done = threading.Event()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()


class DestReader(Watcher):
    """Reads dest about every millisecond and records every read that is not a whole kubeconfig.

    A content already checked is not parsed again (same bytes, same verdict), so the reader keeps
    its pace while Ansible runs.
    """

    def __init__(self, dest: Path) -> None:
        super().__init__()
        self.dest = dest
        self.reads = 0
        self.problems: Counter[str] = Counter()
        self.changes: list[tuple[float, bytes]] = []
        self.verdicts: dict[bytes, str | None] = {}

    def run(self) -> None:
        last = None
        while not self.done.is_set():
            try:
                data = self.dest.read_bytes()
            except FileNotFoundError:
                self.problems["dest did not exist"] += 1
            else:
                self.reads += 1
                if data not in self.verdicts:
                    self.verdicts[data] = kubeconfig_problem(data)
                if self.verdicts[data] is not None:
                    self.problems[str(self.verdicts[data])] += 1
                if data != last:
                    self.changes.append((time.monotonic(), data))
                    last = data
            self.done.wait(0.001)

    def assert_all_reads_valid(self) -> None:
        assert self.reads > 0
        assert not self.problems, f"a reader saw dest incomplete or invalid: {dict(self.problems)}"


class TempFileWatch(Watcher):
    """Calls `action` once, as soon as a file whose name starts with TEMP_PREFIX is created in
    `directory`: inotify wakes it within microseconds, where polling would miss a write that takes
    less than the polling period.
    """

    IN_CREATE = 0x100

    def __init__(self, directory: Path, action: Callable[[], None]) -> None:
        super().__init__()
        self.action = action
        self.fired = False
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, os.fsencode(directory), self.IN_CREATE) < 0:
            raise OSError(ctypes.get_errno(), "inotify")

    def run(self) -> None:
        while not self.done.is_set() and not self.fired:
            if not select.select([self.fd], [], [], 0.02)[0]:
                continue
            data = os.read(self.fd, 65536)
            offset = 0
            while offset < len(data):
                length = struct.unpack_from("iIII", data, offset)[3]
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0")
                offset += 16 + length
                if name.startswith(TEMP_PREFIX.encode()) and not self.fired:
                    self.action()
                    self.fired = True

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        os.close(self.fd)


# --- Processes ---------------------------------------------------------------------------------


class Proc(NamedTuple):
    pgid: int
    cmdline: bytes

    @property
    def is_module(self) -> bool:
        """The Python process that runs ucs_federation_cert (not the shell that starts it)."""
        return MODULE_PROCESS in self.cmdline and not self.cmdline.startswith(b"/bin/sh")


def tree(root: int) -> dict[int, Proc]:
    """root and its live descendants, found through /proc/PID/task/TID/children."""
    found: dict[int, Proc] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read()
            children = b" ".join(Path(f"/proc/{pid}/task/{task}/children").read_bytes() for task in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue  # gone meanwhile
        if fields[0] in (b"Z", b"X"):
            continue
        found[pid] = Proc(int(fields[2]), cmdline)
        todo += [int(child) for child in children.split()]
    return found


def module_groups(root: int) -> set[int]:
    """Process groups in root's tree where the module runs (one per Ansible worker)."""
    return {proc.pgid for proc in tree(root).values() if proc.is_module}


def killpg(group: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
        os.killpg(group, sig)


def kill_tree(root: int) -> None:
    """SIGKILL root and all its descendants, and wait until they are gone.

    Ansible's workers call setsid(), so the process group of ansible-playbook does not hold the
    workers and the module: killpg on it alone leaves the module running (and writing). So every
    process group of the tree is stopped (a stopped process neither forks nor writes), again until
    no new one shows up, and then each group gets SIGKILL, the module's first.
    """
    own_group = os.getpgid(0)
    stopped: list[int] = []
    pids: set[int] = set()
    while True:
        procs = tree(root)
        pids |= set(procs)
        groups = sorted({proc.pgid for proc in procs.values()} - set(stopped), key=lambda group: group == root)
        assert own_group not in groups, "the run must be in a session of its own"
        if not groups:
            break
        for group in groups:
            killpg(group, signal.SIGSTOP)
        stopped += groups
    for group in stopped:
        killpg(group)
    deadline = time.monotonic() + 10
    while alive := [pid for pid in pids if tree(pid).get(pid)]:
        assert time.monotonic() < deadline, f"processes {alive} survived SIGKILL"
        time.sleep(0.002)


@dataclass
class BackgroundRun:
    """ansible.playbook in a thread, as the leader of a session of its own (os.setsid).

    AnsibleRunner keeps the log and callback files, so a killed run is scanned for leaks like
    any other.
    """

    ansible: AnsibleRunner
    text: str
    env: dict[str, str]
    started: float = 0.0
    pid: int = 0
    result: list[Run] = field(default_factory=list)

    def start(self) -> BackgroundRun:
        me = os.getpid()
        before = set(tree(me))
        self.started = time.monotonic()
        self.thread = threading.Thread(target=lambda: self.result.append(self.ansible.playbook(self.text, env=self.env, preexec_fn=os.setsid)))
        self.thread.start()
        while not self.pid:
            for pid, proc in tree(me).items():
                if pid not in before and proc.pgid == pid:
                    self.pid = pid
            assert time.monotonic() - self.started < 10, "ansible-playbook did not start"
            time.sleep(0.0005)
        return self

    def wait_for_module(self) -> tuple[float, int] | None:
        """When the module process showed up (seconds after start) and its process group; None if the run ended first."""
        while self.thread.is_alive():
            groups = module_groups(self.pid)
            if groups:
                return time.monotonic() - self.started, groups.pop()
            time.sleep(0.005)
        return None

    def wait(self) -> Run:
        self.thread.join(timeout=300)
        return self.result[0]


# --- 1a. SIGKILL of whole runs, at random moments ----------------------------------------------

KILLS = 16
DURING = "during the write (temp file left, old file)"


@needs_proc_children
def test_sigkill_of_whole_runs_leaves_old_or_new_file(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """SIGKILL `ansible-playbook` (force: true) with its workers and module, over and over.

    A reader polls dest every millisecond during each run. After each kill, dest must be a whole
    valid kubeconfig with mode 0600, and anything left beside it (the atomic writer's temporary
    file) must be 0600. Half of the kills come at a random moment from the module's start to the
    run's end (drawn from an unkilled run's timeline); the other half come as soon as inotify
    reports the temporary file, to hit the few milliseconds of the write itself, which random kills
    almost never do. Where each kill landed is printed.
    """
    dest = tmp_path / "kube" / "fleet.yaml"
    dest.parent.mkdir()
    run_module(ansible, sim, task_args(sim, dest))
    env = ansible.credential_env()
    playbook = one_task_playbook(task_args(sim, dest, force=True))
    runs: list[Run] = []

    # One run that is not killed: when do the module and the replacement happen?
    with DestReader(dest) as reader:
        baseline = BackgroundRun(ansible, playbook, env).start()
        seen = baseline.wait_for_module()
        assert seen is not None, "the module process was never seen"
        module_start = seen[0]
        while module_groups(baseline.pid):
            time.sleep(0.005)
        module_end = time.monotonic() - baseline.started
        runs.append(baseline.wait().assert_ok())
        ended = time.monotonic() - baseline.started
    reader.assert_all_reads_valid()
    assert len(reader.changes) == 2, "the unkilled run must replace dest exactly once"
    replaced = reader.changes[1][0] - baseline.started
    report_figure(f"files: unkilled run: module ran {module_start:.2f}-{module_end:.2f} s, replaced dest at {replaced:.3f} s, ended at {ended:.2f} s")

    rng_seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(rng_seed)
    # From the module's start to the end of the run: before, during and after the replacement.
    window = ended - module_start
    outcomes: Counter[str] = Counter()
    module_starts = []
    reads = reader.reads
    for index in range(KILLS):
        on_temp_file = index % 2 == 1
        trigger = "on temp file" if on_temp_file else "timed"
        old = dest.read_bytes()
        with DestReader(dest) as reader:
            run = BackgroundRun(ansible, playbook, env).start()
            seen = run.wait_for_module()
            if seen is not None:
                started, group = seen
                module_starts.append(started)
                kill_module = functools.partial(killpg, group)
                if on_temp_file:
                    with TempFileWatch(dest.parent, kill_module) as watch:
                        while run.thread.is_alive() and not watch.fired:
                            time.sleep(0.005)
                else:
                    time.sleep(max(0.0, run.started + started + rng.uniform(0, window) - time.monotonic()))
                    kill_module()
            kill_tree(run.pid)
            result = run.wait()
        runs.append(result)
        reader.assert_all_reads_valid()
        reads += reader.reads
        new = dest.read_bytes()
        assert kubeconfig_problem(new) is None, kubeconfig_problem(new)
        assert mode_of(dest) == 0o600
        leftovers = others_in(dest.parent, dest)
        for path in leftovers:
            assert path.name.startswith(TEMP_PREFIX) and path.name.endswith(".tmp"), f"unexpected file beside dest: {path.name}"
            assert mode_of(path) == 0o600, f"{path.name} is {mode_of(path):04o}: key material readable by others"
            path.unlink()
        if result.returncode != -signal.SIGKILL:
            assert result.returncode == 0, result.stdout[-3000:]
            outcome = "ended before the kill"
        elif new != old:
            assert key_matches_certificate(new)
            outcome = "after the replacement (new file)"
        elif leftovers:
            outcome = DURING
        else:
            outcome = "before the write (old file)"
        outcomes[f"{trigger}: {outcome}"] += 1

    assert module_starts, "no run got as far as the module"
    report_figure(
        f"files: module started {min(module_starts):.2f}-{max(module_starts):.2f} s after ansible-playbook; "
        f"timed kills drawn with seed {rng_seed} over {window:.2f} s from then"
    )
    report_figure(f"files: {KILLS} SIGKILLs of the whole run: " + "; ".join(f"{count} {name}" for name, count in sorted(outcomes.items())))
    report_figure(f"files: {reads} reads of dest during the {KILLS + 1} runs, every one a whole valid kubeconfig")
    assert sum(count for name, count in outcomes.items() if "ended before the kill" not in name) >= KILLS // 2, "too few runs were killed"
    assert outcomes[f"on temp file: {DURING}"] >= 1, "no kill landed during the write: the test did not exercise it"
    for run in runs:
        assert_nothing_leaked(run, sim)


# --- 1b. SIGKILL at chosen points inside write_atomically ----------------------------------------

# Runs write_atomically with a real AnsibleModule under umask 0000, after replacing one step of the
# write by "do part of it, then SIGKILL myself". It prints a line first, so the test knows the kill
# came from the hook and not from anything else.
KILL_SCRIPT = r"""
import os, shutil, signal, sys
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files

point, dest, new_file = sys.argv[1:4]
content = open(new_file, "rb").read()
os.umask(0)
with patch_module_args({}):
    module = AnsibleModule(argument_spec={}, add_file_common_args=True)


def die():
    sys.stdout.write("killed at " + point + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


if point == "mid-write":
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            die()

    os.fdopen = lambda fd, *args, **kwargs: HalfWriter(real_fdopen(fd, *args, **kwargs))
elif point == "before-rename":
    os.rename = lambda src, dst: die()
elif point == "after-rename":
    real_rename = os.rename

    def rename(src, dst):
        real_rename(src, dst)
        die()

    os.rename = rename
elif point == "mid-backup":
    real_copyfile = shutil.copyfile

    def copyfile(src, dst, **kwargs):
        real_copyfile(src, dst, **kwargs)
        die()  # before backup_local copies the mode

    shutil.copyfile = copyfile
_files.write_atomically(module, dest, content, point == "mid-backup", 0o600)
print("not killed")
"""


@pytest.mark.parametrize("point", ["mid-write", "before-rename", "after-rename", "mid-backup"])
def test_sigkill_inside_the_atomic_write(tmp_path: Path, point: str) -> None:
    """A process killed at each step of write_atomically leaves the old file or the new one, and only 0600 copies."""
    old = make_kubeconfig(key_slot=11)
    new = make_kubeconfig(key_slot=12)
    old_bytes = dump_kubeconfig(old.config).encode()
    new_bytes = dump_kubeconfig(new.config).encode()
    assert fingerprint(old_bytes) != fingerprint(new_bytes)
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "fleet.yaml"
    dest.write_bytes(old_bytes)
    dest.chmod(0o600)
    new_file = tmp_path / "new.yaml"
    new_file.write_bytes(new_bytes)
    env = ansible_env(tmp_path)
    env["PYTHONPATH"] = env["ANSIBLE_COLLECTIONS_PATH"]
    args = [sys.executable, "-c", KILL_SCRIPT, point, str(dest), str(new_file)]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL and proc.stdout == f"killed at {point}\n", proc.stdout + proc.stderr[-3000:]
    assert_no_secrets(proc.stdout + proc.stderr, old.secrets + new.secrets, "write_atomically subprocess output")

    leftovers = others_in(directory, dest)
    for path in leftovers:
        assert mode_of(path) == 0o600, f"{path.name} is {mode_of(path):04o}: key material readable by others"
    assert mode_of(dest) == 0o600
    if point == "after-rename":
        assert fingerprint(dest) == fingerprint(new_bytes)
        assert leftovers == []
        return
    assert fingerprint(dest) == fingerprint(old_bytes) and kubeconfig_problem(old_bytes) is None
    [leftover] = leftovers
    if point == "mid-backup":
        assert leftover.name.startswith("fleet.yaml.") and leftover.name.endswith("~")
        assert fingerprint(leftover) == fingerprint(old_bytes)
    else:
        assert leftover.name.startswith(TEMP_PREFIX) and leftover.name.endswith(".tmp")
        expected = new_bytes[: len(new_bytes) // 2] if point == "mid-write" else new_bytes
        assert fingerprint(leftover) == fingerprint(expected), "the kill did not come where the hook was"


# --- 2. Concurrent runs ---------------------------------------------------------------------------

CONCURRENT = 3


@needs_proc_children
def test_concurrent_runs_on_one_dest(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Runs started together (force: true, same dest) each succeed or fail cleanly; dest ends whole and consistent.

    The simulator holds each certificate answer for 0.5 s, so that the modules overlap.
    """
    dest = tmp_path / "kube" / "fleet.yaml"
    dest.parent.mkdir()
    run_module(ansible, sim, task_args(sim, dest))
    sim.fault("slow", operation="create_cert", count=CONCURRENT, delay=0.5)
    runners = [AnsibleRunner(tmp_path / f"runner-{i}", sim) for i in range(CONCURRENT)]
    for runner in runners:
        runner.tmp_path.mkdir()
    results = [runner.tmp_path / "result.json" for runner in runners]
    runs: dict[int, Run] = {}
    barrier = threading.Barrier(CONCURRENT)

    def one(index: int) -> None:
        text = one_task_playbook(task_args(sim, dest, force=True), register_to=results[index])
        barrier.wait()
        runs[index] = runners[index].playbook(text, env=runners[index].credential_env())

    with DestReader(dest) as reader:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(CONCURRENT)]
        for thread in threads:
            thread.start()
        most_at_once = 0
        while any(thread.is_alive() for thread in threads):
            most_at_once = max(most_at_once, len(module_groups(os.getpid())))
            time.sleep(0.005)
        for thread in threads:
            thread.join()
    reader.assert_all_reads_valid()

    outcomes: Counter[str] = Counter()
    assert sorted(runs) == list(range(CONCURRENT))
    for index, path in enumerate(results):
        run = runs[index]
        result = json.loads(path.read_text())
        assert "Traceback" not in run.output
        if result.get("failed"):
            assert result["msg"] and "Traceback" not in result["msg"], result
            outcomes["failed cleanly"] += 1
        else:
            assert run.returncode == 0 and result["changed"] is True and result["kubeconfig_downloaded"] is True, result
            outcomes["succeeded"] += 1
    data = dest.read_bytes()
    assert fingerprint(reader.changes[-1][1]) == fingerprint(data), "dest changed after the runs ended"
    assert kubeconfig_problem(data) is None
    assert key_matches_certificate(data)
    assert mode_of(dest) == 0o600
    assert others_in(dest.parent, dest) == [], "a run left a file beside dest"
    issued = sim.control("GET", "secrets")["client_keys"]
    assert {fingerprint(key.encode()) for key in client_keys(data)} <= {fingerprint(key.encode()) for key in issued}, "dest must hold a key the API issued"
    report_figure(
        f"files: {CONCURRENT} concurrent runs: {dict(outcomes)}; at most {most_at_once} module processes at once; "
        f"{len(reader.changes) - 1} replacements seen by the reader in {reader.reads} reads"
    )
    assert outcomes["succeeded"] >= 1
    assert most_at_once >= 2, "the runs did not overlap: nothing concurrent was tested"
    for run in runs.values():
        assert_nothing_leaked(run, sim)


# --- 3. A permissive umask ------------------------------------------------------------------------


def umask_playbook(args: dict[str, Any], out: Path) -> str:
    """The module's task, then a task that prints the umask modules run with."""
    plays = yaml.safe_load(one_task_playbook(args, register_to=out))
    plays[0]["tasks"] += [
        {"name": "Read the umask of modules", "ansible.builtin.shell": "umask", "register": "umask_out", "changed_when": False},
        {"name": "Show it", "ansible.builtin.debug": {"msg": "module umask is {{ umask_out.stdout }}"}},
    ]
    return yaml.safe_dump(plays)


def run_with_umask_0(ansible: AnsibleRunner, sim: Simulator, args: dict[str, Any]) -> tuple[Run, dict[str, Any]]:
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    zero_umask: Callable[[], Any] = lambda: os.umask(0)  # noqa: E731
    run = ansible.playbook(umask_playbook(args, out), env=ansible.credential_env(), preexec_fn=zero_umask).assert_ok()
    assert "module umask is 0000" in run.stdout, "the module did not run with umask 0000"
    return run, json.loads(out.read_text())


def test_permissive_umask_never_widens_the_mode(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "fleet.yaml"
    run1, result = run_with_umask_0(ansible, sim, task_args(sim, dest))
    assert result["changed"] is True and mode_of(dest) == 0o600
    assert others_in(directory, dest) == []
    old = fingerprint(dest)

    run2, result = run_with_umask_0(ansible, sim, task_args(sim, dest, force=True, backup=True))
    backup = Path(result["backup_file"])
    assert fingerprint(backup) == old and mode_of(backup) == 0o600
    assert fingerprint(dest) != old and mode_of(dest) == 0o600
    assert others_in(directory, dest) == [backup]

    explicit = directory / "explicit.yaml"
    run3, result = run_with_umask_0(ansible, sim, task_args(sim, explicit, mode="0640"))
    assert result["changed"] is True and mode_of(explicit) == 0o640
    assert set(others_in(directory, dest)) == {backup, explicit}
    for run in (run1, run2, run3):
        assert_nothing_leaked(run, sim)


# --- 4. and 5. Mode drift and backups (moved from test_ucs_federation_cert.py) --------------------


def test_mode_drift_is_corrected_without_api_call(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    run1, _result = run_module(ansible, sim, task_args(sim, dest))
    content = fingerprint(dest)
    dest.chmod(0o644)
    sim.control("DELETE", "requests")
    run2, result = run_module(ansible, sim, task_args(sim, dest))
    assert result["changed"] is True and run2.changed() == 1
    assert mode_of(dest) == 0o600
    assert sim.requests() == [], "a valid kubeconfig with the wrong mode needs no API call"
    assert fingerprint(dest) == content

    run3, result = run_module(ansible, sim, task_args(sim, dest))
    assert result["changed"] is False and run3.changed() == 0
    assert mode_of(dest) == 0o600 and fingerprint(dest) == content
    assert sim.requests() == []
    for run in (run1, run2, run3):
        assert_nothing_leaked(run, sim)


def test_backup_keeps_restricted_copy(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "fleet.yaml"
    run1, _result = run_module(ansible, sim, task_args(sim, dest))
    old = dest.read_bytes()
    sim.control("DELETE", "requests")
    run2, result = run_module(ansible, sim, task_args(sim, dest, force=True, backup=True))
    assert result["changed"] is True and len(sim.calls("POST", "/cert")) == 1
    backup = Path(result["backup_file"])
    assert backup.parent == dest.parent
    assert fingerprint(backup) == fingerprint(old) and mode_of(backup) == 0o600
    new = dest.read_bytes()
    assert fingerprint(new) != fingerprint(old)
    assert {fingerprint(key.encode()) for key in client_keys(new)}.isdisjoint(fingerprint(key.encode()) for key in client_keys(old)), "a new client key"
    assert kubeconfig_problem(new) is None and mode_of(dest) == 0o600
    for run in (run1, run2):
        assert_nothing_leaked(run, sim)
