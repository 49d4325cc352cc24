"""Reliability suite, load: the role over more than 100 hosts and several fleets.

Every host is a local-connection host with its own kubeconfig path; hosts are spread over four
federated fleets by inventory groups. The simulator's request log and connection list prove how
many API calls the play made; every file is checked for the right fleet, mode and a client key
that matches its certificate.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import AnsibleRunner, Simulator, assert_nothing_leaked, report_figure
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sshd import local_host_vars, write_inventory
from test_role_ucs_kubeconfig import ROLE_PLAY, cert_posts, fleet_vars, mode, names

HOSTS = 100
FLEETS = 4
FORKS = "10"

pytestmark = pytest.mark.reliability("load", "a play over 100 hosts and 4 fleets makes one fetch per fleet and writes every host right")


def fleet_of(config: dict[str, Any]) -> str:
    cluster = config["clusters"][0]["cluster"]
    stamp = next(item for item in cluster["extensions"] if item["name"] == "ucs_cloud.fleet")
    return str(stamp["extension"]["fleet-id"])


def key_matches_certificate(user: dict[str, Any]) -> bool:
    certificate = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    key = serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return certificate.public_key().public_bytes(serialization.Encoding.DER, spki) == key.public_key().public_bytes(serialization.Encoding.DER, spki)


def test_more_than_100_hosts_and_several_fleets(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    fleets = [sim.federated_fleet["id"]] + [str(sim.control("POST", "fleets", {"name": f"load-{n}", "federation": True})["id"]) for n in range(1, FLEETS)]
    hosts = {f"host{n:03d}": local_host_vars(ucs_kubeconfig_path=str(tmp_path / "targets" / f"host{n:03d}" / "config")) for n in range(HOSTS)}
    groups = {
        f"fleet{index}": {"hosts": [h for n, h in enumerate(hosts) if n % FLEETS == index], "vars": fleet_vars(sim, {"id": fleet})}
        for index, fleet in enumerate(fleets)
    }
    inventory = write_inventory(tmp_path / "inventory.yml", hosts, groups, ucs_kubeconfig_standalone=True)
    expected_fleet = {host: fleets[n % FLEETS] for n, host in enumerate(hosts)}

    started = time.monotonic()
    first = ansible.playbook(ROLE_PLAY, "-f", FORKS, env=ansible.credential_env("aksk"), inventory=inventory).assert_ok()
    first_seconds = time.monotonic() - started
    assert len(first.recap) == HOSTS
    assert all(counts["changed"] >= 1 and counts["failed"] == 0 for counts in first.recap.values())
    posts = cert_posts(sim)
    assert posts == dict.fromkeys(fleets, 1), "one fetch per fleet, whatever the number of hosts"
    fleet_reads = [r for r in sim.calls("GET") if r.get("fleet_id")]
    assert len(fleet_reads) == FLEETS
    assert sorted((c["fleet_id"], c["cert_calls"]) for c in sim.connections()) == sorted((fleet, 1) for fleet in fleets)

    certificates: dict[str, set[str]] = {fleet: set() for fleet in fleets}
    for host, fleet in expected_fleet.items():
        path = Path(hosts[host]["ucs_kubeconfig_path"])
        config = yaml.safe_load(path.read_text())
        assert mode(path) == 0o600, host
        assert fleet_of(config) == fleet, host
        assert config["current-context"] == names(fleet), host
        assert config["clusters"][0]["cluster"]["server"] == sim.federation_server, host
        user = config["users"][0]["user"]
        assert key_matches_certificate(user), host
        certificates[fleet].add(user["client-certificate-data"])
    assert all(len(issued) == 1 for issued in certificates.values()), "the hosts of a fleet share the fleet's one download"
    assert_nothing_leaked(first, sim)

    before = {host: Path(values["ucs_kubeconfig_path"]).read_bytes() for host, values in hosts.items()}
    sim.control("DELETE", "requests")
    started = time.monotonic()
    second = ansible.playbook(ROLE_PLAY, "-f", FORKS, env=ansible.credential_env("aksk"), inventory=inventory).assert_ok()
    second_seconds = time.monotonic() - started
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in second.recap.values())
    assert len(second.recap) == HOSTS
    assert sim.requests() == [], "a second run over valid files makes no API call at all"
    assert {host: Path(values["ucs_kubeconfig_path"]).read_bytes() for host, values in hosts.items()} == before
    assert_nothing_leaked(second, sim)
    report_figure(
        f"load: {HOSTS} hosts, {FLEETS} fleets, forks {FORKS}: first run {first_seconds:.1f} s with "
        f"{sum(posts.values())} POST /cert and {len(fleet_reads)} fleet GETs; "
        f"second run {second_seconds:.1f} s, 0 changed, 0 API requests"
    )
