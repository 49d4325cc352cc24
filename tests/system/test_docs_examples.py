"""The documentation is executable: every example runs, unchanged, against the simulator.

- EXAMPLES of every module (plugins/modules/*.py) run as one play per module, in their order
  (later tasks use what earlier ones registered), on localhost with the local connection.
- Every YAML block of roles/ucs_kubeconfig/README.md runs: a play (or a list of plays) as it
  is, a task list in a play on localhost; a block of ``# group_vars/NAME.yml`` sections becomes
  those group_vars files for the next play. Every group a play names gets one local host.
  Whatever blocks the README holds are picked up.

Each example starts from scratch: a fresh HOME, the simulator reset, and the IDs the example
uses (fleets, project/VPC/subnet) seeded through the simulator's control API. Credentials come
from the environment, as users provide them (HUAWEICLOUD_SDK_AK/SK/DOMAIN_ID, UCS_ENDPOINT,
UCS_CA_PATH); variables an example only names ("{{ fleet_id }}") are given with -e.

Examples write where users would (/etc/ucs/..., /home/ops/..., root's ~/.kube): each run is
sandboxed in a private mount namespace (unshare -m) in which /etc, /home and /root are overlays
whose writes land in the test's temporary directory, and the users an example names (owner: ops)
are created there only. The machine's own files are never touched.

Every task result of these runs is recorded (keys only, never values, by a callback written to
the temporary directory), and test_return_documents_every_key compares the keys each module
really returns with its RETURN block.

docs/getting-started.md is a walkthrough, run as one shell session, in order and as written: its
``sh`` blocks are the commands, a ``yaml`` block whose first line is ``# PATH`` is the file the
reader saves at PATH, and a ``text`` block is output that the commands before it must print
(``...`` stands for anything). It runs in a copy of the checkout, as on a fresh clone with a
HOME of its own, in the same sandbox plus a private network namespace (loopback only, so its
fixed port 8443 collides with nothing, and nothing can reach the internet). The commands that
README.md and the user guide show for the same tasks must be commands of the walkthrough.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RECAP_RE, AnsibleRunner, Run, Simulator, assert_no_secrets, assert_nothing_leaked, secrets_in_kubeconfig
from harness import ROOT, VENV_BIN

MODULES_DIR = ROOT / "plugins" / "modules"
ROLE_README = ROOT / "roles" / "ucs_kubeconfig" / "README.md"
COLLECTION = "ucs_cloud.fleet"
GROUP_VARS_RE = re.compile(r"^# (group_vars|host_vars)/([\w.-]+?)(?:\.ya?ml)?\s*$", re.M)
ID_KEY_RE = re.compile(r"(?:^|_)(fleet_id|project_id|vpc_id|subnet_id)$")
USER_KEY_RE = re.compile(r"(?:^|_)(owner|group)$")
# A minimal kubeconfig, for examples that only name one ("{{ merged_kubeconfig }}").
SAMPLE_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: example\n  cluster: {server: 'https://127.0.0.1:6443'}\n"
    "users:\n- name: example\n  user: {token: example-token}\ncontexts:\n- name: example\n  context: {cluster: example, user: example}\n"
    "current-context: example\n"
)
# Keys Ansible itself adds to task results: not the module's to document.
COMMON_KEYS = {
    "changed",
    "failed",
    "skipped",
    "msg",
    "invocation",
    "warnings",
    "deprecations",
    "diff",
    "ansible_facts",
    "item",
    "ansible_loop_var",
    "ansible_index_var",
    "ansible_loop",
    "skip_reason",
    "false_condition",
    "exception",
    "module_stdout",
    "module_stderr",
    "rc",
    "attempts",
    "censored",
    "results",
}

# A callback that records the keys (never the values) of every task result, with the action.
RECORDER = '''
import json, os
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: record_keys
type: aggregate
short_description: test-only, records result keys
description: [test-only]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_keys"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        task = result._task
        action = getattr(task, "resolved_action", None) or task.action
        data = result._result
        if action in ("debug", "ansible.builtin.debug") and isinstance(data.get("msg"), dict) and "record_keys_for" in data["msg"]:
            # The keys of a registered no_log result (its display is censored, the variable is not).
            with open(os.environ["RECORD_KEYS_FILE"], "a") as handle:
                for keys in data["msg"]["keys"]:
                    handle.write(json.dumps({"action": data["msg"]["record_keys_for"], "status": "ok", "keys": sorted(keys)}) + "\\n")
            return
        items = data.get("results") if isinstance(data.get("results"), list) else [data]
        with open(os.environ["RECORD_KEYS_FILE"], "a") as handle:
            for item in items:
                if isinstance(item, dict):
                    if "censored" in item:
                        item_status = "censored"  # no_log: the keys are not the module's
                    elif item.get("failed"):
                        item_status = "failed"
                    elif item.get("skipped"):
                        item_status = "skipped"
                    else:
                        item_status = status
                    handle.write(json.dumps({"action": action, "status": item_status, "keys": sorted(item)}) + "\\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")
'''


# --- the examples --------------------------------------------------------------------------------


def module_examples(path: Path) -> str:
    """The EXAMPLES text of a module file (read with ast, as ansible-doc does, without importing it)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} has no EXAMPLES")


