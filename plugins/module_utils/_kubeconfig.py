# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Kubeconfig documents: parse, walk, normalise, stamp, merge and dump (PyYAML only).

The rules that need cryptography (certificates, keys, validity) and the decisions built on them
are in ``_kubeconfig_check``. What kubectl (client-go) accepts is the yardstick everywhere: a
document is normalised so that kubectl always loads what this collection writes.

Secret material (client keys, tokens, passwords, the certificate data and the document itself)
never appears in an exception message, a warning or a repr: messages name the field path
(``users[0].user.client-key-data``) and the rule it breaks.
"""

import base64
import binascii
import copy
import json
import re
import traceback
import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsKubeconfigError, clean_text
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._kubeconfig_limits import ValueCount

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()  # type: t.Optional[str]
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None
    # libyaml's loader and dumper when PyYAML was built with it: about 20 times faster on a
    # kubeconfig than the pure-Python ones.
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _SafeDumperBase = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# Conventional order of a kubeconfig's top-level keys (what people expect to read).
TOP_LEVEL_ORDER = ("apiVersion", "kind", "clusters", "contexts", "current-context", "preferences", "users")

# Sections of a kubeconfig and the key of each entry's body.
SECTIONS = (("clusters", "cluster"), ("users", "user"), ("contexts", "context"))

# client-go validates a context's namespace as an RFC 1123 label.
_NAMESPACE_RE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
NAMESPACE_RULE = "an RFC 1123 label: 1 to 63 lower-case letters, digits or '-', starting and ending with a letter or digit"

# The string spellings of a boolean that the API (which types the flag as a string) may send.
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0", "")


class KubeconfigSyntaxError(UcsKubeconfigError):
    """The text is not YAML/JSON (or not UTF-8) at all; the message gives a position, never content."""


class Entry(t.NamedTuple):
    """One named entry of a section (``clusters[2]``) with its body; holds no copy of the data."""

    path: str
    name: str
    body: t.Mapping[str, t.Any]


class ContextSetting(t.NamedTuple):
    """A settable field of the fleet's context; ``key`` is also the module's option and, with
    the prefix ``ucs_kubeconfig_``, the role's variable."""

    key: str
    pattern: "t.Pattern[str]"
    rule: str


# The settable fields of the fleet's context. Every reader, check, merge and report walks this
# table, so a new field is a row here plus its option (module) and variable (role) declarations.
CONTEXT_SETTINGS = (ContextSetting("namespace", _NAMESPACE_RE, NAMESPACE_RULE),)


class FleetEntries(t.NamedTuple):
    """What the fleet's entries in a kubeconfig must be: the one description of "right".

    ``context_fields``: the CONTEXT_SETTINGS the user set; the others are left as the file has
    them. ``renew_before_days`` None: automatic, a third of the certificate's own lifetime, at
    most 30 days (cert-manager's rule). ``standalone``: the file holds the fleet alone.
    """

    fleet_id: t.Optional[str]  # None: the fleet is known by fleet_name (the stamp records both)
    vpc_id: t.Optional[str]
    cluster_name: str
    user_name: str
    context_name: str
    context_fields: t.Mapping[str, str]
    set_current: bool
    renew_before_days: t.Optional[int]
    standalone: bool = False
    fleet_name: t.Optional[str] = None


def default_entry_name(fleet_id: str) -> str:
    """The name of the fleet's cluster, user and context unless the user names them."""
    return "ucs-fleet-" + fleet_id


def read_context_fields(
    lookup: t.Callable[[str], t.Optional[str]], label: t.Callable[[str], str] = str
) -> t.Tuple[t.Dict[str, str], t.List[t.Tuple[str, str]]]:
    """Read and check each settable context field through ``lookup(key)`` (None: not set).
    Returns (the fields set, [(key, message naming label(key))] for each that breaks its rule)."""
    fields = {}  # type: t.Dict[str, str]
    errors = []  # type: t.List[t.Tuple[str, str]]
    for setting in CONTEXT_SETTINGS:
        value = lookup(setting.key)
        if value is None:
            continue
        if setting.pattern.fullmatch(value):
            fields[setting.key] = value
        else:
            errors.append((setting.key, f"{label(setting.key)} {quote(value)} is not {setting.rule}"))
    return fields, errors


