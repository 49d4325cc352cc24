"""Reliability suite, category "writes" (issue 23): a certificate is issued only when it will be written.

Each call to POST .../cert issues a client certificate that lives for years and cannot be revoked
through the API, so every scenario counts the certificates the simulator issued and the files the
run wrote, and they must be equal:

- a full disk (a small tmpfs in a private mount namespace): refused before any call, naming the
  cause, and no lock left behind; a disk that fills during the download: the write fails naming
  the cause, still without a lock, and the next run is not held up;
- locks: an empty lock left by a failed run of an earlier release is broken at once; kubectl's
  (empty, mode 0000) is waited for, and refused before any call when it is older than the wait;
- immutable and append-only files and directories (chattr): refused before any call;
- kubeconfig_file_info's write_blocker, which the role's plan reads on the target;
- the play's shape: under serial (1, a percentage, a list) the hosts of one fleet share one
  certificate; strategy free and host_pinned are refused before any call;
- kubeconfigs as large as kubectl takes (6,500 certificate contexts, 9,000 token users, 4,000
  RSA contexts): merged, with the module's time and peak memory as figures; beyond 32 MiB,
  refused naming the cap.

Assertions compare fingerprints, never contents, so a failure does not print key material.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from conftest import VENV_BIN, AnsibleRunner, Run, Simulator, assert_nothing_leaked, report_figure, secrets_in_kubeconfig
from large_kubeconfigs import ISSUE_SIZES, write_large_kubeconfig
from sshd import local_host_vars, write_inventory
from test_ucs_federation_cert import one_task_playbook, task_args

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import dump_kubeconfig
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import make_kubeconfig

PROVES = "a certificate is issued only when it can be written, no lock of ours outlives a run, and every kubeconfig kubectl loads up to 32 MiB is merged"
pytestmark = pytest.mark.reliability("writes", PROVES)

KUBECTL = "/usr/bin/kubectl"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount namespaces, chattr, chown)")
needs_kubectl = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="needs kubectl")
# The role's plan reads write_blocker from kubeconfig_file_info, which this branch adds; refusing on
# it before the download is the lead's wiring of issue 23 (plugins/action/kubeconfig_plan.py).


# --- What was issued, what was written -------------------------------------------------------------


def fingerprint(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()[:16]


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def certificates(sim: Simulator) -> int:
    """Client certificates the simulator issued (its log of POST .../cert that succeeded)."""
    return sum(1 for entry in sim.calls("POST", "/cert") if 200 <= int(entry.get("status") or 0) < 300)


class Ledger:
    """Counts certificates issued and files written across a scenario's runs."""

    def __init__(self, sim: Simulator, *files: Path) -> None:
        self.sim = sim
        self.files = files
        self.issued_before = certificates(sim)
        self.before = {path: fingerprint(read_or_none(path)) for path in files}

    def written(self) -> int:
        return sum(1 for path in self.files if fingerprint(read_or_none(path)) != self.before[path])

    def issued(self) -> int:
        return certificates(self.sim) - self.issued_before

    def assert_balanced(self, issued: int) -> None:
        assert (self.issued(), self.written()) == (issued, issued), f"certificates issued {self.issued()}, files written {self.written()}"


def leftovers(directory: Path, *keep: str) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if path.name not in keep)


def kubeconfig_text(sim: Simulator, slot: int, **extra: Any) -> bytes:
    """A valid kubeconfig of another fleet: the fleet's own entries are missing, so a run downloads."""
    return dump_kubeconfig(make_kubeconfig(key_slot=slot, **extra).config).encode()


# --- A small file system in a private mount namespace ----------------------------------------------


