"""Benchmark of ucs_cloud.fleet against a hand-written baseline (issue 6).

Run from the repository root with the venv's Python::

    .venv/bin/python scripts/benchmark.py [--sizes 1,10,50] [--repeats 3] [--out FILE.json]

Starts its own simulator (tests/simulator/ucs_simulator.py) in a temporary directory, stops it at
the end, and measures in one run:

1. API calls per scenario of the role, from the simulator's request log;
2. the cost of one module run (ad hoc), against ansible.builtin.ping, and the import time of the
   collection's module_utils (python -X importtime), what the module's AnsiballZ payload costs
   against stat's (the controller's build, the target's compile); the steady state (dest right) against
   `ansible localhost -m ansible.builtin.stat` of the same file, in back-to-back pairs;
3. role scaling: playbooks/benchmark/role.yml on N local-connection hosts, first run and
   steady state, against the floor (floor.yml, one stat per host), the floor with the argument
   spec (floor_spec.yml: the same stat in a minimal role that carries this role's
   meta/argument_specs.yml), the naive play (naive.yml, IAM token + download + copy 0600 on
   every run) and the hand-written baseline (baseline.yml), run back to back; the median of
   --repeats per-attempt ratios.

4. the price of the role's steady state against the floor, by A/B runs (--variants-size): the
   role as shipped and copies of the collection without the argument spec (its validation task)
   and also without the write task (skipped in the steady state), interleaved with the floor.

Prints a human-readable report and, with --out, writes every raw figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ROOT / "playbooks" / "benchmark"

sys.path.insert(0, str(ROOT / "tests" / "simulator"))
from harness import VENV_BIN, SimulatorProcess, ansible_env  # noqa: E402  (the shared test harness)

# What the module imports when dest is right (the HTTP code is imported only for a call).
MODULE_UTILS = ("_argspec", "_settings", "_plan", "_kubeconfig", "_kubeconfig_check", "_files", "_endpoints", "_federation")
PREFIX = "ansible_collections.ucs_cloud.fleet.plugins.module_utils."


# --------------------------------------------------------------------------------------------
# Simulator


class Simulator(SimulatorProcess):
    """A simulator process of our own and the control calls the benchmark needs."""

    def clear_log(self) -> None:
        self.control("DELETE", "requests")

    def add_fleet(self, name: str) -> str:
        return str(self.control("POST", "fleets", {"name": name, "federation": True})["id"])

    @property
    def fleet_id(self) -> str:
        return str(self.federated_fleet["id"])


# --------------------------------------------------------------------------------------------
# Running Ansible


@dataclass
class Timing:
    """Wall and CPU (children: user + system) seconds of one command."""

    wall: float
    cpu: float
    returncode: int
    output: str = ""


@dataclass
class Bench:
    """Environment and helpers shared by the measurements."""

    sim: Simulator
    work: Path
    env: Dict[str, str] = field(default_factory=dict)
    count: int = 0

    def credential_env(self, method: str) -> Dict[str, str]:
        seed = self.sim.seed
        env = {"UCS_ENDPOINT": self.sim.endpoint, "UCS_CA_PATH": self.sim.info["ca_path"]}
        if method == "aksk":
            env.update(
                HUAWEICLOUD_SDK_AK=seed["aksk"]["access_key"],
                HUAWEICLOUD_SDK_SK=seed["aksk"]["secret_key"],
                HUAWEICLOUD_SDK_DOMAIN_ID=seed["domain"]["id"],
            )
        else:
            env.update(
                OS_AUTH_URL=self.sim.info["iam_endpoint"] + "/v3",
                OS_USERNAME=seed["iam_user"]["name"],
                OS_PASSWORD=seed["iam_user"]["password"],
                OS_USER_DOMAIN_NAME=seed["domain"]["name"],
            )
        return env

    def run(self, args: List[str], auth: str = "aksk", check: bool = True) -> Timing:
        self.count += 1
        env = {**self.env, **self.credential_env(auth)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(args, env=env, cwd=self.work, capture_output=True, text=True, timeout=3600, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
        return Timing(wall, cpu, proc.returncode, proc.stdout + proc.stderr)

    # The collection of --before REV (the role as it was), run by the pseudo-book BEFORE.
    before: Optional[Path] = None

    def playbook(self, name: str, inventory: Path, *options: str, auth: str = "aksk") -> Timing:
        if name == BEFORE:
            saved = self.env
            self.env = dict(saved, ANSIBLE_COLLECTIONS_PATH=str(self.before))
            try:
                return self.playbook("role.yml", inventory, *options, auth=auth)
            finally:
                self.env = saved
        args = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOKS / name), *options]
        return self.run(args, auth)

    def adhoc(self, module: str, module_args: str) -> Timing:
        args = [str(VENV_BIN / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m", module, "-a", module_args]
        return self.run(args)


def base_env(work: Path) -> Dict[str, str]:
    env = ansible_env(work)
    # The import-time measurement imports module_utils by their collection names.
    env["PYTHONPATH"] = env["ANSIBLE_COLLECTIONS_PATH"]
    return env


def export_collection(rev: str, root: Path) -> Path:
    """The collection as it was at git revision ``rev``, laid out for ANSIBLE_COLLECTIONS_PATH."""
    target = root / "ansible_collections" / "ucs_cloud" / "fleet"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "plugins", "roles", "meta", "galaxy.yml"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return root


# --------------------------------------------------------------------------------------------
# Inventories


def write_inventory(bench: Bench, name: str, size: int, fleets: Optional[List[str]] = None) -> Path:
    """N local-connection hosts, each with its own ucs_kubeconfig_path (directory pre-created)."""
    sim = bench.sim
    net = sim.seed["network"]
    user = sim.seed["iam_user"]
    hosts_dir = bench.work / name
    hosts: Dict[str, Dict[str, Any]] = {}
    fleet_ids = fleets or [sim.fleet_id]
    for index in range(size):
        host = f"h{index:04d}"
        (hosts_dir / host).mkdir(parents=True, exist_ok=True)
        hosts[host] = {
            "ucs_kubeconfig_path": str(hosts_dir / host / "kubeconfig"),
            "ucs_kubeconfig_fleet_id": fleet_ids[index % len(fleet_ids)],
        }
    inventory = {
        "all": {
            "hosts": hosts,
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "ucs_kubeconfig_project_id": net["project_id"],
                "ucs_kubeconfig_vpc_id": net["vpc_id"],
                "ucs_kubeconfig_subnet_id": net["subnet_id"],
                "bench_endpoint": sim.endpoint,
                "bench_iam_endpoint": sim.info["iam_endpoint"],
                "bench_ca_path": sim.info["ca_path"],
                "bench_iam_username": user["name"],
                "bench_iam_password": user["password"],
                "bench_iam_domain_name": sim.seed["domain"]["name"],
            },
        }
    }
    path = bench.work / f"{name}.yml"
    path.write_text(json.dumps(inventory, indent=1))
    return path


def delete_files(bench: Bench, name: str) -> None:
    for path in (bench.work / name).glob("*/kubeconfig*"):
        path.unlink()


# --------------------------------------------------------------------------------------------
# 1. API calls


def count_calls(requests: List[Dict[str, Any]]) -> Dict[str, int]:
    return {
        "post_cert": sum(1 for r in requests if r["method"] == "POST" and r["path"].endswith("/cert")),
        "post_other": sum(1 for r in requests if r["method"] == "POST" and not r["path"].endswith(("/cert", "/v3/auth/tokens"))),
        "get": sum(1 for r in requests if r["method"] == "GET"),
        "iam_token": sum(1 for r in requests if r["method"] == "POST" and r["path"].endswith("/v3/auth/tokens")),
        "total": len(requests),
    }


def measure_api_calls(bench: Bench, hosts: int) -> Dict[str, Any]:
    sim = bench.sim
    results: Dict[str, Any] = {"hosts": hosts}

    def scenario(label: str, inventory: Path, fleets: int, auth: str = "aksk", *options: str) -> None:
        sim.clear_log()
        timing = bench.playbook("role.yml", inventory, *options, auth=auth)
        calls = count_calls(sim.requests())
        calls.update(fleets=fleets, auth=auth, wall=round(timing.wall, 2))
        results[label] = calls
        print(f"  {label:<24} {json.dumps(calls)}", flush=True)

    sim.reset()
    inventory = write_inventory(bench, "api", hosts)
    delete_files(bench, "api")
    scenario("first_run", inventory, 1)
    scenario("steady_state", inventory, 1)
    # One host gets a certificate valid for 10 days (renewed when within 5); the next run, with
    # renew_before 30 days, must renew that host only. (The role's default, null, renews within a
    # third of the lifetime: 3.3 days here, so it would not.)
    (bench.work / "api" / "h0000" / "kubeconfig").unlink()
    bench.playbook("role.yml", inventory, "--limit", "h0000", "-e", "ucs_kubeconfig_duration=10", "-e", "ucs_kubeconfig_renew_before=5")
    scenario("one_host_expiring", inventory, 1, "aksk", "-e", "ucs_kubeconfig_renew_before=30")
    scenario("steady_after_renewal", inventory, 1, "aksk", "-e", "ucs_kubeconfig_renew_before=30")
    results["connections_one_fleet"] = [{k: c[k] for k in ("fleet_id", "vpc_id", "cert_calls", "certificates_issued")} for c in sim.connections()]
    # Three fleets across the hosts, IAM password authentication (so tokens are counted).
    sim.reset()
    fleets = [sim.fleet_id, sim.add_fleet("bench-fleet-2"), sim.add_fleet("bench-fleet-3")]
    inventory = write_inventory(bench, "api3", max(hosts, 3), fleets)
    delete_files(bench, "api3")
    scenario("three_fleets_first", inventory, 3, "password")
    scenario("three_fleets_steady", inventory, 3, "password")
    results["connections"] = [{k: c[k] for k in ("fleet_id", "vpc_id", "cert_calls", "certificates_issued")} for c in sim.connections()]
    return results


# --------------------------------------------------------------------------------------------
# 2. Module cost


def measure_module(bench: Bench, repeats: int) -> Dict[str, Any]:
    sim = bench.sim
    sim.reset()
    net = sim.seed["network"]
    dest = bench.work / "module" / "kubeconfig"
    dest.parent.mkdir(parents=True, exist_ok=True)
    base = f"fleet_id={sim.fleet_id} project_id={net['project_id']} vpc_id={net['vpc_id']} subnet_id={net['subnet_id']} dest={dest}"
    bench.adhoc("ucs_cloud.fleet.ucs_federation_cert", base)  # creates dest (and the connection)
    results: Dict[str, Any] = {"vs_stat": module_vs_stat(bench, base, dest, max(repeats, 7))}
    cases = {
        "ping": ("ansible.builtin.ping", ""),
        "module_valid_dest": ("ucs_cloud.fleet.ucs_federation_cert", base),
        "module_fetch": ("ucs_cloud.fleet.ucs_federation_cert", base + " force=true"),
    }
    for label, (module, module_args) in cases.items():
        sim.clear_log()
        runs = [bench.adhoc(module, module_args) for _attempt in range(repeats)]
        results[label] = {
            "wall": spread([r.wall for r in runs]),
            "cpu": spread([r.cpu for r in runs]),
            "api_calls_per_run": len(sim.requests()) / repeats,
        }
    # Start-up inside the module process: a bare AnsibleModule import against the collection's
    # module_utils on top of it (fresh interpreter each time).
    bare = "from ansible.module_utils.basic import AnsibleModule"
    full = bare + "; " + "; ".join(f"import {PREFIX}{name}" for name in MODULE_UTILS)
    for label, code in (("python_bare_ansiblemodule", bare), ("python_with_module_utils", full)):
        runs = [bench.run([sys.executable, "-c", code]) for _attempt in range(max(repeats, 5))]
        results[label] = {"wall": spread([r.wall for r in runs]), "cpu": spread([r.cpu for r in runs])}
    results["startup_delta_ms"] = round(
        (results["python_with_module_utils"]["wall"]["median"] - results["python_bare_ansiblemodule"]["wall"]["median"]) * 1000, 1
    )
    results["adhoc_delta_ms"] = round((results["module_valid_dest"]["wall"]["median"] - results["ping"]["wall"]["median"]) * 1000, 1)
    results["importtime"] = import_times(bench, bare, full)
    # The module's payload runs when something changes; a run that changes nothing runs the read's.
    payloads = ("ansible.builtin.stat", "ucs_cloud.fleet.ucs_federation_cert", "ucs_cloud.fleet.kubeconfig_file_info")
    results["payload"] = {module: payload_cost(bench, module, max(repeats, 5)) for module in payloads}
    return results


def module_vs_stat(bench: Bench, base: str, dest: Path, pairs: int) -> Dict[str, Any]:
    """The module with dest right against a stat of the same file, run in back-to-back pairs
    (the order swapped every other pair); the median of the per-pair ratios."""
    walls: Dict[str, List[float]] = {"stat": [], "module": []}
    cpus: Dict[str, List[float]] = {"stat": [], "module": []}
    for pair in range(pairs):
        order = ["stat", "module"] if pair % 2 == 0 else ["module", "stat"]
        for name in order:
            timing = bench.adhoc("ansible.builtin.stat", f"path={dest}") if name == "stat" else bench.adhoc("ucs_cloud.fleet.ucs_federation_cert", base)
            walls[name].append(timing.wall)
            cpus[name].append(timing.cpu)
    ratios = [module / stat for module, stat in zip(walls["module"], walls["stat"])]
    cpu_ratios = [module / stat for module, stat in zip(cpus["module"], cpus["stat"])]
    return {
        "pairs": pairs,
        "stat": {"wall": spread(walls["stat"]), "cpu": spread(cpus["stat"])},
        "module": {"wall": spread(walls["module"]), "cpu": spread(cpus["module"])},
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(ratio, 3) for ratio in ratios],
        "cpu_ratio": round(statistics.median(cpu_ratios), 3),
    }


# Builds a module's AnsiballZ payload as the controller does for each task (a fresh process, so no
# cache), then compiles every Python file in it as the target must (a zip import has no .pyc).
PAYLOAD_PROBE = """
import base64, io, json, re, sys, time, zipfile
from ansible.plugins.loader import init_plugin_loader, module_loader
init_plugin_loader()
from ansible.executor import module_common
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
name = sys.argv[1]
found = module_loader.find_plugin_with_context(name)
started = time.perf_counter()
built = module_common.modify_module(module_name=name, module_path=found.plugin_resolved_path, module_args={},
    templar=Templar(loader=DataLoader()), task_vars={"ansible_python_interpreter": sys.executable})
