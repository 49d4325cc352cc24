# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The settings of the role ucs_kubeconfig, read and checked on the controller, per host.

The action plugins kubeconfig_plan, kubeconfig_fetch and kubeconfig_install run in Ansible's
forked workers, one host each. Every rule about a setting lives here, once: a bad setting fails
its own host with a message that names the variable and the rule, never the whole play.
"""

import re
import typing as t

from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._federation import MAX_DURATION, MIN_DURATION
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import FleetEntries, all_context_fields, default_entry_name, read_context_fields

PREFIX = "ucs_kubeconfig_"

# Options of ucs_federation_cert that the role passes only when their variable is set, so that
# module_defaults (group/ucs_cloud.fleet.ucs) and the module's environment variables apply
# otherwise. None of them is a secret: they travel in the (visible) plan of a host.
FETCH_OPTIONS = (
    "project_id",
    "subnet_id",
    "endpoint",
    "region",
    "auth_method",
    "access_key",
    "domain_id",
    "username",
    "domain_name",
    "iam_endpoint",
    "validate_certs",
    "ca_path",
    "timeout",
    "retries",
)
# The secret ones never appear in a result: kubeconfig_fetch reads them itself.
SECRET_OPTIONS = ("secret_key", "security_token", "auth_token", "password")
CONNECTION_OPTIONS = FETCH_OPTIONS[2:] + SECRET_OPTIONS

_OCTAL_RE = re.compile(r"^[0-7]{3,4}$")


class Settings(t.NamedTuple):
    """One host's checked settings (no secret among them)."""

    wanted: FleetEntries
    path: str
    mode: int
    dir_mode: int
    owner: t.Optional[str]
    group: t.Optional[str]
    backup: bool
    standalone: bool
    duration: int
    controller: str
    fetch_args: t.Dict[str, t.Any]

    @property
    def fleet(self) -> str:
        """The key of a download: one per fleet and VPC."""
        return self.wanted.fleet_id + "/" + (self.wanted.vpc_id or "")

    def public(self) -> t.Dict[str, t.Any]:
        """The settings as the plan returns them (visible, so no secret)."""
        return {
            "fleet_id": self.wanted.fleet_id,
            "vpc_id": self.wanted.vpc_id,
            "cluster_name": self.wanted.cluster_name,
            "user_name": self.wanted.user_name,
            "context_name": self.wanted.context_name,
            **all_context_fields(self.wanted.context_fields),
            "set_current_context": self.wanted.set_current,
            "renew_before": self.wanted.renew_before_days,
            "mode": f"{self.mode:04o}",
            "dir_mode": f"{self.dir_mode:04o}",
            "owner": self.owner,
            "group": self.group,
            "backup": self.backup,
            "standalone": self.standalone,
        }


def plain_text(value: t.Any) -> t.Optional[str]:
    """An exact str: a plan comes back through templating as Ansible's unsafe text, a str
    subclass that libyaml will neither load nor dump. str() is not enough: on ansible-core
    2.16 its __str__ returns the unsafe text itself; str.__str__ makes the exact copy."""
    return None if value is None else str.__str__(str(value))


def wanted_from(public: t.Mapping[str, t.Any]) -> FleetEntries:
    """The FleetEntries of a plan's ``settings`` (the inverse of Settings.public)."""
    renew_before = public["renew_before"]
    return FleetEntries(
        fleet_id=str.__str__(str(public["fleet_id"])),
        vpc_id=plain_text(public["vpc_id"]),
        cluster_name=str.__str__(str(public["cluster_name"])),
        user_name=str.__str__(str(public["user_name"])),
        context_name=str.__str__(str(public["context_name"])),
        context_fields={key: str.__str__(value) for key, value in all_context_fields(public).items() if value is not None},
        set_current=bool(public["set_current_context"]),
        renew_before_days=None if renew_before is None else int(renew_before),
    )


def is_set(value: t.Any) -> bool:
    """Whether a role variable counts as set: null and blank strings mean "not set"."""
    if value is None:
        return False
    return not (isinstance(value, str) and not value.strip())


