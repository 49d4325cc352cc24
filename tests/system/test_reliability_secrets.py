"""Reliability suite, secrets: nothing a run prints or logs holds a secret.

Each scenario runs at -vvvv, with --diff where it applies, with ANSIBLE_LOG_PATH and the tree
(JSON) and junit callbacks on, and scans all of it plus the simulator's request log and output
for: the seeded secret keys, security token and password, every IAM token and client key the
simulator issued, and the client key of every file written (base64 and PEM lines). The first
test proves the scan finds a secret that is printed, in every kind of artifact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import yaml
from conftest import SCAN_STATS, SCANNED_KINDS, AnsibleRunner, Simulator, assert_no_secrets, assert_nothing_leaked, report_figure, secrets_in_kubeconfig
from sshd import local_host_vars, write_inventory
from test_role_ucs_kubeconfig import ROLE_PLAY, fleet_vars
from test_ucs_federation_cert import MODULE, network, one_task_playbook, task_args

pytestmark = pytest.mark.reliability(
    "secrets",
    "no secret key, password, token or client key appears in any output, log, callback file or simulator log",
)

VERBOSE = "-vvvv"


def written_keys(*paths: Path) -> list[str]:
    return [secret for path in paths if path.exists() for secret in secrets_in_kubeconfig(path)]


def test_the_scan_finds_a_printed_secret_in_every_artifact(ansible: AnsibleRunner, sim: Simulator) -> None:
    """A playbook that prints the secret key on purpose: every artifact kind must catch it."""
    planted = sim.seed["aksk"]["secret_key"]
    # These scans must hit: keep them out of the suite's scan figures.
    saved_stats, saved_kinds = SCAN_STATS.copy(), SCANNED_KINDS.copy()
    play = [
        {"name": "Leak on purpose", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [{"ansible.builtin.debug": {"msg": planted}}]}
    ]
    run = ansible.playbook(yaml.safe_dump(play), VERBOSE).assert_ok()
    artifacts = run.artifacts()
    kinds = ("stdout", "ANSIBLE_LOG_PATH", "tree callback JSON", "junit callback XML")
    for kind in kinds:
        with pytest.raises(AssertionError, match="leaked into"):
            assert_no_secrets(artifacts[kind], [planted], kind)
    with pytest.raises(AssertionError, match="leaked into"):
        assert_nothing_leaked(run, sim)
    SCAN_STATS.clear()
    SCAN_STATS.update(saved_stats)
    SCANNED_KINDS.clear()
    SCANNED_KINDS.update(saved_kinds)
    report_figure(f"secrets: the scan's self-test found a printed secret key in each of the {len(kinds)} artifact kinds ({', '.join(kinds)})")


@pytest.mark.parametrize("method", ["aksk", "temporary", "token", "password"])
def test_module_runs_with_each_credential_kind(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, method: str) -> None:
    """First run with --diff, check mode, steady state, forced renewal with backup."""
    dest = tmp_path / "fleet.yaml"
    env = ansible.credential_env("password" if method == "password" else "aksk")
    args = task_args(sim, dest)
    if method == "temporary":
        temporary = sim.seed["temporary_aksk"]
        env.pop("HUAWEICLOUD_SDK_SK")
        env.update(
            HUAWEICLOUD_SDK_AK=temporary["access_key"], HUAWEICLOUD_SDK_SK=temporary["secret_key"], HUAWEICLOUD_SDK_SECURITY_TOKEN=temporary["security_token"]
        )
    elif method == "token":
        # From the environment, as AWX injects it: a literal in the task would be shown by the
        # junit callback, which prints task arguments (see docs/reliability.md).
        env = {"UCS_ENDPOINT": sim.endpoint, "UCS_CA_PATH": sim.ca_path, "OS_AUTH_TOKEN": sim.control("POST", "tokens", {})["token"]}
    runs = [
        ansible.playbook(one_task_playbook(args), VERBOSE, "--diff", "--check", env=env).assert_ok(),
        ansible.playbook(one_task_playbook(args), VERBOSE, "--diff", env=env).assert_ok(),
        ansible.playbook(one_task_playbook(args), VERBOSE, "--diff", env=env).assert_ok(),
        ansible.playbook(one_task_playbook({**args, "force": True, "backup": True}), VERBOSE, "--diff", env=env).assert_ok(),
    ]
    assert dest.exists() and len(sim.calls("POST", "/cert")) == 2
    backups = [path for path in tmp_path.iterdir() if path.name.startswith("fleet.yaml.") and path != dest]
    for run in runs:
        assert_nothing_leaked(run, sim, written_keys(dest, *backups))


def test_return_content_under_no_log_and_result_format_json(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """The whole kubeconfig in a registered result: hidden by no_log in every channel."""
    dest = tmp_path / "fleet.yaml"
    env = {**ansible.credential_env("aksk"), "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}
    run = ansible.playbook(one_task_playbook(task_args(sim, dest, return_content=True), no_log=True), VERBOSE, "--diff", env=env).assert_ok()
    assert "censored" in run.stdout
    assert_nothing_leaked(run, sim, written_keys(dest))


def test_adhoc_with_tree_output(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    dest = tmp_path / "adhoc.yaml"
    net = network(sim)
    module_args = " ".join(f"{key}={value}" for key, value in {"fleet_id": sim.federated_fleet["id"], **net, "dest": dest}.items())
    tree = tmp_path / "tree"
    run = ansible.adhoc(MODULE, module_args, VERBOSE, "--tree", str(tree), env=ansible.credential_env("aksk")).assert_ok()
    assert dest.exists()
    tree_output = "\n".join(path.read_text() for path in tree.iterdir())
    assert json.loads(tree_output)["changed"] is True
    assert_no_secrets(tree_output, sim.issued_secrets() + written_keys(dest), "ad-hoc --tree JSON")
    assert_nothing_leaked(run, sim, written_keys(dest))


@pytest.mark.parametrize(
    ("fault", "operation", "extra"),
    [
        ("500", "create_cert", {}),
        ("kubeconfig-key-mismatch", "create_cert", {}),
        ("token-expired", "any", {"count": -1}),
        ("drop", "create_cert", {}),
    ],
)
def test_failures_at_full_verbosity(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, fault: str, operation: str, extra: dict[str, Any]) -> None:
    """Failing runs print messages, warnings and results: none may carry a secret, including
    the key of a kubeconfig the module rejected."""
    sim.fault(fault, operation=operation, retry_after=0, **{"count": 1, **extra})
    method = "password" if fault == "token-expired" else "aksk"
    run = ansible.playbook(one_task_playbook(task_args(sim, tmp_path / "f.yaml", retries=1, timeout=3)), VERBOSE, "--diff", env=ansible.credential_env(method))
    assert run.returncode != 0, run.stdout[-3000:]
    assert "Traceback" not in run.stdout
    if fault == "kubeconfig-key-mismatch":
        assert sim.control("GET", "secrets")["client_keys"], "the rejected kubeconfig's key is part of the scan"
    assert_nothing_leaked(run, sim)


def test_bad_input_echoes_no_credential(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A validation error about credentials must name the option, not its value."""
    env = {**ansible.credential_env("aksk"), **ansible.credential_env("password")}
    run = ansible.playbook(one_task_playbook(task_args(sim, tmp_path / "f.yaml", duration=0)), VERBOSE, env=env)
    assert run.returncode != 0 and sim.requests() == []
    assert_nothing_leaked(run, sim)