build = time.perf_counter() - started
data = built.b_module_data if hasattr(built, "b_module_data") else built[0]
blob = max(re.findall(rb"[A-Za-z0-9+/=]{4096,}", data), key=len)
archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(blob)))
sources = {info.filename: archive.read(info) for info in archive.infolist() if info.filename.endswith(".py")}
started = time.perf_counter()
for filename, source in sources.items():
    compile(source, filename, "exec")
print(json.dumps({"build": build, "compile": time.perf_counter() - started, "payload_kib": len(data) / 1024,
    "files": len(sources), "source_kib": sum(map(len, sources.values())) / 1024}))
"""


def payload_cost(bench: Bench, module: str, repeats: int) -> Dict[str, Any]:
    """What a module's size costs per run: the controller's payload build and the target's compile (ms, medians)."""
    samples = []
    for _attempt in range(repeats):
        proc = subprocess.run([sys.executable, "-c", PAYLOAD_PROBE, module], env=bench.env, capture_output=True, text=True, check=True)
        samples.append(json.loads(proc.stdout))
    return {
        "build_ms": round(statistics.median(s["build"] for s in samples) * 1000, 1),
        "compile_ms": round(statistics.median(s["compile"] for s in samples) * 1000, 1),
        "payload_kib": round(samples[0]["payload_kib"]),
        "python_files": samples[0]["files"],
        "source_kib": round(samples[0]["source_kib"]),
    }


