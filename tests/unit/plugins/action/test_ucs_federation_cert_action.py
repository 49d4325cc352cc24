"""The action of ucs_federation_cert: which runs it decides on the controller, and that it
answers them with the module's own result (the system tests compare the two for real)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.ucs_cloud.fleet.plugins.action import ucs_federation_cert as action
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._target_file import READ_MODULE, target_file
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import FLEET_ID, NOW, VPC_ID, file_info_answer, make_kubeconfig

NAME = f"ucs-fleet-{FLEET_ID}"
DEST = "/home/ops/.kube/config"  # only checked, never read


def args(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"fleet_id": FLEET_ID, "vpc_id": VPC_ID, "dest": DEST, "endpoint": "https://127.0.0.1:8443"}
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The module's environment fallbacks are read here too: none of the runner's may leak in.
    for name in ("UCS_ENDPOINT", "HUAWEICLOUD_SDK_REGION", "OS_REGION_NAME", "OS_AUTH_URL", "ANSIBLE_PYTHON_INTERPRETER"):
        monkeypatch.delenv(name, raising=False)


# --- which runs -----------------------------------------------------------------------------------


def test_a_present_run_with_an_absolute_dest_is_decided_with_the_module_settings() -> None:
    settings = action.settings_to_decide(args(clustergroup_id=FLEET_ID, fleet_id=None, duration="30", mode="u=rw,go="))
    assert settings is not None
    assert settings.fleet_id == FLEET_ID and settings.duration == 30 and settings.dest == DEST and settings.mode == "u=rw,go="


def test_the_endpoint_comes_from_the_environment_as_the_module_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert action.settings_to_decide(args(endpoint=None)) is None  # the module fails: no endpoint, no region
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION", "cn-north-4")
    assert action.settings_to_decide(args(endpoint=None)) is not None
    monkeypatch.setenv("UCS_ENDPOINT", "")  # a blank field of an AWX credential: unset
    assert action.settings_to_decide(args(endpoint=None)) is not None


def test_home_is_expanded_as_type_path_expands_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = action.settings_to_decide(args(dest="~/.kube/config"))
    assert settings is not None and settings.dest == f"{tmp_path}/.kube/config"


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "absent"},
        {"force": True},
        {"return_content": True},
        {"dest": None},
        {"dest": "relative/config"},
        {"fleet_id": "abc\n"},
        {"duration": "ten"},
        {"renew_before": 400},
        {"mode": 600},
        {"endpoint": "http://127.0.0.1:8443"},
        {"unknown_option": 1},
    ],
)
def test_every_other_run_is_the_modules(changes: dict[str, Any]) -> None:
    # A download, a removal, a run without a file, and every error: the module runs and reports.
    assert action.settings_to_decide(args(**changes)) is None


def test_the_same_python_is_the_same_program_in_the_same_directory(tmp_path: Path) -> None:
    assert action.same_python(sys.executable)
    elsewhere = tmp_path / "python3"
    elsewhere.symlink_to(sys.executable)
    assert os.path.samefile(elsewhere, sys.executable) and not action.same_python(str(elsewhere))
    assert not action.same_python(str(tmp_path / "missing"))
    assert not action.same_python(None) and not action.same_python("")


# --- the decision ---------------------------------------------------------------------------------


def read_state(path: Path, file_mode: str = "0600", **extra: Any) -> dict[str, Any]:
    """What kubeconfig_file_info returns for path (AnsibleModule adds the owner and the rest)."""
    found = {"drift": [], "write_blocker": None, **extra}
    return file_info_answer(str(path), path.read_bytes() if path.exists() else None, file_mode, **found)


def fleet_file(**options: Any) -> dict[str, Any]:
    options = {"cluster": NAME, "user": NAME, "context": NAME, "fleet_id": FLEET_ID, "vpc_id": VPC_ID, "token": None, **options}
    return make_kubeconfig(**options).config


class Action(action.ActionModule):
    """The action without Ansible's executor: the read module's answer is given."""

    def __init__(self, answer: dict[str, Any], task_args: dict[str, Any], **task: Any) -> None:  # pylint: disable=super-init-not-called
        self.answer, self.executed = answer, []  # type: ignore[var-annotated]
        self._task = SimpleNamespace(args=task_args, async_val=0, environment=task.get("environment"), delegate_to=None, diff=task.get("diff", False))
        self._play_context = SimpleNamespace(become=task.get("become", False))
        self._connection = SimpleNamespace(transport=task.get("transport", "local"), _shell=SimpleNamespace(tmpdir=None))
        self._templar = Templar(loader=DataLoader())
        self.discovers = task.get("discovered", False)
        self._discovered_interpreter = False

    def _execute_module(self, module_name: Any = None, module_args: Any = None, task_vars: Any = None, **_other: Any) -> dict[str, Any]:
        self.executed.append((module_name, module_args))
        self._discovered_interpreter = self.discovers  # interpreter discovery runs with the first module
        return dict(self.answer)

    def _remove_tmp_path(self, tmp_path: Any, force: bool = False) -> None:
        pass


TASK_VARS = {"ansible_python_interpreter": sys.executable}


@pytest.fixture
def dest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A right kubeconfig on this machine (the local connection's target), at NOW."""
    monkeypatch.setattr(action, "_now", lambda: NOW)
    path = tmp_path / "kube" / "config"
    path.parent.mkdir(mode=0o700)
    path.write_text(yaml.safe_dump(fleet_file()))
    path.chmod(0o600)
    return path


