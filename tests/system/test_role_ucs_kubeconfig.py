"""The ucs_kubeconfig role through real ansible-playbook runs against the simulator.

Targets are an OpenSSH server on loopback (as root and as the test user ucs-bob) and local
connection hosts; every host but the one that uses its user's home gets its own kubeconfig path.
The simulator's request log proves how many API calls a run made.
"""

from __future__ import annotations

import base64
import datetime
import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import VENV_BIN, AnsibleRunner, Run, Simulator, assert_nothing_leaked, secrets_in_kubeconfig
from cryptography import x509
from sshd import ALICE, BOB, GROUP, SshServer, local_host_vars, sshd, write_inventory  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import role_argument_spec, role_variable

pytestmark = pytest.mark.system

ROLE_PLAY = """\
- name: Install the fleet kubeconfig
  hosts: all
  gather_facts: false
  roles:
    - role: ucs_cloud.fleet.ucs_kubeconfig
"""

# A kubeconfig of another cluster that the role must leave alone (merge mode).
FOREIGN = {
    "apiVersion": "v1",
    "kind": "Config",
    "preferences": {"colors": True},
    "clusters": [
        {"name": "on-prem", "cluster": {"server": "https://10.1.2.3:6443", "certificate-authority-data": base64.b64encode(b"not a real CA").decode()}},
        {"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:40000", "insecure-skip-tls-verify": True}},
    ],
    "users": [
        {"name": "on-prem-admin", "user": {"token": "foreign-token-0123456789"}},
        {"name": "kind-dev", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "kind-auth", "args": ["--cluster", "dev"]}}},
    ],
    "contexts": [
        {"name": "on-prem", "context": {"cluster": "on-prem", "user": "on-prem-admin", "namespace": "ops"}},
        {"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "kind-dev"}},
    ],
    "current-context": "on-prem",
}


# --- helpers --------------------------------------------------------------------------------


def fleet_vars(sim: Simulator, fleet: dict[str, Any] | None = None) -> dict[str, Any]:
    """Role variables naming a fleet and the seeded network."""
    net = sim.seed["network"]
    return {
        "ucs_kubeconfig_fleet_id": (fleet or sim.federated_fleet)["id"],
        "ucs_kubeconfig_project_id": net["project_id"],
        "ucs_kubeconfig_vpc_id": net["vpc_id"],
        "ucs_kubeconfig_subnet_id": net["subnet_id"],
    }


def names(fleet_id: str) -> str:
    """The role's default cluster, user and context name."""
    return f"ucs-fleet-{fleet_id}"


def run_role(ansible: AnsibleRunner, inventory: str, *options: str, extra_vars: dict[str, Any] | None = None) -> Run:
    """The role, with the credentials in the environment as AWX or a user would set them."""
    return ansible.playbook(ROLE_PLAY, *options, env=ansible.credential_env("aksk"), inventory=inventory, extra_vars=extra_vars)


def changed(run: Run) -> dict[str, int]:
    return {host: counts["changed"] for host, counts in run.recap.items()}


def changed_hosts(run: Run) -> set[str]:
    return {host for host, count in changed(run).items() if count}


def api_writes(sim: Simulator) -> list[dict[str, Any]]:
    """Logged UCS calls that change something (IAM token requests are not UCS writes)."""
    return [r for r in sim.requests() if r["method"] not in ("GET", "HEAD") and not r["path"].startswith("/v3/")]


def cert_posts(sim: Simulator) -> dict[str, int]:
    """Number of POST .../cert calls per fleet."""
    counts: dict[str, int] = {}
    for entry in sim.calls("POST", "/cert"):
        counts[entry["fleet_id"]] = counts.get(entry["fleet_id"], 0) + 1
    return counts


def assert_reads_at_most_one_per_fleet(sim: Simulator) -> None:
    reads: dict[str, int] = {}
    for entry in sim.calls("GET"):
        if entry.get("fleet_id"):
            reads[entry["fleet_id"]] = reads.get(entry["fleet_id"], 0) + 1
    assert all(count <= 1 for count in reads.values()), reads


def clear_log(sim: Simulator) -> None:
    sim.control("DELETE", "requests")


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def entries(config: dict[str, Any], section: str) -> dict[str, Any]:
    return {item["name"]: item for item in config.get(section) or []}


def not_after(path: Path, user: str) -> datetime.datetime:
    data = entries(load(path), "users")[user]["user"]["client-certificate-data"]
    return x509.load_pem_x509_certificate(base64.b64decode(data)).not_valid_after_utc


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner(path: Path) -> tuple[str, str]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name


