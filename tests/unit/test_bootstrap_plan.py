"""scripts/bootstrap-venv.sh --plan: which Python runs each core, found on PATH or under pyenv.

The Pythons here are stand-ins (shell scripts that behave like a working or a broken
interpreter), so each machine layout is tested without installing anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap-venv.sh"
WORKING = "#!/bin/sh\nexit 0\n"
# What a pyenv shim of a version that is not selected does.
BROKEN = "#!/bin/sh\necho 'pyenv: {name}: command not found' >&2\nexit 127\n"


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.format(name=path.name))
    path.chmod(0o755)
    return path


def tools(tmp_path: Path) -> Path:
    """A directory with the commands the script uses, and no Python."""
    bin_dir = tmp_path / "tools"
    if not bin_dir.is_dir():
        bin_dir.mkdir()
        for tool in ("sed", "sort", "tr", "awk", "cat", "sha256sum", "cut", "grep", "ls", "dirname"):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    return bin_dir


def run_plan(tmp_path: Path, path_dirs: list[Path], pyenv: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.pathsep.join(str(d) for d in [*path_dirs, tools(tmp_path)]), "PYENV_ROOT": str(pyenv), "HOME": str(tmp_path / "home")}
    return subprocess.run([shutil.which("bash"), str(SCRIPT), "--plan"], env=env, capture_output=True, text=True, check=False)


def plan(tmp_path: Path, path_dirs: list[Path], pyenv: Path) -> dict[str, tuple[str, str]]:
    """core -> (venv or "-", Python or the reason), as the script prints it."""
    result = run_plan(tmp_path, path_dirs, pyenv)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    return {core: (venv, python) for core, venv, python in rows}


def test_only_python_311_on_path_means_219_is_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "path"
    executable(path / "python3.11", WORKING)
    found = plan(tmp_path, [path], tmp_path / "no-pyenv")
    assert found["2.19"] == (str(ROOT / ".venv"), str(path / "python3.11"))
    assert found["2.16"] == (str(ROOT / ".venv-2.16"), str(path / "python3.11"))
    for core in ("2.20", "2.21"):
        venv, why = found[core]
        assert venv == "-" and "Python 3.12, 3.13 or 3.14" in why and str(tmp_path / "no-pyenv") in why, found[core]


def test_pythons_from_path_and_pyenv(tmp_path: Path) -> None:
    path = tmp_path / "path"
    executable(path / "python3.11", WORKING)
    executable(path / "python3.12", WORKING)
    pyenv = tmp_path / "pyenv"
    executable(pyenv / "versions" / "3.13.0" / "bin" / "python3.13", WORKING)
    found = plan(tmp_path, [path], pyenv)
    assert found["2.21"] == (str(ROOT / ".venv"), str(pyenv / "versions" / "3.13.0" / "bin" / "python3.13"))
    assert found["2.20"] == (str(ROOT / ".venv-2.20"), str(path / "python3.12"))
    assert found["2.19"] == (str(ROOT / ".venv-2.19"), str(path / "python3.11"))


def test_a_broken_shim_is_passed_over_and_the_newest_pyenv_patch_wins(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    executable(shims / "python3.11", WORKING)
    executable(shims / "python3.13", BROKEN)
    executable(shims / "python3.12", BROKEN)
    pyenv = tmp_path / "pyenv"
    for version in ("3.12.1", "3.12.10", "3.12.9"):
        executable(pyenv / "versions" / version / "bin" / "python3.12", WORKING)
    found = plan(tmp_path, [shims], pyenv)
    newest_312 = str(pyenv / "versions" / "3.12.10" / "bin" / "python3.12")
    # 2.21 prefers 3.13, which only exists as a broken shim here: it takes 3.12.
    assert found["2.21"] == (str(ROOT / ".venv"), newest_312)
    assert found["2.20"] == (str(ROOT / ".venv-2.20"), newest_312)


def test_no_usable_python_at_all_is_an_error(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    for version in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        executable(shims / f"python{version}", BROKEN)
    result = run_plan(tmp_path, [shims], tmp_path / "no-pyenv")
    assert result.returncode != 0
    assert "no supported ansible-core can run here" in result.stderr