IMPORT_RE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_times(bench: Bench, bare: str, full: str) -> Dict[str, Any]:
    """Self times (ms) from python -X importtime, grouped; the part beyond a bare AnsibleModule."""

    def collect(code: str) -> Dict[str, int]:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=bench.env, capture_output=True, text=True, check=True)
        times: Dict[str, int] = {}
        for line in proc.stderr.splitlines():
            match = IMPORT_RE.match(line)
            if match:
                times[match.group(4)] = int(match.group(1))
        return times

    groups = {"collection": ("ansible_collections",), "requests": ("requests", "urllib3", "charset_normalizer", "idna", "certifi")}
    groups.update(cryptography=("cryptography", "_cffi_backend", "cffi"), yaml=("yaml", "_yaml"))
    samples = []
    for _attempt in range(3):
        base_times = collect(bare)
        full_times = collect(full)
        extra = {name: us for name, us in full_times.items() if name not in base_times}
        sums: Dict[str, float] = {key: 0.0 for key in groups}
        sums["other_stdlib"] = 0.0
        for name, micro in extra.items():
            top = name.split(".")[0]
            key = next((k for k, tops in groups.items() if top in tops), "other_stdlib")
            sums[key] += micro / 1000
        sums["total_beyond_bare"] = sum(extra.values()) / 1000
        sums["bare_ansiblemodule_total"] = sum(base_times.values()) / 1000
        samples.append(sums)
    return {key: round(statistics.median(s[key] for s in samples), 1) for key in samples[0]}


