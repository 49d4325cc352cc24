# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Credential resolution (AK/SK, IAM token, IAM password) and IAM endpoint handling.

Nothing here talks to the network: ``_http.UcsClient`` uses the resolved ``Credentials`` to sign
requests or to obtain an IAM token. The environment variables named in messages are those of the
one argument spec (``_argspec.OPTION_ENV``).
"""

import typing as t

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import OPTION_ENV, is_set
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._endpoints import OTC_REGIONS, check_region, validate_endpoint_url
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

AUTH_METHODS = ("aksk", "token", "password")
METHOD_LABELS = {"aksk": "AK/SK", "token": "IAM token", "password": "IAM password"}

# Options that, when set, show that the user means a method ("markers"). domain_id, domain_name,
# iam_endpoint and region are not markers: they are often exported for other tools and must not
# turn a complete set of another method into a conflict.
METHOD_MARKERS = {
    "aksk": ("access_key", "secret_key", "security_token"),
    "token": ("auth_token",),
    "password": ("username", "password"),
}
METHOD_REQUIRED = {
    "aksk": ("access_key", "secret_key", "domain_id"),
    "token": ("auth_token",),
    "password": ("username", "password", "domain_name"),
}

ENV_HINT = "Options may also come from environment variables (HUAWEICLOUD_SDK_*, OS_*): check the environment of the task"

IAM_TOKEN_PATH = "/v3/auth/tokens"


Label = t.Callable[[str], str]


def _join(names: t.Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def iam_endpoint_for_region(region: str) -> str:
    """Return the IAM base URL of a region (Open Telekom Cloud for eu-de/eu-nl/eu-ch2, else Huawei Cloud).

    Raises:
        UcsValidationError: the region id is malformed.
    """
    region = check_region(region)
    if region in OTC_REGIONS:
        return f"https://iam.{region}.otc.t-systems.com"
    return f"https://iam.{region}.myhuaweicloud.com"


def iam_token_url(iam_endpoint: t.Optional[str], region: t.Optional[str] = None, label: Label = str) -> str:
    """Return the IAM token URL (``<base>/v3/auth/tokens``).

    Args:
        iam_endpoint: the IAM base URL, with or without ``/v3`` (or the full token URL) and a
            trailing slash; when empty the endpoint is derived from ``region``.
        region: the region id, used only without ``iam_endpoint``.
    Returns:
        The token URL.
    Raises:
        UcsValidationError: an invalid iam_endpoint, a malformed region, or neither given.
    """
    if is_set(iam_endpoint):
        base = validate_endpoint_url(iam_endpoint, label("iam_endpoint"))
    elif is_set(region):
        base = iam_endpoint_for_region(check_region(region, label))
    else:
        raise UcsValidationError(
            f"IAM password authentication needs the IAM endpoint: set {label('iam_endpoint')} (environment variable OS_AUTH_URL) "
            f"or {label('region')} (HUAWEICLOUD_SDK_REGION, OS_REGION_NAME) to derive it",
            option="iam_endpoint",
        )
    for suffix in (IAM_TOKEN_PATH, "/v3"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.rstrip("/") + IAM_TOKEN_PATH


class Credentials:
    """Resolved credentials of one method; ``repr`` never shows a secret.

    Attributes:
        method: ``aksk``, ``token`` or ``password``.
        access_key, secret_key, security_token, domain_id: AK/SK (security_token for temporary AK/SK).
        auth_token: an IAM token (method ``token``).
        username, password, domain_name, iam_token_url: IAM password authentication.
    """

    SECRET_FIELDS = ("secret_key", "security_token", "auth_token", "password")

    def __init__(
        self,
        method: str,
        *,
        access_key: t.Optional[str] = None,
        secret_key: t.Optional[str] = None,
        security_token: t.Optional[str] = None,
        domain_id: t.Optional[str] = None,
        auth_token: t.Optional[str] = None,
        username: t.Optional[str] = None,
        password: t.Optional[str] = None,
        domain_name: t.Optional[str] = None,
        iam_token_url: t.Optional[str] = None,
    ) -> None:
        if method not in AUTH_METHODS:
            raise ValueError(f"unknown authentication method {method!r}")
        self.method = method
        self.access_key = access_key
        self.secret_key = secret_key
        self.security_token = security_token
        self.domain_id = domain_id
        self.auth_token = auth_token
        self.username = username
        self.password = password
        self.domain_name = domain_name
        self.iam_token_url = iam_token_url

    def __repr__(self) -> str:
        shown = []
        for name in ("access_key", "domain_id", "username", "domain_name", "iam_token_url"):
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        for name in self.SECRET_FIELDS:
            if getattr(self, name) is not None:
                shown.append(f"{name}=<redacted>")
        return f"Credentials(method={self.method!r}{''.join(', ' + item for item in shown)})"

    __str__ = __repr__

    def __reduce__(self) -> t.NoReturn:
        # Pickling would copy the secrets somewhere (a cache, a file); nothing needs it.
        raise TypeError("Credentials cannot be pickled")

    @property
    def is_temporary(self) -> bool:
        """True for temporary AK/SK (with a security token)."""
        return self.method == "aksk" and is_set(self.security_token)

    def describe(self) -> str:
        """Return a secret-free phrase for messages, e.g. ``AK/SK (access key AKID..., domain ID d1)``."""
        if self.method == "aksk":
            kind = "temporary AK/SK" if self.is_temporary else "AK/SK"
            return f"{kind} (access key {self.access_key}, domain ID {self.domain_id})"
        if self.method == "token":
            return "an IAM token (auth_token)"
        return f"IAM password of user {self.username} in domain {self.domain_name}"

    def sensitive_values(self) -> t.Set[str]:
        """Return every secret value held, e.g. for ``module.no_log_values``."""
        return {value for value in (getattr(self, name) for name in self.SECRET_FIELDS) if is_set(value)}


def _present(params: t.Mapping[str, t.Any], names: t.Iterable[str]) -> t.List[str]:
    return [name for name in names if is_set(params.get(name))]


def _check_complete(params: t.Mapping[str, t.Any], method: str, label: Label) -> None:
    required = METHOD_REQUIRED[method]
    missing = [name for name in required if not is_set(params.get(name))]
    if method == "aksk" and not is_set(params.get("access_key")) and not is_set(params.get("secret_key")) and is_set(params.get("security_token")):
        raise UcsValidationError(
            f"{label('security_token')} is set but {label('access_key')} and {label('secret_key')} are missing: a security token is only "
            f"used with temporary AK/SK. {ENV_HINT}",
            option="security_token",
        )
    if not missing:
        return
    present = _present(params, required + (("security_token",) if method == "aksk" else ()))
    method_label = METHOD_LABELS[method]
    verb = "is" if len(missing) == 1 else "are"
    if present:
        text = f"{_join([label(n) for n in present])} {'is' if len(present) == 1 else 'are'} set but {_join([label(n) for n in missing])} {verb} missing"
    else:
        text = f"{_join([label(n) for n in missing])} {verb} required"
    where = _join([f"{label(name)} (or {'/'.join(OPTION_ENV[name])})" for name in missing])
    raise UcsValidationError(f"{text} for {method_label} authentication: set {where}. {ENV_HINT}", option=missing[0])


def _build(params: t.Mapping[str, t.Any], method: str, label: Label) -> Credentials:
    _check_complete(params, method, label)
    if method == "aksk":
        return Credentials(
            "aksk",
            access_key=params["access_key"],
            secret_key=params["secret_key"],
            security_token=params.get("security_token") or None,
            domain_id=params["domain_id"],
        )
    if method == "token":
        return Credentials("token", auth_token=params["auth_token"])
    return Credentials(
        "password",
        username=params["username"],
        password=params["password"],
        domain_name=params["domain_name"],
        iam_token_url=iam_token_url(params.get("iam_endpoint"), params.get("region"), label),
    )


def resolve_credentials(params: t.Mapping[str, t.Any], label: Label = str) -> Credentials:
    """Pick the authentication method and check that its options are complete.

    Args:
        params: the module's params (``auth_method`` and the credential options; missing keys
            count as unset).
        label: how a message names an option (the role names its variables).
    Returns:
        Credentials of exactly one method.
    Raises:
        UcsValidationError: no credentials, a partial set, options of two methods with
            ``auth_method=auto``, a security token without AK/SK, or an invalid IAM endpoint/region.
            The message names the options, never their values.
    """
    method = params.get("auth_method") or "auto"
    if method in AUTH_METHODS:
        # An explicit method uses only its own options; the others (e.g. from the environment) are ignored.
        return _build(params, method, label)
    if method != "auto":
        raise UcsValidationError(f"{label('auth_method')} must be one of auto, {', '.join(AUTH_METHODS)}; got {method!r}", option="auth_method")
    used = {name: _present(params, markers) for name, markers in METHOD_MARKERS.items()}
    used = {name: present for name, present in used.items() if present}
    if len(used) > 1:
        parts = [f"{label(present[0])} ({METHOD_LABELS[name]})" for name, present in used.items()]
        both = "all" if len(parts) > 2 else "both"
        raise UcsValidationError(
            f"{_join(parts)} are {both} set; set {label('auth_method')} or remove one. {ENV_HINT}",
            option="auth_method",
        )
    if not used:
        aksk, token, password = ([f"{label(name)} (or {OPTION_ENV[name][0]})" for name in METHOD_REQUIRED[method]] for method in AUTH_METHODS)
        raise UcsValidationError(
            f"No credentials: set {_join(aksk)} (AK/SK), {_join(token)} (IAM token), or {_join(password)} (IAM password). {ENV_HINT}",
            option="auth_method",
        )
    return _build(params, next(iter(used)), label)
