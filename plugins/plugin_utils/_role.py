# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The role ucs_kubeconfig's variables, read on the controller, per host, for its action plugins.

Nothing here has rules of its own: the variables are the module's options under the role's
names (``_argspec.role_argument_spec``), typed by Ansible's ArgumentSpecValidator and checked by
the module's settings builder (``_settings.build``), so a message names the role variable.
"""

import difflib
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import (
    OPTION_ENV,
    ROLE_PREFIX,
    connection_argument_spec,
    is_set,
    role_argument_spec,
    role_variable,
    role_variables,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError, clean_text
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Settings, build, plain

# What the role registers for each host (documented in meta/argument_specs.yml).
RESULT_VARIABLE = ROLE_PREFIX + "result"
# The options of ucs_federation_cert that a download needs, besides the connection's.
FETCH_OPTIONS = ("fleet_id", "fleet_name", "project_id", "vpc_id", "subnet_id", "renew_before")
SECRET_OPTIONS = tuple(name for name, option in connection_argument_spec().items() if option.get("no_log"))
CONNECTION_OPTIONS = tuple(name for name in connection_argument_spec() if name not in SECRET_OPTIONS)


class RoleSettings(t.NamedTuple):
    settings: Settings
    params: t.Dict[str, t.Any]  # the checked variables under option names, defaults applied
    given: t.FrozenSet[str]  # the options whose variable is set

    def fetch_args(self) -> t.Dict[str, t.Any]:
        """The options of ucs_federation_cert a download takes from this host's variables: the
        ones set, never a secret (kubeconfig_fetch reads those itself). Unset ones are left to
        module_defaults and the environment of the controller."""
        args = {name: self.params[name] for name in FETCH_OPTIONS if name in self.given}
        args["duration"] = self.params["duration"]
        args.update((name, self.params[name]) for name in CONNECTION_OPTIONS if name in self.given)
        return args


# What a plan carries only for its write step.
WRITE_KEYS = ("content", "checksum", "diff", "fetch_args", "notes")


def left_alone(plan: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The outcome of a host whose plan needs no write, shown at every verbosity: the plan step
    registers it as the role's result (the write step does not run there), and kubeconfig_install
    answers it for such a plan."""
    report = {key: value for key, value in plan.items() if key not in WRITE_KEYS}
    expiry = f"; its certificate expires on {plan['not_after']}" if plan.get("not_after") else ""
    report.update(_ansible_verbose_always=True, changed=False, written=False)
    report["msg"] = plan["msg"] if plan.get("reason") else f"{plan['path']} is right{expiry}"
    if plan.get("notes"):
        report["warnings"] = list(plan["notes"])
    return report


def _spec_by_variable() -> t.Dict[str, t.Dict[str, t.Any]]:
    return {role_variable(name): option for name, option in role_argument_spec().items()}


def read_variables(lookup: t.Callable[[str], t.Any]) -> RoleSettings:
    """Read, type and check this host's role variables through ``lookup(variable)`` (None: not
    set); raises UcsValidationError naming the first variable that breaks a rule."""
    spec, option_of = _spec_by_variable(), role_variables()
    given = {}  # type: t.Dict[str, t.Any]
    for variable in spec:
        value = lookup(variable)
        if value is None or (value == "" and option_of[variable] in OPTION_ENV):
            continue
        given[variable] = plain(value)
    validated = ArgumentSpecValidator(spec).validate(given)
    if validated.error_messages:
        raise UcsValidationError(validated.error_messages[0])
    params = {option_of[variable]: value for variable, value in validated.validated_parameters.items()}
    settings = build(params, label=role_variable, remote_dest=True)
    return RoleSettings(settings, params, frozenset(option_of[variable] for variable in given))


