"""The oldest target Pythons: plugins/ compiles with Python 3.6, the target modules run on them.

ansible-core 2.16 runs modules on Python 3.6 (RHEL 8's platform-python), 2.17 on 3.7, 2.18 and
2.19 on 3.8, 2.20 and 2.21 on 3.9. tests/config.yml declares the floor (python_requires >=3.6)
for ansible-test; these tests check it for real:

- every file under plugins/ compiles with Python 3.6 (modules and module_utils run on targets;
  action and filter plugins run on the controller, but the project keeps one floor for all);
- every module and module_utils file imports with Python 3.6 (ansible-core 2.16's module_utils,
  no third-party packages: their imports are guarded);
- kubeconfig_file_info and kubeconfig_file (the stdlib-only modules the role runs on its hosts)
  run through ansible with each supported core's oldest target Python installed here
  (ansible_python_interpreter), from that core's venv (tests/system/cores.py); the oldest target
  Python of a core is read from its own ansible-test.

The interpreters come from pyenv (~/.pyenv/versions); a test whose interpreter is missing is
skipped, with the reason in the summary (pytest -ra). A core without a venv fails (cores.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[1] / "simulator"))
from cores import CORE_VENVS, PYENV_VERSIONS, SUPPORTED_CORES, oldest_target_python, pyenv_python, venv_for
from harness import ROOT, ansible_env

PYTHON36 = pyenv_python("3.6") or PYENV_VERSIONS / "3.6" / "bin" / "python3.6"
PLUGIN_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "plugins").rglob("*.py"))
# Every supported core, with the oldest target Python its ansible-test names (where its venv exists).
TARGETS = [(core, oldest_target_python(CORE_VENVS[core]) if core in CORE_VENVS else None) for core in SUPPORTED_CORES]
TARGET_IDS = [f"{core}-py{python or 'unknown'}" for core, python in TARGETS]
KUBECONFIG = b"apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n"

# Compiling in one interpreter process: a subprocess per file would take longer than the check.
COMPILE_ALL = """
import json, sys
failures = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as handle:
            compile(handle.read(), path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        failures[path] = "line %s: %s" % (exc.lineno, exc.msg)
print(json.dumps(failures))
"""


@pytest.fixture(scope="module")
def py36_compile_failures() -> dict[str, str]:
    if not PYTHON36.exists():
        pytest.skip(f"Python 3.6 is not installed ({PYTHON36} missing): the Python 3.6 floor of plugins/ is NOT checked")
    result = subprocess.run([str(PYTHON36), "-c", COMPILE_ALL, *PLUGIN_FILES], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_plugins_exist() -> None:
    assert "plugins/modules/kubeconfig_file_info.py" in PLUGIN_FILES


@pytest.mark.parametrize("path", PLUGIN_FILES)
def test_plugin_compiles_with_python36(py36_compile_failures: dict[str, str], path: str) -> None:
    assert path not in py36_compile_failures, f"{path} is not valid Python 3.6: {py36_compile_failures.get(path)}"


IMPORT_ALL = """
import importlib, json, sys, traceback
failures = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=3)
print(json.dumps(failures))
"""
TARGET_CODE = [p for p in PLUGIN_FILES if p.startswith(("plugins/modules/", "plugins/module_utils/"))]


@pytest.fixture(scope="module")
def py36_import_failures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Import every module and module_utils file with Python 3.6, as AnsiballZ would on a target.

    ansible.module_utils comes from ansible-core 2.16 (the last core with Python 3.6 targets);
    requests, PyYAML and cryptography are absent, as on a bare target, so their guarded imports
    must fail softly.
    """
    if not PYTHON36.exists():
        pytest.skip(f"Python 3.6 is not installed ({PYTHON36} missing): imports on Python 3.6 are NOT checked")
    cores = sorted(venv_for(SUPPORTED_CORES[0]).glob("lib/python3.*/site-packages/ansible"))
    assert cores, f"no ansible package in the venv of ansible-core {SUPPORTED_CORES[0]}"
    core = cores[0]
    path = tmp_path_factory.mktemp("py36-path")
    (path / "ansible").symlink_to(core)
    collections = ansible_env(path)["ANSIBLE_COLLECTIONS_PATH"]
    names = ["ansible_collections.ucs_cloud.fleet." + p[: -len(".py")].replace("/", ".") for p in TARGET_CODE]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{path}:{collections}", "PYTHONNOUSERSITE": "1"}
    result = subprocess.run([str(PYTHON36), "-S", "-c", IMPORT_ALL, *names], cwd=path, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("path", TARGET_CODE)
def test_target_code_imports_with_python36(py36_import_failures: dict[str, str], path: str) -> None:
    name = "ansible_collections.ucs_cloud.fleet." + path[: -len(".py")].replace("/", ".")
    assert name not in py36_import_failures, f"{path} does not import on Python 3.6:\n{py36_import_failures.get(name)}"


def run_module(tmp_path: Path, venv: Path, python: Path, module: str, args: dict[str, object]) -> dict[str, object]:
    """Run one module on localhost with the given core and target Python; its result."""
    env = ansible_env(tmp_path)
    env.update(
        PATH=f"{venv / 'bin'}:{env['PATH']}",
        ANSIBLE_PYTHON_INTERPRETER=str(python),
        HOME=str(tmp_path / "home"),
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    tree = tmp_path / f"tree-{module}"
    # --tree: the result as JSON, per host (ad hoc output is not JSON on every core).
    command = [str(venv / "bin" / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "--tree", str(tree)]
    command += ["-m", f"ucs_cloud.fleet.{module}", "-a", json.dumps(args)]
    proc = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    try:
        result = json.loads((tree / "localhost").read_text())
    except (OSError, ValueError):
        pytest.fail(f"{module} did not run ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert proc.returncode == 0 and not result.get("failed"), f"{module} failed: {result.get('msg')}\n{result.get('module_stderr', '')[-3000:]}"
    return result


def core_and_python(core: str, version: str | None) -> tuple[Path, Path]:
    """The venv of a core and its oldest target Python, or the reason the test cannot run."""
    venv = venv_for(core)
    assert version, f"the ansible-test of {venv} names no target Python"
    python = pyenv_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed under {PYENV_VERSIONS}: modules are NOT tested on ansible-core {core}'s oldest target Python")
    return venv, python


@pytest.mark.parametrize(("core", "version"), TARGETS, ids=TARGET_IDS)
def test_kubeconfig_file_info_runs_on_oldest_target_python(tmp_path: Path, core: str, version: str | None) -> None:
    venv, python = core_and_python(core, version)
    path = tmp_path / "config"
    path.write_bytes(KUBECONFIG)
    path.chmod(0o640)
    result = run_module(tmp_path, venv, python, "kubeconfig_file_info", {"path": str(path)})
    assert result["exists"] is True and result["changed"] is False
    assert result["mode"] == "0640"
    assert result["checksum"] == hashlib.sha256(KUBECONFIG).hexdigest()
    assert result["content"] == base64.b64encode(KUBECONFIG).decode()
    missing = run_module(tmp_path, venv, python, "kubeconfig_file_info", {"path": str(tmp_path / "absent" / "config")})
    assert missing["exists"] is False and missing["directory_exists"] is False


@pytest.mark.parametrize(("core", "version"), TARGETS, ids=TARGET_IDS)
def test_kubeconfig_file_runs_on_oldest_target_python(tmp_path: Path, core: str, version: str | None) -> None:
    if not (ROOT / "plugins" / "modules" / "kubeconfig_file.py").exists():
        pytest.skip("plugins/modules/kubeconfig_file.py does not exist yet")
    venv, python = core_and_python(core, version)
    path = tmp_path / "home" / ".kube" / "config"
    (tmp_path / "home").mkdir()
    result = run_module(tmp_path, venv, python, "kubeconfig_file", {"path": str(path), "content": KUBECONFIG.decode(), "mode": "0600"})
    assert result["changed"] is True
    assert path.read_bytes() == KUBECONFIG
    assert path.stat().st_mode & 0o777 == 0o600
    again = run_module(tmp_path, venv, python, "kubeconfig_file", {"path": str(path), "content": KUBECONFIG.decode(), "mode": "0600"})
    assert again["changed"] is False