# --------------------------------------------------------------------------------------------
# 3. Role scaling


def spread(values: List[float]) -> Dict[str, float]:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3), "max": round(max(values), 3)}


BOOKS = ("role.yml", "baseline.yml")
# role.yml run against the collection of --before REV, in the same attempts (before and after).
BEFORE = "role_before"
# The references: the floor (one stat per host: the least a per-host check can cost), the floor
# with this role's argument spec (the least a role with validated arguments can cost) and the
# naive play (IAM token, download and copy 0600 on every run).
REFERENCES = ("floor.yml", "floor_spec.yml", "naive.yml")
# Each ratio: (name, numerator (book, phase), denominator (book, phase)).
RATIOS = (
    ("steady_vs_floor", ("role.yml", "steady"), ("floor.yml", "steady")),
    ("steady_vs_floor_spec", ("role.yml", "steady"), ("floor_spec.yml", "steady")),
    ("steady_vs_naive", ("role.yml", "steady"), ("naive.yml", "steady")),
    ("first_vs_naive", ("role.yml", "first"), ("naive.yml", "first")),
    ("first", ("role.yml", "first"), ("baseline.yml", "first")),
    ("steady", ("role.yml", "steady"), ("baseline.yml", "steady")),
)
# The same four ratios of the role of --before REV.
BEFORE_RATIOS = (
    ("before_steady_vs_floor", (BEFORE, "steady"), ("floor.yml", "steady")),
    ("before_steady_vs_floor_spec", (BEFORE, "steady"), ("floor_spec.yml", "steady")),
    ("before_steady_vs_naive", (BEFORE, "steady"), ("naive.yml", "steady")),
    ("before_first_vs_naive", (BEFORE, "first"), ("naive.yml", "first")),
)
PHASE_BOOKS = {"first": ("role.yml", "naive.yml", "baseline.yml"), "steady": ("role.yml", "floor.yml", "floor_spec.yml", "naive.yml", "baseline.yml")}


