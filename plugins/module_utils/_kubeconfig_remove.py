# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Taking the fleet's entries out of a kubeconfig (state absent), every other byte left as it was.

The entries are found by the configured names and by the ``ucs_cloud.fleet`` stamp; a context is
the fleet's when it uses one of its clusters, and a user goes with the fleet's contexts unless a
context that stays uses it too. The text is edited where those entries are (block and flow
sequences, JSON included), so comments, order and quoting of everything else stay; when the
document is built in a way that cannot be edited so (anchors shared with other entries, say), or
the edited text does not read back as expected, it is written anew from the parsed document.
"""

import contextlib
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig import (
    SECTIONS,
    FleetEntries,
    current_context,
    dump_kubeconfig,
    entries,
    parse_kubeconfig,
    require_yaml,
)
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_stamp import is_the_fleets

with contextlib.suppress(ImportError):  # reported by require_yaml()
    import yaml

# What may remain in a file that held only the fleet, for it to be removed rather than rewritten.
_EMPTY_KEYS = ("apiVersion", "kind", "preferences", "current-context", "clusters", "users", "contexts")


class Removal(t.NamedTuple):
    """The fleet's entries found in a file, by section; ``current`` when they hold the current context."""

    names: t.Dict[str, t.FrozenSet[str]]
    current: bool

    @property
    def found(self) -> bool:
        return any(self.names.values()) or self.current

    def describe(self) -> str:
        parts = [f"{section} {', '.join(sorted(names))}" for section, names in self.names.items() if names]
        return "the fleet's entries are in the file (" + "; ".join(parts) + ")"


def fleet_entries_in(config: t.Mapping[str, t.Any], wanted: FleetEntries) -> Removal:
    """The fleet's entries in a parsed kubeconfig: by the configured names and by the stamp."""
    found = {section: entries(config, section, strict=False) for section, _body in SECTIONS}
    clusters = {e.name for e in found["clusters"] if e.name == wanted.cluster_name or is_the_fleets(e.body, wanted)}
    contexts = {e.name for e in found["contexts"] if e.name == wanted.context_name or e.body.get("cluster") in clusters}
    kept_users = {e.body.get("user") for e in found["contexts"] if e.name not in contexts}
    users = {wanted.user_name} | {e.body.get("user") for e in found["contexts"] if e.name in contexts}
    users = {e.name for e in found["users"] if e.name in users and e.name not in kept_users}
    names = {"clusters": frozenset(clusters), "users": frozenset(users), "contexts": frozenset(contexts)}
    return Removal(names, current_context(config) in contexts)


def without_fleet(config: t.Mapping[str, t.Any], removal: Removal) -> t.Optional[t.Dict[str, t.Any]]:
    """The parsed document without the fleet's entries; None when nothing else would remain."""
    result = dict(config)
    for section, _body in SECTIONS:
        items = result.get(section)
        if isinstance(items, list):
            result[section] = [item for item in items if not (isinstance(item, t.Mapping) and item.get("name") in removal.names[section])]
    if removal.current:
        result["current-context"] = ""
    empty = all(key in _EMPTY_KEYS for key in result) and not any(result.get(section) for section, _body in SECTIONS)
    return None if empty and not current_context(result) else result


def remove_fleet(existing: t.Union[str, bytes], wanted: FleetEntries) -> t.Tuple[Removal, t.Optional[bytes]]:
    """The file without the fleet's entries: (what was found, the new bytes or None to remove the
    file). Raises UcsKubeconfigError for a file that is not a kubeconfig at all."""
    config = parse_kubeconfig(existing, allow_empty=True)
    removal = fleet_entries_in(config, wanted)
    if not removal.found:
        return removal, existing if isinstance(existing, bytes) else existing.encode("utf-8")
    expected = without_fleet(config, removal)
    if expected is None:
        return removal, None
    text = existing.decode("utf-8-sig") if isinstance(existing, bytes) else existing
    edited = _edit(text, removal)
    if edited is not None:
        # An edit that does not read back as expected is not written: the document is, anew.
        with contextlib.suppress(UcsKubeconfigError):
            if parse_kubeconfig(edited, allow_empty=True) == expected:
                return removal, edited.encode("utf-8")
    return removal, dump_kubeconfig(expected).encode("utf-8")


# --------------------------------------------------------------------------------------------
# editing the text where the entries are


def _edit(text: str, removal: Removal) -> t.Optional[str]:
    """The text with the entries cut out, or None when its shape is not one this can edit."""
    require_yaml()
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return _cut(text, root, removal)
    except (yaml.YAMLError, ValueError):
        return None


def _cut(text: str, root: t.Any, removal: Removal) -> t.Optional[str]:
    if not isinstance(root, yaml.MappingNode):
        return None
    cuts = []  # type: t.List[t.Tuple[int, int, str]]
    for key, value in root.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name in removal.names and isinstance(value, yaml.SequenceNode):
            gone = [_named(item) in removal.names[name] for item in value.value]
            if not any(gone):
                continue
            if all(gone):
                cuts.append((key.end_mark.index, value.end_mark.index, ": []" if value.flow_style else ": []\n"))
            else:
                cuts.extend(_cuts(text, value, gone))
        elif name == "current-context" and removal.current and isinstance(value, yaml.ScalarNode):
            cuts.append((value.start_mark.index, value.end_mark.index, '""'))
    for start, end, replacement in sorted(cuts, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _named(node: t.Any) -> t.Optional[str]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "name" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _cuts(text: str, sequence: t.Any, gone: t.List[bool]) -> t.List[t.Tuple[int, int, str]]:
    items = sequence.value
    if sequence.flow_style:
        # [a, b, c]: the items that stay, each as written, joined by the separator written
        # between the first two (", " or a JSON line break and indent).
        spans = [(item.start_mark.index, item.end_mark.index) for item in items]
        first_end, second_start = spans[0][1], spans[1][0]
        separator = text[first_end:second_start]
        kept = separator.join(text[start:end] for (start, end), out in zip(spans, gone) if not out)
        return [(spans[0][0], spans[-1][1], kept)]
    # Block sequence: an item is the lines from its "-" to the next item's "-" (or its own end).
    starts = [_dash_line(text, item.start_mark.index) for item in items]
    cuts = []
    for index, item in enumerate(items):
        if gone[index]:
            end = starts[index + 1] if index + 1 < len(items) else _line_end(text, item.end_mark.index)
            cuts.append((starts[index], end, ""))
    return cuts


def _dash_line(text: str, content: int) -> int:
    dash = text.rfind("-", 0, content)
    line = text.rfind("\n", 0, dash) + 1
    if dash < 0 or text[line:dash].strip(" "):
        raise ValueError("not a block sequence item")
    return line


def _line_end(text: str, index: int) -> int:
    if index == 0 or text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1