def write_kubeconfig(path: Path, config: dict[str, Any], file_mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(file_mode)


def leak_scan(run: Run, sim: Simulator, *files: Path) -> None:
    """Every artifact of the run and the simulator's logs, for every secret issued or written."""
    written = [secret for path in files if path.exists() for secret in secrets_in_kubeconfig(path)]
    assert_nothing_leaked(run, sim, written)


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.every_core
def test_first_run_writes_second_run_changes_nothing(ansible: AnsibleRunner, sim: Simulator, sshd: SshServer, tmp_path: Path) -> None:  # noqa: F811
    """Over ssh as root (file owned by ucs-alice:ucs-ops), over ssh as ucs-bob (his own
    ~/.kube/config) and locally; then idempotence, no key material in -vvv --diff output, and
    kubectl on a target host reaching the federation API server with the written file."""
    sshd.clean_home(BOB)
    fleet_id = sim.federated_fleet["id"]
    root_file = tmp_path / "as-root" / ".kube" / "config"
    bob_file = sshd.home(BOB) / ".kube" / "config"
    local_file = tmp_path / "local" / "config"
    local_file.parent.mkdir()
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {
            "as-root": sshd.host_vars("root", ucs_kubeconfig_path=str(root_file), ucs_kubeconfig_owner=ALICE, ucs_kubeconfig_group=GROUP),
            "as-bob": sshd.host_vars(BOB),
            "local": local_host_vars(ucs_kubeconfig_path=str(local_file)),
        },
        **fleet_vars(sim),
    )

    first = run_role(ansible, inventory, "-vvv", "--diff").assert_ok()
    assert changed_hosts(first) == {"as-root", "as-bob", "local"}
    assert cert_posts(sim) == {fleet_id: 1}, "one download for the whole play"

    assert mode(root_file) == 0o600 and owner(root_file) == (ALICE, GROUP)
    assert mode(root_file.parent) == 0o700 and owner(root_file.parent) == (ALICE, GROUP)
    assert mode(bob_file) == 0o600 and owner(bob_file) == (BOB, BOB)
    assert mode(bob_file.parent) == 0o700
    assert mode(local_file) == 0o600
    for path in (root_file, bob_file, local_file):
        config = load(path)
        assert config["current-context"] == names(fleet_id)
        assert entries(config, "clusters")[names(fleet_id)]["cluster"]["server"] == sim.info["federation_server"]
        assert entries(config, "contexts")[names(fleet_id)]["context"] == {"cluster": names(fleet_id), "user": names(fleet_id)}
    leak_scan(first, sim, root_file, bob_file, local_file)

    before = {path: path.read_bytes() for path in (root_file, bob_file, local_file)}
    clear_log(sim)
    second = run_role(ansible, inventory).assert_ok()
    assert changed(second) == {"as-root": 0, "as-bob": 0, "local": 0}
    assert api_writes(sim) == []
    assert_reads_at_most_one_per_fleet(sim)
    assert {path: path.read_bytes() for path in before} == before

    # kubectl on the target hosts, with the files the role wrote (mutual TLS with the client key).
    out_dir = tmp_path / "kubectl"
    out_dir.mkdir()
    kubectl_play = f"""\
- name: Use the written kubeconfig on the targets
  hosts: as-root:as-bob
  gather_facts: false
  tasks:
    - name: Ask the federation API server for its version
      ansible.builtin.command:
        argv: [kubectl, --kubeconfig, "{{{{ kubeconfig_file }}}}", --cache-dir, "{{{{ kubeconfig_file | dirname }}}}/cache",
               --request-timeout, 20s, version, --output, json]
      register: version
      changed_when: false
    - name: Keep the answer
      ansible.builtin.copy:
        content: "{{{{ version.stdout }}}}"
        dest: "{out_dir}/{{{{ inventory_hostname }}}}.json"
        mode: "0600"
      delegate_to: localhost
"""
    kubectl_inventory = write_inventory(
        tmp_path / "kubectl-inventory.yml",
        {"as-root": sshd.host_vars("root", kubeconfig_file=str(root_file)), "as-bob": sshd.host_vars(BOB, kubeconfig_file=str(bob_file))},
    )
    ansible.playbook(kubectl_play, inventory=kubectl_inventory).assert_ok()
    for host in ("as-root", "as-bob"):
        answer = json.loads((out_dir / f"{host}.json").read_text())
        assert answer.get("serverVersion", {}).get("gitVersion"), answer


def test_merge_keeps_foreign_entries_and_standalone_holds_only_the_fleet(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    fleet_id = sim.federated_fleet["id"]
    merged, standalone, keep_current = (tmp_path / name / "config" for name in ("merged", "standalone", "keep-current"))
    for path in (merged, standalone, keep_current):
        write_kubeconfig(path, FOREIGN)
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {
            "merged": local_host_vars(ucs_kubeconfig_path=str(merged)),
            "standalone": local_host_vars(ucs_kubeconfig_path=str(standalone), ucs_kubeconfig_standalone=True),
            "keep-current": local_host_vars(ucs_kubeconfig_path=str(keep_current), ucs_kubeconfig_set_current_context=False),
        },
        **fleet_vars(sim),
    )

    run = run_role(ansible, inventory, "--diff").assert_ok()
    assert changed_hosts(run) == {"merged", "standalone", "keep-current"}
    assert cert_posts(sim) == {fleet_id: 1}

    name = names(fleet_id)
    for path in (merged, keep_current):
        config = load(path)
        for section in ("clusters", "users", "contexts"):
            found = entries(config, section)
            for foreign_name, foreign_entry in entries(FOREIGN, section).items():
                assert found[foreign_name] == foreign_entry, f"{path}: {section} {foreign_name} changed"
            assert set(found) == set(entries(FOREIGN, section)) | {name}
        assert config["preferences"] == FOREIGN["preferences"]
        assert entries(config, "clusters")[name]["cluster"]["server"] == sim.info["federation_server"]
        assert mode(path) == 0o600
    assert load(merged)["current-context"] == name
    assert load(keep_current)["current-context"] == "on-prem"

    config = load(standalone)
    assert [set(entries(config, section)) for section in ("clusters", "users", "contexts")] == [{name}] * 3
    assert config["current-context"] == name
    leak_scan(run, sim, merged, standalone, keep_current)

    clear_log(sim)
    again = run_role(ansible, inventory).assert_ok()
    assert changed_hosts(again) == set()
    assert api_writes(sim) == []