def measure_scaling(bench: Bench, sizes: List[int], repeats: int) -> Dict[str, Any]:
    """The role, the baseline and the two references on their own copies of the same N hosts.

    Each attempt runs the first runs back to back (role, naive play, baseline), then the steady
    runs back to back (role, floor, naive play, baseline), the order reversed every other
    attempt, so that both sides of a ratio meet the machine in the same state: this shared
    machine drifts by 10-20 % over minutes. Every ratio is taken per attempt; its median is
    reported with the medians of the times. The naive play has no steady state: it downloads
    and writes on every run, so its "steady" run is just its next run.
    """
    before = bench.before is not None
    ratios_of = RATIOS + (BEFORE_RATIOS if before else ())
    phase_books = {phase: books + ((BEFORE,) if before else ()) for phase, books in PHASE_BOOKS.items()}
    results: Dict[str, Any] = {}
    for size in sizes:
        books = BOOKS + REFERENCES + ((BEFORE,) if before else ())
        names = {book: f"{Path(book).stem}{size}" for book in books}
        inventories = {book: write_inventory(bench, names[book], size) for book in books}
        per: Dict[str, Dict[str, List[float]]] = {}
        ratios: Dict[str, List[float]] = {name: [] for name, _top, _bottom in ratios_of}
        for attempt in range(repeats):
            walls: Dict[Any, float] = {}
            for phase, order in phase_books.items():
                for book in order if attempt % 2 == 0 else order[::-1]:
                    if phase == "first":
                        bench.sim.reset()
                        delete_files(bench, names[book])
                    timing = bench.playbook(book, inventories[book])
                    series = per.setdefault(f"{Path(book).stem}_{phase}", {"wall": [], "cpu": []})
                    series["wall"].append(timing.wall)
                    series["cpu"].append(timing.cpu)
                    walls[(book, phase)] = timing.wall
            for name, top, bottom in ratios_of:
                ratios[name].append(walls[top] / walls[bottom])
        entry: Dict[str, Any] = {key: {"wall": spread(v["wall"]), "cpu": spread(v["cpu"])} for key, v in per.items()}
        for name, _top, _bottom in ratios_of:
            entry[f"ratio_{name}"] = round(statistics.median(ratios[name]), 2)
            entry[f"ratios_{name}"] = [round(ratio, 2) for ratio in ratios[name]]
        results[str(size)] = entry
        medians = " ".join(f"{key} {value['wall']['median']:.2f}s" for key, value in sorted(entry.items()) if isinstance(value, dict))
        figures = " ".join(f"{name} {entry[f'ratio_{name}']} {entry[f'ratios_{name}']}" for name, _top, _bottom in ratios_of)
        print(f"  {size:>4} hosts: {medians}", flush=True)
        print(f"        ratios: {figures}", flush=True)
    return results


