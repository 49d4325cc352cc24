"""The reference tables of the docs against the code they describe.

Nothing in the tables is generated, so these tests read them the way a user does and compare
them with the sources: a role variable, module option, environment variable or AWX credential
field without its row fails, and so does a row that pairs names that do not belong together.

- docs/user-guide.md, "Variables quick reference": every variable of the role's argument spec
  (roles/ucs_kubeconfig/meta/argument_specs.yml), every option and alias of ucs_federation_cert,
  every environment variable the module falls back to (its argument spec and OPTION_ENV), and
  every field of the AWX credential type (extensions/awx/ucs_credential_type.yml).
- docs/getting-started.md, the table of the simulator's seeded values: every value a user needs
  is there, as the simulator seeds it and as its --help lists it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ROOT, SIMULATOR
from ucs_simulator import DEFAULT_SEED

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _argspec, _auth

USER_GUIDE = ROOT / "docs" / "user-guide.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
ROLE_SPEC = ROOT / "roles" / "ucs_kubeconfig" / "meta" / "argument_specs.yml"
AWX_CREDENTIAL_TYPE = ROOT / "extensions" / "awx" / "ucs_credential_type.yml"

ROLE_PREFIX = "ucs_kubeconfig_"
ROLE_VARIABLE_RE = re.compile(r"ucs_kubeconfig_[a-z0-9_]+")
OPTION_RE = re.compile(r"[a-z][a-z0-9_]*")
ENV_RE = re.compile(r"[A-Z][A-Z0-9_]*")
CODE_RE = re.compile(r"`([^`]+)`")


# --- reading the docs ------------------------------------------------------------------------------


def section(path: Path, title: str) -> str:
    """The text under the heading named title, up to the next heading of its level or above."""
    text = path.read_text()
    match = re.search(rf"^(#+) {re.escape(title)}\s*$", text, re.M)
    assert match, f"{path.relative_to(ROOT)} has no heading '{title}'"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, match.end())
    return text[match.end() : end.start() if end else len(text)]


def table(text: str) -> Iterator[dict[str, str]]:
    """The rows of the first Markdown table in text, as {header: cell}."""
    lines = [line.strip() for line in text.splitlines()]
    start = next((index for index, line in enumerate(lines) if line.startswith("|")), None)
    assert start is not None, "no table there"
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            return
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(header), f"a row with {len(cells)} cells under {len(header)} headers: {line}"
        yield dict(zip(header, cells))


def names(cell: str, pattern: re.Pattern[str]) -> list[str]:
    """The `code` spans of a cell that look like names of that kind (values such as `0700` are prose)."""
    return [code for code in CODE_RE.findall(cell) if pattern.fullmatch(code)]


# --- the sources -------------------------------------------------------------------------------------


def role_variables() -> set[str]:
    return set(yaml.safe_load(ROLE_SPEC.read_text())["argument_specs"]["main"]["options"])


def module_spec() -> dict[str, dict[str, Any]]:
    return _argspec.federation_cert_argument_spec()


def option_env() -> dict[str, list[str]]:
    """The environment variables of each option, first found wins: the argument spec's fallbacks."""
    found = {name: list(spec["fallback"][1]) for name, spec in module_spec().items() if "fallback" in spec}
    # The tables the messages name the variables from must agree with what the module reads.
    for module in (_argspec, _auth):
        for option, variables in getattr(module, "OPTION_ENV", {}).items():
            assert found.get(option) == list(variables), f"{module.__name__}.OPTION_ENV[{option!r}] is {variables}, the argument spec reads {found.get(option)}"
    return found


def env_option() -> dict[str, str]:
    return {variable: option for option, variables in option_env().items() for variable in variables}


def awx_fields() -> dict[str, list[str]]:
    """Each field of the AWX credential type and the environment variables its injectors fill."""
    credential_type = yaml.safe_load(AWX_CREDENTIAL_TYPE.read_text())
    injected = credential_type["injectors"]["env"]
    return {
        field["id"]: [variable for variable, template in injected.items() if re.search(rf"\b{field['id']}\b", template)]
        for field in credential_type["inputs"]["fields"]
    }