def test_unparsable_file_is_kept_in_merge_mode_and_replaced_in_standalone_mode(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    garbage = b"clusters: [unclosed\n\tnot: yaml: at all\n"
    files = {host: tmp_path / host / "config" for host in ("merge", "standalone")}
    for path in files.values():
        path.parent.mkdir()
        path.write_bytes(garbage)
        path.chmod(0o600)
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {
            "merge": local_host_vars(ucs_kubeconfig_path=str(files["merge"])),
            "standalone": local_host_vars(ucs_kubeconfig_path=str(files["standalone"]), ucs_kubeconfig_standalone=True),
        },
        **fleet_vars(sim),
    )
    run = run_role(ansible, inventory, "--diff")
    assert run.returncode != 0
    assert run.recap["merge"]["failed"] == 1 and run.recap["standalone"]["failed"] == 0
    assert files["merge"].read_bytes() == garbage, "a file that cannot be merged into is left alone"
    assert "not valid YAML" in run.output and "ucs_kubeconfig_standalone=true" in run.output
    assert load(files["standalone"])["current-context"] == names(sim.federated_fleet["id"])
    assert cert_posts(sim) == {sim.federated_fleet["id"]: 1}
    leak_scan(run, sim, files["standalone"])


@pytest.mark.every_core
def test_check_mode_predicts_renewal_and_drift_exactly(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """fine (valid, 0600), expiring (valid for 10 days < renew_before 30), loose (valid, 0644),
    missing (no file): check mode changes nothing and predicts exactly what the real run does."""
    fleet_id = sim.federated_fleet["id"]
    hosts = ("fine", "expiring", "loose", "missing")
    files = {host: tmp_path / host / "config" for host in hosts}
    for path in files.values():
        path.parent.mkdir()
    inventory = write_inventory(tmp_path / "inventory.yml", {host: local_host_vars(ucs_kubeconfig_path=str(files[host])) for host in hosts}, **fleet_vars(sim))
    run_role(ansible, inventory, "--limit", "expiring", extra_vars={"ucs_kubeconfig_duration": 10, "ucs_kubeconfig_renew_before": 5}).assert_ok()
    run_role(ansible, inventory, "--limit", "fine,loose").assert_ok()
    files["loose"].chmod(0o644)
    short_expiry = not_after(files["expiring"], names(fleet_id))
    assert short_expiry < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=11)

    before = {host: files[host].read_bytes() for host in ("fine", "expiring", "loose")}
    clear_log(sim)
    # The default renew_before is automatic (a third of 10 days): ask for 30 days explicitly.
    renew = {"ucs_kubeconfig_renew_before": 30}
    check = run_role(ansible, inventory, "--check", "--diff", "-vvv", extra_vars=renew).assert_ok()
    assert changed_hosts(check) == {"expiring", "loose", "missing"}
    assert {host: files[host].read_bytes() for host in before} == before
    assert mode(files["loose"]) == 0o644
    assert not files["missing"].exists()
    assert api_writes(sim) == []
    assert_reads_at_most_one_per_fleet(sim)
    leak_scan(check, sim, *files.values())

    clear_log(sim)
    real = run_role(ansible, inventory, "--diff", extra_vars=renew).assert_ok()
    assert changed(real) == changed(check), "check mode must predict the real run"
    assert cert_posts(sim) == {fleet_id: 1}
    assert files["fine"].read_bytes() == before["fine"]
    assert files["loose"].read_bytes() == before["loose"] and mode(files["loose"]) == 0o600
    assert not_after(files["expiring"], names(fleet_id)) > short_expiry + datetime.timedelta(days=300)
    assert mode(files["missing"]) == 0o600 and load(files["missing"])["current-context"] == names(fleet_id)
    leak_scan(real, sim, *files.values())


