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
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
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
    fleet_id: t.Optional[str]  # None when the fleet is named by fleet_name (resolved before a download)
    fleet_name: t.Optional[str]
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
        return (self.fleet_id or "name:" + t.cast(str, self.fleet_name)) + "/" + (self.vpc_id or "")

    def label(self) -> str:
        """The fleet for messages: its ID, or its name."""
        return self.fleet_id or f"named {self.fleet_name!r}"

    def resolved(self, fleet_id: str) -> "Settings":
        """These settings for the fleet's ID, found from its name (the entries keep their names)."""
        return self._replace(fleet_id=fleet_id, wanted=self.wanted._replace(fleet_id=fleet_id))


def plain(value: t.Any) -> t.Any:
    """An exact str of a str subclass (Ansible's unsafe or tagged text, which libyaml refuses).

    str() is not enough: on ansible-core 2.16 the unsafe text's __str__ returns itself.
    """
    return str.__str__(value) if isinstance(value, str) else value


def check_text(params: t.Mapping[str, t.Any], label: Label) -> None:
    """Every string option: no control characters, no surrounding white space, not blank."""
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


def check_id(option: str, value: t.Optional[str], label: Label) -> None:
    if value is None:
        return
    if value == "":
        raise UcsValidationError(f"{label(option)} must not be empty", option=option)
    if not ID_RE.fullmatch(value):
        raise UcsValidationError(f"{label(option)} is malformed: it must be {ID_RULE}", option=option)


def check_whole(params: t.Mapping[str, t.Any], option: str, low: int, high: int, *, unit: str, label: Label) -> None:
    """A whole-number option within [low, high] (unset is fine)."""
    value = params.get(option)
    if value is None:
        return
    # Ansible's int type keeps a boolean (YAML true is an int to Python): it must not pass as 1.
    if isinstance(value, bool):
        raise UcsValidationError(f"{label(option)} must be a whole number, not a boolean ({value})", option=option)
    if not low <= value <= high:
        raise UcsValidationError(f"{label(option)} must be between {low} and {high}{unit}, got {value}", option=option)


def check_connection(params: t.Mapping[str, t.Any], label: Label) -> None:
    """The numbers of the connection options every UCS module takes."""
    check_whole(params, "timeout", 1, MAX_TIMEOUT, unit=" seconds", label=label)
    check_whole(params, "retries", 0, MAX_RETRIES, unit="", label=label)


def check_fleet(params: t.Mapping[str, t.Any], label: Label, required: bool = True) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    """(fleet_id, fleet_name): at most one of them (exactly one when ``required``), each well formed."""
    fleet_id, fleet_name = params.get("fleet_id"), params.get("fleet_name")
    if fleet_id is not None and fleet_name is not None:
        raise UcsValidationError(f"{label('fleet_id')} and {label('fleet_name')} are mutually exclusive: name the fleet by one of them", option="fleet_name")
    if required and fleet_id is None and fleet_name is None:
        raise UcsValidationError(
            f"{label('fleet_id')} is not set (nor {label('fleet_name')}): the fleet whose kubeconfig to obtain, by ID or by name", option="fleet_id"
        )
    check_id("fleet_id", fleet_id, label)
    if fleet_name == "":
        raise UcsValidationError(f"{label('fleet_name')} must not be empty", option="fleet_name")
    return fleet_id, fleet_name


def _check_numbers(params: t.Mapping[str, t.Any], label: Label) -> None:
    check_whole(params, "duration", MIN_DURATION, MAX_DURATION, unit=" days", label=label)
    duration, renew_before = params["duration"], params.get("renew_before")
    if isinstance(renew_before, bool):
        raise UcsValidationError(f"{label('renew_before')} must be a whole number, not a boolean ({renew_before})", option="renew_before")
    if renew_before is not None and renew_before < 0:
        raise UcsValidationError(f"{label('renew_before')} must be 0 or more days, got {renew_before}", option="renew_before")
    if renew_before is not None and renew_before >= duration:
        # Otherwise every certificate would be due for renewal the moment it is issued.
        raise UcsValidationError(
            f"{label('renew_before')} ({renew_before}) must be smaller than {label('duration')} ({duration}); "
            "leave it unset to renew after two thirds of the validity",
            option="renew_before",
        )
    check_connection(params, label)


def _check_remote_path(path: str, label: Label) -> None:
    # The role's path is resolved on the target, where a relative path would name nothing stable.
    if not path.startswith(("/", "~")) or path.endswith("/"):
        raise UcsValidationError(f"{label('dest')} must be an absolute path, or start with ~, and name a file, not a directory", option="dest")


def _wanted_entries(params: t.Mapping[str, t.Any], fleet_id: t.Optional[str], fleet_name: t.Optional[str], label: Label) -> FleetEntries:
    names = {option: params.get(option) or default_entry_name(t.cast(str, fleet_id or fleet_name)) for option in NAME_OPTIONS}
    context_fields, errors = read_context_fields(lambda key: plain(params.get(key)), label=label)
    if errors:
        option, message = errors[0]
        raise UcsValidationError(message, option=option)
    return FleetEntries(
        fleet_id=fleet_id,
        fleet_name=fleet_name,
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
    check_text(params, label)
    fleet_id, fleet_name = check_fleet(params, label)
    for option in CONNECTION_ID_OPTIONS:
        check_id(option, params.get(option), label)
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
        fleet_name=fleet_name,
        project_id=params.get("project_id"),
        vpc_id=params.get("vpc_id"),
        subnet_id=params.get("subnet_id"),
        duration=params["duration"],
        force=bool(params.get("force")),
        wanted=_wanted_entries(params, fleet_id, fleet_name, label),
        dest=dest,
        mode=params.get("mode"),
        dir_mode=parse_mode(params.get("dir_mode", "0700"), label("dir_mode"), base=0o700),
        owner=params.get("owner"),
        group=params.get("group"),
        backup=bool(params.get("backup")),
    )