# The steady state's costs beyond the floor, each removed in a copy of the collection: what
# dropping it would buy. (name, what is removed.)
VARIANTS = (
    ("shipped", ()),
    ("no_argument_spec", ("argument_spec",)),
    ("no_argument_spec_no_write_task", ("argument_spec", "write_task")),
)


def variant_collection(bench: Bench, name: str, removed: tuple) -> Path:
    """A copy of the collection as the working tree has it, without what ``removed`` names."""
    root = bench.work / "variants" / name
    target = root / "ansible_collections" / "ucs_cloud" / "fleet"
    for part in ("plugins", "roles", "meta"):
        shutil.copytree(ROOT / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "galaxy.yml", target / "galaxy.yml")
    role = target / "roles" / "ucs_kubeconfig"
    if "argument_spec" in removed:
        (role / "meta" / "argument_specs.yml").unlink()
    if "write_task" in removed:
        tasks = (role / "tasks" / "main.yml").read_text()
        # The include of the write step is the last task; the steady state skips it on every host.
        head, separator, _write = tasks.rpartition("\n- name: Fetch and write the kubeconfig")
        if not separator:
            # A renamed task must not silently leave an empty role to be measured.
            raise RuntimeError("the role's write task was not found in tasks/main.yml")
        (role / "tasks" / "main.yml").write_text(head + "\n")
    return root