class Tmpfs:
    """A tmpfs mounted at `mountpoint` in a mount namespace of its own, held by a sleeping process.

    Ansible runs inside it (nsenter); the test reaches its files through /proc/PID/root, so
    nothing is mounted on this host and nothing outlives the test.
    """

    def __init__(self, mountpoint: Path, size: str) -> None:
        self.mountpoint = mountpoint
        mountpoint.mkdir(parents=True, exist_ok=True)
        script = f"mount -t tmpfs -o size={size},mode=0755 tmpfs '{mountpoint}' && echo ready && exec sleep 86400"
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "ready":
            self.stop()
            pytest.skip(f"no tmpfs in a private mount namespace here: {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.filler = self.mountpoint / ".filler"

    def outside(self, path: Path) -> Path:
        """path inside the namespace, as this process reaches it."""
        return Path(f"/proc/{self.proc.pid}/root{path}")

    def command(self, args: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--", *args]

    def fill(self) -> int:
        """Take every free block; return how many bytes that was."""
        taken = 0
        fd = os.open(self.outside(self.filler), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    taken += os.write(fd, b"\0" * 4096)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    return taken
        finally:
            os.close(fd)

    def free(self) -> None:
        self.outside(self.filler).unlink()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Tmpfs:
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        pytest.skip("needs root, unshare and nsenter for a full file system of its own")
    disk = Tmpfs(tmp_path / "small", "512k")
    yield disk
    disk.stop()


def run_in(ansible: AnsibleRunner, disk: Tmpfs | None, text: str, *options: str, env: dict[str, str] | None = None, inventory: str = "localhost,") -> Run:
    """ansible-playbook, inside the tmpfs's mount namespace when there is one."""
    path = ansible.tmp_path / f"playbook-{ansible.count + 1}.yml"
    path.write_text(text)
    args = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(path), *options]
    return ansible._run(disk.command(args) if disk else args, env)  # the runner's own call, with a prefix


def module_run(ansible: AnsibleRunner, sim: Simulator, args: dict[str, Any], disk: Tmpfs | None = None) -> tuple[Run, dict[str, Any], float]:
    """ucs_federation_cert once; the run, its result and its duration."""
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    started = time.monotonic()
    run = run_in(ansible, disk, one_task_playbook(args, register_to=out), env=ansible.credential_env())
    return run, json.loads(out.read_text()), time.monotonic() - started


def task_run(ansible: AnsibleRunner, module: str, args: dict[str, Any], disk: Tmpfs | None = None) -> tuple[Run, dict[str, Any]]:
    """Any module of the collection once (no credentials); the run and the result."""
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    tasks = [
        {"name": "Run it", module: args, "register": "result", "ignore_errors": True, "no_log": module == "ucs_cloud.fleet.kubeconfig_file"},
        {
            "name": "Save the result",
            "ansible.builtin.copy": {
                "content": "{{ result | dict2items | rejectattr('key', 'equalto', 'content') | items2dict | to_json }}",
                "dest": str(out),
                "mode": "0600",
            },
        },
    ]
    play = [{"name": "One task", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    run = run_in(ansible, disk, yaml.safe_dump(play))
    return run, json.loads(out.read_text())


def refused(result: dict[str, Any], *fragments: str) -> str:
    msg = str(result.get("msg"))
    assert result.get("failed") is True, result
    assert "Traceback" not in json.dumps(result) and "Module failed" not in msg, msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


# --- 1. A full disk ---------------------------------------------------------------------------------


def test_full_disk_issues_no_certificate_and_leaves_no_lock(ansible: AnsibleRunner, sim: Simulator, tmpfs: Tmpfs) -> None:
    """Before: the module downloaded, failed with "Module failed: [Errno 28] No space left on
    device" and left an empty config.lock, which then held up every run (30 s, then another
    certificate and a failure) and made kubectl fail ("config.lock: file exists")."""
    directory = tmpfs.mountpoint / "kube"
    dest = directory / "config"
    tmpfs.outside(directory).mkdir()
    ledger = Ledger(sim, tmpfs.outside(dest))
    tmpfs.fill()
    run, result, _seconds = module_run(ansible, sim, task_args(sim, dest), tmpfs)
    msg = refused(result, f"dest {dest}: no space left on device: the file system of {directory} has 0 bytes free")
    ledger.assert_balanced(0)
    assert leftovers(tmpfs.outside(directory)) == [], "no lock and no temporary file"

    # With room again, kubectl and the next run are not held up by anything of ours.
    tmpfs.free()
    proc = subprocess.run(
        tmpfs.command([KUBECTL, "--kubeconfig", str(dest), "config", "set-context", "mine", "--cluster=mine"]), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    ledger = Ledger(sim, tmpfs.outside(dest))
    run2, result2, seconds = module_run(ansible, sim, task_args(sim, dest), tmpfs)
    assert result2.get("changed") is True and not result2.get("failed"), result2
    ledger.assert_balanced(1)
    assert "mine" in {entry["name"] for entry in yaml.load(tmpfs.outside(dest).read_bytes(), Loader=LOADER)["contexts"]}
    assert leftovers(tmpfs.outside(directory)) == ["config"]
    report_figure(f"writes: full disk: refused before any call ({msg[:60]}...); with room again the next run took {seconds:.1f} s")
    for one in (run, run2):
        assert_nothing_leaked(one, sim, secrets_in_kubeconfig(tmpfs.outside(dest)))


def test_full_disk_in_kubeconfig_file_names_the_cause_and_leaves_no_lock(ansible: AnsibleRunner, sim: Simulator, tmpfs: Tmpfs) -> None:
    """The role's writer. Before: a raw error and an empty lock left behind."""
    directory = tmpfs.mountpoint / "kube"
    dest = directory / "config"
    tmpfs.outside(directory).mkdir()
    tmpfs.fill()
    content = kubeconfig_text(sim, 31)
    run, result = task_run(ansible, "ucs_cloud.fleet.kubeconfig_file", {"path": str(dest), "content": content.decode()}, tmpfs)
    refused(result, f"path {dest}: no space left on device")
    assert leftovers(tmpfs.outside(directory)) == [], "no lock and no temporary file"
    assert_nothing_leaked(run, sim, secrets_in_kubeconfig_text(content))


def secrets_in_kubeconfig_text(content: bytes) -> list[str]:
    config = yaml.load(content, Loader=LOADER)
    return [entry["user"]["client-key-data"] for entry in config["users"] if entry["user"].get("client-key-data")]


def test_disk_that_fills_during_the_download_names_the_cause_and_leaves_no_lock(ansible: AnsibleRunner, sim: Simulator, tmpfs: Tmpfs) -> None:
    """The one case where a certificate is issued and not written: the space was there when the
    run checked it, and was taken while the certificate was on its way. The message says why,
    and nothing of ours holds up the next run. Before: "Module failed: [Errno 28]", an empty lock,
    and the next run waited 30 s and failed after issuing another certificate."""
    directory = tmpfs.mountpoint / "kube"
    dest = directory / "config"
    tmpfs.outside(directory).mkdir()
    old = kubeconfig_text(sim, 32)
    tmpfs.outside(dest).write_bytes(old)
    tmpfs.outside(dest).chmod(0o600)
    fleet = sim.federated_fleet["id"]
    # The fleet read comes after the early checks; the certificate answer is held for 3 s.
    sim.fault("slow", operation="create_cert", delay=3)
    done = threading.Event()

    def fill_after_the_fleet_read() -> None:
        while not done.is_set():
            if any(entry.get("fleet_id") == fleet and entry["method"] == "GET" for entry in sim.requests()):
                tmpfs.fill()
                return
            done.wait(0.02)

    filler = threading.Thread(target=fill_after_the_fleet_read, daemon=True)
    filler.start()
    ledger = Ledger(sim, tmpfs.outside(dest))
    try:
        run, result, _seconds = module_run(ansible, sim, task_args(sim, dest), tmpfs)
    finally:
        done.set()
        filler.join()
    refused(result, f"{dest}", "no space left on device", "was left as it was")
    assert (ledger.issued(), ledger.written()) == (1, 0)
    assert tmpfs.outside(dest).read_bytes() == old and leftovers(tmpfs.outside(directory)) == ["config"], "no lock, no temporary file"

    tmpfs.free()
    ledger = Ledger(sim, tmpfs.outside(dest))
    run2, result2, seconds = module_run(ansible, sim, task_args(sim, dest), tmpfs)
    assert result2.get("changed") is True, result2
    ledger.assert_balanced(1)
    assert seconds < 25, f"the next run took {seconds:.1f} s: something held it up"
    report_figure(f"writes: disk filled during the download: 1 certificate issued, 0 written, cause named; the next run wrote in {seconds:.1f} s")
    for one in (run, run2):
        assert_nothing_leaked(one, sim, secrets_in_kubeconfig(tmpfs.outside(dest)))


# --- 2. Locks ---------------------------------------------------------------------------------------


def kubectl_lock(lock: Path, age: float = 0) -> None:
    """A lock as kubectl makes it: empty, created O_EXCL with mode 0000 (kubectl v1.32, seen with strace)."""
    os.close(os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    os.utime(lock, (time.time() - age, time.time() - age))


def test_empty_lock_left_by_a_failed_run_of_an_earlier_release_is_broken_at_once(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Before: every run waited 30 s for it, after issuing a certificate, then failed."""
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "config"
    lock = directory / "config.lock"
    lock.write_bytes(b"")  # what a full disk left: created 0600, its marker never written
    lock.chmod(0o600)
    os.utime(lock, (time.time() - 600, time.time() - 600))
    ledger = Ledger(sim, dest)
    run, result, seconds = module_run(ansible, sim, task_args(sim, dest))
    assert result.get("changed") is True and not result.get("failed"), result
    ledger.assert_balanced(1)
    assert leftovers(directory) == ["config"] and seconds < 25
    report_figure(f"writes: an empty 0600 lock left by an earlier release was broken at once: the run took {seconds:.1f} s")
    assert_nothing_leaked(run, sim, secrets_in_kubeconfig(dest))


def test_kubectls_lock_older_than_the_wait_is_refused_before_any_call(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Before: a certificate, 30 s of waiting, then a failure."""
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "config"
    lock = directory / "config.lock"
    kubectl_lock(lock, age=3600)
    ledger = Ledger(sim, dest)
    run, result, seconds = module_run(ansible, sim, task_args(sim, dest))
    msg = refused(result, f"dest {dest} is locked: {lock} is empty with mode 0000, as kubectl makes it, and it is 36", f"remove {lock}")
    assert re.search(r"and it is 36\d\d s old, older than the 30 s a write waits for it", msg), msg
    ledger.assert_balanced(0)
    assert leftovers(directory) == ["config.lock"] and stat.S_IMODE(lock.stat().st_mode) == 0, "kubectl's lock is never ours to break"
    assert seconds < 20
    assert_nothing_leaked(run, sim)


def test_kubectls_fresh_lock_is_waited_for(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A guard, not a finding: kubectl holds its lock for milliseconds, so a fresh one is waited for."""
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "config"
    lock = directory / "config.lock"
    kubectl_lock(lock)
    timer = threading.Timer(4.0, lock.unlink)
    timer.start()
    ledger = Ledger(sim, dest)
    try:
        run, result, _seconds = module_run(ansible, sim, task_args(sim, dest))
    finally:
        timer.join()
    assert result.get("changed") is True, result
    ledger.assert_balanced(1)
    assert leftovers(directory) == ["config"]
    assert_nothing_leaked(run, sim, secrets_in_kubeconfig(dest))


# --- 3. Flags that make any write fail ------------------------------------------------------------


def chattr(path: Path, flag: str) -> None:
    proc = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"chattr {flag} does not work here: {proc.stderr.strip()}")


@needs_root
@pytest.mark.parametrize(
    ("target", "flag", "words"),
    [
        ("file", "+i", "is immutable (chattr +i): it cannot be replaced"),
        ("file", "+a", "is append-only (chattr +a): it cannot be replaced"),
        ("directory", "+i", "is immutable (chattr +i): nothing can be created in it"),
        ("directory", "+a", "is append-only (chattr +a)"),
    ],
)
def test_immutable_or_append_only_is_refused_before_any_call(
    ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, target: str, flag: str, words: str
) -> None:
    """Before: the module downloaded, then failed to write."""
    directory = tmp_path / "kube"
    directory.mkdir()
    dest = directory / "config"
    old = kubeconfig_text(sim, 33)
    dest.write_bytes(old)
    dest.chmod(0o600)
    flagged = dest if target == "file" else directory
    chattr(flagged, flag)
    try:
        ledger = Ledger(sim, dest)
        run, result, _seconds = module_run(ansible, sim, task_args(sim, dest))
        refused(result, words)
        ledger.assert_balanced(0)
        assert dest.read_bytes() == old and leftovers(directory) == ["config"]
    finally:
        chattr(flagged, "-" + flag[1])
    assert_nothing_leaked(run, sim, secrets_in_kubeconfig_text(old))


# --- 4. What the role's plan reads: kubeconfig_file_info's write_blocker -------------------------


@needs_root
def test_write_blocker_tells_the_plan_what_would_stop_the_write(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """kubeconfig_file_info on the target: null when a write can happen, else the message the
    writers fail with. Before: no such result, so the role downloaded and then failed."""
    cases: dict[str, Callable[[Path], None]] = {
        "fine": lambda _path: None,
        "another user's file": lambda path: os.chown(path, 65534, 65534),
        "immutable": lambda path: chattr(path, "+i"),
        "kubectl's old lock": lambda path: kubectl_lock(Path(f"{path}.lock"), age=120),
    }
    expected = {
        "fine": None,
        "another user's file": "is owned by nobody (uid 65534), not by root (uid 0), who would own the new file",
        "immutable": "is immutable (chattr +i): it cannot be replaced, even by root",
        "kubectl's old lock": "is empty with mode 0000, as kubectl makes it, and it is 12",
    }
    for name, make in cases.items():
        directory = tmp_path / name.replace(" ", "-").replace("'", "")
        directory.mkdir()
        path = directory / "config"
        path.write_bytes(kubeconfig_text(sim, 34))
        make(path)
        try:
            _run, result = task_run(ansible, "ucs_cloud.fleet.kubeconfig_file_info", {"path": str(path), "mode": "0600"})
        finally:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        assert not result.get("failed"), result
        assert "write_blocker" in result, f"{name}: kubeconfig_file_info has no write_blocker"
        if expected[name] is None:
            assert result["write_blocker"] is None, result["write_blocker"]
        else:
            assert expected[name] in str(result["write_blocker"]) and str(result["write_blocker"]).startswith(f"path {path}"), result["write_blocker"]


ROLE_PLAY = "- name: Install the fleet kubeconfig\n  hosts: all\n  gather_facts: false\n  roles:\n    - role: ucs_cloud.fleet.ucs_kubeconfig\n"


def role_vars(sim: Simulator, path: Path) -> dict[str, Any]:
    net = sim.seed["network"]
    return {
        "ucs_kubeconfig_fleet_id": sim.federated_fleet["id"],
        "ucs_kubeconfig_project_id": net["project_id"],
        "ucs_kubeconfig_vpc_id": net["vpc_id"],
        "ucs_kubeconfig_subnet_id": net["subnet_id"],
        "ucs_kubeconfig_path": str(path),
    }


def role_run(ansible: AnsibleRunner, sim: Simulator, path: Path, disk: Tmpfs | None = None, prefix: list[str] | None = None) -> Run:
    inventory = write_inventory(ansible.tmp_path / f"inventory-{ansible.count + 1}.yml", {"target": local_host_vars(**role_vars(sim, path))})
    playbook = ansible.tmp_path / f"playbook-{ansible.count + 1}.yml"
    playbook.write_text(ROLE_PLAY)
    args = [*(prefix or []), str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(playbook)]
    return ansible._run(disk.command(args) if disk else args, ansible.credential_env("aksk"))


@needs_root
@pytest.mark.parametrize("blocker", ["immutable", "another user's file", "full disk"])
def test_role_issues_no_certificate_for_a_write_bound_to_fail(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, blocker: str) -> None:
    """The role refuses on write_blocker before the download, as the module does."""
    disk = Tmpfs(tmp_path / "small", "512k") if blocker == "full disk" else None
    directory = disk.mountpoint if disk else tmp_path / "kube"
    reach: Callable[[Path], Path] = disk.outside if disk else (lambda path: path)
    reach(directory).mkdir(exist_ok=True)
    path = directory / "config"
    reach(path).write_bytes(kubeconfig_text(sim, 35))
    try:
        if blocker == "immutable":
            chattr(path, "+i")
        elif blocker == "another user's file":
            os.chown(path, 65534, 65534)
        else:
            disk.fill()
        ledger = Ledger(sim, reach(path))
        run = role_run(ansible, sim, path, disk)
        assert run.recap["target"]["failed"] == 1, run.stdout[-3000:]
        ledger.assert_balanced(0)
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        if disk:
            disk.stop()


# --- One certificate per fleet, whatever the play's shape -------------------------------------------

SHAPED_PLAY = """\
- name: Install the fleet kubeconfig
  hosts: all
  gather_facts: false
{shape}
  roles:
    - role: ucs_cloud.fleet.ucs_kubeconfig
"""
SHAPES = {
    "serial 1": "  serial: 1",
    "serial 50%": '  serial: "50%"',
    "serial list": "  serial: [1, 3]",
    "strategy free": "  strategy: free",
    "strategy host_pinned": "  strategy: ansible.builtin.host_pinned",
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_one_certificate_per_fleet_whatever_the_plays_shape(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, shape: str) -> None:
    """Under serial, later batches use the first batch's download (hostvars, no_log); under a
    strategy whose hosts do not wait for each other, the role refuses before any call."""
    paths = {f"host{number}": tmp_path / f"host{number}" / "config" for number in range(1, 5)}
    settings = role_vars(sim, tmp_path / "unused")
    del settings["ucs_kubeconfig_path"]
    hosts = {name: local_host_vars(ucs_kubeconfig_path=str(path)) for name, path in paths.items()}
    inventory = write_inventory(ansible.tmp_path / f"inventory-{ansible.count + 1}.yml", hosts, **settings)
    playbook = ansible.tmp_path / f"playbook-{ansible.count + 1}.yml"
    playbook.write_text(SHAPED_PLAY.format(shape=SHAPES[shape]))
    command = [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(playbook)]
    ledger = Ledger(sim, *paths.values())
    run = ansible._run(command, ansible.credential_env("aksk"))
    if shape.startswith("strategy"):
        strategy = SHAPES[shape].split(": ")[1]
        assert all(run.recap[name]["failed"] == 1 for name in paths), run.stdout[-3000:]
        assert f"the role cannot run under strategy {strategy}" in run.stdout, run.stdout[-3000:]
        assert (ledger.issued(), ledger.written()) == (0, 0)
        return
    assert all(run.recap[name]["failed"] == 0 and run.recap[name]["changed"] >= 1 for name in paths), run.stdout[-3000:]
    assert (ledger.issued(), ledger.written()) == (1, len(paths)), f"certificates issued {ledger.issued()}, files written {ledger.written()}"
    report_figure(f"writes: {shape}, 4 hosts of one fleet: {ledger.issued()} certificate, {ledger.written()} files written")
    again = Ledger(sim, *paths.values())
    run = ansible._run(command, ansible.credential_env("aksk"))
    assert all(run.recap[name]["failed"] == 0 and run.recap[name]["changed"] == 0 for name in paths), run.stdout[-3000:]
    assert (again.issued(), again.written()) == (0, 0)
    assert_nothing_leaked(run, sim)


# --- 5. Kubeconfigs as large as kubectl takes -------------------------------------------------------

# Runs the module's Python and records its peak RSS (KiB), CPU time (s) and wall time (s).
MEASURING_WRAPPER = """import resource, subprocess, sys, time
started = time.monotonic()
code = subprocess.call([{python!r}] + sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open({out!r}, "a") as out:
    out.write("%d %.3f %.3f\\n" % (usage.ru_maxrss, usage.ru_utime + usage.ru_stime, time.monotonic() - started))
sys.exit(code)
"""


def measured_module_run(ansible: AnsibleRunner, sim: Simulator, args: dict[str, Any]) -> tuple[Run, dict[str, Any], int, float, float]:
    """The module once, its Python under the measuring wrapper: run, result, peak KiB, CPU s, wall s."""
    out = ansible.tmp_path / f"result-{ansible.count + 1}.json"
    figures = ansible.tmp_path / f"figures-{ansible.count + 1}.txt"
    wrapper = ansible.tmp_path / "python-measured"
    wrapper.write_text(f"#!{sys.executable}\n" + MEASURING_WRAPPER.format(python=sys.executable, out=str(figures)))
    wrapper.chmod(0o755)
    play = yaml.safe_load(one_task_playbook(args, register_to=out))
    play[0]["tasks"][0]["vars"] = {"ansible_python_interpreter": str(wrapper)}
    run = run_in(ansible, None, yaml.safe_dump(play), env=ansible.credential_env())
    peak, cpu, wall = figures.read_text().split()[-3:]
    return run, json.loads(out.read_text()), int(peak), float(cpu), float(wall)


def kubectl_contexts(path: Path) -> tuple[set[str], float]:
    """The contexts kubectl reads from path, and how long kubectl took."""
    started = time.monotonic()
    proc = subprocess.run(
        [KUBECTL, "--kubeconfig", str(path), "config", "get-contexts", "-o", "name"], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stdout.split()), time.monotonic() - started


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


@needs_kubectl
@pytest.mark.parametrize(("shape", "count"), ISSUE_SIZES, ids=[f"{count}-{shape}" for shape, count in ISSUE_SIZES])
def test_large_kubeconfig_that_kubectl_loads_is_merged(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, shape: str, count: int) -> None:
    """Before: refused as "too large or too deeply nested ... or set standalone=true" (advice that
    would delete every other context), or "larger than 16777216 bytes"."""
    dest = tmp_path / "config"
    size = write_large_kubeconfig(dest, shape, count)
    theirs, kubectl_seconds = kubectl_contexts(dest)
    assert len(theirs) == count
    ledger = Ledger(sim, dest)
    run, result, peak, cpu, wall = measured_module_run(ansible, sim, task_args(sim, dest))
    assert result.get("changed") is True and not result.get("failed"), result.get("msg")
    ledger.assert_balanced(1)
    ours, after_seconds = kubectl_contexts(dest)
    fleet_context = f"ucs-fleet-{sim.federated_fleet['id']}"
    assert ours == theirs | {fleet_context}, "every context kept, the fleet's added"
    assert yaml.load(dest.read_bytes(), Loader=LOADER)["current-context"] == fleet_context
    report_figure(
        f"writes: {count} {shape} contexts ({mb(size)}): kubectl lists them in {kubectl_seconds:.1f} s; "
        f"the module merged the fleet in {wall:.1f} s (CPU {cpu:.1f} s), peak RSS {peak // 1024} MiB; kubectl reads the result in {after_seconds:.1f} s"
    )
    assert_nothing_leaked(run, sim, sorted(set(secrets_in_kubeconfig(dest)))[:8])


@needs_kubectl
def test_kubeconfig_beyond_the_cap_is_refused_naming_the_cap(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """6,500 RSA contexts (35 MB): kubectl loads them, this collection stops at 32 MiB and says so."""
    dest = tmp_path / "config"
    size = write_large_kubeconfig(dest, "rsa", 6500)
    assert len(kubectl_contexts(dest)[0]) == 6500
    ledger = Ledger(sim, dest)
    run, result, _seconds = module_run(ansible, sim, task_args(sim, dest))
    msg = refused(result, f"dest {dest} is larger than 32 MiB (33554432 bytes), the largest kubeconfig this collection reads or writes")
    assert "standalone" not in msg
    ledger.assert_balanced(0)
    report_figure(f"writes: {mb(size)} (6500 rsa contexts) refused before any call: {msg}")
    assert_nothing_leaked(run, sim)


# Runs a command and records the peak RSS (KiB) of its largest process and the CPU time of all.
RUN_MEASURED = """import json, resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"peak_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, out)
sys.exit(code)
"""


@needs_kubectl
def test_large_kubeconfig_through_the_role(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """The role reads the file on the target (kubeconfig_file_info returns it base64 to the
    controller, in the plan and again in the install), merges on the controller and sends it
    back as the content of kubeconfig_file. Measured beside the same run on a missing file."""
    figures = []
    for label, shape, count in (("no file yet", None, 0), ("4000 rsa contexts", "rsa", 4000)):
        directory = tmp_path / label.replace(" ", "-")
        directory.mkdir()
        dest = directory / "config"
        size = write_large_kubeconfig(dest, shape, count) if shape else 0
        ledger = Ledger(sim, dest)
        usage = tmp_path / f"usage-{count}.json"
        started = time.monotonic()
        run = role_run(ansible, sim, dest, prefix=[sys.executable, "-c", RUN_MEASURED, str(usage)])
        wall = time.monotonic() - started
        assert run.returncode == 0, run.stdout[-3000:]
        ledger.assert_balanced(1)
        assert len(kubectl_contexts(dest)[0]) == count + 1
        measured = json.loads(usage.read_text())
        figures.append(f"{label} ({mb(size)}): {wall:.1f} s, CPU {measured['cpu']:.1f} s, peak RSS of its largest process {measured['peak_kib'] // 1024} MiB")
        assert_nothing_leaked(run, sim, sorted(set(secrets_in_kubeconfig(dest)))[:8])
    report_figure("writes: the role's first run: " + "; ".join(figures))