def unknown_variables(names: t.Iterable[str]) -> t.List[str]:
    """A warning for each ucs_kubeconfig_* variable the role does not know, with the closest one."""
    known = set(_spec_by_variable()) | {RESULT_VARIABLE}
    suffixes = sorted(name.replace(ROLE_PREFIX, "", 1) for name in known)
    warnings = []
    for name in sorted(name for name in names if name.startswith(ROLE_PREFIX) and name not in known):
        close = difflib.get_close_matches(name.replace(ROLE_PREFIX, "", 1), suffixes, n=1, cutoff=0.75)
        hint = f"; did you mean {ROLE_PREFIX}{close[0]}?" if close else ""
        warnings.append(f"ucs_kubeconfig: the variable {name} is not a variable of the role, so it has no effect{hint}")
    return warnings


def role_secret(name: str, own: t.Any, hostvars: t.Any, this_host: str, fleet_host: str) -> t.Any:
    """The value of a secret role variable for the fleet's first host ``fleet_host``.

    A download runs once, in the context of ``this_host``: play, role and extra variables are
    the same for every host, but inventory variables may differ per host (group_vars of a
    fleet). The value of this context wins unless it is just this host's own inventory value
    (or unset) and the fleet's host has an inventory value of its own.
    """
    if hostvars is None or fleet_host == this_host:
        return own
    variable = role_variable(name)
    try:
        theirs = hostvars[fleet_host].get(variable)
        mine_inventory = hostvars[this_host].get(variable)
    except KeyError:
        return own
    if is_set(theirs) and (not is_set(own) or own == mine_inventory):
        return theirs
    return own


# The role's tags: the plan alone is a read-only audit; the download runs only with the write.
PLAN_TAG = ROLE_PREFIX + "plan"
# Strategies under which hosts do not wait for each other at each task: a run_once download
# would then run once per host.
UNSHARED_STRATEGIES = ("free", "host_pinned")


def unshared_strategy(strategy: t.Optional[str]) -> t.Optional[str]:
    """Why the role refuses the play's strategy, or None."""
    name = (strategy or "").rsplit(".", 1)[-1]
    if name not in UNSHARED_STRATEGIES:
        return None
    return (
        f"the role cannot run under strategy {strategy}: its hosts would not wait for each other, so each would download "
        "a certificate of its own; run it in a play with the linear strategy (the default)"
    )


def write_will_run(plan_tags: t.Iterable[str], task_vars: t.Mapping[str, t.Any]) -> bool:
    """Whether this run's --tags/--skip-tags select the write step, whose tags are the plan's
    (those it inherits included) without the plan-only tag: Ansible's own rule for a task."""
    tags = set(plan_tags) - {PLAN_TAG}
    only = set(task_vars.get("ansible_run_tags") or ["all"])
    skip = set(task_vars.get("ansible_skip_tags") or [])
    untagged = not tags
    if untagged:
        tags = {"untagged"}
    selected = (
        "always" in tags or ("all" in only and "never" not in tags) or not tags.isdisjoint(only) or ("tagged" in only and not untagged and "never" not in tags)
    )
    if selected and skip:
        if "all" in skip:
            selected = "always" in tags and "always" not in skip
        elif not tags.isdisjoint(skip) or ("tagged" in skip and not untagged):
            selected = False
    return selected


def relabel(message: str) -> str:
    """A message of a target module (kubeconfig_file_info, kubeconfig_file) that starts with the
    option it is about, in the role's words: ``path ...`` becomes ``ucs_kubeconfig_path ...``."""
    for option, name in (("path", "dest"), ("mode", "mode"), ("owner", "owner"), ("group", "group"), ("dir_mode", "dir_mode")):
        if message.startswith(option + " "):
            return role_variable(name) + " " + message.split(" ", 1)[1]
    return message


def failure(result: t.Mapping[str, t.Any], fallback: str, secrets: t.Iterable[str] = ()) -> str:
    """The message of a failed module run, in the role's words, with what the module printed when
    it could not even answer (a missing or broken Python on the target: "Module result
    deserialization failed" alone says nothing), secrets masked."""
    message = relabel(str(result.get("msg") or fallback))
    printed = " ".join(str(result.get(key) or "") for key in ("module_stderr", "module_stdout", "exception")).strip()
    if printed and printed not in message:
        message += f"; the module printed: {clean_text(printed, 600, secrets)}"
    return message