def all_context_fields(fields: t.Mapping[str, t.Any]) -> t.Dict[str, t.Optional[str]]:
    """Each settable field of a context body (or of wanted fields), None where it is not a
    non-empty string: the form that results and plans report."""
    values = {setting.key: fields.get(setting.key) for setting in CONTEXT_SETTINGS}
    return {key: value if isinstance(value, str) and value else None for key, value in values.items()}


# --------------------------------------------------------------------------------------------
# small helpers


def require_yaml() -> None:
    if not HAS_YAML:
        raise UcsKubeconfigError("the Python library PyYAML is required to read and write kubeconfigs")


def quote(name: t.Any) -> str:
    """Quote a name (not a secret) for a message, on one line and bounded."""
    return "'" + clean_text(str(name), 80) + "'"


_TYPE_NAMES = ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"), (t.Mapping, "a mapping"), ((list, tuple), "a list"))


def type_name(value: t.Any) -> str:
    """A value's type in the words of a message ("a string"); bool before int, as YAML reads them."""
    if value is None:
        return "null"
    return next((name for kinds, name in _TYPE_NAMES if isinstance(value, kinds)), "a " + type(value).__name__)


def _plain(value: t.Any, path: str = "the kubeconfig", depth: int = 0, budget: t.Optional[ValueCount] = None, aliased: bool = False) -> t.Any:
    """Deep-copy ``value`` into plain dict/list/str values.

    Mapping and str subclasses (Ansible's unsafe text, say) become dict and str, so
    yaml.safe_dump and libyaml can take them; shared YAML aliases become independent copies.
    Raises KubeconfigTooLargeError past the limits of this collection, and UcsKubeconfigError for
    an alias expansion or a cycle that kubectl refuses too (_kubeconfig_limits).
    """
    count = ValueCount() if budget is None else budget
    count.values += 1
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool) or value is None or not isinstance(value, (t.Mapping, list, tuple)):
        return value
    aliased = count.enter(value, path, depth, aliased)
    try:
        if isinstance(value, t.Mapping):
            return {(str.__str__(k) if isinstance(k, str) else k): _plain(v, path, depth + 1, count, aliased) for k, v in value.items()}
        return [_plain(v, path, depth + 1, count, aliased) for v in value]
    finally:
        count.leave(value)


# --------------------------------------------------------------------------------------------
# parse and dump


def _error_position(text: str) -> str:
    """Where the pure-Python loader finds the error: libyaml often reports only the end of the text."""
    try:
        yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return f" (line {mark.line + 1}, column {mark.column + 1})"
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        # ValueError: a scalar that looks like a date but is not one (2020-13-45).
        pass
    return ""


def _text(source: t.Any) -> str:
    if isinstance(source, (bytes, bytearray)):
        try:
            # utf-8-sig: editors on some systems write a byte order mark.
            return bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise KubeconfigSyntaxError("the kubeconfig is not UTF-8 text") from None
    if not isinstance(source, str):
        raise UcsKubeconfigError(f"the kubeconfig must be YAML or JSON text or a mapping, not {type_name(source)}")
    # An exact str: libyaml's loader refuses subclasses such as Ansible's unsafe text, whose
    # __str__ returns itself on older ansible-core.
    return str.__str__(source)


def _load(text: str) -> t.Any:
    if text.lstrip().startswith("{"):
        # JSON is YAML too, but PyYAML rejects tab indentation that JSON allows.
        try:
            return json.loads(text)
        except ValueError:
            pass
    require_yaml()
    try:
        return yaml.load(text, Loader=_SafeLoader)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError):
        raise KubeconfigSyntaxError(f"the kubeconfig is not valid YAML{_error_position(text)}") from None


def parse_kubeconfig(source: t.Union[str, bytes, t.Mapping[str, t.Any]], allow_empty: bool = False) -> t.Dict[str, t.Any]:
    """Read a kubeconfig from YAML or JSON text, or copy it from a mapping.

    Args:
        source: YAML or JSON text (str, or UTF-8 bytes), or a mapping.
        allow_empty: return ``{}`` for an empty document (blank, or comments only) instead of failing.
    Returns:
        A new plain dict (the caller's mapping is never shared).
    Raises:
        KubeconfigSyntaxError: the text is not UTF-8, not YAML/JSON; the message gives line and column
            only, because PyYAML's own messages quote the document.
        UcsKubeconfigError: the document is empty (unless allowed) or not a mapping at the top level.
    """
    if isinstance(source, t.Mapping):
        return _plain(source)
    data = _load(_text(source))
    if data is None:
        if allow_empty:
            return {}
        raise UcsKubeconfigError("the kubeconfig is empty")
    if not isinstance(data, t.Mapping):
        raise UcsKubeconfigError(f"the kubeconfig must be a mapping at the top level, not {type_name(data)}")
    return _plain(data)


