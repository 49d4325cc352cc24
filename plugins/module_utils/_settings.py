# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The one settings builder: checked options in, the request and the wanted entries out.

ucs_federation_cert calls ``build`` with its params; the role's steps call it with their
variables under the module's option names (``_argspec.role_argument_spec``). Every rule about a
value lives here, once; a message names the option through ``label``, so that the role's
messages name ``ucs_kubeconfig_<option>`` and the module's name the option.
"""

import re
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._file_options import parse_mode
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import FleetEntries, default_entry_name, read_context_fields

# The API documents 1..1825 days for the certificate validity.
MIN_DURATION = 1
MAX_DURATION = 1825
MAX_TIMEOUT = 600
MAX_RETRIES = 10

# IDs end up in URL paths: allow what UCS and VPC IDs are made of (UUIDs, 32-hex project IDs),
# nothing that could change the path.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ID_RULE = "1 to 64 letters, digits, '-' or '_', starting with a letter or digit"
CONNECTION_ID_OPTIONS = ("project_id", "vpc_id", "subnet_id")
NAME_OPTIONS = ("cluster_name", "user_name", "context_name")
# A value with a line break, a NUL or surrounding white space is a copy-and-paste accident (a YAML
# block scalar, a file read with its newline): refused, never sent or written as it is.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

Label = t.Callable[[str], str]


class Settings(t.NamedTuple):
    """What the options ask for: the certificate request, the fleet's entries and the file."""

    state: str  # present: the fleet's entries are to be there; absent: taken out
    fleet_id: str
    project_id: t.Optional[str]
    vpc_id: t.Optional[str]
    subnet_id: t.Optional[str]
    duration: int
    force: bool
    wanted: FleetEntries
    dest: t.Optional[str]
    mode: t.Any  # as given: an octal string, a mode number or a symbolic mode (applied to the file's own)
    dir_mode: int
    owner: t.Optional[str]
    group: t.Optional[str]
    backup: bool

    @property
    def fleet(self) -> str:
        """The key of a download: one per fleet and VPC."""
        return self.fleet_id + "/" + (self.vpc_id or "")


def plain(value: t.Any) -> t.Any:
    """An exact str of a str subclass (Ansible's unsafe or tagged text, which libyaml refuses).

    str() is not enough: on ansible-core 2.16 the unsafe text's __str__ returns itself.
    """
    return str.__str__(value) if isinstance(value, str) else value


def _check_text(params: t.Mapping[str, t.Any], label: Label) -> None:
    for option, value in params.items():
        if not isinstance(value, str) or value == "":
            continue
        if not value.strip():
            raise UcsValidationError(f"{label(option)} must not be empty", option=option)
        if _CONTROL_RE.search(value) or value != value.strip():
            # The value may be a secret: never show it.
            raise UcsValidationError(
                f"{label(option)} must not contain control characters (a line break, a tab, NUL) or begin or end with white space", option=option
            )


def _check_id(option: str, value: t.Optional[str], label: Label) -> None:
    if value is None:
        return
    if value == "":
        raise UcsValidationError(f"{label(option)} must not be empty", option=option)
    if not _ID_RE.fullmatch(value):
        raise UcsValidationError(f"{label(option)} is malformed: it must be {ID_RULE}", option=option)


def _check_numbers(params: t.Mapping[str, t.Any], label: Label) -> None:
    for option in ("duration", "renew_before", "timeout", "retries"):
        # Ansible's int type keeps a boolean (YAML true is an int to Python): it must not pass as 1.
        if isinstance(params.get(option), bool):
            raise UcsValidationError(f"{label(option)} must be a whole number, not a boolean ({params[option]})", option=option)
    duration, renew_before = params["duration"], params.get("renew_before")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise UcsValidationError(f"{label('duration')} must be between {MIN_DURATION} and {MAX_DURATION} days, got {duration}", option="duration")
    if renew_before is not None and renew_before < 0:
        raise UcsValidationError(f"{label('renew_before')} must be 0 or more days, got {renew_before}", option="renew_before")
    if renew_before is not None and renew_before >= duration:
        # Otherwise every certificate would be due for renewal the moment it is issued.
        raise UcsValidationError(
            f"{label('renew_before')} ({renew_before}) must be smaller than {label('duration')} ({duration}); "
            "leave it unset to renew after two thirds of the validity",
            option="renew_before",
        )
    for option, low, high, unit in (("timeout", 1, MAX_TIMEOUT, " seconds"), ("retries", 0, MAX_RETRIES, "")):
        value = params.get(option)
        if value is not None and not low <= value <= high:
            raise UcsValidationError(f"{label(option)} must be between {low} and {high}{unit}, got {value}", option=option)


def _check_remote_path(path: str, label: Label) -> None:
    # The role's path is resolved on the target, where a relative path would name nothing stable.
    if not path.startswith(("/", "~")) or path.endswith("/"):
        raise UcsValidationError(f"{label('dest')} must be an absolute path, or start with ~, and name a file, not a directory", option="dest")


def _wanted_entries(params: t.Mapping[str, t.Any], fleet_id: str, label: Label) -> FleetEntries:
    names = {option: params.get(option) or default_entry_name(fleet_id) for option in NAME_OPTIONS}
    context_fields, errors = read_context_fields(lambda key: plain(params.get(key)), label=label)
    if errors:
        option, message = errors[0]
        raise UcsValidationError(message, option=option)
    return FleetEntries(
        fleet_id=fleet_id,
        vpc_id=params.get("vpc_id"),
        context_fields=context_fields,
        set_current=params.get("set_current_context", True),
        renew_before_days=params.get("renew_before"),
        standalone=bool(params.get("standalone")),
        **names,
    )


def build(params: t.Mapping[str, t.Any], label: Label = str, remote_dest: bool = False) -> Settings:
    """Check the options and return the Settings; raises UcsValidationError naming the option.

    Args:
        params: the module's params, or the role's variables under the option names, both typed
            and defaulted by the argument spec (``_argspec``).
        label: how a message names an option (the role passes its variable names).
        remote_dest: ``dest`` is a path on a target, not yet resolved (the role's).
    """
    params = {option: plain(value) for option, value in params.items()}
    _check_text(params, label)
    fleet_id = params.get("fleet_id")
    if fleet_id is None:
        raise UcsValidationError(f"{label('fleet_id')} is not set: the ID of the fleet whose kubeconfig to obtain", option="fleet_id")
    for option in ("fleet_id", *CONNECTION_ID_OPTIONS):
        _check_id(option, params.get(option), label)
    for option in NAME_OPTIONS:
        if params.get(option) == "":
            raise UcsValidationError(f"{label(option)} must not be empty", option=option)
    _check_numbers(params, label)
    dest = params.get("dest")
    if dest is not None and remote_dest:
        _check_remote_path(dest, label)
    parse_mode(params.get("mode"), label("mode"))  # refuses a YAML integer or a bad symbolic mode now
    return Settings(
        state=params.get("state") or "present",
        fleet_id=fleet_id,
        project_id=params.get("project_id"),
        vpc_id=params.get("vpc_id"),
        subnet_id=params.get("subnet_id"),
        duration=params["duration"],
        force=bool(params.get("force")),
        wanted=_wanted_entries(params, fleet_id, label),
        dest=dest,
        mode=params.get("mode"),
        dir_mode=parse_mode(params.get("dir_mode", "0700"), label("dir_mode"), base=0o700),
        owner=params.get("owner"),
        group=params.get("group"),
        backup=bool(params.get("backup")),
    )
