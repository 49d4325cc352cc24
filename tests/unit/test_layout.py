"""Structural rules of the product code that ruff does not check (issue 15).

Complexity is ruff's (C901 at 10, ruff.toml); the size of a file is checked here: a file over
600 lines does more than one job and is to be split by job, as _kubeconfig/_kubeconfig_check
and _http/_http_answer/_http_retry were.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
MAX_LINES = 600


@pytest.mark.parametrize("path", sorted(PLUGINS.rglob("*.py")), ids=lambda path: str(path.relative_to(PLUGINS)))
def test_no_product_file_is_over_600_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PLUGINS)} has {lines} lines: split it by job"