def module_return(path: Path) -> dict[str, Any]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "RETURN" for t in node.targets):
            return yaml.safe_load(ast.literal_eval(node.value)) or {}
    raise AssertionError(f"{path.name} has no RETURN")


class Example:
    """One runnable example: plays, the group_vars files it needs, and where it comes from."""

    def __init__(self, name: str, plays: list[dict[str, Any]], text: str, group_vars: dict[str, str] | None = None) -> None:
        self.name = name
        self.plays = plays
        self.text = text
        self.group_vars = group_vars or {}


def local_play(name: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "hosts": "localhost", "gather_facts": False, "tasks": tasks}


def collect_examples() -> list[Example]:
    examples = []
    for path in sorted(MODULES_DIR.glob("*.py")):
        text = module_examples(path)
        tasks = yaml.safe_load(text)
        assert isinstance(tasks, list) and tasks, f"EXAMPLES of {path.name} is not a list of tasks"
        examples.append(Example(f"module-{path.stem}", [local_play(f"EXAMPLES of {path.stem}", tasks)], text))
    if ROLE_README.is_file():
        pending: dict[str, str] = {}
        blocks = re.findall(r"^```ya?ml\n(.*?)^```", ROLE_README.read_text(), re.S | re.M)
        for number, block in enumerate(blocks, 1):
            if GROUP_VARS_RE.search(block):
                # "# group_vars/NAME.yml" sections: files for the next play.
                parts = GROUP_VARS_RE.split(block)
                for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3]):
                    pending[f"{kind}/{name}.yml"] = body
                continue
            data = yaml.safe_load(block)
            assert isinstance(data, list) and data, f"YAML block {number} of the role README is neither plays, tasks nor group_vars"
            plays = data if all(isinstance(item, dict) and "hosts" in item for item in data) else [local_play(f"README block {number}", data)]
            examples.append(Example(f"role-readme-{number}", plays, "\n".join([*pending.values(), block]), pending))
            pending = {}
        assert not pending, "group_vars blocks at the end of the role README are not used by any play"
    return examples


EXAMPLES = collect_examples()


