# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The one argument spec: the options of ucs_federation_cert and the variables of the role.

The module takes ``federation_cert_argument_spec()`` as it is. The role ucs_kubeconfig offers
every option as the variable ``ucs_kubeconfig_<option>`` (``dest`` is ``ucs_kubeconfig_path``)
and checks them with ``role_argument_spec()``, the same spec without the environment fallbacks
(the module applies those where it runs). A new option is declared here once, then documented in
the module and in the role's meta/argument_specs.yml; tests keep the documents in step.
"""

import typing as t

from ansible.module_utils.basic import env_fallback

# The environment variables each option falls back to, first found wins.
OPTION_ENV = {
    "endpoint": ("UCS_ENDPOINT",),
    "region": ("HUAWEICLOUD_SDK_REGION", "OS_REGION_NAME"),
    "access_key": ("HUAWEICLOUD_SDK_AK", "OS_ACCESS_KEY"),
    "secret_key": ("HUAWEICLOUD_SDK_SK", "OS_SECRET_KEY"),
    "security_token": ("HUAWEICLOUD_SDK_SECURITY_TOKEN", "OS_SECURITY_TOKEN"),
    "domain_id": ("HUAWEICLOUD_SDK_DOMAIN_ID", "OS_DOMAIN_ID"),
    "auth_token": ("OS_AUTH_TOKEN",),
    "username": ("OS_USERNAME",),
    "password": ("OS_PASSWORD",),
    "domain_name": ("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME"),
    "iam_endpoint": ("OS_AUTH_URL",),
    "ca_path": ("UCS_CA_PATH",),
    "project_id": ("HUAWEICLOUD_SDK_PROJECT_ID", "OS_PROJECT_ID"),
}  # type: t.Dict[str, t.Tuple[str, ...]]

ROLE_PREFIX = "ucs_kubeconfig_"
# Set to "role" in the environment of a module the role runs (its download step), so that the
# module's messages name the role's variables instead of its own options.
LABELS_ENV = "UCS_FLEET_MESSAGES_FOR"
# Module options the role names otherwise, leaves out, or adds.
ROLE_RENAMED = {"dest": "path"}
ROLE_EXCLUDED = ("return_content",)
ROLE_ONLY = {
    # The host that runs the module (credentials and Python libraries are there).
    "controller": {"type": "str", "default": "localhost"},
}  # type: t.Dict[str, t.Dict[str, t.Any]]
# `~` in the role's path is the home of the user on the target: no expansion on the controller.
ROLE_OVERRIDES = {"dest": {"type": "str", "default": "~/.kube/config"}}  # type: t.Dict[str, t.Dict[str, t.Any]]


def _option(spec: t.Dict[str, t.Any], name: str) -> t.Dict[str, t.Any]:
    if name in OPTION_ENV:
        spec["fallback"] = (env_fallback, list(OPTION_ENV[name]))
    return spec


def connection_argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The connection and credential options every UCS module takes (doc fragment ``connection``)."""
    spec = {
        # No default: resolved from region by _endpoints.resolve_endpoint() before any request, so that
        # credentials never go to a guessed host.
        "endpoint": {"type": "str"},
        "region": {"type": "str"},
        "auth_method": {"type": "str", "default": "auto", "choices": ["auto", "aksk", "token", "password"]},
        # The access key ID identifies, it does not authenticate: shown in logs on purpose.
        "access_key": {"type": "str", "no_log": False},
        "secret_key": {"type": "str", "no_log": True},
        "security_token": {"type": "str", "no_log": True},
        "domain_id": {"type": "str"},
        "auth_token": {"type": "str", "no_log": True},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "domain_name": {"type": "str"},
        "iam_endpoint": {"type": "str"},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "timeout": {"type": "int", "default": 30},
        "retries": {"type": "int", "default": 3},
    }
    return {name: _option(option, name) for name, option in spec.items()}


def federation_cert_argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The options of ucs_federation_cert."""
    spec = connection_argument_spec()
    spec.update(
        state={"type": "str", "default": "present", "choices": ["present", "absent"]},
        # One of the two, checked by _settings.check_fleet (the role's reader has no "required").
        fleet_id={"type": "str", "aliases": ["clustergroup_id"]},
        fleet_name={"type": "str"},
        project_id=_option({"type": "str"}, "project_id"),
        vpc_id={"type": "str"},
        subnet_id={"type": "str"},
        duration={"type": "int", "default": 365},
        renew_before={"type": "int"},
        force={"type": "bool", "default": False},
        dest={"type": "path"},
        standalone={"type": "bool", "default": False},
        cluster_name={"type": "str"},
        user_name={"type": "str"},
        context_name={"type": "str"},
        namespace={"type": "str"},
        set_current_context={"type": "bool", "default": True},
        mode={"type": "raw", "default": "0600"},
        dir_mode={"type": "raw", "default": "0700"},
        owner={"type": "str"},
        group={"type": "str"},
        backup={"type": "bool", "default": False},
        return_content={"type": "bool", "default": False},
    )
    return spec


def role_variable(option: str) -> str:
    """The role variable of a module option: ``dest`` is ``ucs_kubeconfig_path``."""
    return ROLE_PREFIX + ROLE_RENAMED.get(option, option)


def role_argument_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The module's spec as the role checks its variables, keyed by option name.

    No environment fallbacks (the module applies them on the controller that runs it), no
    aliases (a variable has one name), plus the role's own options.
    """
    spec = {}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for name, option in federation_cert_argument_spec().items():
        if name in ROLE_EXCLUDED:
            continue
        checked = {key: value for key, value in option.items() if key not in ("fallback", "aliases", "required")}
        checked.update(ROLE_OVERRIDES.get(name, {}))
        spec[name] = checked
    spec.update((name, dict(option)) for name, option in ROLE_ONLY.items())
    return spec


def role_variables() -> t.Dict[str, str]:
    """Every role variable and the option it sets."""
    return {role_variable(name): name for name in role_argument_spec()}


def is_set(value: t.Any) -> bool:
    """Whether an option counts as set: None and blank strings do not.

    The one blank rule of the collection: AWX injects every field of a credential type, empty
    when it is blank, and an exported but empty environment variable means "not given".
    """
    return value is not None and not (isinstance(value, str) and not value.strip())


def unset_blank_values(params: t.Dict[str, t.Any], spec: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
    """Treat empty strings of environment-backed options as unset.

    AWX and Automation Platform inject every variable of a credential type, empty when a
    field is blank; an empty HUAWEICLOUD_SDK_PROJECT_ID means "not given", not "the empty ID".
    """
    for name, option in spec.items():
        if "fallback" in option and isinstance(params.get(name), str) and not params[name].strip():
            params[name] = option.get("default")