class _Reader:
    """Reads role variables through a lookup and collects every broken rule."""

    def __init__(self, lookup: t.Callable[[str], t.Any]) -> None:
        self.lookup = lookup
        self.errors = []  # type: t.List[str]

    def fail(self, name: str, rule: str) -> None:
        self.errors.append(PREFIX + name + " " + rule)

    def text(self, name: str, required: bool = False) -> t.Optional[str]:
        value = self.lookup(PREFIX + name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and value == ""):
            if required:
                self.fail(name, "is not set")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must not be blank" if isinstance(value, str) else "must be a string")
            return None
        return str(value)

    def flag(self, name: str) -> bool:
        value = self.lookup(PREFIX + name)
        if isinstance(value, str):
            value = value.strip().lower()
        if value in BOOLEANS_TRUE:
            return True
        if value in BOOLEANS_FALSE:
            return False
        self.fail(name, "must be true or false")
        return False

    def whole(self, name: str, low: int, high: t.Optional[int] = None, optional: bool = False) -> t.Optional[int]:
        value = self.lookup(PREFIX + name)
        if optional and not is_set(value):
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            self.fail(name, f"must be a whole number of days, {span}")
            return None
        return value

    def octal(self, name: str, example: str) -> int:
        value = self.lookup(PREFIX + name)
        if isinstance(value, str) and _OCTAL_RE.match(value.strip()):
            return int(value.strip(), 8)
        self.fail(name, f"must be a quoted octal string such as '{example}'")
        return 0


def read_settings(lookup: t.Callable[[str], t.Any]) -> t.Tuple[t.Optional[Settings], t.List[str]]:
    """Check one host's role variables; return (settings, []) or (None, the broken rules)."""
    read = _Reader(lookup)
    fleet_id = read.text("fleet_id")
    if fleet_id is None and not read.errors:
        read.fail("fleet_id", "is not set (the ID of the fleet whose kubeconfig to install)")
    vpc_id = read.text("vpc_id")
    path = read.text("path", required=True)
    if path is not None and (not path.startswith(("/", "~")) or path.endswith("/")):
        read.fail("path", "must be an absolute path, or start with ~, and name a file, not a directory")
    names = {}
    for kind in ("cluster", "user", "context"):
        value = read.lookup(PREFIX + kind + "_name")
        if not is_set(value) and value is not None:
            read.fail(kind + "_name", "must not be empty")
        names[kind] = str(value) if is_set(value) else default_entry_name(fleet_id or "")
    context_fields, errors = read_context_fields(read.text, PREFIX)
    read.errors.extend(message for _option, message in errors)
    duration = read.whole("duration", MIN_DURATION, MAX_DURATION)
    renew_before = read.whole("renew_before", 0, optional=True)
    if duration is not None and renew_before is not None and renew_before >= duration:
        read.fail("renew_before", f"must be smaller than ucs_kubeconfig_duration ({duration})")
    mode, dir_mode = read.octal("mode", "0600"), read.octal("dir_mode", "0700")
    controller = read.text("controller", required=True)
    wanted = FleetEntries(
        fleet_id=fleet_id or "",
        vpc_id=vpc_id,
        cluster_name=names["cluster"],
        user_name=names["user"],
        context_name=names["context"],
        context_fields=context_fields,
        set_current=read.flag("set_current_context"),
        renew_before_days=renew_before,
    )
    settings = Settings(
        wanted=wanted,
        path=path or "",
        mode=mode,
        dir_mode=dir_mode,
        owner=read.text("owner"),
        group=read.text("group"),
        backup=read.flag("backup"),
        standalone=read.flag("standalone"),
        duration=duration or 0,
        controller=controller or "",
        fetch_args=_fetch_args(read, fleet_id, vpc_id, duration, renew_before),
    )
    return (None, read.errors) if read.errors else (settings, [])


def _fetch_args(
    read: _Reader, fleet_id: t.Optional[str], vpc_id: t.Optional[str], duration: t.Optional[int], renew_before: t.Optional[int]
) -> t.Dict[str, t.Any]:
    """The non-secret options of ucs_federation_cert that this host's variables set."""
    args = {"fleet_id": fleet_id, "duration": duration}  # type: t.Dict[str, t.Any]
    if vpc_id is not None:
        args["vpc_id"] = vpc_id
    if renew_before is not None:
        args["renew_before"] = renew_before
    for option in FETCH_OPTIONS:
        value = read.lookup(PREFIX + option)
        # false and 0 are values (validate_certs: false); only null and blank mean "not set".
        if is_set(value):
            args[option] = value
    return args
