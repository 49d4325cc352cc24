"""One supported ansible-core range, stated the same everywhere.

The supported cores are the requirements-test-<core>.txt files (scripts/bootstrap-venv.sh builds
and tests one venv per file). Every statement of the range must agree with them: requires_ansible
in meta/runtime.yml, the role's min_ansible_version, the execution environment's pin, and the
sentences of the README, the guides and the AWX and EE pages ("ansible-core 2.16 to 2.21",
"ansible-core>=2.16,<2.22", "ansible-core 2.16 or later", or a list of every core).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


CORES = sorted((p.name[len("requirements-test-") : -len(".txt")] for p in ROOT.glob("requirements-test-*.txt")), key=version)
OLDEST, NEWEST = CORES[0], CORES[-1]
NEXT = f"{version(NEWEST)[0]}.{version(NEWEST)[1] + 1}"

RANGE_RE = re.compile(r"ansible-core (\d+\.\d+) to (\d+\.\d+)")
PIN_RE = re.compile(r"ansible-core\s*>=\s*(\d+\.\d+)(?:\.0)?\s*,\s*<\s*(\d+\.\d+)")
LATER_RE = re.compile(r"ansible-core (\d+\.\d+) or later")
LIST_RE = re.compile(r"ansible-core (\d+\.\d+(?:, \d+\.\d+)*,? (?:and|or) \d+\.\d+)")

# Where the range is stated to users (each must state it), and every other text that may mention it.
MUST_STATE = {
    "README.md": RANGE_RE,
    "docs/user-guide.md": RANGE_RE,
    "extensions/ee/README.md": RANGE_RE,
    "extensions/ee/execution-environment.yml": PIN_RE,
    "extensions/awx/README.md": RANGE_RE,
    "meta/runtime.yml": RANGE_RE,
}
TEXTS = ("*.md", "docs/*.md", "extensions/**/*", "roles/**/*.md", "roles/**/*.yml", "meta/*.yml", "*.txt", "changelogs/fragments/*.yml")
SCANNED = sorted(
    {*MUST_STATE, *(p.relative_to(ROOT).as_posix() for pattern in TEXTS for p in ROOT.glob(pattern) if p.is_file())}
    - {"docs/benchmarks.md"}  # measurements of named releases, not a statement of support
)


def test_the_cores_are_a_contiguous_range() -> None:
    assert len(CORES) >= 2
    majors = {version(core)[0] for core in CORES}
    assert majors == {2}, CORES
    minors = [version(core)[1] for core in CORES]
    assert minors == list(range(minors[0], minors[-1] + 1)), f"a supported core is missing between {OLDEST} and {NEWEST}: {CORES}"


@pytest.mark.parametrize("core", CORES)
def test_each_core_file_pins_its_core_and_names_its_pythons(core: str) -> None:
    text = (ROOT / f"requirements-test-{core}.txt").read_text()
    pins = re.findall(r"^ansible-core==(\S+)$", text, re.M)
    assert len(pins) == 1 and pins[0].startswith(f"{core}."), f"requirements-test-{core}.txt must pin one ansible-core {core}.x: {pins}"
    pythons = re.findall(r"^# pythons: (.+)$", text, re.M)
    assert len(pythons) == 1 and all(re.fullmatch(r"3\.\d+", p) for p in pythons[0].split()), f"requirements-test-{core}.txt needs a '# pythons: 3.X' line"
    assert "-r requirements-test.txt" in text


def test_no_other_requirements_file_pins_a_core() -> None:
    for path in [*ROOT.glob("requirements*.txt"), *ROOT.glob("constraints*.txt")]:
        if not path.name.startswith("requirements-test-"):
            assert not re.search(r"^ansible-core\b", path.read_text(), re.M | re.I), f"{path.name} pins ansible-core: only requirements-test-<core>.txt may"


def test_requires_ansible_and_the_roles_minimum() -> None:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == f">={OLDEST}.0"
    for meta in ROOT.glob("roles/*/meta/main.yml"):
        assert str(yaml.safe_load(meta.read_text())["galaxy_info"]["min_ansible_version"]) == OLDEST, meta


def test_the_execution_environment_allows_every_core() -> None:
    definition = yaml.safe_load((ROOT / "extensions" / "ee" / "execution-environment.yml").read_text())
    assert PIN_RE.fullmatch(definition["dependencies"]["ansible_core"]["package_pip"].replace(" ", "")).groups() == (OLDEST, NEXT)
    # The EE's Python must run the newest core, whose own requirement names it.
    python = definition["dependencies"]["python_interpreter"]["python_path"]
    newest_pythons = re.search(r"^# pythons: (.+)$", (ROOT / f"requirements-test-{NEWEST}.txt").read_text(), re.M).group(1).split()
    assert re.search(r"python(3\.\d+)$", python).group(1) in newest_pythons, f"{python} cannot run ansible-core {NEWEST}"


@pytest.mark.parametrize("name", SCANNED)
def test_every_statement_of_the_range_agrees(name: str) -> None:
    text = (ROOT / name).read_text()
    flat = re.sub(r"\s+", " ", text.replace("#", " "))  # statements wrap over lines and comments
    problems = []
    for low, high in RANGE_RE.findall(flat):
        if (low, high) != (OLDEST, NEWEST):
            problems.append(f"'ansible-core {low} to {high}' (the supported range is {OLDEST} to {NEWEST})")
    for low, high in PIN_RE.findall(text):
        if (low, high) != (OLDEST, NEXT):
            problems.append(f"'ansible-core>={low},<{high}' (it must be >={OLDEST},<{NEXT})")
    for low in LATER_RE.findall(flat):
        if low != OLDEST:
            problems.append(f"'ansible-core {low} or later' (the oldest supported core is {OLDEST})")
    for listed in LIST_RE.findall(flat):
        if re.findall(r"\d+\.\d+", listed) != CORES:
            problems.append(f"'ansible-core {listed}' (the supported cores are {', '.join(CORES)})")
    assert not problems, f"{name} states another range: " + "; ".join(problems)
    if name in MUST_STATE:
        assert MUST_STATE[name].search(flat if MUST_STATE[name] is RANGE_RE else text), f"{name} must state the supported range ({MUST_STATE[name].pattern})"