@pytest.mark.every_core
def test_two_fleets_one_play_one_download_each(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    second = sim.control("POST", "fleets", {"name": "fleet-federated-2", "federation": True})
    fleets = [sim.federated_fleet, second]
    hosts = {f"{group}-{n}": local_host_vars(ucs_kubeconfig_path=str(tmp_path / f"{group}-{n}" / "config")) for group in ("a", "b") for n in (1, 2)}
    groups = {
        "fleet_a": {"hosts": ["a-1", "a-2"], "vars": fleet_vars(sim, fleets[0])},
        "fleet_b": {"hosts": ["b-1", "b-2"], "vars": fleet_vars(sim, fleets[1])},
    }
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, groups)

    run = run_role(ansible, inventory).assert_ok()
    assert changed_hosts(run) == set(hosts)
    assert cert_posts(sim) == {fleets[0]["id"]: 1, fleets[1]["id"]: 1}
    for host, fleet in (("a-1", fleets[0]), ("a-2", fleets[0]), ("b-1", fleets[1]), ("b-2", fleets[1])):
        config = load(tmp_path / host / "config")
        assert config["current-context"] == names(fleet["id"])
    # The hosts of one fleet share one download: the same client certificate.
    assert load(tmp_path / "a-1" / "config")["users"] == load(tmp_path / "a-2" / "config")["users"]
    assert load(tmp_path / "a-1" / "config")["users"] != load(tmp_path / "b-1" / "config")["users"]


@pytest.mark.every_core
def test_failing_fetch_fails_only_that_fleets_hosts(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    good, plain = sim.federated_fleet, sim.plain_fleet
    hosts = {name: local_host_vars(ucs_kubeconfig_path=str(tmp_path / name / "config")) for name in ("good-1", "plain-1", "plain-2")}
    groups = {"good": {"hosts": ["good-1"], "vars": fleet_vars(sim, good)}, "plain": {"hosts": ["plain-1", "plain-2"], "vars": fleet_vars(sim, plain)}}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, groups)

    run = run_role(ansible, inventory, "-v")
    assert run.returncode != 0
    assert run.recap["good-1"]["failed"] == 0 and run.recap["good-1"]["changed"] > 0
    assert run.recap["plain-1"]["failed"] == 1 and run.recap["plain-2"]["failed"] == 1
    assert (tmp_path / "good-1" / "config").exists()
    assert not (tmp_path / "plain-1" / "config").exists() and not (tmp_path / "plain-2" / "config").exists()
    for host in ("plain-1", "plain-2"):
        line = next((line for line in run.output.splitlines() if f"ucs_kubeconfig on {host}:" in line), "")
        assert plain["id"] in line and "federation" in line.lower(), line or run.stdout[-3000:]
    assert cert_posts(sim) == {good["id"]: 1}
    leak_scan(run, sim, tmp_path / "good-1" / "config")


def test_preflight_names_the_missing_fleet_id(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "config"))})
    run = run_role(ansible, inventory)
    assert run.returncode != 0 and run.recap["host"]["failed"] == 1
    assert "ucs_kubeconfig_fleet_id is not set" in run.output
    assert sim.requests() == []
    assert not (tmp_path / "config").exists()


