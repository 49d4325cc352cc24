"""Every kubeconfig the collection refuses, kubectl cannot use either: proven with kubectl itself.

Each case breaks one rule of _kubeconfig_check in a real kubeconfig issued by the simulator, whose
federation API server checks client certificates as a Kubernetes API server does. The collection
must refuse it (accept_download) and kubectl must fail on it (loading it, or talking to the
server with it). The unbroken kubeconfig, normalised by the collection, works.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as ck
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import b64, key_pem, make_key

if TYPE_CHECKING:  # the fixtures' type (conftest is not importable by name beside other conftests)
    from conftest import SimHandle

WANTED = kc.FleetEntries("fleet-x", None, "ucs-fleet", "ucs-fleet", "ucs-fleet", {}, True, None)


def kubectl_version(path: Path) -> subprocess.CompletedProcess:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not installed: this test proves the rules against it")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("KUBECONFIG", "HTTPS_PROXY", "HTTP_PROXY"))}
    env.update(NO_PROXY="127.0.0.1,localhost", HOME=str(path.parent))
    return subprocess.run(
        [binary, "--kubeconfig", str(path), "--request-timeout", "10s", "version", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def user(config: Dict[str, Any]) -> Dict[str, Any]:
    return config["users"][0]["user"]


def cluster(config: Dict[str, Any]) -> Dict[str, Any]:
    return config["clusters"][0]["cluster"]


def other_key(config: Dict[str, Any]) -> None:
    user(config)["client-key-data"] = b64(key_pem(make_key("ec", 42)))


BREAKS: Dict[str, Callable[[Dict[str, Any]], Any]] = {
    "dangling user reference": lambda c: c["contexts"][0]["context"].update(user="nobody"),
    "duplicate user names": lambda c: c["users"].append(copy.deepcopy(c["users"][0])),
    "two contexts, none current": lambda c: (c.pop("current-context"), c["contexts"].append({"name": "b", "context": dict(c["contexts"][0]["context"])})),
    "kind is not Config": lambda c: c.update(kind="Pod"),
    "CA data not base64": lambda c: cluster(c).update({"certificate-authority-data": "not*base64!"}),
    "CA data not PEM": lambda c: cluster(c).update({"certificate-authority-data": b64("plain text\n")}),
    "certificate not base64": lambda c: user(c).update({"client-certificate-data": "%%%" + user(c)["client-certificate-data"][3:]}),
    "certificate is a key": lambda c: user(c).update({"client-certificate-data": user(c)["client-key-data"]}),
    "key of another pair": other_key,
    "certificate without key": lambda c: user(c).pop("client-key-data"),
    "no credentials": lambda c: c["users"][0].update(user={}),
    "token and password": lambda c: c["users"][0].update(user={"token": "t-0123456789", "username": "u", "password": "p"}),
    "token not a string": lambda c: c["users"][0].update(user={"token": 5}),
    "insecure flag not a boolean word": lambda c: cluster(c).update({"insecure-skip-tls-verify": "sometimes"}),
    "server is http": lambda c: cluster(c).update(server=cluster(c)["server"].replace("https://", "http://")),
    "server without host": lambda c: cluster(c).update(server="https:///version"),
    "certificate and key as files": lambda c: c["users"][0].update(user={"client-certificate": "/nonexistent/c.pem", "client-key": "/nonexistent/k.pem"}),
}


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_collection_and_kubectl_both_refuse(simulator: SimHandle, tmp_path: Path, name: str) -> None:
    config = simulator.create_cert().json()
    BREAKS[name](config)
    with pytest.raises(UcsKubeconfigError):
        ck.accept_download(config, WANTED, 30, dt.datetime.now(dt.timezone.utc))
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    result = kubectl_version(path)
    assert result.returncode != 0 and "serverVersion" not in result.stdout, f"kubectl used a kubeconfig the collection refuses ({name}): {result.stdout[-500:]}"


def test_collection_and_kubectl_both_refuse_an_expired_certificate(simulator: SimHandle, tmp_path: Path) -> None:
    simulator.fault("kubeconfig-expired-cert", operation="create_cert")
    config = simulator.create_cert().json()
    with pytest.raises(UcsKubeconfigError, match="has expired"):
        ck.accept_download(config, WANTED, 30, dt.datetime.now(dt.timezone.utc))
    path = tmp_path / "config"
    path.write_text(json.dumps(config))
    assert kubectl_version(path).returncode != 0


def test_the_unbroken_kubeconfig_as_written_by_the_collection_works(simulator: SimHandle, tmp_path: Path) -> None:
    own, _info, _warnings = ck.accept_download(simulator.create_cert().json(), WANTED, 30, dt.datetime.now(dt.timezone.utc))
    path = tmp_path / "config"
    path.write_text(kc.render_kubeconfig(None, own, WANTED))
    result = kubectl_version(path)
    assert result.returncode == 0, result.stderr[-1000:]
    assert "serverVersion" in json.loads(result.stdout)


def test_the_seal_survives_kubectl_rewriting_the_file(simulator: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl keeps cluster extensions when it rewrites a kubeconfig, so the next run still judges
    the fleet's entries from the seal, without cryptography, and finds them as they were."""
    now = dt.datetime.now(dt.timezone.utc)
    own, info, _warnings = ck.accept_download(simulator.create_cert().json(), WANTED, 30, now)
    path = tmp_path / "config"
    path.write_text(kc.render_kubeconfig(None, own, WANTED))
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KUBECONFIG")}
    for args in (["config", "set-context", "other", "--cluster=ucs-fleet", "--user=ucs-fleet"], ["config", "use-context", "other"]):
        subprocess.run(["kubectl", "--kubeconfig", str(path), *args], check=True, capture_output=True, env=env, timeout=60)
    monkeypatch.setattr(ck, "_lib", lambda: pytest.fail("the seal did not survive: cryptography was needed"))
    verdict = ck.check_entries(path.read_bytes(), WANTED._replace(set_current=False), now)
    assert verdict.reason is None and verdict.info._replace(current_context=None) == info._replace(current_context=None)