def literal_values(data: Any, pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Values of keys matching pattern, without templates, by the matched key suffix."""
    found: dict[str, list[str]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                match = pattern.search(str(key))
                if match and isinstance(value, str) and "{{" not in value:
                    found.setdefault(match.group(1), [])
                    if value not in found[match.group(1)]:
                        found[match.group(1)].append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


def example_data(example: Example) -> list[Any]:
    return [example.plays, *(yaml.safe_load(text) for text in example.group_vars.values())]


# The IDs the documentation uses throughout: given to examples that only name them.
DOC_IDS = literal_values([example_data(e) for e in EXAMPLES], ID_KEY_RE)


def hosts_groups(pattern: str) -> list[str]:
    """The groups a play's hosts pattern names ("a:b", "{{ x | default('g') }}")."""
    if "{{" in pattern:
        names = re.findall(r"'([^']+)'|\"([^\"]+)\"", pattern)
        words = [a or b for a, b in names]
    else:
        words = re.split(r"[:,]", pattern)
    return [w.lstrip("&!") for w in words if w and w.lstrip("&!") not in ("all", "localhost")]


# --- running them ----------------------------------------------------------------------------------


# The fleet the examples name by its name ("{{ fleet_name }}"): without federation, so that
# ucs_federation's examples really enable it.
DOC_FLEET_NAME = "production"


def seed_ids(sim: Simulator, example: Example) -> None:
    """Make the IDs of the example (and of the docs) exist in the simulator, and the fleet it names."""
    sim.control("POST", "fleets", {"name": DOC_FLEET_NAME, "federation": False})
    ids = literal_values(example_data(example), ID_KEY_RE)
    for key, values in DOC_IDS.items():
        ids.setdefault(key, [])
        ids[key] += [v for v in values if v not in ids[key]]
    for fleet_id in ids.get("fleet_id", []):
        sim.control("POST", "fleets", {"id": fleet_id, "name": f"docs-{fleet_id[:8]}", "federation": True})
    for project in ids.get("project_id", []):
        for vpc in ids.get("vpc_id", []):
            for subnet in ids.get("subnet_id", []):
                sim.control("POST", "networks", {"project_id": project, "vpc_id": vpc, "subnet_id": subnet})


def variables_for(sim: Simulator, text: str) -> dict[str, Any]:
    """Values of the variables an example names without setting them, as a user would pass them."""
    seed = sim.seed

    def first(key: str) -> str:
        return DOC_IDS[key][0]

    known: dict[str, Any] = {
        "fleet_id": first("fleet_id"),
        "fleet_name": DOC_FLEET_NAME,
        "project_id": first("project_id"),
        "vpc_id": first("vpc_id"),
        "subnet_id": first("subnet_id"),
        "ucs_access_key": seed["aksk"]["access_key"],
        "ucs_secret_key": seed["aksk"]["secret_key"],
        "ucs_domain_id": seed["domain"]["id"],
        "vault_ucs_access_key": seed["aksk"]["access_key"],
        "vault_ucs_secret_key": seed["aksk"]["secret_key"],
        "vault_ucs_domain_id": seed["domain"]["id"],
        "iam_user": seed["iam_user"]["name"],
        "iam_password": seed["iam_user"]["password"],
        "iam_domain": seed["domain"]["name"],
        "iam_endpoint": sim.info["iam_endpoint"] + "/v3",
        "ucs_endpoint": sim.endpoint,
        "merged_kubeconfig": SAMPLE_KUBECONFIG,
        "fleet_kubeconfig": SAMPLE_KUBECONFIG,
    }
    templates = " ".join(re.findall(r"\{\{(.*?)\}\}", text, re.S))
    return {name: value for name, value in known.items() if re.search(rf"\b{name}\b", templates)}


def sandbox_prefix(work: Path, users: list[str], network: bool = False) -> list[str]:
    """A command prefix: a private mount namespace with /etc, /home and /root as overlays in work.

    network=True adds a private network namespace with only the loopback interface.
    """
    lines = ["set -eu"]
    if network:
        lines.append("ip link set lo up")
    for directory in ("/etc", "/home", "/root"):
        upper, scratch = work / f"overlay{directory}" / "upper", work / f"overlay{directory}" / "work"
        upper.mkdir(parents=True)
        scratch.mkdir(parents=True)
        lines.append(f"mount -t overlay overlay -o lowerdir={directory},upperdir={upper},workdir={scratch} {directory}")
    for user in users:
        lines.append(f"getent passwd {user} >/dev/null || useradd --create-home --user-group {user}")
    lines.append('exec "$@"')
    namespaces = ["--mount", "--net"] if network else ["--mount"]
    return ["unshare", *namespaces, "--propagation", "private", "bash", "-c", "\n".join(lines), "sandbox"]


@pytest.fixture(scope="module")
def sandbox_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("the docs examples need root and unshare (they write /etc, /home and /root in a private overlay): NOT run")
    work = tmp_path_factory.mktemp("sandbox-probe")
    probe = subprocess.run([*sandbox_prefix(work, []), "touch", "/etc/.ucs-sandbox-probe"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or Path("/etc/.ucs-sandbox-probe").exists():
        Path("/etc/.ucs-sandbox-probe").unlink(missing_ok=True)
        pytest.skip(f"no private overlay mounts here ({probe.stderr.strip()[-300:]}): the docs examples are NOT run")


RECORDED: list[dict[str, Any]] = []


def run_example(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, example: Example, *options: str, keep_results: bool = True) -> Run:
    """Run an example in the sandbox; keep_results=False writes no result values anywhere (no tree/junit)."""
    sim.reset()
    seed_ids(sim, example)
    home = tmp_path / "home"
    home.mkdir()
    inventory_dir = tmp_path / "inventory"
    inventory_dir.mkdir()
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become_method": "su"}
    groups = sorted({group for play in example.plays for group in hosts_groups(str(play["hosts"]))})
    inventory = {"all": {"hosts": {"localhost": host_vars}, "children": {g: {"hosts": {f"{g}-host": host_vars}} for g in groups}}}
    (inventory_dir / "hosts.yml").write_text(yaml.safe_dump(inventory))
    for name, body in example.group_vars.items():
        (inventory_dir / name).parent.mkdir(exist_ok=True)
        (inventory_dir / name).write_text(textwrap.dedent(body))
    playbook = tmp_path / "example.yml"
    playbook.write_text(yaml.safe_dump(example.plays, sort_keys=False))
    # Users the example names as owner or group exist only inside the sandbox.
    users = sorted({v for values in literal_values(example_data(example), USER_KEY_RE).values() for v in values if not v.isdigit()})
    users = [u for u in users if not _exists(u)]
    callbacks = tmp_path / "callback_plugins"
    callbacks.mkdir()
    (callbacks / "record_keys.py").write_text(RECORDER)
    record = tmp_path / "recorded.jsonl"
    record.touch()
    env = {
        **ansible.credential_env("aksk"),
        "HOME": str(home),
        "ANSIBLE_CALLBACK_PLUGINS": str(callbacks),
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree,ansible.builtin.junit,record_keys" if keep_results else "record_keys",
        "RECORD_KEYS_FILE": str(record),
    }
    extra = variables_for(sim, example.text)
    args = [*sandbox_prefix(tmp_path / "sandbox", users), str(VENV_BIN / "ansible-playbook"), "-i", str(inventory_dir / "hosts.yml"), str(playbook), *options]
    if extra:
        args += ["-e", json.dumps(extra)]
    run = ansible._run(args, env)
    RECORDED.extend(json.loads(line) for line in record.read_text().splitlines())
    return run


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs_unchanged(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, example: Example, sandbox_available: None) -> None:
    run = run_example(ansible, sim, tmp_path, example)
    failed = {host: counts for host, counts in run.recap.items() if counts["failed"] or counts["unreachable"]}
    assert run.returncode == 0 and run.recap and not failed, (
        f"example {example.name} fails ({run.returncode}), recap {run.recap}:\n{run.stdout[-5000:]}\n{run.stderr[-2000:]}"
    )
    assert_nothing_leaked(run, sim)


def test_examples_are_found() -> None:
    names = [e.name for e in EXAMPLES]
    assert "module-ucs_federation_cert" in names and "module-kubeconfig_file_info" in names
    if ROLE_README.is_file():
        assert any(name.startswith("role-readme-") for name in names), "no YAML example found in the role README"


# --- RETURN ------------------------------------------------------------------------------------------


def scenario_plays(sim: Simulator, work: Path) -> str:
    """Runs that reach the results the examples may not: rewrites, backups, conflicts, content."""
    fleet, net = sim.federated_fleet["id"], sim.seed["network"]
    cert = f"fleet_id: {fleet}\n      project_id: {net['project_id']}\n      vpc_id: {net['vpc_id']}\n      subnet_id: {net['subnet_id']}"
    role_play = f"""\
- hosts: localhost
  gather_facts: false
  roles:
  - role: ucs_cloud.fleet.ucs_kubeconfig
    vars:
      ucs_kubeconfig_fleet_id: {fleet}
      ucs_kubeconfig_project_id: {net["project_id"]}
      ucs_kubeconfig_vpc_id: {net["vpc_id"]}
      ucs_kubeconfig_subnet_id: {net["subnet_id"]}
      ucs_kubeconfig_path: {work}/role.yaml
      ucs_kubeconfig_backup: true
"""
    return f"""
- hosts: localhost
  gather_facts: false
  tasks:
  - ucs_cloud.fleet.kubeconfig_file_info:
      path: {work}/absent/config
  - ucs_cloud.fleet.ucs_federation_cert:
      {cert}
      dest: {work}/fleet.yaml
  - ucs_cloud.fleet.ucs_federation_cert:
      {cert}
      dest: {work}/fleet.yaml
      namespace: other
      backup: true
  - ucs_cloud.fleet.ucs_federation_cert:
      {cert}
      return_content: true
    register: with_content
    no_log: true
  - ansible.builtin.debug:
      msg:
        record_keys_for: ucs_cloud.fleet.ucs_federation_cert
        keys: ["{{{{ with_content.keys() | list }}}}"]
  - ucs_cloud.fleet.kubeconfig_file_info:
      path: {work}/fleet.yaml
  - ucs_cloud.fleet.ucs_fleet_info:
  - ucs_cloud.fleet.ucs_federation:
      fleet_id: {sim.plain_fleet["id"]}
      wait_sleep: 1
  - ucs_cloud.fleet.ucs_federation:
      fleet_id: {sim.plain_fleet["id"]}
      state: absent
      wait_sleep: 1
  - ucs_cloud.fleet.kubeconfig_file_info:
      path: {work}/fleet.yaml
      mode: "0644"
      group: "0"
  - ucs_cloud.fleet.kubeconfig_file:
      path: {work}/written.yaml
      content: "first: 1\\n"
  - ucs_cloud.fleet.kubeconfig_file:
      path: {work}/written.yaml
      content: "second: 2\\n"
      backup: true
  - ucs_cloud.fleet.kubeconfig_file:
      path: {work}/written.yaml
      content: "third: 3\\n"
      expected_checksum: "0000000000000000000000000000000000000000000000000000000000000000"
{role_play}  post_tasks:
  # The role's download results (no_log: censored in callbacks), by the name it registers them.
  - ansible.builtin.debug:
      msg:
        record_keys_for: ucs_cloud.fleet.kubeconfig_fetch
        keys: >-
          {{{{ (__ucs_kubeconfig_fetch | default(kubeconfig_fetch | default({{}}))).results | default([])
             | map('dict2items') | map('map', attribute='key') | map('list') | list }}}}
- hosts: localhost
  gather_facts: false
  tasks:
  - name: Someone else switches the current context (the role must rewrite, with a backup)
    ansible.builtin.replace:
      path: {work}/role.yaml
      regexp: "^current-context: .*$"
      replace: "current-context: elsewhere"
{role_play}# Once more: the file is right, so the host ends at its plan (the plan's report of a host left alone).
{role_play}"""


def test_return_documents_every_key(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, sandbox_available: None) -> None:
    """RETURN of each module against the keys its real results hold (these runs and the examples')."""
    work = tmp_path / "work"
    work.mkdir()
    example = Example("return-scenarios", yaml.safe_load(scenario_plays(sim, work)), "")
    # Without no_log (a censored result hides the keys), so without the tree and junit callbacks:
    # the result values are written nowhere, only their keys are recorded.
    run = run_example(ansible, sim, tmp_path, example, keep_results=False)
    assert run.returncode == 0, f"the RETURN scenarios fail:\n{run.stdout[-5000:]}\n{run.stderr[-2000:]}"
    problems = []
    for path in sorted(MODULES_DIR.glob("*.py")):
        action = f"{COLLECTION}.{path.stem}"
        documented = module_return(path)
        results = [r for r in RECORDED if r["action"] == action and r["status"] == "ok"]
        if not results:
            problems.append(f"{path.stem}: no successful result seen; add a scenario")
            continue
        seen = set().union(*(set(r["keys"]) for r in results))
        # "_..." keys are Ansible's (_ansible_no_log) or the loop variable of a registered loop.
        undocumented = sorted(seen - set(documented) - COMMON_KEYS - {k for k in seen if k.startswith("_")})
        if undocumented:
            problems.append(f"{path.stem}: returned but not in RETURN: {undocumented}")
        never = sorted(set(documented) - seen)
        if never:
            problems.append(f"{path.stem}: in RETURN but never returned by these runs: {never}")
        for key, spec in documented.items():
            if str(spec.get("returned", "")).strip() in ("always", "success"):
                missing = sum(1 for r in results if key not in r["keys"])
                if missing:
                    problems.append(f"{path.stem}: {key} is documented as returned {spec['returned']} but {missing} of {len(results)} results lack it")
    assert not problems, "RETURN does not match the results:\n" + "\n".join(problems)


# --- the walkthrough (docs/getting-started.md) ------------------------------------------------------

GETTING_STARTED = ROOT / "docs" / "getting-started.md"
FENCE_RE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)
FILE_BLOCK_RE = re.compile(r"\A# (~?/\S+)\n")
STEP_MARKER = "@@ucs-walkthrough-step"
# Documents that show some of the walkthrough's commands: those lines must be walkthrough commands.
SHOWN_ELSEWHERE = [ROOT / "README.md", ROOT / "docs" / "user-guide.md"]
WALKTHROUGH_PROGRAMS = ("ansible-galaxy ", "kubectl ", "python tests/simulator/", "export KUBECONFIG=")


class Step:
    """A shell block of the walkthrough (or a file the reader saves), with the output it shows."""

    def __init__(self, number: int, text: str, path: str | None = None) -> None:
        self.number = number
        self.text = text
        self.path = path
        self.shows: list[str] = []

    def script(self) -> str:
        if self.path is None:
            return self.text
        # The reader saves the block at path: a quoted here-document, so nothing in it is expanded.
        return f"cat > {self.path} <<'UCS_WALKTHROUGH_EOF'\n{self.text}UCS_WALKTHROUGH_EOF\n"


def walkthrough_steps() -> list[Step]:
    steps: list[Step] = []
    for language, body in FENCE_RE.findall(GETTING_STARTED.read_text()):
        if language == "sh":
            steps.append(Step(len(steps) + 1, body))
        elif language in ("yaml", "yml"):
            header = FILE_BLOCK_RE.match(body)
            assert header, f"a YAML block of {GETTING_STARTED.name} does not start with '# PATH', the file it is saved as:\n{body}"
            steps.append(Step(len(steps) + 1, body, header.group(1)))
        elif language == "text":
            assert steps and steps[-1].path is None, f"a text block of {GETTING_STARTED.name} follows no shell block:\n{body}"
            steps[-1].shows.append(body)
        else:
            raise AssertionError(f"{GETTING_STARTED.name} has a ```{language} block, which the walkthrough test neither runs nor checks")
    return steps


def walkthrough_commands() -> list[str]:
    return [line.strip() for step in walkthrough_steps() if step.path is None for line in step.text.splitlines() if line.strip()]


def _normalised(line: str) -> str:
    return " ".join(line.split())


def shows_in(expected: str, output: str) -> list[str]:
    """The lines of expected that output lacks: matched in order, white space runs as one, '...' as anything."""
    lines = [_normalised(line) for line in output.splitlines()]
    missing, position = [], 0
    for line in (_normalised(line) for line in expected.splitlines()):
        if not line:
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in line.split("...")) + r"\Z")
        found = next((index for index in range(position, len(lines)) if pattern.match(lines[index])), None)
        if found is None:
            missing.append(line)
        else:
            position = found + 1
    return missing


