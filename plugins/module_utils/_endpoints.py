# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""Which UCS endpoint a run talks to: the ``endpoint`` option, or the one documented for ``region``.

Stdlib only, no network. The rule that matters: credentials (an IAM token above all, which is a
bearer credential) must never be sent to the host of another cloud. So a default endpoint is only
derived where the UCS API reference documents one, and a mismatch between the endpoint, the
region and the IAM endpoint that are known is refused before any request is sent.

Source (docs/fidelity.md): Huawei Cloud UCS API reference, "Endpoints" (api-ucs/ucs_api_0002):
"Huawei Cloud Chinese Mainland: ucs.myhuaweicloud.com; Huawei Cloud International:
ucs-intl.myhuaweicloud.com". UCS is a global service: one endpoint per site, not per region.
Open Telekom Cloud and Huawei Cloud Europe (myhuaweicloud.eu) document no UCS endpoint.
"""

import re
import typing as t
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import is_set
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

# Open Telekom Cloud regions; every other region id is taken as Huawei Cloud.
OTC_REGIONS = ("eu-de", "eu-nl", "eu-ch2")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")

Label = t.Callable[[str], str]

CHINESE_MAINLAND_ENDPOINT = "https://ucs.myhuaweicloud.com"
INTERNATIONAL_ENDPOINT = "https://ucs-intl.myhuaweicloud.com"

# Huawei Cloud public region ids (the SDKs' region tables, e.g. huaweicloudsdkcce CceRegion). The
# cn-* regions are the Chinese mainland site; the SDK's own UcsRegion names cn-north-4 for
# ucs.myhuaweicloud.com. The others are sold on the international site. A region that is not in
# these tables has no documented UCS endpoint: `endpoint` is then required.
CHINESE_MAINLAND_REGIONS = frozenset(
    (
        "cn-north-1",
        "cn-north-2",
        "cn-north-4",
        "cn-north-9",
        "cn-north-11",
        "cn-east-2",
        "cn-east-3",
        "cn-east-4",
        "cn-south-1",
        "cn-south-2",
        "cn-south-4",
        "cn-southwest-2",
    )
)
INTERNATIONAL_REGIONS = frozenset(
    (
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "af-south-1",
        "sa-brazil-1",
        "la-north-2",
        "la-south-2",
        "na-mexico-1",
        "tr-west-1",
        "me-east-1",
    )
)

# Clouds recognised from a host name; anything else (a private endpoint, 127.0.0.1) is "unknown"
# and never conflicts.
OTC = "Open Telekom Cloud"
HUAWEI = "Huawei Cloud"
HUAWEI_EU = "Huawei Cloud Europe"
_HOST_CLOUDS = (
    (".otc.t-systems.com", OTC),
    (".myhuaweicloud.eu", HUAWEI_EU),
    (".myhuaweicloud.com", HUAWEI),
)
ENDPOINT_HINT = (
    "set endpoint (environment variable UCS_ENDPOINT) to the UCS API URL of your cloud: "
    "Huawei Cloud Chinese mainland " + CHINESE_MAINLAND_ENDPOINT + ", Huawei Cloud international " + INTERNATIONAL_ENDPOINT
)


def host_cloud(url: t.Optional[str]) -> t.Optional[str]:
    """The cloud a URL's host belongs to, or None when the host tells nothing."""
    if not url:
        return None
    try:
        host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    for suffix, cloud in _HOST_CLOUDS:
        if ("." + host).endswith(suffix):
            return cloud
    return None


def region_cloud(region: str) -> t.Optional[str]:
    """The cloud of a well-formed region id, or None when it is not a known region."""
    if region in OTC_REGIONS:
        return OTC
    if region in CHINESE_MAINLAND_REGIONS or region in INTERNATIONAL_REGIONS:
        return HUAWEI
    if region.startswith("eu-west-10"):
        return HUAWEI_EU
    return None


def check_region(region: t.Any, label: Label = str) -> str:
    """Return a region id (``eu-de``, ``ap-southeast-1``) without surrounding white space.

    Raises:
        UcsValidationError: naming ``region`` (``label``: in the caller's words), when it is not a region id.
    """
    if not isinstance(region, str) or not _REGION_RE.fullmatch(region.strip()):
        raise UcsValidationError(f"{label('region')} {region!r} is not a region id such as eu-de or ap-southeast-1", option="region")
    return region.strip()


