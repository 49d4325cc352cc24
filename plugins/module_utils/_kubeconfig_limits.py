# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""How large a kubeconfig this collection takes: every one kubectl loads up to 32 MiB.

A document is copied value by value (_kubeconfig._plain) with a ValueCount, which refuses what
kubectl refuses too (alias bombs, cycles: UcsKubeconfigError) and what is beyond this
collection's own limits (KubeconfigTooLargeError, which kubectl may still load: such a file is
never to be replaced, only reported). _files.MAX_FILE_SIZE caps the bytes read or written.
"""

import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError

# A hostile or broken file (YAML alias bombs, cycles) must not hang the run while it is copied,
# and every kubeconfig kubectl loads up to the 32 MiB that _files reads must pass. MAX_NODES: a
# YAML document needs at least two bytes per value ("1,"), so no 32 MiB document without aliases
# holds more. Aliases follow kubectl's own rule (go-yaml, which client-go's loader uses): past
# ALIAS_FLOOR values, at most 99% of the values of a document may come from alias expansion,
# falling to 10% from 400,000 to 4,000,000 values.
MAX_NODES = 16 * 1024 * 1024
MAX_DEPTH = 64
ALIAS_FLOOR = 1000
_ALIAS_RATIO_LOW = 400000
_ALIAS_RATIO_HIGH = 4000000


class KubeconfigTooLargeError(UcsKubeconfigError):
    """The document is beyond this collection's limits (MAX_NODES values, MAX_DEPTH levels), not
    invalid: kubectl may load it. Never advise replacing such a file (standalone): it is the
    user's kubeconfig, and every other context in it would be lost."""


class ValueCount:
    """What _kubeconfig._plain has copied so far: every value, the values reached through a YAML
    alias (a container met again: PyYAML shares the object), and the containers met. Scalars
    only add to values; the rules are checked as each container is entered (enter, leave)."""

    def __init__(self) -> None:
        self.values = 0
        self.aliased = 0
        self.seen = set()  # type: t.Set[int]
        self.open = set()  # type: t.Set[int]  # the containers being copied: a cycle meets one again

    def enter(self, container: t.Sized, path: str, depth: int, aliased: bool) -> bool:
        """Check the rules before container's values are copied; return whether they come from an
        alias expansion (so does everything below a container met again)."""
        if self.values + len(container) > MAX_NODES:
            raise KubeconfigTooLargeError(f"{path} holds more than {MAX_NODES} values, the most this collection reads")
        if depth > MAX_DEPTH:
            raise KubeconfigTooLargeError(f"{path} is nested deeper than {MAX_DEPTH} levels, the most this collection reads")
        key = id(container)
        if key in self.open:
            raise UcsKubeconfigError(f"{path} contains itself through a YAML alias, which kubectl refuses too")
        self.open.add(key)
        if not aliased:
            aliased = key in self.seen
            self.seen.add(key)
        if aliased:
            self.aliased += 1 + len(container)
            total = self.values + len(container)
            if self.aliased > 100 and total > ALIAS_FLOOR and self.aliased > total * _allowed_alias_ratio(total):
                raise UcsKubeconfigError(
                    f"{path} expands YAML aliases into {self.aliased} of its first {total} values, more than kubectl accepts "
                    '("document contains excessive aliasing")'
                )
        return aliased

    def leave(self, container: t.Sized) -> None:
        self.open.discard(id(container))


def _allowed_alias_ratio(values: int) -> float:
    if values <= _ALIAS_RATIO_LOW:
        return 0.99
    if values >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (values - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)