def option_of(role_variable: str) -> str:
    return _argspec.role_variables().get(role_variable, role_variable[len(ROLE_PREFIX) :])


# --- the quick reference ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_reference() -> list[dict[str, str]]:
    rows = list(table(section(USER_GUIDE, "Variables quick reference")))
    assert rows, "the quick reference has no rows"
    return rows


def column(rows: list[dict[str, str]], header: str, pattern: re.Pattern[str]) -> list[str]:
    return [name for row in rows for name in names(row[header], pattern)]


def test_quick_reference_lists_every_role_variable(quick_reference: list[dict[str, str]]) -> None:
    listed = column(quick_reference, "Role variable", ROLE_VARIABLE_RE)
    assert sorted(role_variables() - set(listed)) == [], "role variables without a row in the user guide's quick reference"
    assert sorted(set(listed) - role_variables()) == [], "rows for role variables that roles/ucs_kubeconfig/meta/argument_specs.yml does not have"
    assert len(listed) == len(set(listed)), "a role variable has two rows"


def test_quick_reference_lists_every_module_option(quick_reference: list[dict[str, str]]) -> None:
    spec = module_spec()
    aliases = {alias: name for name, option in spec.items() for alias in option.get("aliases", [])}
    listed = column(quick_reference, "Module option", OPTION_RE)
    assert sorted(set(spec) - set(listed)) == [], "options of ucs_federation_cert without a row in the quick reference"
    assert sorted(set(aliases) - set(listed)) == [], "aliases of ucs_federation_cert not in the quick reference"
    assert sorted(set(listed) - set(spec) - set(aliases)) == [], "rows for module options that ucs_federation_cert does not have"
    options = [name for name in listed if name in spec]
    assert len(options) == len(set(options)), "a module option has two rows"


def test_quick_reference_lists_every_environment_variable(quick_reference: list[dict[str, str]]) -> None:
    read = set(env_option())
    listed = column(quick_reference, "Environment variable", ENV_RE)
    assert sorted(read - set(listed)) == [], "environment variables the module reads, without a row in the quick reference"
    assert sorted(set(listed) - read) == [], "environment variables in the quick reference that the module does not read"


def test_quick_reference_lists_every_awx_credential_field(quick_reference: list[dict[str, str]]) -> None:
    listed = column(quick_reference, "AWX credential field", OPTION_RE)
    assert sorted(set(awx_fields()) - set(listed)) == [], f"fields of {AWX_CREDENTIAL_TYPE.name} without a row in the quick reference"
    assert sorted(set(listed) - set(awx_fields())) == [], f"fields in the quick reference that {AWX_CREDENTIAL_TYPE.name} does not have"


def test_quick_reference_rows_name_one_setting(quick_reference: list[dict[str, str]]) -> None:
    """Each row's role variable, option, environment variables (in their order) and AWX field belong together."""
    spec, env, fields = module_spec(), option_env(), awx_fields()
    problems = []
    for row in quick_reference:
        roles = names(row["Role variable"], ROLE_VARIABLE_RE)
        options = [name for name in names(row["Module option"], OPTION_RE) if name in spec]
        variables = names(row["Environment variable"], ENV_RE)
        awx = names(row["AWX credential field"], OPTION_RE)
        where = f"row {' '.join(roles + options)}"
        if len(roles) > 1 or len(options) > 1 or not roles + options:
            problems.append(f"{where}: one role variable and one module option per row")
            continue
        option = options[0] if options else None
        if roles and option and option_of(roles[0]) != option:
            problems.append(f"{where}: {roles[0]} sets the option {option_of(roles[0])}, not {option}")
        if variables != env.get(option, []):
            problems.append(f"{where}: environment variables {variables}, the module reads {env.get(option, [])}")
        for field in awx:
            if not variables or fields.get(field, [None])[0] != variables[0]:
                problems.append(f"{where}: the AWX field {field} fills {fields.get(field)}, not {variables[:1]}")
    assert not problems, "rows of the quick reference that do not match the code:\n" + "\n".join(problems)