def checkout_copy(destination: Path) -> Path:
    """What a fresh clone holds (tracked and new files, as in this working tree), with the venv of this run as .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # deleted but not yet committed: not in a clone of this state
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)
    (destination / ".venv").symlink_to(VENV_BIN.parent.resolve())
    return destination


def user_environment(home: Path) -> dict[str, str]:
    """A login's environment: this process's, without anything of Ansible, UCS, credentials or a venv."""
    dropped = ("HUAWEICLOUD_SDK_", "OS_", "UCS_", "ANSIBLE_", "KUBECONFIG", "VIRTUAL_ENV", "PYTHON")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    path = [entry for entry in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if Path(entry).resolve() != VENV_BIN.resolve()]
    env.update(HOME=str(home), PATH=os.pathsep.join(path))
    return env


@pytest.fixture(scope="module")
def network_sandbox_available(tmp_path_factory: pytest.TempPathFactory, sandbox_available: None) -> None:
    work = tmp_path_factory.mktemp("network-probe")
    probe = subprocess.run([*sandbox_prefix(work, [], network=True), "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private network namespace here ({probe.stderr.strip()[-300:]}): the walkthrough is NOT run")


def test_walkthrough_runs_as_written(tmp_path: Path, network_sandbox_available: None) -> None:
    steps = walkthrough_steps()
    home = tmp_path / "home"
    home.mkdir()
    checkout = checkout_copy(tmp_path / "ucs_cloud.fleet")
    lines = ["set -e -o pipefail"]
    for step in steps:
        lines += [f"echo {STEP_MARKER} {step.number}", step.script()]
    lines.append(f"echo {STEP_MARKER} end")
    script = tmp_path / "walkthrough.sh"
    script.write_text("\n".join(lines) + "\n")
    log = tmp_path / "walkthrough.log"
    # A session of its own: whatever the walkthrough leaves running (the simulator, if it fails
    # before its last step) is in this process group, and only that group is ended afterwards.
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*sandbox_prefix(tmp_path / "sandbox", [], network=True), "bash", str(script)],
            cwd=checkout,
            env=user_environment(home),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=300)
        finally:
            left_running = _end_group(process.pid)
    text = log.read_text(errors="replace")
    parts = re.split(rf"^{STEP_MARKER} (\S+)\n", text, flags=re.M)
    outputs = dict(zip(parts[1::2], parts[2::2]))
    reached = parts[-2] if len(parts) > 1 else "none"
    by_number = {str(step.number): step for step in steps}
    assert returncode == 0 and reached == "end", (
        f"the walkthrough fails in step {reached} (exit {returncode}):\n{by_number[reached].text if reached in by_number else ''}\n"
        f"--- output ---\n{outputs.get(reached, text)[-6000:]}"
    )
    assert not left_running, "the walkthrough leaves processes running after its last step (is the simulator stopped?)"

    problems = []
    for step in steps:
        for shown in step.shows:
            missing = shows_in(shown, outputs[str(step.number)])
            if missing:
                problems.append(f"step {step.number} ({step.text.strip()!r}) does not print {missing}:\n{outputs[str(step.number)][-3000:]}")
    assert not problems, "the walkthrough's output differs from what it shows:\n" + "\n".join(problems)

    # What the text claims beyond the lines it shows.
    playbook_steps = [step for step in steps if "ansible-playbook" in step.text]
    assert len(playbook_steps) >= 2, "the walkthrough shows a first and a second run"
    for step in playbook_steps:
        recap = {m["host"]: m for m in RECAP_RE.finditer(outputs[str(step.number)])}
        assert len(recap) == 3 and all(m["failed"] == m["unreachable"] == "0" for m in recap.values()), f"step {step.number}: {recap}"
    sim_state = json.loads((home / "ucs-sim" / "simulator.json").read_text())
    served = [json.loads(line) for line in (home / "ucs-sim" / "requests.jsonl").read_text().splitlines()]
    assert [r["operation"] for r in served] == ["get_fleet", "create_cert"], f"two runs of three hosts make one download, no more: {served}"

    # Nothing that runs Ansible or kubectl prints a secret (the steps that export them print nothing).
    seed = sim_state["seed"]
    secrets = [seed["aksk"]["secret_key"], seed["temporary_aksk"]["secret_key"], seed["temporary_aksk"]["security_token"], seed["iam_user"]["password"]]
    kubeconfigs = sorted((home / "fleet-demo").glob("admin*/config"))
    assert len(kubeconfigs) == 3
    for path in kubeconfigs:
        secrets += secrets_in_kubeconfig(path)
    for step in steps:
        if re.search(r"\b(ansible-playbook|ansible-galaxy|ansible-doc|kubectl)\b", step.text):
            assert_no_secrets(outputs[str(step.number)], secrets, f"walkthrough step {step.number} output")


def _group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies not counted: nobody may reap them in a container)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat_file.parent.name))
    return members


def _end_group(pgid: int, grace: float = 10.0) -> bool:
    """End what is left of the walkthrough's process group after a grace period; whether anything was left."""
    deadline = time.monotonic() + grace
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _group_members(pgid)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return bool(left)


def test_walkthrough_is_found() -> None:
    steps = walkthrough_steps()
    assert any(step.path and step.path.endswith("inventory.yml") for step in steps)
    assert sum("ansible-playbook" in step.text for step in steps) >= 2
    assert any(step.shows for step in steps)


def test_commands_shown_elsewhere_are_walkthrough_commands() -> None:
    """README.md and the user guide show install and kubectl commands: the walkthrough runs each."""
    commands = set(walkthrough_commands())
    foreign = []
    for document in SHOWN_ELSEWHERE:
        for language, body in FENCE_RE.findall(document.read_text()):
            if language not in ("sh", "console", "bash", "shell"):
                continue
            for line in (line.strip() for line in body.splitlines()):
                if line.startswith(WALKTHROUGH_PROGRAMS) and line not in commands:
                    foreign.append(f"{document.relative_to(ROOT)}: {line}")
    assert not foreign, "commands that docs/getting-started.md does not run as written:\n" + "\n".join(foreign)
