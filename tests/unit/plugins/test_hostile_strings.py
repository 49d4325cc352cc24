"""Every string option of the module, and every string variable of the role, refuses a trailing
newline, a leading space and a NUL before any request, naming the option (or the variable), and
never shows the value (it may be a secret).

The options come from the one argument spec, so a new string option is tested without an edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import federation_cert_argument_spec, role_argument_spec, role_variable
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.plugin_utils._role import read_variables
from ansible_collections.ucs_cloud.fleet.tests.unit.module_args import refused_naming
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.modules import test_ucs_federation_cert as cert_tests
from ansible_collections.ucs_cloud.fleet.tests.unit.plugins.modules.test_ucs_federation_cert import FLEET, VPC, FakeClient, calls, run_main

# The module tests' fixture that puts FakeClient in place of UcsClient, used here by name.
fake = cert_tests.fake

HOSTILE = {"trailing newline": "{}\n", "leading space": " {}", "NUL": "{}\x00x"}
# A plausible value of each string option, made hostile below.
PLAUSIBLE = {
    "fleet_id": FLEET,
    "vpc_id": VPC,
    "project_id": "08d44be1ef00d22e2f6fc0061f54a2f1",
    "subnet_id": "0de91d89-1e06-4e24-b371-35d5d3d3779b",
    "endpoint": "https://ucs.example.test",
    "region": "ap-southeast-1",
    "auth_method": "aksk",
    "iam_endpoint": "https://iam.example.test/v3",
    "mode": "0600",
    "dir_mode": "0700",
    "namespace": "team-a",
    "owner": "root",
    "group": "root",
}


def string_options(spec: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(name for name, option in spec.items() if option.get("type", "str") in ("str", "path", "raw"))


def hostile(option: str, kind: str, tmp_path: Path) -> str:
    plain = str(tmp_path / "config") if option == "dest" else PLAUSIBLE.get(option, f"value-of-{option.replace('_', '-')}")
    return HOSTILE[kind].format(plain)


@pytest.mark.usefixtures("fake")
@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("option", string_options(federation_cert_argument_spec()))
def test_the_module_refuses_it_before_any_request(option: str, kind: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    value = hostile(option, kind, tmp_path)
    result = run_main(capsys, **{"dest": str(tmp_path / "config"), option: value})
    assert result.get("failed"), f"{option} with a {kind} was accepted"
    assert refused_naming(option, value, result["msg"]), result["msg"]
    assert calls(FakeClient) == [] and not (tmp_path / "config").exists()
    if federation_cert_argument_spec()[option].get("no_log"):
        assert value.strip("\n\x00 x") not in result["msg"]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("option", string_options(role_argument_spec()))
def test_the_role_refuses_it_naming_its_variable(option: str, kind: str, tmp_path: Path) -> None:
    variables = {"ucs_kubeconfig_fleet_id": FLEET, role_variable(option): hostile(option, kind, tmp_path)}
    with pytest.raises(UcsValidationError) as info:
        read_variables(variables.get)
    assert role_variable(option) in info.value.msg
    if role_argument_spec()[option].get("no_log"):
        assert variables[role_variable(option)].strip("\n\x00 x") not in info.value.msg