@pytest.mark.every_core
def test_invalid_settings_fail_only_their_hosts(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A host whose settings break a rule fails with the rule; the others of the play go on."""
    kept = tmp_path / "bad-mode" / "config"
    kept.parent.mkdir()
    kept.write_text("not a kubeconfig\n")
    kept.chmod(0o644)
    hosts = {
        "good": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "good" / "config")),
        "bad-path": local_host_vars(ucs_kubeconfig_path="relative/config"),
        "bad-mode": local_host_vars(ucs_kubeconfig_path=str(kept), ucs_kubeconfig_mode="rw-------"),
        "bad-name": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "bad-name" / "config"), ucs_kubeconfig_cluster_name="  "),
        "bad-vpc": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "bad-vpc" / "config"), ucs_kubeconfig_vpc_id=" "),
        "bad-days": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "bad-days" / "config"), ucs_kubeconfig_renew_before=-1),
        "bad-namespace": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "bad-namespace" / "config"), ucs_kubeconfig_namespace="Team_A"),
    }
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {"fleet": {"hosts": list(hosts), "vars": fleet_vars(sim)}})

    run = run_role(ansible, inventory)
    assert run.returncode != 0
    assert run.recap["good"]["failed"] == 0 and mode(tmp_path / "good" / "config") == 0o600
    assert all(run.recap[host]["failed"] == 1 for host in hosts if host != "good"), run.recap
    assert "ucs_kubeconfig on bad-path: ucs_kubeconfig_path must be an absolute path" in run.output
    assert "ucs_kubeconfig on bad-mode: ucs_kubeconfig_mode 'rw-------' is invalid: use a quoted octal string such as '0600'" in run.output
    assert "ucs_kubeconfig on bad-name: ucs_kubeconfig_cluster_name must not be empty" in run.output
    assert "ucs_kubeconfig on bad-vpc: ucs_kubeconfig_vpc_id must not be empty" in run.output
    assert "ucs_kubeconfig on bad-days: ucs_kubeconfig_renew_before must be 0 or more days, got -1" in run.output
    assert "ucs_kubeconfig on bad-namespace: ucs_kubeconfig_namespace 'Team_A' is not an RFC 1123 label" in run.output
    assert not any((tmp_path / host).exists() for host in ("bad-name", "bad-vpc", "bad-days", "bad-namespace"))
    # Nothing was written for the failing hosts, and one download served the good one.
    assert kept.read_text() == "not a kubeconfig\n" and mode(kept) == 0o644
    assert not (Path(ansible.tmp_path) / "relative").exists()
    assert cert_posts(sim) == {sim.federated_fleet["id"]: 1}


@pytest.mark.every_core
def test_plan_tag_audits_without_any_call_or_write(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """--tags ucs_kubeconfig_plan reads and decides only: no API call, no certificate, no file;
    each host says why it would be written, and bad settings still fail."""
    hosts = {name: local_host_vars(ucs_kubeconfig_path=str(tmp_path / name / "config")) for name in ("good", "plain")}
    hosts["bad-path"] = local_host_vars(ucs_kubeconfig_path="relative/config")
    groups = {"good": {"hosts": ["good", "bad-path"], "vars": fleet_vars(sim)}, "plain": {"hosts": ["plain"], "vars": fleet_vars(sim, sim.plain_fleet)}}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, groups)

    run = run_role(ansible, inventory, "--tags", "ucs_kubeconfig_plan", "-v")
    assert run.returncode != 0
    assert run.recap["good"]["failed"] == 0 and run.recap["plain"]["failed"] == 0 and run.recap["bad-path"]["failed"] == 1
    assert "not written, the tags of this run leave out the write step (the kubeconfig does not exist)" in run.output
    assert "ucs_kubeconfig on bad-path: ucs_kubeconfig_path must be an absolute path" in run.output
    assert not any((tmp_path / name).exists() for name in ("good", "plain"))
    assert sim.requests() == []


@pytest.mark.every_core
@pytest.mark.parametrize("how", ["tagged role", "tagged include"])
def test_a_role_tagged_by_the_play_writes_what_it_downloads(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, how: str) -> None:
    """Tags the play gives the role select every step: two runs with --tags give one certificate
    and one written file (issue 23: two runs used to issue two certificates and write nothing)."""
    if how == "tagged role":
        play = "- hosts: all\n  gather_facts: false\n  roles:\n    - role: ucs_cloud.fleet.ucs_kubeconfig\n      tags: [kubecfg]\n"
    else:
        play = (
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Install\n      ansible.builtin.include_role:\n"
            "        name: ucs_cloud.fleet.ucs_kubeconfig\n        apply: {tags: [kubecfg]}\n      tags: [kubecfg]\n"
        )
    target = tmp_path / "host" / "config"
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars(ucs_kubeconfig_path=str(target))}, **fleet_vars(sim))
    for _run in range(2):
        ansible.playbook(play, "--tags", "kubecfg", env=ansible.credential_env("aksk"), inventory=inventory).assert_ok()
    assert target.is_file() and cert_posts(sim) == {sim.federated_fleet["id"]: 1}


@pytest.mark.every_core
def test_settings_given_as_key_value_extra_vars(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """-e name=value makes every value a string ("5", "false"): the role must take them."""
    hosts = {"host": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "config"))}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {"fleet": {"hosts": ["host"], "vars": fleet_vars(sim)}})
    options = ("-e", "ucs_kubeconfig_renew_before=5", "-e", "ucs_kubeconfig_set_current_context=false", "-e", "ucs_kubeconfig_duration=10")
    run_role(ansible, inventory, *options).assert_ok()
    second = run_role(ansible, inventory, *options).assert_ok()
    assert second.recap["host"]["changed"] == 0 and cert_posts(sim) == {sim.federated_fleet["id"]: 1}
    days = (not_after(tmp_path / "config", names(sim.federated_fleet["id"])) - datetime.datetime.now(datetime.timezone.utc)).days
    assert 8 <= days <= 10


@pytest.mark.every_core
def test_role_included_twice_in_one_play(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A host whose first kubeconfig is right still gets the second: each include of the role
    plans, fetches and writes on its own."""
    second = sim.control("POST", "fleets", {"name": "fleet-federated-twice", "federation": True})
    net = fleet_vars(sim)
    hosts = {"host": local_host_vars()}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, {"all_hosts": {"hosts": ["host"], "vars": net}})
    play = f"""\
    - name: Two fleets, two files
      hosts: all
      gather_facts: false
      tasks:
        - name: Install each kubeconfig
          ansible.builtin.include_role:
            name: ucs_cloud.fleet.ucs_kubeconfig
          vars:
            ucs_kubeconfig_fleet_id: "{{{{ item.fleet }}}}"
            ucs_kubeconfig_path: "{tmp_path}/{{{{ item.file }}}}"
          loop:
            - {{fleet: {sim.federated_fleet["id"]}, file: first}}
            - {{fleet: {second["id"]}, file: second}}
    """
    env = ansible.credential_env("aksk")
    ansible.playbook(play, env=env, inventory=inventory).assert_ok()
    (tmp_path / "second").unlink()
    clear_log(sim)

    run = ansible.playbook(play, env=env, inventory=inventory).assert_ok()
    assert run.recap["host"]["changed"] == 1
    assert cert_posts(sim) == {second["id"]: 1}
    assert load(tmp_path / "second")["current-context"] == names(second["id"])
    assert load(tmp_path / "first")["current-context"] == names(sim.federated_fleet["id"])