def test_role_runs_first_check_steady_and_failing(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """The role at -vvvv --diff: first run, check mode with both hosts to renew,
    a run that fixes the mode, and a run where the download fails."""
    paths = {name: tmp_path / name / "config" for name in ("one", "two")}
    inventory = write_inventory(
        tmp_path / "inventory.yml", {name: local_host_vars(ucs_kubeconfig_path=str(path)) for name, path in paths.items()}, **fleet_vars(sim)
    )
    env = ansible.credential_env("aksk")
    first = ansible.playbook(ROLE_PLAY, VERBOSE, "--diff", env=env, inventory=inventory).assert_ok()
    paths["two"].chmod(0o644)
    # Certificates valid for 365 days are "expiring" with renew_before 380.
    renew = {"ucs_kubeconfig_renew_before": 380, "ucs_kubeconfig_duration": 400}
    check = ansible.playbook(ROLE_PLAY, VERBOSE, "--diff", "--check", env=env, inventory=inventory, extra_vars=renew).assert_ok()
    assert {host: counts["changed"] for host, counts in check.recap.items()} == {"one": 1, "two": 1}
    fixing = ansible.playbook(ROLE_PLAY, VERBOSE, "--diff", env=env, inventory=inventory).assert_ok()
    sim.fault("500", operation="create_cert")
    failing = ansible.playbook(ROLE_PLAY, VERBOSE, "--diff", env=env, inventory=inventory, extra_vars=renew)
    assert failing.returncode != 0 and {host: counts["failed"] for host, counts in failing.recap.items()} == {"one": 1, "two": 1}
    for run in (first, check, fixing, failing):
        assert_nothing_leaked(run, sim, written_keys(*paths.values()))


def echo_run(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, env: dict[str, str]) -> Any:
    """A run whose fleet read is answered 401 echoing the caller's headers (hostile-echo), at -vvvv --diff."""
    sim.fault("hostile-echo", operation="get_fleet", count=-1)
    run = ansible.playbook(one_task_playbook(task_args(sim, tmp_path / "f.yaml", retries=0)), VERBOSE, "--diff", env=env)
    assert run.returncode != 0
    return run


ECHOED = "HTTP 401 APIGW.0301: Incorrect IAM authentication information: verify token fail. Request headers: x-auth-token=********; body: (request id"


def test_iam_token_is_never_printed_even_when_echoed(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """IAM password auth: both tokens obtained (the first, then one for the retry after the 401) are echoed back."""
    run = echo_run(ansible, sim, tmp_path, ansible.credential_env("password"))
    tokens = sim.control("GET", "secrets")["tokens"]
    assert len(tokens) == 2, "a new token after the first 401"
    assert_nothing_leaked(run, sim)
    assert ECHOED in run.stdout, "the echo is shown, masked"


def test_long_echoed_token_leaks_no_prefix(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path) -> None:
    """A 2,000-character token echoed in a 401: not even its first characters (error excerpts are cut at 500)."""
    token = sim.control("POST", "tokens", {"length": 2000})["token"]
    assert len(token) >= 2000
    run = echo_run(ansible, sim, tmp_path, {"UCS_ENDPOINT": sim.endpoint, "UCS_CA_PATH": sim.ca_path, "OS_AUTH_TOKEN": token})
    # Every 24-character piece of the token: a prefix, a suffix or a middle part would be found.
    pieces = [token[i : i + 24] for i in range(0, len(token) - 24, 12)]
    for kind, text in run.artifacts().items():
        assert_no_secrets(text, pieces, kind)
    assert_nothing_leaked(run, sim)
    assert ECHOED in run.stdout, "the echo is shown, masked"


# Secrets with white space or a quote at their end (issue 23): the environment variables users
# export, as `ansible localhost -m` reads them; each run scanned for every form of the secret.

SECRET_OPTIONS = {
    # option: (credential set, environment variable)
    "secret_key": ("aksk", "HUAWEICLOUD_SDK_SK"),
    "security_token": ("temporary", "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
    "auth_token": ("token", "OS_AUTH_TOKEN"),
    "password": ("password", "OS_PASSWORD"),
}
SUFFIXES = {"newline": "\n", "space": " ", "quote": '"'}


def printed_forms(secret: str) -> list[str]:
    """Every form in which a library or server prints a value (worked out here, not taken from the code under test).

    Raw, stripped, repr of str and bytes (once and twice), JSON and URL encoding, and every
    16-character piece of it that is not a run of one or two characters (a prefix or a cut piece).
    """
    plain = secret.strip()
    forms = {
        secret,
        plain,
        repr(secret)[1:-1],
        repr(repr(secret))[1:-1],
        repr(secret.encode())[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(json.dumps(secret))[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
    }
    pieces = {plain[i : i + 16] for i in range(0, len(plain) - 15, 4)}
    return sorted(form for form in forms | pieces if len(set(form)) >= 3)


def test_printed_forms_catch_what_a_library_prints() -> None:
    """Self-test of the scan below: requests' message for a token with a newline, and its cut form, are caught."""
    token = "MIItoken" + "Ab9" * 60 + "\n"
    printed = f"Invalid leading whitespace, reserved character(s), or return character(s) in header value: {token!r}"
    # These scans must hit: keep them out of the suite's scan figures.
    saved_stats, saved_kinds = SCAN_STATS.copy(), SCANNED_KINDS.copy()
    for text in (printed, printed[:200], json.dumps({"msg": printed}), quote(token)):
        with pytest.raises(AssertionError, match="leaked into"):
            assert_no_secrets(text, printed_forms(token), "self-test")
    SCAN_STATS.clear()
    SCAN_STATS.update(saved_stats)
    SCANNED_KINDS.clear()
    SCANNED_KINDS.update(saved_kinds)


def secret_env(ansible: AnsibleRunner, sim: Simulator, option: str, secret: str) -> dict[str, str]:
    method, variable = SECRET_OPTIONS[option]
    if method == "token":
        env = {"UCS_ENDPOINT": sim.endpoint, "UCS_CA_PATH": sim.ca_path}
    else:
        env = ansible.credential_env("password" if method == "password" else "aksk")
    if method == "temporary":
        temporary = sim.seed["temporary_aksk"]
        env.update(HUAWEICLOUD_SDK_AK=temporary["access_key"], HUAWEICLOUD_SDK_SK=temporary["secret_key"])
    env[variable] = secret
    return env


@pytest.mark.parametrize("option", sorted(SECRET_OPTIONS))
def test_secret_with_a_newline_a_space_or_a_quote_is_never_printed(ansible: AnsibleRunner, sim: Simulator, tmp_path: Path, option: str) -> None:
    """Each secret option given with a trailing newline, a space and a quote (OS_AUTH_TOKEN from a file,
    a YAML block scalar): whether the run is refused, fails at the API or works, no form of it is printed."""
    net = network(sim)
    outcomes = []
    for name, suffix in SUFFIXES.items():
        base = {
            "secret_key": sim.seed["aksk"]["secret_key"],
            "security_token": sim.seed["temporary_aksk"]["security_token"],
            # A 187-character token, as in the probe that printed 105 characters of one.
            "auth_token": sim.control("POST", "tokens", {"length": 187})["token"],
            "password": sim.seed["iam_user"]["password"],
        }[option]
        secret = base + suffix
        dest = tmp_path / f"{option}-{name}.yaml"
        module_args = " ".join(f"{key}={value}" for key, value in {"fleet_id": sim.federated_fleet["id"], **net, "dest": dest}.items())
        tree = tmp_path / f"tree-{option}-{name}"
        run = ansible.adhoc(MODULE, module_args, "-vvv", "--tree", str(tree), env=secret_env(ansible, sim, option, secret))
        assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:]
        texts = {**run.artifacts(), "ad-hoc --tree JSON": "\n".join(path.read_text() for path in tree.iterdir()) if tree.exists() else ""}
        forms = printed_forms(secret)
        for kind, text in texts.items():
            assert_no_secrets(text, forms, kind)
        assert_nothing_leaked(run, sim, written_keys(dest))
        result = json.loads(texts["ad-hoc --tree JSON"]) if texts["ad-hoc --tree JSON"] else {}
        # The cause, without the operation that failed: "the request was not sent ...", "HTTP 401 ...".
        cause = (result.get("msg") or "failed").split(": ", 1)[-1]
        outcomes.append(f"{name}: " + ("ok" if run.returncode == 0 else cause[:60] + "..."))
    report_figure(f"secrets: {option} with a trailing newline, space, quote: nothing printed in any form ({'; '.join(outcomes)})")
