"""A new settable field of the fleet's context is one row of _kubeconfig.CONTEXT_SETTINGS.

Every reader, check, merge and report walks that table: the module's input rules, the merge
into a file, the decision for an existing file, the role's variables, its plan and its write.
This test adds a made-up field and follows it through all of them; the only other edits a real
field needs are declarations (the module's option and docs, the role's default and argument
spec), which ansible-test sanity and ansible-lint check against each other.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from ansible_collections.ucs_cloud.fleet.plugins.action import kubeconfig_install as install
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _federation as federation
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig_check as check
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils import _ucs_kubeconfig as role
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.action.test_ucs_kubeconfig_role import DEFAULTS
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.kubeconfig_factory import FLEET_ID, NOW, make_kubeconfig
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.module_utils.test__federation import params

NAME = f"ucs-fleet-{FLEET_ID}"
TIER = kc.ContextSetting("tier", re.compile(r"^[a-z]+$"), "lower-case letters")


@pytest.fixture(autouse=True)
def _with_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kc, "CONTEXT_SETTINGS", (*kc.CONTEXT_SETTINGS, TIER))


def fleet_download() -> dict[str, Any]:
    return make_kubeconfig().config


def context_of(text: str, name: str) -> dict[str, Any]:
    return next(item["context"] for item in yaml.safe_load(text)["contexts"] if item["name"] == name)


def test_the_module_reads_checks_writes_and_reports_the_new_field() -> None:
    with pytest.raises(UcsValidationError, match=r"tier 'Gold' is not lower-case letters") as info:
        federation.validate_request(params(tier="Gold"))
    assert info.value.option == "tier"

    wanted = federation.validate_request(params(tier="gold", namespace="team-a")).wanted
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
    wanted = federation.validate_request(params(tier="gold")).wanted
    own, _info, _warnings = check.accept_download(fleet_download(), wanted, 365, NOW)
    first = kc.render_kubeconfig(None, own, wanted)
    unset = wanted._replace(context_fields={})
    assert context_of(kc.render_kubeconfig(first, own, unset), wanted.context_name)["tier"] == "gold"
    assert check.check_entries(first, unset, NOW).reason is None


def test_the_role_reads_plans_and_writes_the_new_field() -> None:
    values = {**DEFAULTS, "tier": "Gold"}
    found, errors = role.read_settings(lambda name: values.get(name[len(role.PREFIX) :]))
    assert found is None and errors == ["ucs_kubeconfig_tier 'Gold' is not lower-case letters"]

    values["tier"] = "gold"
    found, errors = role.read_settings(lambda name: values.get(name[len(role.PREFIX) :]))
    assert found is not None, errors
    public = found.public()
    assert public["tier"] == "gold" and public["namespace"] is None
    assert role.wanted_from(public) == found.wanted._replace(standalone=False)

    own, _info, _warnings = check.accept_download(fleet_download(), found.wanted, 365, NOW)
    plan = {"path": "/home/ops/.kube/config", "needs_entries": True, "settings": public}
    assert context_of(install.content_to_write(plan, None, kc.dump_kubeconfig(own)), NAME)["tier"] == "gold"
