"""A new settable field of the fleet's context is one row of _kubeconfig.CONTEXT_SETTINGS.

Every reader, check, merge and report walks that table: the module's input rules, the merge
into a file, the decision for an existing file, the role's variables, its plan and its write.
This test adds a made-up field, with its option in the one argument spec (_argspec), and follows
it through all of them; the only other edits a real field needs are its documentation in the
module and the role's argument spec, which sanity and the role's spec test keep in step.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _argspec
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as check
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import build
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._role import read_variables
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import FLEET_ID, NOW, make_kubeconfig
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__settings import params

NAME = f"ucs-fleet-{FLEET_ID}"
TIER = kc.ContextSetting("tier", re.compile(r"^[a-z]+$"), "lower-case letters")


@pytest.fixture(autouse=True)
def _with_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """The row, and the option's declaration in the one argument spec."""
    monkeypatch.setattr(kc, "CONTEXT_SETTINGS", (*kc.CONTEXT_SETTINGS, TIER))
    declared = _argspec.federation_cert_argument_spec
    monkeypatch.setattr(_argspec, "federation_cert_argument_spec", lambda: dict(declared(), tier={"type": "str"}))


def fleet_download() -> dict[str, Any]:
    return make_kubeconfig().config


def context_of(text: str, name: str) -> dict[str, Any]:
    return next(item["context"] for item in yaml.safe_load(text)["contexts"] if item["name"] == name)


def test_the_module_reads_checks_writes_and_reports_the_new_field() -> None:
    with pytest.raises(UcsValidationError, match=r"tier 'Gold' is not lower-case letters") as info:
        build(params(tier="Gold"))
    assert info.value.option == "tier"

    wanted = build(params(tier="gold", namespace="team-a")).wanted
    assert wanted.context_fields == {"namespace": "team-a", "tier": "gold"}
    own, _info, _warnings = check.accept_download(fleet_download(), wanted, 365, NOW)
    written = kc.render_kubeconfig(None, own, wanted)
    name = wanted.context_name
    assert context_of(written, name) == {"cluster": name, "user": name, "namespace": "team-a", "tier": "gold"}

    verdict = check.check_entries(written, wanted, NOW)
    assert verdict.reason is None and check.summary(verdict.info)["tier"] == "gold"
    other = wanted._replace(context_fields={"tier": "silver"})
    verdict = check.check_entries(written, other, NOW)
    assert (verdict.reason, verdict.fetch) == (f"context '{name}' does not have tier 'silver'", False)


def test_a_field_the_user_does_not_set_is_kept_from_the_file() -> None:
    wanted = build(params(tier="gold")).wanted
    own, _info, _warnings = check.accept_download(fleet_download(), wanted, 365, NOW)
    first = kc.render_kubeconfig(None, own, wanted)
    unset = wanted._replace(context_fields={})
    assert context_of(kc.render_kubeconfig(first, own, unset), wanted.context_name)["tier"] == "gold"
    assert check.check_entries(first, unset, NOW).reason is None


def test_the_role_reads_plans_and_writes_the_new_field() -> None:
    values = {"ucs_kubeconfig_fleet_id": FLEET_ID, "ucs_kubeconfig_tier": "Gold"}
    with pytest.raises(UcsValidationError, match=r"^ucs_kubeconfig_tier 'Gold' is not lower-case letters$"):
        read_variables(values.get)

    values["ucs_kubeconfig_tier"] = "gold"
    settings = read_variables(values.get).settings
    assert settings.wanted.context_fields == {"tier": "gold"}
    own, _info, _warnings = check.accept_download(fleet_download(), settings.wanted, 365, NOW)
    written = planner.content_to_write(None, kc.dump_kubeconfig(own), True, settings, path="/home/ops/.kube/config")
    assert context_of(written.decode(), NAME)["tier"] == "gold"
