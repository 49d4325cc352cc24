# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""A kubeconfig on a target, read by kubeconfig_file_info and planned on the controller.

The role's plan step and the action of ucs_federation_cert both decide this way: one small
module reads the file where it is (``~`` resolved there, mode, owner and group compared there),
and the module's own planner (``_plan.decide``) decides from what it reports.
"""

import base64
import binascii
import datetime
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _plan as planner
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._settings import Label, Settings

READ_MODULE = "ucs_cloud.fleet.kubeconfig_file_info"


class TargetFile(t.NamedTuple):
    path: str  # as the target resolved it
    content: t.Optional[bytes]  # None: no file
    mode: t.Optional[int]
    drift: t.List[str]  # the attributes that differ from the wanted ones
    attributes: t.Dict[str, t.Any]  # mode, owner and group as results and diffs show them

    def plan(self, settings: Settings, now: datetime.datetime, label: Label = str) -> planner.Plan:
        return planner.decide(self.content, self.drift, settings, now, path=self.path, existing_mode=self.mode, label=label)


def read_args(settings: Settings) -> t.Dict[str, t.Any]:
    """The options of kubeconfig_file_info: the path, the attributes it reports the drift from,
    and the backup that its check of the write (write_blocker) counts the space of."""
    args = {"path": settings.dest, "mode": settings.mode, "backup": settings.backup}  # type: t.Dict[str, t.Any]
    args.update((key, value) for key, value in (("owner", settings.owner), ("group", settings.group)) if value is not None)
    return args


def target_file(state: t.Mapping[str, t.Any]) -> TargetFile:
    """What kubeconfig_file_info returned, as the planner takes it; raises UcsError."""
    if not state.get("exists"):
        return TargetFile(str(state["path"]), None, None, [], {})
    try:
        content = base64.b64decode(state.get("content") or "", validate=True)
    except (binascii.Error, ValueError):
        raise UcsError(f"{READ_MODULE} returned content that is not base64") from None
    # A user or group without a name on the target is shown by its number.
    attributes = {"mode": state["mode"], "owner": state.get("owner") or str(state.get("uid")), "group": state.get("group") or str(state.get("gid"))}
    return TargetFile(str(state["path"]), content, int(state["mode"], 8), list(state.get("drift") or []), attributes)