def measure_variants(bench: Bench, size: int, repeats: int) -> Dict[str, Any]:
    """Steady-state wall time of each variant and of the floor, interleaved, per attempt."""
    inventory = write_inventory(bench, f"variants{size}", size)
    paths = {name: variant_collection(bench, name, removed) for name, removed in VARIANTS}
    bench.sim.reset()
    bench.playbook("role.yml", inventory)
    saved = dict(bench.env)
    walls: Dict[str, List[float]] = {"floor": [], **{name: [] for name, _removed in VARIANTS}}
    cpus: Dict[str, List[float]] = {name: [] for name in walls}
    ratios: Dict[str, List[float]] = {name: [] for name, _removed in VARIANTS}
    cpu_ratios: Dict[str, List[float]] = {name: [] for name, _removed in VARIANTS}
    try:
        for attempt in range(repeats):
            order = ["floor", *paths]
            if attempt % 2:
                order.reverse()
            for name in order:
                bench.env = dict(saved)
                if name != "floor":
                    bench.env["ANSIBLE_COLLECTIONS_PATH"] = str(paths[name])
                timing = bench.playbook("floor.yml" if name == "floor" else "role.yml", inventory)
                if name != "floor" and "changed=0" not in timing.output:
                    raise RuntimeError(f"variant {name} was not in the steady state:\n{timing.output[-2000:]}")
                walls[name].append(timing.wall)
                cpus[name].append(timing.cpu)
            for name, series in ratios.items():
                series.append(walls[name][-1] / walls["floor"][-1])
                cpu_ratios[name].append(cpus[name][-1] / cpus["floor"][-1])
    finally:
        bench.env = saved
    # CPU (user + system of every process of the run) is the steadier figure on a shared
    # machine: it does not count the time a process waits for a core.
    result: Dict[str, Any] = {"hosts": size, "floor": {"wall": spread(walls["floor"]), "cpu": spread(cpus["floor"])}}
    for name, _removed in VARIANTS:
        result[name] = {
            "wall": spread(walls[name]),
            "cpu": spread(cpus[name]),
            "ratio_vs_floor": round(statistics.median(ratios[name]), 3),
            "ratios": [round(r, 3) for r in ratios[name]],
            "cpu_ratio_vs_floor": round(statistics.median(cpu_ratios[name]), 3),
            "cpu_ratios": [round(r, 3) for r in cpu_ratios[name]],
        }
        print(
            f"  {name:<32} wall {result[name]['wall']['median']:6.2f}s x{result[name]['ratio_vs_floor']} {result[name]['ratios']};"
            f" cpu {result[name]['cpu']['median']:6.2f}s x{result[name]['cpu_ratio_vs_floor']} {result[name]['cpu_ratios']}",
            flush=True,
        )
    print(f"  {'floor':<32} wall {result['floor']['wall']['median']:6.2f}s; cpu {result['floor']['cpu']['median']:6.2f}s", flush=True)
    return result


PROFILE_CALLBACK = '''
from __future__ import annotations
import json, os, time
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_task_times
type: aggregate
short_description: wall seconds per task, written as JSON to $BENCH_TASK_TIMES
description: [benchmark helper]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.times = []
        self.current = None

    def _close(self):
        if self.current:
            name, start = self.current
            self.times.append([name, round(time.perf_counter() - start, 3)])
        self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = (task.get_name(), time.perf_counter())

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["BENCH_TASK_TIMES"], "w") as handle:
            json.dump(self.times, handle)
'''


