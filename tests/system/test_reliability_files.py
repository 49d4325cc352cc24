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

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files
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


# What ansible-playbook says when a worker it waits on was killed (every supported core).
WORKER_DEAD = "A worker was found in a dead state"


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
        # A run killed while it held kubectl's lock leaves it; the next run breaks it (its process is gone).
        leftovers = [path for path in others_in(dest.parent, dest) if path.name != f"{dest.name}.lock"]
        for path in leftovers:
            assert path.name.startswith(TEMP_PREFIX) and path.name.endswith(".tmp"), f"unexpected file beside dest: {path.name}"
            assert mode_of(path) == 0o600, f"{path.name} is {mode_of(path):04o}: key material readable by others"
            path.unlink()
        # A kill of the module's group kills its worker too; ansible-playbook may see the dead
        # worker and stop with this error before kill_tree reaches it: the kill landed all the same.
        worker_killed = result.returncode == 1 and WORKER_DEAD in result.stderr
        if result.returncode != -signal.SIGKILL and not worker_killed:
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
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


# --- 1b. SIGKILL at chosen points inside write_file --------------------------------------------

# Runs _files.write_file under umask 0000, after replacing one step of the write by "do part of
# it, then SIGKILL myself". It prints a line first, so the test knows the kill came from the hook
# and not from anything else. The writes of the temporary file come first, then the backup's.
KILL_SCRIPT = r"""
import os, signal, sys
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files

point, dest, new_file = sys.argv[1:4]
content = open(new_file, "rb").read()
os.umask(0)


def die():
    sys.stdout.write("killed at " + point + "\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


real_write = os.write
writes = []


def write(fd, data):
    # The lock file's marker is written first; then the temporary file; then the backup.
    writes.append(fd)
    if (point == "mid-write" and len(writes) == 2) or (point == "mid-backup" and len(writes) == 3):
        real_write(fd, bytes(data[: len(data) // 2]))
        die()
    return real_write(fd, data)


os.write = write
if point == "before-rename":
    os.rename = lambda src, dst: die()
elif point == "after-rename":
    real_rename = os.rename

    def rename(src, dst):
        real_rename(src, dst)
        die()

    os.rename = rename
_files.write_file(dest, content, backup=point == "mid-backup")
print("not killed")
"""


