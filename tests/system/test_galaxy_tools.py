"""The checks Galaxy, Automation Hub and the Ansible docsite run on a collection.

- galaxy-importer (what Galaxy and Automation Hub run on an upload), from its own venv
  (.venv-galaxy-importer, its own pins) on the tarball that `ansible-galaxy collection build`
  makes, configured as Galaxy runs it: ansible-doc of every plugin and role, ansible-lint
  (production profile, offline), the changelog check, the required tags of Automation Hub, and
  flake8 of the plugins. Its ansible-test step needs a container engine (`ansible-test sanity
  --docker`), which this machine lacks: it is off, and `make test` runs ansible-test sanity on
  every supported core instead. The importer's findings must be exactly the explained ones
  (docs/development.md, "galaxy-importer"); anything else fails.
- antsibull-docs lint-collection-docs: the docsite's checks of the plugin and role docs and
  their references (to this collection and to ansible.builtin).
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import pytest
import yaml
from ecosystem_helpers import GALAXY, build_collection, clean_env, run_tool
from harness import ROOT, VENV_BIN

IMPORTER_VENV = ROOT / ".venv-galaxy-importer"
# Galaxy refuses a collection without a source repository; this one has none yet (galaxy.yml).
NO_REPOSITORY = "Invalid collection metadata. 'repository' is required"
# A stand-in, only for the importer's second run: .invalid never resolves (RFC 2606).
STAND_IN_REPOSITORY = "https://example.invalid/ucs_cloud/fleet"
# The importer's explained warnings (docs/development.md), as regular expressions.
EXPLAINED_WARNINGS = {
    # awx.awx is needed only by that admin playbook and is not a dependency of the collection;
    # the project's own ansible-lint run mocks the module (.ansible-lint), Galaxy's cannot.
    r"playbooks/awx_credential_type\.yml:\d+:\d+: syntax-check\[unknown-module\]: couldn't resolve module/action 'awx\.awx\.credential_type'.*",
}
CONFIG = """\
[galaxy-importer]
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
check_required_tags = True
run_flake8 = True
require_v1_or_greater = False
run_ansible_test = False
ansible_local_tmp = {tmp}/ansible-local
tmp_root_dir = {tmp}
log_level_main = INFO
"""


def with_repository(tarball: Path, target: Path) -> Path:
    """A copy of the tarball whose MANIFEST.json names a stand-in repository."""
    with tarfile.open(tarball) as source, tarfile.open(target, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name == "MANIFEST.json":
                manifest = json.loads(data)
                manifest["collection_info"]["repository"] = STAND_IN_REPOSITORY
                data = json.dumps(manifest, indent=4).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data) if data is not None else None)
    return target


def run_importer(tarball: Path, work: Path) -> tuple[int, str, dict]:
    """galaxy-importer on a tarball, in a fresh HOME; exit code, log and importer_result.json."""
    if not (IMPORTER_VENV / "bin" / "python").exists():
        pytest.fail(f"{IMPORTER_VENV} is missing: scripts/bootstrap-venv.sh galaxy-importer makes it")
    work.mkdir()
    (work / "galaxy-importer.cfg").write_text(CONFIG.format(tmp=work))
    env = clean_env(work, collections_path=str(work / "no-collections"))
    env.update(
        HOME=str(work / "home"),
        GALAXY_IMPORTER_CONFIG=str(work / "galaxy-importer.cfg"),
        # Its ansible-doc and ansible-lint are those of its own venv, as on Galaxy.
        PATH=f"{IMPORTER_VENV / 'bin'}:/usr/bin:/bin",
    )
    result = run_tool([str(IMPORTER_VENV / "bin" / "python"), "-m", "galaxy_importer.main", str(tarball)], env, work, timeout=600)
    output = result.stdout + result.stderr
    report = work / "importer_result.json"
    return result.returncode, output, json.loads(report.read_text()) if report.is_file() else {}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    work = tmp_path_factory.mktemp("importer")
    tarball = build_collection(work)
    returncode, output, result = run_importer(tarball, work / "as-built")
    if GALAXY.get("repository"):
        return returncode, output, result
    # Without a repository Galaxy stops at the metadata; that, and only that, is expected.
    assert returncode != 0 and NO_REPOSITORY in output, f"galaxy.yml has no repository, yet the importer said:\n{output[-4000:]}"
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, errors
    # Everything else it checks, with a stand-in repository.
    (work / "with-repository").mkdir()
    return run_importer(with_repository(tarball, work / "with-repository" / tarball.name), work / "with-repository" / "run")


def test_galaxy_importer_accepts_the_tarball(imported: tuple[int, str, dict]) -> None:
    returncode, output = imported[0], imported[1]
    assert returncode == 0 and "Importer processing completed successfully" in output, output[-6000:]
    findings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    unexplained = [line for line in findings if not any(re.fullmatch(rf"(WARNING|ERROR): {pattern}", line) for pattern in EXPLAINED_WARNINGS)]
    assert not unexplained, "galaxy-importer findings to fix, or to explain in docs/development.md and EXPLAINED_WARNINGS:\n" + "\n".join(unexplained)
    # Each explained finding still occurs: a stale explanation hides nothing.
    stale = [pattern for pattern in EXPLAINED_WARNINGS if not any(re.fullmatch(rf"WARNING: {pattern}", line) for line in findings)]
    assert not stale, f"explained galaxy-importer warnings that no longer occur (drop them here and in docs/development.md): {stale}"


def test_galaxy_importer_reads_every_plugin_and_the_role(imported: tuple[int, str, dict]) -> None:
    result = imported[2]
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert result["requires_ansible"] == runtime["requires_ansible"]
    assert result["metadata"]["name"] == GALAXY["name"] and result["metadata"]["version"] == GALAXY["version"]
    contents = {(item["content_type"], item["name"]) for item in result["contents"]}
    modules = {path.stem for path in (ROOT / "plugins" / "modules").glob("*.py")}
    assert {("module", name) for name in modules} <= contents, contents
    assert ("role", "ucs_kubeconfig") in contents, contents
    # ansible-doc gave the importer the documentation of every module (what Galaxy shows).
    documented = {item["content_name"] for item in result["docs_blob"]["contents"] if item["content_type"] == "module" and item["doc_strings"]}
    assert documented == modules, f"modules without docs on Galaxy: {modules - documented}"
    roles = {item["content_name"]: item for item in result["docs_blob"]["contents"] if item["content_type"] == "role"}
    assert roles.get("ucs_kubeconfig", {}).get("readme_html"), "Galaxy would show no README of the role"
    assert result["docs_blob"]["collection_readme"]["html"], "Galaxy would show no README"


def test_antsibull_docs_lint(tmp_path: Path) -> None:
    result = run_tool(
        [
            str(VENV_BIN / "antsibull-docs"),
            "lint-collection-docs",
            "--plugin-docs",
            "--validate-collection-refs=dependent",
            "--check-extra-docs-refs",
            ".",
        ],
        clean_env(tmp_path),
        ROOT,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
