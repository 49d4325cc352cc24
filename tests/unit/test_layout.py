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


@pytest.mark.parametrize("path", sorted((PLUGINS / "modules").glob("*.py")), ids=lambda path: path.name)
def test_the_documentation_blocks_are_yaml(path: Path) -> None:
    """A plain scalar with ': ' in it breaks ansible-doc (and sanity) minutes later: caught here."""
    import ast

    import yaml

    blocks = {
        node.targets[0].id: node.value.value
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
    }
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
    for name, text in blocks.items():
        assert yaml.safe_load(text) is not None, f"{path.name}: {name} is empty"