@pytest.mark.parametrize("point", ["mid-write", "before-rename", "after-rename", "mid-backup"])
def test_sigkill_inside_the_atomic_write(tmp_path: Path, point: str) -> None:
    """A process killed at each step of write_file leaves the old file or the new one, and only 0600 copies.

    The killed run's lock file stays (as kubectl's does); the next write breaks it at once, since
    the process it names is gone.
    """
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
    assert_no_secrets(proc.stdout + proc.stderr, old.secrets + new.secrets, "write_file subprocess output")

    lock = directory / "fleet.yaml.lock"
    assert lock.exists(), "the killed run held the lock"
    leftovers = [path for path in others_in(directory, dest) if path != lock]
    for path in leftovers:
        assert mode_of(path) == 0o600, f"{path.name} is {mode_of(path):04o}: key material readable by others"
    assert mode_of(dest) == 0o600
    temps = [path for path in leftovers if path.name.startswith(TEMP_PREFIX) and path.name.endswith(".tmp")]
    backups = [path for path in leftovers if path.name.startswith("fleet.yaml.") and path.name.endswith("~")]
    assert sorted(temps + backups) == leftovers
    if point == "after-rename":
        assert fingerprint(dest) == fingerprint(new_bytes) and leftovers == []
    else:
        assert fingerprint(dest) == fingerprint(old_bytes) and kubeconfig_problem(old_bytes) is None
        [temp] = temps
        expected = new_bytes[: len(new_bytes) // 2] if point == "mid-write" else new_bytes
        assert fingerprint(temp) == fingerprint(expected), "the kill did not come where the hook was"
        if point == "mid-backup":
            [backup] = backups
            assert fingerprint(backup) == fingerprint(old_bytes[: len(old_bytes) // 2])
        else:
            assert backups == []
    # The next writer is not blocked by the dead process's lock.
    started = time.monotonic()
    assert _files.write_file(str(dest), new_bytes, release_delay=0).state.checksum == hashlib.sha256(new_bytes).hexdigest()
    assert time.monotonic() - started < 2 and not lock.exists()


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


# --- 6. Hostile files: what a careless user or a hostile neighbour puts at dest (issue 14) --------
#
# Every case runs in one ansible-playbook run (a task each, ignore_errors), through the module
# ucs_federation_cert and through kubeconfig_file, the role's writer. After each task the run saves
# the task's result, how many requests the simulator has logged so far and the time, so that each
# case knows its own API calls and duration. The backup case comes first: its planted names guess
# the process id and the second at which the old code named the backup.

NOBODY = 65534
PLANTED_PIDS = 2000
PLANTED_SECONDS = 25


class Case(NamedTuple):
    module: str
    args: dict[str, Any]
    task: dict[str, Any] | None = None


def valid_kubeconfig(sim: Simulator, slot: int) -> bytes:
    material = make_kubeconfig(key_slot=slot, fleet_id=sim.federated_fleet["id"], vpc_id=sim.seed["network"]["vpc_id"])
    return dump_kubeconfig(material.config).encode()


def plant_backup_links(dest: Path, target: Path) -> int:
    """Links at every name the old code could give the backup (dest.PID.%Y-%m-%d@%H:%M:%S~) soon."""
    with open("/proc/sys/kernel/ns_last_pid") as handle:
        last_pid = int(handle.read())
    now = time.time()
    stamps = [time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(now + second)) for second in range(PLANTED_SECONDS)]
    for pid in range(last_pid + 1, last_pid + 1 + PLANTED_PIDS):
        for stamp in stamps:
            os.symlink(target, f"{dest}.{pid}.{stamp}")
    return PLANTED_PIDS * PLANTED_SECONDS


def hostile_cases(sim: Simulator, work: Path) -> tuple[dict[str, Case], dict[str, Any]]:
    """Set up every case's directory; return the cases (in order) and what each check needs."""
    module = "ucs_cloud.fleet.ucs_federation_cert"
    writer = "ucs_cloud.fleet.kubeconfig_file"
    base = {"fleet_id": sim.federated_fleet["id"], **{key: sim.seed["network"][key] for key in ("project_id", "vpc_id", "subnet_id")}}
    cases: dict[str, Case] = {}
    info: dict[str, Any] = {}

    def directory(name: str, mode: int = 0o755) -> Path:
        path = work / name.replace(":", "-")
        path.mkdir()
        path.chmod(mode)
        return path

    # Backups: the old kubeconfig (its key still live) must never go through a planted link.
    d = directory("module:backup")
    info["backup_old"] = valid_kubeconfig(sim, 21)
    (d / "fleet.yaml").write_bytes(info["backup_old"])
    (d / "fleet.yaml").chmod(0o600)
    (d / "stolen").write_bytes(b"")
    (d / "stolen").chmod(0o666)
    info["planted"] = plant_backup_links(d / "fleet.yaml", d / "stolen")
    cases["module:backup"] = Case(module, {**base, "dest": str(d / "fleet.yaml"), "force": True, "backup": True})

    for prefix, name, extra in ((f"{p}:", m, x) for p, m, x in (("module", module, base), ("write", writer, {"content": "apiVersion: v1\n"}))):
        d = directory(prefix + "symlink")
        (d / "target").write_bytes(b"target content\n")
        (d / "target").chmod(0o644)
        (d / "fleet.yaml").symlink_to(d / "target")
        cases[prefix + "symlink"] = Case(name, {**extra, "dest": str(d / "fleet.yaml")})

        d = directory(prefix + "device")
        os.mknod(d / "fleet.yaml", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        (d / "fleet.yaml").chmod(0o666)  # mknod's mode went through the umask
        cases[prefix + "device"] = Case(name, {**extra, "dest": str(d / "fleet.yaml")})

        d = directory(prefix + "fifo")
        os.mkfifo(d / "fleet.yaml", 0o644)
        # The task timeout stops a module that hangs (the old code), so the run goes on.
        cases[prefix + "fifo"] = Case(name, {**extra, "dest": str(d / "fleet.yaml")}, {"timeout": 20})

        d = directory(prefix + "sticky", 0o1777)
        (d / "fleet.yaml").write_bytes(b"planted: by nobody\n")
        (d / "fleet.yaml").chmod(0o644)
        os.chown(d / "fleet.yaml", NOBODY, NOBODY)
        cases[prefix + "sticky"] = Case(name, {**extra, "dest": str(d / "fleet.yaml")})

        d = directory(prefix + "unknown-owner")
        (d / "fleet.yaml").write_bytes(valid_kubeconfig(sim, 22))
        (d / "fleet.yaml").chmod(0o600)
        force = {"force": True} if name == module else {}
        cases[prefix + "unknown-owner"] = Case(name, {**extra, **force, "dest": str(d / "fleet.yaml"), "owner": "nosuch-h2-user"})

        d = directory(prefix + "int-mode")
        cases[prefix + "int-mode"] = Case(name, {**extra, "dest": str(d / "fleet.yaml"), "mode": 600})

        d = directory(prefix + "loose-mode")
        cases[prefix + "loose-mode"] = Case(name, {**extra, "dest": str(d / "fleet.yaml"), "mode": "0644"})

        d = directory(prefix + "empty-dest")
        cases[prefix + "empty-dest"] = Case(name, {**extra, "dest": ""})

        d = directory(prefix + "trailing-slash")
        (d / "kube").mkdir()
        cases[prefix + "trailing-slash"] = Case(name, {**extra, "dest": f"{d}/kube/"})

        d = directory(prefix + "dotdot")
        cases[prefix + "dotdot"] = Case(name, {**extra, "dest": f"{d}/missing/../fleet.yaml"})
    return cases, info


def hostile_playbook(sim: Simulator, cases: dict[str, Case], out: Path) -> str:
    requests_url = f"{sim.endpoint}/_sim/requests"
    tasks: list[dict[str, Any]] = []
    for index, (name, case) in enumerate(cases.items()):
        tasks.append({"name": f"Case {name}", case.module: case.args, "register": f"case_{index}", "ignore_errors": True, **(case.task or {})})
        tasks.append(
            {
                "name": f"Save case {name}",
                "ansible.builtin.copy": {
                    "content": (
                        f"{{{{ {{'result': case_{index} | dict2items | rejectattr('key', 'in', ['kubeconfig', 'content']) | items2dict,"
                        f" 'requests': (lookup('ansible.builtin.url', '{requests_url}', ca_path='{sim.ca_path}', split_lines=False) | from_json | length),"
                        f" 'time': lookup('ansible.builtin.pipe', 'date +%s.%N') | float}} | to_json }}}}"
                    ),
                    "dest": str(out / f"{index:02d}.json"),
                    "mode": "0600",
                },
                "changed_when": False,
            }
        )
    return yaml.safe_dump([{"name": "Hostile files", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}])


class HostileRun(NamedTuple):
    cases: dict[str, Case]
    outcomes: dict[str, dict[str, Any]]  # result, requests (API calls of the case), seconds
    info: dict[str, Any]
    run: Run
    work: Path


@pytest.fixture(scope="module")
def hostile(simulator_session: Simulator, tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    if os.geteuid() != 0:
        pytest.skip("needs root (mknod, a file owned by another user)")
    sim = simulator_session
    sim.reset()
    base = tmp_path_factory.mktemp("hostile")
    work = base / "cases"
    work.mkdir()
    out = base / "results"
    out.mkdir()
    ansible = AnsibleRunner(base, sim)
    cases, info = hostile_cases(sim, work)
    outcomes: dict[str, dict[str, Any]] = {}
    runs = []
    # One run per module, so that a module that cannot run fails only its own cases.
    for prefix in ("module:", "write:"):
        group = {name: case for name, case in cases.items() if name.startswith(prefix)}
        results = out / prefix.rstrip(":")
        results.mkdir()
        previous = (len(sim.requests()), time.time())
        runs.append(ansible.playbook(hostile_playbook(sim, group, results), env=ansible.credential_env()))
        for index, name in enumerate(group):
            path = results / f"{index:02d}.json"
            if not path.exists():
                continue
            saved = json.loads(path.read_text())
            # The lookup itself is a GET of the control API, which the simulator does not log.
            outcomes[name] = {"result": saved["result"], "requests": saved["requests"] - previous[0], "seconds": saved["time"] - previous[1]}
            previous = (saved["requests"], saved["time"])
    run = Run(runs[0].args, runs[0].returncode, runs[0].stdout + runs[1].stdout, runs[0].stderr + runs[1].stderr, runs[0].log + runs[1].log)
    yield HostileRun(cases, outcomes, info, run, work)
    for one in runs:
        assert_nothing_leaked(one, sim)


def outcome(hostile: HostileRun, name: str) -> dict[str, Any]:
    assert name in hostile.outcomes, f"case {name} left no result: {hostile.run.stdout[-1500:]}"
    return hostile.outcomes[name]


def case_dir(hostile: HostileRun, name: str) -> Path:
    return hostile.work / name.replace(":", "-")


def assert_refused_early(hostile: HostileRun, name: str, *words: str) -> dict[str, Any]:
    """The case failed with a message holding every word, made no API call and took seconds."""
    found = outcome(hostile, name)
    result = found["result"]
    assert result.get("failed") is True, f"{name} did not fail: {result}"
    for word in words:
        assert word in result.get("msg", ""), f"{name}: {word!r} not in {result.get('msg')!r}"
    assert "Traceback" not in json.dumps(result)
    assert found["requests"] == 0, f"{name}: {found['requests']} API calls for a run bound to fail"
    assert found["seconds"] < 15, f"{name} took {found['seconds']:.1f} s"
    return result


WRITERS = ["module", "write"]


@pytest.mark.parametrize("writer", WRITERS)
def test_symlink_dest_is_refused_and_its_target_keeps_mode_and_content(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:symlink", "is a symbolic link", "must be a regular file")
    d = case_dir(hostile, f"{writer}:symlink")
    assert (d / "fleet.yaml").is_symlink() and (d / "target").read_bytes() == b"target content\n"
    assert mode_of(d / "target") == 0o644


@pytest.mark.parametrize("writer", WRITERS)
def test_device_dest_is_refused_and_left_a_device(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:device", "is a character device")
    d = case_dir(hostile, f"{writer}:device")
    assert stat.S_ISCHR(os.lstat(d / "fleet.yaml").st_mode) and stat.S_IMODE(os.lstat(d / "fleet.yaml").st_mode) == 0o666
    assert sorted(p.name for p in d.iterdir()) == ["fleet.yaml"]


@pytest.mark.parametrize("writer", WRITERS)
def test_fifo_dest_fails_within_seconds(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:fifo", "is a FIFO")
    report_figure(f"files: {writer} with a FIFO dest failed in {outcome(hostile, f'{writer}:fifo')['seconds']:.1f} s (the old module hung)")
    assert stat.S_ISFIFO(os.lstat(case_dir(hostile, f"{writer}:fifo") / "fleet.yaml").st_mode)


@pytest.mark.parametrize("writer", WRITERS)
def test_dest_owned_by_another_user_in_a_sticky_directory_is_refused_untouched(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:sticky", "is owned by nobody", "Set owner to nobody")
    dest = case_dir(hostile, f"{writer}:sticky") / "fleet.yaml"
    assert dest.read_bytes() == b"planted: by nobody\n" and dest.stat().st_uid == NOBODY and mode_of(dest) == 0o644
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fleet.yaml"]


def test_backup_never_goes_through_a_planted_name(hostile: HostileRun) -> None:
    found = outcome(hostile, "module:backup")
    result = found["result"]
    d = case_dir(hostile, "module:backup")
    assert (d / "stolen").read_bytes() == b"", "the old kubeconfig was copied through a planted link"
    assert not result.get("failed"), result
    backup = Path(result["backup_file"])
    assert not backup.is_symlink() and backup.is_file() and mode_of(backup) == 0o600 and backup.parent == d
    assert kubeconfig_problem(backup.read_bytes()) is None and fingerprint(backup) == fingerprint(valid_kubeconfig_of(hostile))
    report_figure(f"files: backup with {hostile.info['planted']} planted links at the old predictable names: none followed")


def valid_kubeconfig_of(hostile: HostileRun) -> bytes:
    return hostile.info.get("backup_old", b"")


@pytest.mark.parametrize("writer", WRITERS)
def test_unknown_owner_fails_before_any_api_call_and_leaves_the_file(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:unknown-owner", "'nosuch-h2-user': no such user")
    dest = case_dir(hostile, f"{writer}:unknown-owner") / "fleet.yaml"
    assert mode_of(dest) == 0o600 and kubeconfig_problem(dest.read_bytes()) is None
    assert sorted(p.name for p in dest.parent.iterdir()) == ["fleet.yaml"]


@pytest.mark.parametrize("writer", WRITERS)
def test_integer_mode_600_is_refused_with_the_advice_to_quote_it(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:int-mode", "decimal number 600, which is the mode 01130", "'0600' (quoted)")
    assert list(case_dir(hostile, f"{writer}:int-mode").iterdir()) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_loose_mode_warns_naming_the_mode(hostile: HostileRun, writer: str) -> None:
    result = outcome(hostile, f"{writer}:loose-mode")["result"]
    assert not result.get("failed"), result
    assert "mode 0644 gives its group and all other users access to a file that holds a private key" in json.dumps(result.get("warnings", []))
    assert mode_of(case_dir(hostile, f"{writer}:loose-mode") / "fleet.yaml") == 0o644


@pytest.mark.parametrize("writer", WRITERS)
def test_empty_dest_is_an_error(hostile: HostileRun, writer: str) -> None:
    option = "dest" if writer == "module" else "path"
    assert_refused_early(hostile, f"{writer}:empty-dest", f"{option} must not be empty")


@pytest.mark.parametrize("writer", WRITERS)
def test_trailing_slash_is_an_error(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:trailing-slash", "ends with '/'")
    assert sorted(p.name for p in case_dir(hostile, f"{writer}:trailing-slash").iterdir()) == ["kube"]
    assert list((case_dir(hostile, f"{writer}:trailing-slash") / "kube").iterdir()) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_dotdot_through_a_missing_directory_is_an_error_and_leaves_no_temp_file(hostile: HostileRun, writer: str) -> None:
    assert_refused_early(hostile, f"{writer}:dotdot", "goes through '..' after")
    assert list(case_dir(hostile, f"{writer}:dotdot").iterdir()) == []


# --- 7. Concurrent writers of one kubeconfig: ours through the lock, and kubectl's -----------------
#
# Each writer process adds its own entries (a cluster, a user and a context per step) with read,
# merge, compare-and-swap; whatever the interleaving, every entry that a writer reported written
# must be in the file at the end. kubectl writes with `kubectl config set-cluster` in a loop.

WRITER_SCRIPT = r"""
import sys, time, yaml
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _files

dest, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
# libyaml where PyYAML has it: the shorter a read-merge-write step, the less often kubectl wins it.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
conflicts = 0
if hasattr(_files, "write_file"):
    write = _files.write_file
else:  # the code before issue 14 (to show what it lost): read, merge, write_atomically, no lock
    import collections, os
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({}):
        module = AnsibleModule(argument_spec={}, add_file_common_args=True)
    State = collections.namedtuple("State", "content checksum")
    Result = collections.namedtuple("Result", "conflict")
    _files.ABSENT = None
    _files.read_regular = lambda path: State(open(path, "rb").read() if os.path.exists(path) else None, None)

    def write(path, content, expected_checksum):
        _files.write_atomically(module, path, content, False, 0o600)
        return Result(False)

for step in range(count):
    name = f"{prefix}-{step}"
    while True:
        state = _files.read_regular(dest)
        config = yaml.load(state.content or b"", Loader=LOADER) or {"apiVersion": "v1", "kind": "Config"}
        for key in ("clusters", "users", "contexts"):
            config[key] = [entry for entry in (config.get(key) or []) if entry["name"] != name]
        config["clusters"].append({"name": name, "cluster": {"server": f"https://{name}.example:6443"}})
        config["users"].append({"name": name, "user": {"token": "t"}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
        result = write(dest, yaml.dump(config, Dumper=DUMPER).encode(), expected_checksum=state.checksum or _files.ABSENT)
        if not result.conflict:
            break
        conflicts += 1
print(f"{count} written, {conflicts} conflicts")
"""


def entries(path: Path) -> set[tuple[str, str]]:
    config = yaml.safe_load(path.read_bytes()) or {}
    return {(key, entry["name"]) for key in ("clusters", "users", "contexts") for entry in config.get(key) or []}


def start_writer(tmp_path: Path, dest: Path, prefix: str, count: int) -> subprocess.Popen[str]:
    env = ansible_env(tmp_path)
    env["PYTHONPATH"] = env["ANSIBLE_COLLECTIONS_PATH"]
    return subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(dest), prefix, str(count)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


WRITER_STEPS = 12


def test_two_writers_of_different_fleets_lose_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "kube" / "config"
    dest.parent.mkdir()
    writers = [start_writer(tmp_path, dest, prefix, WRITER_STEPS) for prefix in ("fleet-a", "fleet-b")]
    outputs = [writer.communicate(timeout=240) for writer in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err[-3000:]
    wanted = {(key, f"{prefix}-{step}") for prefix in ("fleet-a", "fleet-b") for step in range(WRITER_STEPS) for key in ("clusters", "users", "contexts")}
    missing = wanted - entries(dest)
    assert not missing, f"{len(missing)} entries lost, e.g. {sorted(missing)[:3]}"
    assert mode_of(dest) == 0o600 and others_in(dest.parent, dest) == []
    said = "; ".join(out.strip() for out, _err in outputs)
    report_figure(f"files: 2 writers x {WRITER_STEPS} read-merge-write steps on one kubeconfig: 0 of {len(wanted)} entries lost ({said})")


KUBECTL = "/usr/bin/kubectl"
KUBECTL_WRITER_STEPS = 40
# kubectl writes about twice a second and its file grows with each cluster: on a loaded machine a
# writer whose read-merge-write step takes longer than that loses every compare-and-swap (each
# loss is a correct refusal, not a lost entry). So kubectl runs beside our writer for this long at
# most, then our writer finishes alone.
KUBECTL_WINDOW = 90.0
# And at most this many kubectl writes: each one grows the file and voids the step in progress.
KUBECTL_MAX_WRITES = 60


@pytest.mark.skipif(not Path(KUBECTL).exists(), reason="needs kubectl")
def test_our_writer_and_a_kubectl_loop_lose_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "kube" / "config"
    dest.parent.mkdir()
    # More steps than the two-writer test: kubectl fails at once on our lock, so only the gaps
    # between our steps let it in; on a loaded machine 12 steps left as few as 2 such gaps.
    writer = start_writer(tmp_path, dest, "fleet-a", KUBECTL_WRITER_STEPS)
    succeeded: list[str] = []
    refused: Counter[str] = Counter()
    step = 0
    window_ends = time.monotonic() + KUBECTL_WINDOW
    while writer.poll() is None and time.monotonic() < window_ends and len(succeeded) < KUBECTL_MAX_WRITES:
        name = f"kubectl-{step}"
        step += 1
        proc = subprocess.run(
            [KUBECTL, "--kubeconfig", str(dest), "config", "set-cluster", name, f"--server=https://{name}.example:6443"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            succeeded.append(name)
        else:
            # kubectl does not wait for a lock: it fails, loudly, and its change is not made.
            assert "lock" in proc.stderr, proc.stderr
            refused["lock held"] += 1
    alone = writer.poll() is None
    out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err[-3000:]
    found = entries(dest)
    ours = {(key, f"fleet-a-{step}") for step in range(KUBECTL_WRITER_STEPS) for key in ("clusters", "users", "contexts")}
    theirs = {("clusters", name) for name in succeeded}
    assert not ours - found, f"kubectl deleted {len(ours - found)} of our entries"
    assert not theirs - found, f"we overwrote {len(theirs - found)} of kubectl's clusters"
    assert len(succeeded) >= 3, "kubectl did not run alongside the writer: nothing concurrent was tested"
    report_figure(
        f"files: our writer ({KUBECTL_WRITER_STEPS} steps, {out.strip()}) and a kubectl set-cluster loop ({step} runs: {len(succeeded)} written, "
        f"{refused['lock held']} refused by kubectl on our lock): 0 entries lost"
        + (f"; kubectl stopped after {KUBECTL_WINDOW:g} s and our writer finished alone" if alone else "")
    )