# --- the walkthrough's seeded values ------------------------------------------------------------------


def user_seed_values() -> dict[str, str]:
    """The seeded values a user types, by where they are in the seed."""
    seed = DEFAULT_SEED
    values = {
        "domain.id": seed["domain"]["id"],
        "domain.name": seed["domain"]["name"],
        "iam_user.name": seed["iam_user"]["name"],
        "iam_user.password": seed["iam_user"]["password"],
    }
    for key in ("aksk", "temporary_aksk", "network", "other_network"):
        values.update({f"{key}.{name}": value for name, value in seed[key].items()})
    values.update({f"fleets[{index}].id": fleet["id"] for index, fleet in enumerate(seed["fleets"])})
    return values


def test_walkthrough_seed_table_is_the_simulators_seed() -> None:
    rows = list(table(section(GETTING_STARTED, "4. What the simulator is seeded with")))
    commands = "\n".join(re.findall(r"^```sh\n(.*?)^```", GETTING_STARTED.read_text(), re.S | re.M))
    seeded = user_seed_values()
    env, roles = env_option(), role_variables()
    help_text = subprocess.run([sys.executable, str(SIMULATOR), "--help"], capture_output=True, text=True, check=True).stdout
    problems = []
    shown = set()
    for row in rows:
        values = CODE_RE.findall(row["Value"])
        shown.update(values)
        for value in values:
            if value not in seeded.values() and value not in commands:
                problems.append(f"{value}: neither seeded by the simulator nor used by the walkthrough's commands")
        for variable in names(row["Environment variable"], ENV_RE):
            if variable not in env:
                problems.append(f"{variable}: the module reads no such environment variable")
        for role_variable in names(row["Role variable"], ROLE_VARIABLE_RE):
            if role_variable not in roles:
                problems.append(f"{role_variable}: the role has no such variable")
        from_env = {env[v] for v in names(row["Environment variable"], ENV_RE) if v in env}
        from_roles = {option_of(v) for v in names(row["Role variable"], ROLE_VARIABLE_RE)}
        if from_env and from_roles and from_env != from_roles:
            problems.append(f"{row['Seeded item']}: the environment variables set {sorted(from_env)}, the role variables {sorted(from_roles)}")
    for where, value in seeded.items():
        if value not in shown:
            problems.append(f"the seed's {where} ({value}) is not in the table")
        if value not in help_text:
            problems.append(f"the seed's {where} ({value}) is not in the simulator's --help")
    for fleet in DEFAULT_SEED["fleets"]:
        if not any(fleet["name"] in row["Seeded item"] for row in rows):
            problems.append(f"the fleet {fleet['name']} is not named in the table")
    assert "docs/getting-started.md" in help_text, "the simulator's --help does not point to the walkthrough"
    assert not problems, "the walkthrough's table of seeded values does not match the simulator:\n" + "\n".join(problems)


# --- links -------------------------------------------------------------------------------------------

LINKED_DOCUMENTS = [ROOT / "README.md", GETTING_STARTED, USER_GUIDE]
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes of a Markdown file's headings."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("document", LINKED_DOCUMENTS, ids=[p.name for p in LINKED_DOCUMENTS])
def test_links_resolve(document: Path) -> None:
    """Every relative link of the document names a file of the checkout, and a heading of it."""
    broken = []
    for link in LINK_RE.findall(document.read_text()):
        if re.match(r"[a-z]+:", link):
            continue
        target, anchor = link.partition("#")[::2]
        path = (document.parent / target).resolve() if target else document
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and (path.suffix != ".md" or anchor not in anchors(path)):
            broken.append(f"{link}: no heading with that anchor")
    assert not broken, f"broken links in {document.relative_to(ROOT)}:\n" + "\n".join(broken)
