# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller-side filters of the role ucs_kubeconfig: inspect and merge kubeconfig files.

The documentation of each filter is in the YAML file of the same name next to this one
(``kubeconfig_status.yml``, ``kubeconfig_merge.yml``).

Messages never hold file content or key material: they come from _kubeconfig, which names
fields and rules only.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import typing as t

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _kubeconfig as kc
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError

ENCODINGS = ("base64", "text")

NOT_YAML_MESSAGE = "the existing kubeconfig is not valid YAML; set ucs_kubeconfig_standalone=true or fix the file"


def _utcnow() -> datetime.datetime:
    # A function of its own so tests can move the clock.
    return datetime.datetime.now(datetime.timezone.utc)


def _require(filter_name: str, *, cryptography: bool) -> None:
    if not kc.HAS_YAML:
        raise AnsibleFilterError(f"{filter_name} needs the Python library PyYAML on the controller (pip install PyYAML)")
    if cryptography and kc.cryptography_import_error() is not None:
        raise AnsibleFilterError(f"{filter_name} needs the Python library cryptography on the controller (pip install cryptography)")


def _name(filter_name: str, arg: str, value: t.Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AnsibleFilterError(f"{filter_name}: {arg} must be a non-empty string")
    return str(value)


def _optional_str(filter_name: str, arg: str, value: t.Any) -> t.Optional[str]:
    if value is None or value == "":
        return None
    return _name(filter_name, arg, value)


def _bool(filter_name: str, arg: str, value: t.Any) -> bool:
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise AnsibleFilterError(f"{filter_name}: {arg} must be a boolean") from None


def _days(filter_name: str, arg: str, value: t.Any) -> int:
    # Jinja may hand over "30" from a string variable; bools are not numbers here.
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AnsibleFilterError(f"{filter_name}: {arg} must be a whole number of days, 0 or more")
    return value


def _content(filter_name: str, arg: str, value: t.Any, encoding: t.Any) -> t.Optional[t.Union[str, bytes]]:
    """Return the file content given to a filter (None for no file), decoding slurp's base64."""
    if encoding not in ENCODINGS:
        raise AnsibleFilterError(f"{filter_name}: encoding must be one of {', '.join(ENCODINGS)}")
    if value is None or value == "":
        return None
    if not isinstance(value, (str, bytes)):
        raise AnsibleFilterError(f"{filter_name}: {arg} must be a string (the content of ansible.builtin.slurp) or null")
    if encoding == "text":
        return value
    try:
        return base64.b64decode(value, validate=True) if isinstance(value, bytes) else base64.b64decode("".join(str(value).split()), validate=True)
    except (binascii.Error, ValueError):
        raise AnsibleFilterError(f"{filter_name}: {arg} is not base64; pass the content of ansible.builtin.slurp, or set encoding='text'") from None


def kubeconfig_status(  # noqa: PLR0917 (Jinja passes filter arguments by position)
    content: t.Any,
    fleet_id: t.Any,
    cluster_name: t.Any,
    user_name: t.Any,
    context_name: t.Any,
    renew_before: t.Any = 30,
    vpc_id: t.Any = None,
    set_current: t.Any = True,
    expected_server: t.Any = None,
    encoding: t.Any = "base64",
) -> t.Dict[str, t.Any]:
    """Tell whether a host's kubeconfig file needs the fleet's entries written (again).

    Args:
        content: the ``content`` of ansible.builtin.slurp (base64), or None/'' for no file.
        fleet_id, cluster_name, user_name, context_name: what the entries should be.
        renew_before: renew when the certificate is valid for this many days or fewer.
        vpc_id: when set, entries issued for another VPC need an update.
        set_current: whether current-context must be the fleet's context.
        expected_server: when set, the cluster's server must be this URL.
        encoding: ``base64`` (slurp) or ``text``.
    Returns:
        ``{needs_update, reason, not_after, server}``; bad file content is a reason, never an error.
    Raises:
        AnsibleFilterError: bad arguments, or a required Python library is missing.
    """
    name = "kubeconfig_status"
    _require(name, cryptography=True)
    data = _content(name, "the input", content, encoding)
    status = kc.check_entry(
        data,
        cluster_name=_name(name, "cluster_name", cluster_name),
        user_name=_name(name, "user_name", user_name),
        context_name=_name(name, "context_name", context_name),
        fleet_id=_name(name, "fleet_id", fleet_id),
        vpc_id=_optional_str(name, "vpc_id", vpc_id),
        renew_before_days=_days(name, "renew_before", renew_before),
        now=_utcnow(),
        set_current=_bool(name, "set_current", set_current),
        expected_server=_optional_str(name, "expected_server", expected_server),
    )
    return {
        "needs_update": status.reason is not None,
        "reason": status.reason,
        "not_after": kc.format_time(status.info.not_after) if status.info else None,
        "server": status.info.server if status.info else None,
    }


def kubeconfig_merge(  # noqa: PLR0917 (Jinja passes filter arguments by position)
    existing_content: t.Any,
    fleet_kubeconfig: t.Any,
    cluster_name: t.Any,
    user_name: t.Any,
    context_name: t.Any,
    set_current: t.Any = True,
    standalone: t.Any = False,
    encoding: t.Any = "base64",
) -> str:
    """Return the kubeconfig text to write: the fleet's entries merged into the existing file.

    Args:
        existing_content: the ``content`` of ansible.builtin.slurp (base64), or None/'' for no file.
        fleet_kubeconfig: the fleet's kubeconfig (the module's ``kubeconfig`` YAML text, or a mapping).
        cluster_name, user_name, context_name: names of the fleet's entries in the result.
        set_current: make the fleet's context the current context.
        standalone: ignore the existing content; the result holds only the fleet's entries.
        encoding: ``base64`` (slurp) or ``text``.
    Returns:
        The YAML text.
    Raises:
        AnsibleFilterError: bad arguments, an existing file that cannot be merged into, a fleet
            kubeconfig that does not resolve, or PyYAML is missing.
    """
    name = "kubeconfig_merge"
    _require(name, cryptography=False)
    names = {
        "cluster_name": _name(name, "cluster_name", cluster_name),
        "user_name": _name(name, "user_name", user_name),
        "context_name": _name(name, "context_name", context_name),
    }
    set_current = _bool(name, "set_current", set_current)
    standalone = _bool(name, "standalone", standalone)
    if fleet_kubeconfig is None or fleet_kubeconfig == "":
        raise AnsibleFilterError(f"{name}: fleet_kubeconfig is empty; pass the kubeconfig returned by ucs_cloud.fleet.ucs_federation_cert")
    try:
        fleet = kc.parse_kubeconfig(fleet_kubeconfig)
    except UcsKubeconfigError as exc:
        raise AnsibleFilterError(f"{name}: fleet_kubeconfig is not usable: {exc.msg}") from None

    existing: t.Optional[t.Dict[str, t.Any]] = None
    data = _content(name, "the input", existing_content, encoding)
    if data is not None and not standalone:
        try:
            existing = kc.parse_kubeconfig(data, allow_empty=True)
        except kc.KubeconfigSyntaxError:
            raise AnsibleFilterError(NOT_YAML_MESSAGE) from None
        except UcsKubeconfigError as exc:
            raise AnsibleFilterError(f"the existing kubeconfig cannot be merged into ({exc.msg}); set ucs_kubeconfig_standalone=true or fix the file") from None
    try:
        merged = kc.merge_kubeconfig(existing, fleet, set_current=set_current, **names)
    except UcsKubeconfigError as exc:
        hint = "; set ucs_kubeconfig_standalone=true or fix the file" if exc.msg.startswith("the existing") else ""
        raise AnsibleFilterError(f"{name}: {exc.msg}{hint}") from None
    return kc.dump_kubeconfig(merged)


class FilterModule:
    """Kubeconfig filters of ucs_cloud.fleet."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {
            "kubeconfig_status": kubeconfig_status,
            "kubeconfig_merge": kubeconfig_merge,
        }