def test_role_argument_spec_is_the_module_spec() -> None:
    """meta/argument_specs.yml documents exactly the variables the role reads (the module's
    options under the role's names, _argspec.role_argument_spec), with the same types and
    defaults, and every one has a description. defaults/main.yml sets only what a task needs."""
    role = Path(__file__).resolve().parents[2] / "roles" / "ucs_kubeconfig"
    documented = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    spec = {role_variable(name): option for name, option in role_argument_spec().items()}
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get("description"), name
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert bool(doc.get("no_log")) == bool(option.get("no_log")), name
        assert doc.get("choices") == option.get("choices") or option.get("choices") is None, name
    assert yaml.safe_load((role / "defaults" / "main.yml").read_text()) == {"ucs_kubeconfig_controller": "localhost"}
    assert os.access(Path(__file__).resolve().parents[2] / "scripts" / "start-sshd.sh", os.X_OK)


# --- settings reach the module as users expect (issue 13) ---------------------------------------

# One play per way of applying the role; each writes its own file. {how} fills the credentials.
THREE_WAYS = """\
- name: Applied with roles
  hosts: all
  gather_facts: false
  {play_defaults}
  vars:
    ucs_kubeconfig_path: "{tmp}/by-roles"
    # A duration of its own: a download is used again only for the same options.
    ucs_kubeconfig_duration: 30
    {role_vars}
  roles:
    - role: ucs_cloud.fleet.ucs_kubeconfig

- name: Applied with include_role in a block
  hosts: all
  gather_facts: false
  vars:
    ucs_kubeconfig_path: "{tmp}/by-include"
    ucs_kubeconfig_duration: 31
    {role_vars}
  tasks:
    - name: A block with the defaults
      {block_defaults}
      block:
        - name: Include the role
          ansible.builtin.include_role:
            name: ucs_cloud.fleet.ucs_kubeconfig

- name: Applied with import_role
  hosts: all
  gather_facts: false
  vars:
    ucs_kubeconfig_path: "{tmp}/by-import"
    ucs_kubeconfig_duration: 32
    {role_vars}
  tasks:
    - name: Import the role
      ansible.builtin.import_role:
        name: ucs_cloud.fleet.ucs_kubeconfig
      {task_defaults}
"""


@pytest.mark.every_core
@pytest.mark.parametrize("source", ["module_defaults", "environment", "role_variables"])
def test_credentials_from_one_source_for_roles_include_and_import(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, source: str) -> None:
    """Credentials and connection settings from module_defaults alone (play, block and task level),
    from the environment alone, or from role variables alone: each works for roles:,
    include_role and import_role. A lower layer holds a wrong secret where a higher one is set,
    to prove the precedence role variables > module_defaults > environment."""
    good = ansible.credential_env("aksk")
    wrong = {**good, "HUAWEICLOUD_SDK_SK": "wrong-secret-key-0123456789"}
    settings = {
        "endpoint": good["UCS_ENDPOINT"],
        "ca_path": good["UCS_CA_PATH"],
        "access_key": good["HUAWEICLOUD_SDK_AK"],
        "secret_key": good["HUAWEICLOUD_SDK_SK"],
        "domain_id": good["HUAWEICLOUD_SDK_DOMAIN_ID"],
    }
    defaults = {"group/ucs_cloud.fleet.ucs": settings}
    role_vars, env = "", {}
    if source == "module_defaults":
        env = wrong  # module_defaults must win over the environment
    elif source == "environment":
        env, defaults = good, None
    else:
        # The role's variables must win over module_defaults.
        defaults = {"group/ucs_cloud.fleet.ucs": {**settings, "secret_key": "wrong-secret-key-0123456789"}}
        role_vars = "\n    ".join(f"ucs_kubeconfig_{name}: {json.dumps(value)}" for name, value in settings.items())

    def keyword(indent: int) -> str:
        return "" if defaults is None else "module_defaults: " + json.dumps(defaults)

    play = THREE_WAYS.format(tmp=tmp_path, role_vars=role_vars, play_defaults=keyword(2), block_defaults=keyword(6), task_defaults=keyword(6))
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars()}, **fleet_vars(sim))
    run = ansible.playbook(play, env=env, inventory=inventory).assert_ok()
    assert run.recap["host"]["changed"] == 3
    for name in ("by-roles", "by-include", "by-import"):
        assert load(tmp_path / name)["current-context"] == names(sim.federated_fleet["id"]), name
    # One certificate per application of the role; the fetch label names the fleet.
    assert cert_posts(sim) == {sim.federated_fleet["id"]: 3}
    assert f"downloading the kubeconfig of fleet {sim.federated_fleet['id']}/" in run.stdout
    leak_scan(run, sim, tmp_path / "by-roles")


# --- one path per host (issue 13) ---------------------------------------------------------------