def profile_tasks(bench: Bench, size: int, repeats: int) -> Dict[str, Any]:
    """Wall seconds per task (median of REPEATS runs) of first and steady runs at SIZE hosts.

    A task that runs once per host under the same name (meta tasks do) is summed per run.
    """
    plugin_dir = bench.work / "callbacks"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "bench_task_times.py").write_text(PROFILE_CALLBACK)
    inventory = write_inventory(bench, f"scale{size}", size)
    saved = dict(bench.env)
    results: Dict[str, Any] = {}
    try:
        bench.env.update(ANSIBLE_CALLBACK_PLUGINS=str(plugin_dir), ANSIBLE_CALLBACKS_ENABLED="bench_task_times")
        for book in BOOKS:
            samples: Dict[str, Dict[str, List[float]]] = {}
            walls: Dict[str, List[float]] = {}
            for _attempt in range(repeats):
                bench.sim.reset()
                delete_files(bench, f"scale{size}")
                for phase in ("first", "steady"):
                    out = bench.work / f"tasks-{book}-{phase}.json"
                    bench.env["BENCH_TASK_TIMES"] = str(out)
                    timing = bench.playbook(book, inventory)
                    label = f"{Path(book).stem}_{phase}"
                    walls.setdefault(label, []).append(timing.wall)
                    per_run: Dict[str, float] = {}
                    for name, seconds in json.loads(out.read_text()):
                        per_run[name] = per_run.get(name, 0.0) + seconds
                    for name, seconds in per_run.items():
                        samples.setdefault(label, {}).setdefault(name, []).append(seconds)
            for label, tasks in samples.items():
                medians = [[name, round(statistics.median(values), 3)] for name, values in tasks.items()]
                results[label] = {"wall": round(statistics.median(walls[label]), 2), "tasks": medians}
                print(f"  {label} ({size} hosts, median wall {results[label]['wall']:.2f} s of {repeats}):", flush=True)
                for name, seconds in medians:
                    print(f"    {seconds:7.2f}  {name}", flush=True)
    finally:
        bench.env.clear()
        bench.env.update(saved)
    return results


# --------------------------------------------------------------------------------------------


def machine() -> Dict[str, Any]:
    model = ""
    memory = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    with open("/proc/meminfo", encoding="utf-8") as handle:
        memory = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("MemTotal")), "")
    versions = subprocess.run([str(VENV_BIN / "ansible"), "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "loadavg_start": os.getloadavg(),
        "python": platform.python_version(),
        "ansible": versions[0] if versions else "",
        "platform": platform.platform(),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", help="comma-separated host counts for the scaling runs (200 works, slowly)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--api-hosts", type=int, default=6, help="hosts of the API-call scenarios")
    parser.add_argument("--out", type=Path, help="write all figures as JSON to this file")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: api,module,scaling,profile,variants")
    parser.add_argument("--profile-size", type=int, default=10, help="hosts of the per-task profile run")
    parser.add_argument("--variants-size", type=int, default=50, help="hosts of the A/B runs of the role without parts of it")
    parser.add_argument("--before", metavar="REV", help="also run the role of this git revision in the scaling runs (before and after in one run)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    work = Path(tempfile.mkdtemp(prefix="ucs-bench-"))
    sim_dir = work / "simulator"
    sim_dir.mkdir()
    sim = Simulator(sim_dir)
    report: Dict[str, Any] = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine(), "forks": 5}
    started = time.monotonic()
    try:
        bench = Bench(sim, work, base_env(work))
        if args.before:
            bench.before = export_collection(args.before, work / "before")
        if "api" not in skip:
            print(f"API calls (role, {args.api_hosts} hosts):", flush=True)
            report["api_calls"] = measure_api_calls(bench, args.api_hosts)
        if "module" not in skip:
            print("Module cost:", flush=True)
            report["module"] = measure_module(bench, args.repeats)
            for key, value in report["module"].items():
                print(f"  {key:<26} {json.dumps(value)}", flush=True)
        if "scaling" not in skip:
            print(f"Role scaling (forks 5, median of {args.repeats}):", flush=True)
            report["scaling"] = measure_scaling(bench, sizes, args.repeats)
        if "profile" not in skip:
            print(f"Per-task wall time (median of {args.repeats}):", flush=True)
            report["profile"] = profile_tasks(bench, args.profile_size, args.repeats)
        if "variants" not in skip:
            print(f"Steady state without parts of the role ({args.variants_size} hosts, median of {args.repeats}):", flush=True)
            report["variants"] = measure_variants(bench, args.variants_size, args.repeats)
    finally:
        sim.stop()
        report["elapsed_s"] = round(time.monotonic() - started, 1)
        report["machine"]["loadavg_end"] = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"Done in {report['elapsed_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
