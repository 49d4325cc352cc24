"""Target hosts for the role tests: an OpenSSH server on loopback, plus local-connection hosts.

`sshd` (session fixture) runs scripts/start-sshd.sh, which starts a private sshd on 127.0.0.1
with its own host key and test users (ALICE and BOB in GROUP: ucs-alice, ucs-bob in ucs-ops, or
with UCS_SYSTEM_SLOT=2 ucs2-alice, ucs2-bob in ucs2-ops, so that two runs can share the machine),
and stops it at the end of the session. Every inventory host below points at the same machine, so each one must be
given its own kubeconfig path (except the one host that connects as a user and uses its home).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
START_SSHD = ROOT / "scripts" / "start-sshd.sh"
# Python of the ssh targets: the system's, as on a real host (the role's target-side tasks need
# only ansible.builtin modules).
TARGET_PYTHON = "/usr/bin/python3"
# The test users of this run, as scripts/start-sshd.sh names them from UCS_SYSTEM_SLOT.
SLOT = os.environ.get("UCS_SYSTEM_SLOT", "")
if not SLOT.isdigit() and SLOT != "":
    raise RuntimeError(f"UCS_SYSTEM_SLOT must be empty or digits, got {SLOT!r}")
ALICE, BOB, GROUP = f"ucs{SLOT}-alice", f"ucs{SLOT}-bob", f"ucs{SLOT}-ops"


@dataclass
class SshServer:
    """A running sshd on loopback (the content of its sshd.json)."""

    host: str
    port: int
    key: str
    users: list[str]
    group: str
    pid: int
    state_dir: str

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    def clean_home(self, user: str, *names: str) -> None:
        """Remove what earlier tests left in a test user's home (default: ~/.kube)."""
        for name in names or (".kube",):
            shutil.rmtree(self.home(user) / name, ignore_errors=True)

    def host_vars(self, user: str = "root", **extra: Any) -> dict[str, Any]:
        """Inventory variables of a host reached over this server as `user`."""
        values: dict[str, Any] = {
            "ansible_connection": "ssh",
            "ansible_host": self.host,
            "ansible_port": self.port,
            "ansible_user": user,
            "ansible_ssh_private_key_file": self.key,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            "ansible_python_interpreter": TARGET_PYTHON,
        }
        if user != "root":
            # The runner's ANSIBLE_REMOTE_TEMP is in root's private temp directory.
            values["ansible_remote_tmp"] = "~/.ansible/tmp"
        values.update(extra)
        return values


def local_host_vars(**extra: Any) -> dict[str, Any]:
    """Inventory variables of a host reached with the local connection (as the test user)."""
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **extra}


def write_inventory(path: Path, hosts: dict[str, dict[str, Any]], groups: dict[str, dict[str, Any]] | None = None, **all_vars: Any) -> str:
    """Write a YAML inventory; `groups` maps a group name to {"hosts": [...], "vars": {...}}."""
    children = {name: {"hosts": {h: None for h in group["hosts"]}, "vars": group.get("vars", {})} for name, group in (groups or {}).items()}
    data = {"all": {"hosts": hosts, "vars": all_vars, "children": children}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> SshServer:
    if os.geteuid() != 0:
        pytest.skip("the ssh target hosts need root (sshd switches users; test users are created)")
    state_dir = tmp_path_factory.mktemp("sshd")
    proc = subprocess.run(["bash", str(START_SSHD), str(state_dir)], capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"start-sshd.sh failed ({proc.returncode}): {proc.stderr[-3000:]}")
    server = SshServer(**json.loads(proc.stdout))
    yield server
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGTERM)
