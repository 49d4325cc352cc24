# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Argument spec of the connection and credential options shared by every module.

Mirrors plugins/doc_fragments/connection.py; ansible-test's validate-modules keeps the two in step.
"""

import typing as t

from ansible.module_utils.basic import env_fallback


def _env(*names: str) -> "t.Tuple[t.Callable[..., t.Any], t.List[str]]":
    return (env_fallback, list(names))


def connection_argument_spec() -> "t.Dict[str, t.Dict[str, t.Any]]":
    """Return the shared options; each module adds its own to a copy."""
    return {
        # No default: resolved from region by _endpoints.resolve_endpoint() before any request, so that
        # credentials never go to a guessed host.
        "endpoint": {"type": "str", "fallback": _env("UCS_ENDPOINT")},
        "region": {"type": "str", "fallback": _env("HUAWEICLOUD_SDK_REGION", "OS_REGION_NAME")},
        "auth_method": {"type": "str", "default": "auto", "choices": ["auto", "aksk", "token", "password"]},
        # The access key ID identifies, it does not authenticate: shown in logs on purpose.
        "access_key": {"type": "str", "no_log": False, "fallback": _env("HUAWEICLOUD_SDK_AK", "OS_ACCESS_KEY")},
        "secret_key": {"type": "str", "no_log": True, "fallback": _env("HUAWEICLOUD_SDK_SK", "OS_SECRET_KEY")},
        "security_token": {"type": "str", "no_log": True, "fallback": _env("HUAWEICLOUD_SDK_SECURITY_TOKEN", "OS_SECURITY_TOKEN")},
        "domain_id": {"type": "str", "fallback": _env("HUAWEICLOUD_SDK_DOMAIN_ID", "OS_DOMAIN_ID")},
        "auth_token": {"type": "str", "no_log": True, "fallback": _env("OS_AUTH_TOKEN")},
        "username": {"type": "str", "fallback": _env("OS_USERNAME")},
        "password": {"type": "str", "no_log": True, "fallback": _env("OS_PASSWORD")},
        "domain_name": {"type": "str", "fallback": _env("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME")},
        "iam_endpoint": {"type": "str", "fallback": _env("OS_AUTH_URL")},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path", "fallback": _env("UCS_CA_PATH")},
        "timeout": {"type": "int", "default": 30},
        "retries": {"type": "int", "default": 3},
    }


def unset_blank_values(params: "t.Dict[str, t.Any]", spec: "t.Mapping[str, t.Mapping[str, t.Any]]") -> None:
    """Treat empty strings of environment-backed options as unset.

    AWX and Automation Platform inject every variable of a credential type, empty when a
    field is blank; an empty HUAWEICLOUD_SDK_PROJECT_ID means "not given", not "the empty ID".
    """
    for name, option in spec.items():
        if "fallback" in option and isinstance(params.get(name), str) and not params[name].strip():
            params[name] = option.get("default")
