"""The UCS endpoint rules: documented endpoints from region, never a guessed host for credentials."""

from __future__ import annotations

from typing import Optional

import pytest

from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _endpoints as endpoints
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._argspec import connection_argument_spec
from ansible_collections.ucs_cloud.fleet.plugins.module_utils._errors import UcsValidationError

MAINLAND = "https://ucs.myhuaweicloud.com"
INTL = "https://ucs-intl.myhuaweicloud.com"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("cn-north-4", MAINLAND),
        ("cn-east-3", MAINLAND),
        ("cn-south-1", MAINLAND),
        ("cn-southwest-2", MAINLAND),
        (" cn-north-4 ", MAINLAND),
        ("ap-southeast-1", INTL),
        ("ap-southeast-3", INTL),
        ("af-south-1", INTL),
        ("la-south-2", INTL),
        ("sa-brazil-1", INTL),
        ("tr-west-1", INTL),
    ],
)
def test_documented_endpoint_from_region(region: str, expected: str) -> None:
    assert endpoints.resolve_endpoint(None, region) == expected
    # An exported but empty UCS_ENDPOINT counts as unset.
    assert endpoints.resolve_endpoint("", region) == expected
    assert endpoints.resolve_endpoint("  ", region) == expected


@pytest.mark.parametrize(("region", "cloud"), [("eu-de", "Open Telekom Cloud"), ("eu-nl", "Open Telekom Cloud"), ("eu-ch2", "Open Telekom Cloud")])
def test_open_telekom_cloud_region_requires_endpoint(region: str, cloud: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(None, region)
    assert info.value.option == "endpoint"
    assert info.value.msg.startswith(f"endpoint is required for region {region} ({cloud})")
    assert "UCS_ENDPOINT" in info.value.msg
    assert "myhuaweicloud" not in info.value.msg


@pytest.mark.parametrize("region", ["eu-west-101", "eu-west-0", "ru-northwest-2", "xx-nowhere-9", "my-kualalumpur-1"])
def test_region_without_documented_endpoint_requires_endpoint(region: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(None, region)
    assert info.value.option == "endpoint" and f"endpoint is required for region {region}" in info.value.msg


@pytest.mark.parametrize("region", [None, "", "   "])
def test_neither_region_nor_endpoint_is_an_error(region: Optional[str]) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(None, region)
    assert info.value.option == "endpoint"
    assert "endpoint is required when region is not set" in info.value.msg
    assert MAINLAND in info.value.msg and INTL in info.value.msg


@pytest.mark.parametrize("region", ["EU-DE", "eu_de", "eu", "cn-north-4/../x", "https://ucs.myhuaweicloud.com"])
def test_malformed_region(region: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(None, region)
    assert info.value.option == "region"


@pytest.mark.parametrize(
    ("endpoint", "region", "expected"),
    [
        ("https://ucs.eu-de.example.com/", "eu-de", "https://ucs.eu-de.example.com"),
        ("https://ucs.eu-de.otc.t-systems.com", "eu-de", "https://ucs.eu-de.otc.t-systems.com"),
        ("https://127.0.0.1:8443", None, "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443", "eu-de", "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443", "cn-north-4", "https://127.0.0.1:8443"),
        # A Chinese-mainland account may work in an international region: the user's explicit choice wins.
        (MAINLAND, "ap-southeast-1", MAINLAND),
        (INTL, "cn-north-4", INTL),
        ("https://UCS.MyHuaweiCloud.com/", None, MAINLAND),
        ("https://ucs.example.com", "xx-nowhere-9", "https://ucs.example.com"),
    ],
)
def test_explicit_endpoint_wins(endpoint: str, region: Optional[str], expected: str) -> None:
    assert endpoints.resolve_endpoint(endpoint, region) == expected


@pytest.mark.parametrize(
    ("endpoint", "region", "iam_endpoint", "fragment"),
    [
        (MAINLAND, "eu-de", None, "is a host of Huawei Cloud, but region eu-de is Open Telekom Cloud"),
        (INTL, "eu-nl", None, "is a host of Huawei Cloud, but region eu-nl is Open Telekom Cloud"),
        ("https://ucs.eu-de.otc.t-systems.com", "cn-north-4", None, "is a host of Open Telekom Cloud, but region cn-north-4 is Huawei Cloud"),
        (MAINLAND, None, "https://iam.eu-de.otc.t-systems.com/v3", "iam_endpoint (OS_AUTH_URL) is Open Telekom Cloud"),
        ("https://ucs.eu-de.otc.t-systems.com", None, "https://iam.myhuaweicloud.com", "iam_endpoint (OS_AUTH_URL) is Huawei Cloud"),
        (None, "cn-north-4", "https://iam.eu-de.otc.t-systems.com/v3", "iam_endpoint (OS_AUTH_URL) is Open Telekom Cloud"),
        (None, "ap-southeast-1", "https://iam.myhuaweicloud.eu/v3", "iam_endpoint (OS_AUTH_URL) is Huawei Cloud Europe"),
    ],
)
def test_cross_cloud_mismatch_is_refused(endpoint: Optional[str], region: Optional[str], iam_endpoint: Optional[str], fragment: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(endpoint, region, iam_endpoint)
    assert info.value.option == "endpoint"
    assert fragment in info.value.msg


@pytest.mark.parametrize(
    ("endpoint", "region", "iam_endpoint", "expected"),
    [
        (None, "cn-north-4", "https://iam.cn-north-4.myhuaweicloud.com/v3", MAINLAND),
        (None, "ap-southeast-1", "https://iam.ap-southeast-1.myhuaweicloud.com", INTL),
        ("https://ucs.eu-de.otc.t-systems.com", "eu-de", "https://iam.eu-de.otc.t-systems.com/v3", "https://ucs.eu-de.otc.t-systems.com"),
        # Unknown hosts (a proxy, the simulator) never conflict.
        ("https://127.0.0.1:1", "eu-de", "https://iam.eu-de.otc.t-systems.com/v3", "https://127.0.0.1:1"),
        (MAINLAND, None, "https://127.0.0.1:1/v3", MAINLAND),
        (None, "cn-north-4", "", MAINLAND),
    ],
)
def test_consistent_clouds_pass(endpoint: Optional[str], region: Optional[str], iam_endpoint: Optional[str], expected: str) -> None:
    assert endpoints.resolve_endpoint(endpoint, region, iam_endpoint) == expected


@pytest.mark.parametrize("endpoint", ["http://ucs.myhuaweicloud.com", "https://user:pw@ucs.example.com", "https://ucs.example.com/?x=1", "ftp://x"])
def test_explicit_endpoint_is_validated(endpoint: str) -> None:
    with pytest.raises(UcsValidationError) as info:
        endpoints.resolve_endpoint(endpoint, "cn-north-4")
    assert info.value.option == "endpoint"
    assert "pw" not in info.value.msg


@pytest.mark.parametrize(
    ("url", "cloud"),
    [
        ("https://ucs.myhuaweicloud.com", "Huawei Cloud"),
        ("https://iam.eu-de.otc.t-systems.com/v3", "Open Telekom Cloud"),
        ("https://iam.myhuaweicloud.eu", "Huawei Cloud Europe"),
        ("https://evil-myhuaweicloud.com", None),
        ("https://myhuaweicloud.com.evil.example", None),
        ("https://127.0.0.1:8443", None),
        ("https://[::1", None),
        (None, None),
    ],
)
def test_host_cloud(url: Optional[str], cloud: Optional[str]) -> None:
    assert endpoints.host_cloud(url) == cloud


def test_endpoint_option_has_no_hard_default() -> None:
    spec = connection_argument_spec()["endpoint"]
    assert "default" not in spec or spec["default"] is None
    assert spec["fallback"][1] == ["UCS_ENDPOINT"]


def test_region_tables_do_not_overlap_other_clouds() -> None:
    assert not (endpoints.CHINESE_MAINLAND_REGIONS & endpoints.INTERNATIONAL_REGIONS)
    for region in ("eu-de", "eu-nl", "eu-ch2"):
        assert region not in endpoints.CHINESE_MAINLAND_REGIONS | endpoints.INTERNATIONAL_REGIONS
    assert all(region.startswith("cn-") for region in endpoints.CHINESE_MAINLAND_REGIONS)
    assert not any(region.startswith("cn-") for region in endpoints.INTERNATIONAL_REGIONS)


def test_one_region_rule_and_one_blank_rule() -> None:
    """The region pattern is _endpoints' and the blank rule _argspec's: one place each."""
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _argspec as argspec
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _auth as auth

    assert auth.check_region is endpoints.check_region and endpoints.is_set is argspec.is_set and auth.is_set is argspec.is_set
    assert not hasattr(auth, "_REGION_RE") and not hasattr(endpoints, "_is_set")
    with pytest.raises(UcsValidationError, match="region 'cn-north-4\\\\nx' is not a region id"):
        endpoints.resolve_endpoint(None, "cn-north-4\nx")