@pytest.mark.every_core
def test_home_overridden_one_file_per_host(
    ansible: AnsibleRunner,
    sim: Simulator,
    sshd: SshServer,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """~ is resolved once, on the target, from the HOME of the target process: a local host run
    with HOME=/tmp/x, an ssh host whose play sets HOME, and a become_user host. Each writes one
    file; the second run changes nothing and makes no API call."""
    sshd.clean_home(BOB)
    home = tmp_path / "x"
    home.mkdir()
    # Outside tmp_path, which only root may enter.
    bob_home = Path(tempfile.mkdtemp(prefix=f"{BOB}-home-"))
    request.addfinalizer(lambda: shutil.rmtree(bob_home, ignore_errors=True))
    os.chown(bob_home, pwd.getpwnam(BOB).pw_uid, pwd.getpwnam(BOB).pw_gid)
    root_config = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".kube" / "config"
    root_before = root_config.read_bytes() if root_config.exists() else None
    inventory = write_inventory(
        tmp_path / "inventory.yml",
        {
            "local": local_host_vars(),
            "ssh-bob": sshd.host_vars(BOB, ansible_env_home=str(bob_home)),
            "become-bob": sshd.host_vars("root", ansible_become=True, ansible_become_method="su", ansible_become_user=BOB),
        },
        **fleet_vars(sim),
    )
    play = """\
    - name: Kubeconfig at ~ of each target process
      hosts: all
      gather_facts: false
      environment: "{{ {'HOME': ansible_env_home} if ansible_env_home is defined else {} }}"
      roles:
        - role: ucs_cloud.fleet.ucs_kubeconfig
    """
    env = {**ansible.credential_env("aksk"), "HOME": str(home)}
    first = ansible.playbook(play, env=env, inventory=inventory).assert_ok()
    assert changed_hosts(first) == {"local", "ssh-bob", "become-bob"}
    files = {"local": home / ".kube" / "config", "ssh-bob": bob_home / ".kube" / "config", "become-bob": sshd.home(BOB) / ".kube" / "config"}
    for host, path in files.items():
        assert load(path)["current-context"] == names(sim.federated_fleet["id"]), host
        assert mode(path) == 0o600
    assert owner(files["become-bob"])[0] == BOB and owner(files["ssh-bob"])[0] == BOB
    assert (root_config.read_bytes() if root_config.exists() else None) == root_before, "the passwd home was not touched"

    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files.values()}
    clear_log(sim)
    second = ansible.playbook(play, env=env, inventory=inventory).assert_ok()
    assert changed(second) == {"local": 0, "ssh-bob": 0, "become-bob": 0}
    assert sim.requests() == []
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files.values()} == before


# --- concurrency (issue 14) ---------------------------------------------------------------------


def test_concurrent_plays_for_two_fleets_lose_nothing(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Two plays started together write the same kubeconfig, each for its own fleet: both
    fleets' entries survive, in every trial (the plays take kubectl's lock and compare and swap)."""
    second = sim.control("POST", "fleets", {"name": "fleet-federated-concurrent", "federation": True})
    fleets = [sim.federated_fleet["id"], second["id"]]
    config = tmp_path / "shared" / "config"
    config.parent.mkdir()
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars(ucs_kubeconfig_path=str(config))}, **fleet_vars(sim))
    for trial in range(4):
        if config.exists():
            config.unlink()
        playbooks = []
        for fleet in fleets:
            path = tmp_path / f"play-{trial}-{fleet}.yml"
            path.write_text(ROLE_PLAY)
            playbooks.append(path)
        env = {**ansible.env, **ansible.credential_env("aksk")}
        procs = [
            subprocess.Popen(
                [str(VENV_BIN / "ansible-playbook"), "-i", inventory, str(book), "-e", json.dumps({"ucs_kubeconfig_fleet_id": fleet})],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for book, fleet in zip(playbooks, fleets)
        ]
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), outputs
        contexts = set(entries(load(config), "contexts"))
        assert contexts == {names(fleet) for fleet in fleets}, f"trial {trial}: {contexts}"
        assert mode(config) == 0o600
        assert not Path(str(config) + ".lock").exists()


# --- namespace (issue 15) -----------------------------------------------------------------------


def test_namespace_is_set_and_changed_without_a_new_certificate(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config"
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars(ucs_kubeconfig_path=str(config))}, **fleet_vars(sim))
    name = names(sim.federated_fleet["id"])
    run_role(ansible, inventory, extra_vars={"ucs_kubeconfig_namespace": "team-a"}).assert_ok()
    assert entries(load(config), "contexts")[name]["context"]["namespace"] == "team-a"
    certificate = entries(load(config), "users")[name]

    clear_log(sim)
    again = run_role(ansible, inventory, extra_vars={"ucs_kubeconfig_namespace": "team-a"}).assert_ok()
    assert again.recap["host"]["changed"] == 0 and sim.requests() == []

    moved = run_role(ansible, inventory, "--diff", extra_vars={"ucs_kubeconfig_namespace": "team-b"}).assert_ok()
    assert moved.recap["host"]["changed"] == 1
    assert sim.requests() == [], "a new namespace is a rewrite of the file's own entries: no API call"
    assert entries(load(config), "contexts")[name]["context"]["namespace"] == "team-b"
    assert entries(load(config), "users")[name] == certificate
    leak_scan(moved, sim, config)

    # null leaves the namespace as it is.
    clear_log(sim)
    kept = run_role(ansible, inventory).assert_ok()
    assert kept.recap["host"]["changed"] == 0 and sim.requests() == []
    assert entries(load(config), "contexts")[name]["context"]["namespace"] == "team-b"


@pytest.mark.every_core
def test_secret_variables_in_inventory_are_taken_per_fleet(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """The download runs once, in the first host's context, but a fleet whose hosts carry their
    own secret in the inventory (group_vars) is downloaded with that secret: here fleet b's
    secret key is wrong, so only fleet b's hosts fail."""
    second = sim.control("POST", "fleets", {"name": "fleet-federated-b", "federation": True})
    env = ansible.credential_env("aksk")
    secret = env.pop("HUAWEICLOUD_SDK_SK")
    hosts = {name: local_host_vars(ucs_kubeconfig_path=str(tmp_path / name / "config")) for name in ("a-1", "b-1")}
    groups = {
        "fleet_a": {"hosts": ["a-1"], "vars": {**fleet_vars(sim), "ucs_kubeconfig_secret_key": secret}},
        "fleet_b": {"hosts": ["b-1"], "vars": {**fleet_vars(sim, second), "ucs_kubeconfig_secret_key": "wrong-secret-key-0123456789"}},
    }
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, groups)
    run = ansible.playbook(ROLE_PLAY, env=env, inventory=inventory)
    assert run.recap["a-1"]["failed"] == 0 and run.recap["a-1"]["changed"] == 1
    assert run.recap["b-1"]["failed"] == 1
    assert cert_posts(sim) == {sim.federated_fleet["id"]: 1}
    assert not (tmp_path / "b-1" / "config").exists()