def validate_endpoint_url(url: t.Any, option: str) -> str:
    """Check an API base URL and return it without a trailing ``/``.

    Args:
        url: the option's value.
        option: the option name used in messages.
    Returns:
        The URL (scheme and host lower-cased, no trailing slash).
    Raises:
        UcsValidationError: not https, no host, a query string, a fragment or user info.
    """
    if not isinstance(url, str) or not url.strip():
        raise UcsValidationError(f"{option} must be an https:// URL, got an empty value", option=option)
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UcsValidationError(f"{option} is not a valid URL (bad host or port)", option=option) from None
    if parts.scheme.lower() != "https":
        raise UcsValidationError(f"{option} must be an https:// URL (got scheme {parts.scheme or 'none'!r})", option=option)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        # Never echo the URL: the user info may hold a password.
        raise UcsValidationError(f"{option} must not contain user information (user:password@)", option=option)
    if not parts.hostname:
        raise UcsValidationError(f"{option} must name a host, e.g. https://host.example.com", option=option)
    if parts.query or text.endswith("?"):
        raise UcsValidationError(f"{option} must not contain a query string", option=option)
    if parts.fragment or "#" in text:
        raise UcsValidationError(f"{option} must not contain a fragment (#...)", option=option)
    if any(ch.isspace() for ch in text):
        raise UcsValidationError(f"{option} must not contain white space", option=option)
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in (parts.hostname or "") and not netloc.startswith("["):
        # IPv6 literal: keep the brackets.
        netloc = f"[{parts.hostname}]" if port is None else f"[{parts.hostname}]:{port}"
    return urlunsplit(("https", netloc, parts.path.rstrip("/"), "", ""))


def resolve_endpoint(endpoint: t.Optional[str], region: t.Optional[str], iam_endpoint: t.Optional[str] = None, label: t.Callable[[str], str] = str) -> str:
    """Return the UCS base URL to use, before any request is sent.

    Args:
        endpoint: the ``endpoint`` option (``UCS_ENDPOINT``); wins when set.
        region: the ``region`` option (``HUAWEICLOUD_SDK_REGION``, ``OS_REGION_NAME``).
        iam_endpoint: the ``iam_endpoint`` option (``OS_AUTH_URL``), only to detect a token that
            would be obtained from one cloud and sent to another.
        label: how a message names an option (the role names its variables).
    Returns:
        The validated https base URL without a trailing slash.
    Raises:
        UcsValidationError: naming ``endpoint`` when it is required (no region; a region without a
            documented UCS endpoint, e.g. an Open Telekom Cloud region) or when it belongs to
            another cloud than ``region`` or ``iam_endpoint``; naming ``region`` when it is malformed.
    """
    if is_set(endpoint):
        url = validate_endpoint_url(endpoint, label("endpoint"))
        cloud = host_cloud(url)
        if cloud is not None:
            if is_set(region):
                other = region_cloud(check_region(region, label))
                if other is not None and other != cloud:
                    raise UcsValidationError(
                        f"{label('endpoint')} {url} is a host of {cloud}, but {label('region')} {region.strip()} is {other}: "
                        "credentials are never sent to another cloud's host. "
                        f"Set {label('endpoint')} to the UCS API of {other} or correct {label('region')} (HUAWEICLOUD_SDK_REGION, OS_REGION_NAME)",
                        option="endpoint",
                    )
            iam_cloud = host_cloud(iam_endpoint) if is_set(iam_endpoint) else None
            if iam_cloud is not None and iam_cloud != cloud:
                raise UcsValidationError(
                    f"{label('endpoint')} {url} is a host of {cloud}, but {label('iam_endpoint')} (OS_AUTH_URL) is {iam_cloud}: "
                    "a token from one cloud is never sent to "
                    f"another cloud's host. Set {label('endpoint')} and {label('iam_endpoint')} for the same cloud",
                    option="endpoint",
                )
        return url
    if not is_set(region):
        raise UcsValidationError(
            f"{label('endpoint')} is required when {label('region')} is not set: UCS documents one endpoint per site and nothing here tells "
            f"which applies. Set {label('region')} (HUAWEICLOUD_SDK_REGION, OS_REGION_NAME; e.g. cn-north-4 for the Chinese "
            "mainland site, ap-southeast-1 for the international site) or " + ENDPOINT_HINT.replace("set endpoint", "set " + label("endpoint")),
            option="endpoint",
        )
    name = check_region(region, label)
    if name in CHINESE_MAINLAND_REGIONS:
        url = CHINESE_MAINLAND_ENDPOINT
    elif name in INTERNATIONAL_REGIONS:
        url = INTERNATIONAL_ENDPOINT
    else:
        cloud = region_cloud(name)
        where = f" ({cloud})" if cloud else ""
        raise UcsValidationError(
            f"{label('endpoint')} is required for {label('region')} {name}{where}: the UCS API reference documents no UCS endpoint there, and "
            f"credentials are never sent to a guessed host. Set {label('endpoint')} (environment variable UCS_ENDPOINT) to the UCS API "
            "URL your cloud publishes",
            option="endpoint",
        )
    iam_cloud = host_cloud(iam_endpoint) if is_set(iam_endpoint) else None
    if iam_cloud is not None and iam_cloud != HUAWEI:
        raise UcsValidationError(
            f"{label('endpoint')} is required: {label('region')} {name} derives {url}, a Huawei Cloud host, but {label('iam_endpoint')} (OS_AUTH_URL) "
            f"is {iam_cloud}; a token from one cloud is never sent to another cloud's host. Set {label('endpoint')} (environment variable UCS_ENDPOINT) "
            "to the UCS API URL of that cloud",
            option="endpoint",
        )
    return url