def _name_first(item: t.Any) -> t.Any:
    if isinstance(item, dict) and "name" in item:
        return dict([("name", item["name"]), *[(key, value) for key, value in item.items() if key != "name"]])
    return item


def _ordered(config: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Put top-level keys in the conventional order and ``name`` first in every entry."""
    result = {}  # type: t.Dict[str, t.Any]
    keys = [key for key in TOP_LEVEL_ORDER if key in config] + [key for key in config if key not in TOP_LEVEL_ORDER]
    for key in keys:
        value = config[key]
        if key in ("clusters", "contexts", "users") and isinstance(value, list):
            value = [_name_first(item) for item in value]
        result[key] = value
    return result


if HAS_YAML:

    class _Dumper(_SafeDumperBase):  # type: ignore[valid-type,misc]
        # Never write anchors/aliases: two equal entries are written out in full, as kubectl does.
        def ignore_aliases(self, data: t.Any) -> bool:
            return True


def dump_kubeconfig(config: t.Mapping[str, t.Any]) -> str:
    """Write ``config`` as YAML text, deterministically (conventional key order, no anchors, no wrapping)."""
    require_yaml()
    plain = _ordered(_plain(config))
    return yaml.dump(plain, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 30)


# --------------------------------------------------------------------------------------------
# the one walker of a kubeconfig's entries


def entries(config: t.Mapping[str, t.Any], section: str, strict: bool) -> t.List[Entry]:
    """Return the named entries of one section.

    strict: the document is the fleet's own (an API answer): every entry must be a mapping with
    a unique non-empty name and a mapping body, else UcsKubeconfigError names the first broken
    one. Not strict: a shared kubeconfig, whose foreign entries are none of our business:
    malformed ones are skipped (only a section that is not a list is an error, because nothing
    could be merged into it); the first of duplicate names wins, as for kubectl.
    """
    body_key = dict(SECTIONS)[section]
    value = config.get(section)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UcsKubeconfigError(f"{section} must be a list, not {type_name(value)}")
    found = []  # type: t.List[Entry]
    seen = {}  # type: t.Dict[str, int]
    for index, item in enumerate(value):
        path = f"{section}[{index}]"
        name = item.get("name") if isinstance(item, t.Mapping) else None
        body = item.get(body_key) if isinstance(item, t.Mapping) else None
        if not strict:
            if isinstance(name, str) and name and name not in seen:
                seen[name] = index
                found.append(Entry(path, name, body if isinstance(body, t.Mapping) else {}))
            continue
        if not isinstance(item, t.Mapping):
            raise UcsKubeconfigError(f"{path} must be a mapping, not {type_name(item)}")
        if not isinstance(name, str) or not name.strip():
            raise UcsKubeconfigError(f"{path}.name must be a non-empty string")
        if name in seen:
            raise UcsKubeconfigError(f"{path}.name {quote(name)} is already used by {section}[{seen[name]}]")
        if not isinstance(body, t.Mapping):
            raise UcsKubeconfigError(f"{path}.{body_key} must be a mapping, not {type_name(body)}")
        seen[name] = index
        found.append(Entry(path, name, body))
    return found


def find(found: t.Sequence[Entry], name: t.Optional[str]) -> t.Optional[Entry]:
    return next((entry for entry in found if entry.name == name), None)


def current_context(config: t.Mapping[str, t.Any]) -> t.Optional[str]:
    value = config.get("current-context")
    return value if isinstance(value, str) and value else None


def select_context(config: t.Mapping[str, t.Any]) -> t.Tuple[Entry, Entry, Entry]:
    """Return the (context, cluster, user) entries of the fleet's own kubeconfig (an API answer).

    The current context, or the only context when current-context is not set (kubectl uses no
    context then, so normalise() sets it). Raises UcsKubeconfigError for a broken structure or
    a reference that does not resolve.
    """
    for key, expected in (("kind", "Config"), ("apiVersion", "v1")):
        # kubectl defaults both when they are missing, and refuses any other value.
        value = config.get(key)
        if value is not None and value != expected:
            raise UcsKubeconfigError(f"{key} must be '{expected}', not {quote(value) if isinstance(value, str) else type_name(value)}")
    contexts = entries(config, "contexts", strict=True)
    name = config.get("current-context")
    if name is not None and not isinstance(name, str):
        raise UcsKubeconfigError(f"current-context must be a string, not {type_name(name)}")
    if not name:
        if len(contexts) != 1:
            raise UcsKubeconfigError(f"current-context is not set and there are {len(contexts)} contexts to choose from")
        name = contexts[0].name
    context = find(contexts, name)
    if context is None:
        raise UcsKubeconfigError(f"current-context names context {quote(name)}, which is not in contexts")
    resolved = [context]
    for key, section in (("cluster", "clusters"), ("user", "users")):
        ref = context.body.get(key)
        if not isinstance(ref, str) or not ref:
            raise UcsKubeconfigError(f"{context.path}.context.{key} must be a non-empty string")
        target = find(entries(config, section, strict=True), ref)
        if target is None:
            raise UcsKubeconfigError(f"{context.path}.context.{key} names {key} {quote(ref)}, which is not in {section}")
        resolved.append(target)
    return resolved[0], resolved[1], resolved[2]


# --------------------------------------------------------------------------------------------
# normalise: what is written is what kubectl loads


def insecure_flag(cluster: Entry) -> bool:
    """Read insecure-skip-tls-verify, which the API types as a string; kubectl needs a boolean."""
    value = cluster.body.get("insecure-skip-tls-verify")
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise UcsKubeconfigError(f"{cluster.path}.cluster.insecure-skip-tls-verify must be true or false")


def _without_empty(body: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    # The API fills the fields it does not use with "" (its own example does): kubectl reads an
    # empty token, CA or key as "not set", so leave them out rather than write noise.
    return {key: value for key, value in body.items() if value != "" and value is not None}


def normal_cluster(cluster: Entry) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """The cluster body as kubectl must see it, and what was changed that a person should know.

    The insecure flag becomes a real boolean (left out when false); CA data together with the
    insecure flag, which client-go refuses ("specifying a root certificates file with the
    insecure flag is not allowed"), keeps the CA: verifying the server is the safe choice.
    """
    notes = []  # type: t.List[str]
    body = _without_empty(cluster.body)
    insecure = insecure_flag(cluster)
    body.pop("insecure-skip-tls-verify", None)
    if insecure and body.get("certificate-authority-data"):
        notes.append(
            f"{cluster.path}.cluster has both certificate-authority-data and insecure-skip-tls-verify, which kubectl refuses; "
            "the insecure flag was dropped, so kubectl verifies the server with that CA"
        )
    elif insecure:
        body["insecure-skip-tls-verify"] = True
    return body, notes


def normal_user(user: Entry) -> t.Dict[str, t.Any]:
    return _without_empty(user.body)


# --------------------------------------------------------------------------------------------
# build and merge


def fleet_kubeconfig(cluster: t.Mapping[str, t.Any], user: t.Mapping[str, t.Any], wanted: FleetEntries) -> t.Dict[str, t.Any]:
    """A standalone kubeconfig of the fleet under the wanted names (bodies already normalised)."""
    context = {"cluster": wanted.cluster_name, "user": wanted.user_name}  # type: t.Dict[str, t.Any]
    context.update(wanted.context_fields)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": wanted.cluster_name, "cluster": copy.deepcopy(dict(cluster))}],
        "contexts": [{"name": wanted.context_name, "context": context}],
        "current-context": wanted.context_name,
        "users": [{"name": wanted.user_name, "user": copy.deepcopy(dict(user))}],
    }


def _put(items: t.List[t.Any], entry: t.Dict[str, t.Any]) -> t.List[t.Any]:
    """Replace the entry of the same name in place (dropping later duplicates), else append."""
    result = []  # type: t.List[t.Any]
    placed = False
    for item in items:
        if isinstance(item, t.Mapping) and item.get("name") == entry["name"]:
            if not placed:
                result.append(entry)
                placed = True
            continue
        result.append(item)
    if not placed:
        result.append(entry)
    return result


def render_kubeconfig(
    existing: t.Union[str, bytes, t.Mapping[str, t.Any], None],
    fleet: t.Union[str, bytes, t.Mapping[str, t.Any], None],
    wanted: FleetEntries,
    standalone: bool = False,
) -> str:
    """Return the YAML text to write: the fleet's entries merged into ``existing`` (None: no file).

    ``fleet`` is the fleet's kubeconfig as accept_download() made it, or None to keep the fleet's
    cluster and user already in ``existing`` (only the context and current-context change). Every
    other entry and key of ``existing`` is kept as it was; entries of the wanted names are replaced
    where they are; a settable field the context has is kept unless ``wanted`` sets it. With
    ``standalone`` (or ``wanted.standalone``) the result holds the fleet alone.
    Raises UcsKubeconfigError: ``existing`` cannot be merged into ("the existing kubeconfig: ..."),
    or ``fleet`` is None and ``existing`` lacks the fleet's entries.
    """
    alone = standalone or wanted.standalone
    # A standalone file drops what it held, but may still keep its own fleet entries (fleet None).
    try:
        found = {} if existing is None or (alone and fleet is not None) else parse_kubeconfig(existing, allow_empty=True)
        sections = {section: entries(found, section, strict=False) for section, _body in SECTIONS}
    except UcsKubeconfigError as exc:
        raise type(exc)(f"the existing kubeconfig: {exc.msg}") from None
    base = {} if alone else found
    if fleet is None:
        cluster, user = find(sections["clusters"], wanted.cluster_name), find(sections["users"], wanted.user_name)
        if cluster is None or user is None:
            raise UcsKubeconfigError(f"the existing kubeconfig has no cluster and user {quote(wanted.cluster_name)} to keep")
    else:
        _context, cluster, user = select_context(parse_kubeconfig(fleet))
    own = fleet_kubeconfig(normal_cluster(cluster)[0], normal_user(user), wanted)
    old_context = find(sections["contexts"], wanted.context_name)
    if old_context is not None:
        context_body = own["contexts"][0]["context"]
        for key, value in all_context_fields(old_context.body).items():
            if value is not None:
                context_body.setdefault(key, value)

    result = base
    result.setdefault("apiVersion", "v1")
    result.setdefault("kind", "Config")
    for section, _body in SECTIONS:
        items = result.get(section)
        result[section] = _put(items if isinstance(items, list) else [], own[section][0])
    if wanted.set_current or not current_context(result):
        result["current-context"] = wanted.context_name
    return dump_kubeconfig(result)


# --------------------------------------------------------------------------------------------
# secrets


def _decoded_key_lines(key_data: str) -> t.List[str]:
    try:
        pem = base64.b64decode(key_data.strip().replace("\r", "").replace("\n", ""), validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return []
    lines = [pem]
    lines.extend(line.strip() for line in pem.splitlines() if len(line.strip()) > 16 and not line.strip().startswith("-----"))
    return lines


def sensitive_values(config: t.Mapping[str, t.Any]) -> t.Set[str]:
    """Return every secret string of ``config``, for ``module.no_log_values``.

    Covers each user's client-key-data (as written, stripped, decoded PEM, and each PEM body line
    of more than 16 characters), token, password and auth-provider secrets. Empty values are left
    out (masking "" would mask everything). Anything malformed is skipped, never an error.
    """
    found = set()  # type: t.Set[str]

    def add(value: t.Any) -> None:
        if isinstance(value, str) and value.strip():
            found.add(value)
            found.add(value.strip())

    users = config.get("users") if isinstance(config, t.Mapping) else None
    for entry in users if isinstance(users, list) else []:
        body = entry.get("user") if isinstance(entry, t.Mapping) else None
        if not isinstance(body, t.Mapping):
            continue
        key_data = body.get("client-key-data")
        add(key_data)
        if isinstance(key_data, str) and key_data.strip():
            for line in _decoded_key_lines(key_data):
                add(line)
        for name in ("token", "password"):
            add(body.get(name))
        for value in _provider_secrets(body.get("auth-provider")):
            add(value)
    return found


def _provider_secrets(provider: t.Any) -> t.List[t.Any]:
    provider_config = provider.get("config") if isinstance(provider, t.Mapping) else None
    if not isinstance(provider_config, t.Mapping):
        return []
    return [value for name, value in provider_config.items() if any(word in str(name).lower() for word in ("token", "secret", "password"))]