@pytest.mark.every_core
def test_a_broken_target_python_is_named_with_what_it_printed(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Issue 22: "Module result deserialization failed" alone says nothing; the module's stderr does."""
    hosts = {"broken": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "config"), ansible_python_interpreter="/nonexistent/python3.13")}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, **fleet_vars(sim))
    run = run_role(ansible, inventory)
    assert run.recap["broken"]["failed"] == 1
    line = next(line for line in run.output.splitlines() if "ucs_kubeconfig on broken:" in line)
    assert "/nonexistent/python3.13" in line and "the module printed:" in line, line
    assert sim.requests() == []


@pytest.mark.parametrize(
    ("drop", "expected"),
    [
        (
            ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_DOMAIN_ID"),
            "No credentials: set ucs_kubeconfig_access_key (or HUAWEICLOUD_SDK_AK), ucs_kubeconfig_secret_key (or HUAWEICLOUD_SDK_SK) and "
            "ucs_kubeconfig_domain_id (or HUAWEICLOUD_SDK_DOMAIN_ID) (AK/SK)",
        ),
        (("UCS_CA_PATH",), "Set ucs_kubeconfig_ca_path (or UCS_CA_PATH) to the CA bundle that issued it (or ucs_kubeconfig_validate_certs=false"),
    ],
    ids=["no credentials", "untrusted CA"],
)
def test_the_roles_messages_name_its_variables(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, drop: tuple[str, ...], expected: str) -> None:
    """Issue 22: inside the role, a message names the role variable and its environment variable."""
    inventory = write_inventory(tmp_path / "inventory.yml", {"host": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "config"))}, **fleet_vars(sim))
    env = {name: value for name, value in ansible.credential_env("aksk").items() if name not in drop}
    run = ansible.playbook(ROLE_PLAY, env=env, inventory=inventory)
    assert run.recap["host"]["failed"] == 1
    assert expected in run.output, run.output[-3000:]
    assert not (tmp_path / "config").exists() and cert_posts(sim) == {}


def test_a_fleet_named_by_its_name_and_its_existing_connection(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """Issue 21: ucs_kubeconfig_fleet_name alone (no ID, no VPC): one lookup and one download of the
    existing connection for the play, then a second run that makes no call at all."""
    fleet = sim.federated_fleet
    # A connection of the fleet, as the console would have made it.
    seed = write_inventory(tmp_path / "seed.yml", {"seed": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "seed"))}, **fleet_vars(sim))
    run_role(ansible, seed).assert_ok()
    clear_log(sim)
    hosts = {name: local_host_vars(ucs_kubeconfig_path=str(tmp_path / name / "config")) for name in ("one", "two")}
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, ucs_kubeconfig_fleet_name=fleet["name"])
    first = run_role(ansible, inventory).assert_ok()
    assert changed_hosts(first) == {"one", "two"}
    posts = [entry["path"] for entry in sim.calls("POST")]
    assert posts == [f"/v1/clustergroups/{fleet['id']}/kubeconfig"], posts
    assert [entry["path"] for entry in sim.calls("GET")] == ["/v1/clustergroups"]
    config = load(tmp_path / "one" / "config")
    assert config["current-context"] == f"ucs-fleet-{fleet['name']}"
    clear_log(sim)
    second = run_role(ansible, inventory).assert_ok()
    assert changed_hosts(second) == set() and sim.requests() == []