def here(path: Path, **changes: Any) -> dict[str, Any]:
    return args(dest=str(path), **changes)


def test_a_right_file_gets_the_modules_result_without_the_module(dest: Path) -> None:
    found = read_state(dest)
    run = Action(found, here(dest), diff=True)
    result = run._decide(dict(TASK_VARS))
    assert run.executed == [(READ_MODULE, {"path": str(dest), "mode": "0600", "backup": False})]
    settings = action.settings_to_decide(here(dest))
    assert settings is not None
    read = target_file(found)
    expected = planner.unchanged(settings, read.plan(settings, NOW), str(dest), read.attributes, True)
    expected.update(uid=1000, gid=1000, owner="ops", group="ops", mode="0600")  # as AnsibleModule adds them for dest
    assert result == expected
    assert result["changed"] is False and result["reason"] is None and result["fleet_id"] == FLEET_ID and result["context_name"] == NAME
    assert result["diff"]["before"] == result["diff"]["after"] and result["diff"]["before"]["mode"] == "0600"
    key = fleet_file()["users"][0]["user"]["client-key-data"]
    assert key not in repr(result) and "content" not in result


def test_a_loose_mode_that_is_asked_for_warns_as_the_module_warns(dest: Path) -> None:
    dest.chmod(0o644)
    result = Action(read_state(dest, "0644"), here(dest, mode="0644"))._decide(dict(TASK_VARS))
    assert result is not None and "diff" not in result
    assert result["warnings"] == ["mode 0644 gives its group and all other users access to a file that holds a private key; '0600' keeps it to its owner"]


@pytest.mark.parametrize(
    ("change", "task_args"),
    [
        ("remove", {}),
        ("chmod", {}),
        ("expiring", {"renew_before": 30}),
        ("right", {"namespace": "team-a"}),
        ("right", {"owner": "no-such-user-here"}),
    ],
    ids=["missing", "mode drift", "expiring", "new namespace", "unknown owner"],
)
def test_a_run_that_writes_or_fails_is_the_modules_without_a_read(dest: Path, change: str, task_args: dict[str, Any]) -> None:
    if change == "remove":
        dest.unlink()
    elif change == "chmod":
        dest.chmod(0o644)
    elif change == "expiring":
        dest.write_text(yaml.safe_dump(fleet_file(days=20)))
    run = Action(read_state(dest), here(dest, **task_args))
    assert run._decide(dict(TASK_VARS)) is None and run.executed == []


@pytest.mark.parametrize(
    "answer",
    [
        {"drift": ["mode 0644, not 0600"]},
        {"write_blocker": "dest /k: the directory /k is not writable"},
        {"failed": True, "msg": "path /k: cannot read it"},
        {"content": "%%%"},
        {"exists": False},
    ],
    ids=["mode drift", "blocked write", "read failed", "not base64", "gone"],
)
def test_what_the_read_finds_wins_over_what_this_process_saw(dest: Path, answer: dict[str, Any]) -> None:
    # The file changed between the two looks, or the target refuses it: the module runs.
    run = Action(dict(read_state(dest), **answer), here(dest))
    assert run._decide(dict(TASK_VARS)) is None and len(run.executed) == 1


@pytest.mark.parametrize(
    "task",
    [{"become": True}, {"transport": "ssh"}, {"environment": [{"UCS_ENDPOINT": "https://127.0.0.1:9443"}]}],
    ids=["become", "ssh", "task environment"],
)
def test_a_module_that_would_not_run_as_the_controller_runs_is_not_read_for(dest: Path, task: dict[str, Any]) -> None:
    run = Action(read_state(dest), here(dest), **task)
    assert run._decide(dict(TASK_VARS)) is None and run.executed == []


def test_another_python_runs_the_module_and_a_discovered_one_is_kept_as_a_fact(dest: Path, tmp_path: Path) -> None:
    other = tmp_path / "python3"
    other.symlink_to(sys.executable)
    known = Action(read_state(dest), here(dest))
    assert known._decide({"ansible_python_interpreter": str(other)}) is None and known.executed == []  # not even read
    discovered_other = Action(read_state(dest), here(dest), discovered=str(other))
    assert discovered_other._decide({}) is None and len(discovered_other.executed) == 1
    facts = {"discovered_interpreter_python": sys.executable}
    run = Action(read_state(dest, ansible_facts=facts), here(dest), discovered=sys.executable)
    result = run._decide({})
    assert result is not None and result["ansible_facts"] == facts
    assert Action(read_state(dest), here(dest))._decide({"ansible_facts": facts}) is not None
    assert Action(read_state(dest), here(dest))._decide({}) is None  # nothing tells which Python ran


def test_the_interpreter_may_come_from_the_configuration(dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    assert Action(read_state(dest), here(dest))._decide({}) is not None
    assert Action(read_state(dest), here(dest))._decide({"ansible_python_interpreter": "/usr/bin/python3-elsewhere"}) is None
