# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Connection and credential options shared by every module of ucs_cloud.fleet.

Kept in step with plugins/module_utils/_argspec.py:connection_argument_spec().
"""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - Base URL of the UCS API. UCS is a global service with one endpoint per site, not per region.
      - Huawei Cloud documents V(https://ucs.myhuaweicloud.com) (Chinese mainland) and
        V(https://ucs-intl.myhuaweicloud.com) (international site). Open Telekom Cloud and Huawei
        Cloud Europe document no UCS endpoint; their users set the endpoint their cloud publishes.
      - If not set, the value of the E(UCS_ENDPOINT) environment variable is used; failing that it
        is derived from O(region) (a C(cn-*) region of Huawei Cloud gives the Chinese mainland
        endpoint, the international regions such as V(ap-southeast-1) the international one).
      - Required when O(region) is not set, or is a region without a documented UCS endpoint, such
        as V(eu-de), V(eu-nl) and V(eu-ch2) (Open Telekom Cloud). The module fails before sending
        any request, so that credentials never go to a guessed host, and also when O(endpoint)
        names a host of another cloud than O(region) or O(iam_endpoint).
    type: str
  region:
    description:
      - Region of the account, used to derive O(endpoint) and O(iam_endpoint) when they are not set
        (V(eu-de), V(eu-nl) and V(eu-ch2) are Open Telekom Cloud regions).
      - If not set, the value of E(HUAWEICLOUD_SDK_REGION) or E(OS_REGION_NAME) is used.
    type: str
  auth_method:
    description:
      - Which credentials to use.
      - V(auto) requires exactly one complete set among AK/SK (O(access_key), O(secret_key),
        O(domain_id), optionally O(security_token)), an IAM token (O(auth_token)) and IAM
        password authentication (O(username), O(password), O(domain_name)). A partial set, or
        options of two methods, is an error raised before any API call. Remember that options
        can come from environment variables.
      - V(aksk), V(token) and V(password) use only that method's options and ignore the others,
        which helps when the environment carries variables for several methods.
    type: str
    choices: [auto, aksk, token, password]
    default: auto
  access_key:
    description:
      - Access key ID (AK) for AK/SK request signing (SDK-HMAC-SHA256).
      - If not set, the value of E(HUAWEICLOUD_SDK_AK) or E(OS_ACCESS_KEY) is used.
    type: str
  secret_key:
    description:
      - Secret access key (SK) that signs requests. It never leaves the host running the module.
      - If not set, the value of E(HUAWEICLOUD_SDK_SK) or E(OS_SECRET_KEY) is used.
    type: str
  security_token:
    description:
      - Security token of temporary AK/SK credentials, sent as C(X-Security-Token).
      - If not set, the value of E(HUAWEICLOUD_SDK_SECURITY_TOKEN) or E(OS_SECURITY_TOKEN) is used.
    type: str
  domain_id:
    description:
      - Account (domain) ID, sent as C(X-Domain-Id) with AK/SK requests; UCS is a global service,
        so requests carry the domain rather than a project.
      - If not set, the value of E(HUAWEICLOUD_SDK_DOMAIN_ID) or E(OS_DOMAIN_ID) is used.
    type: str
  auth_token:
    description:
      - An existing IAM token, sent as C(X-Auth-Token). UCS needs a domain-scoped token.
      - If not set, the value of E(OS_AUTH_TOKEN) is used.
    type: str
  username:
    description:
      - IAM user name for password authentication. The module obtains one domain-scoped token
        per run.
      - If not set, the value of E(OS_USERNAME) is used.
    type: str
  password:
    description:
      - Password of O(username).
      - If not set, the value of E(OS_PASSWORD) is used.
    type: str
  domain_name:
    description:
      - Account (domain) name that O(username) belongs to; the token is scoped to it.
      - If not set, the value of E(OS_USER_DOMAIN_NAME) or E(OS_DOMAIN_NAME) is used.
    type: str
  iam_endpoint:
    description:
      - Base URL of the IAM service for password authentication, with or without the C(/v3)
        suffix (E(OS_AUTH_URL) usually carries it).
      - If not set, the value of E(OS_AUTH_URL) is used; failing that it is derived from
        O(region).
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the UCS and IAM endpoints.
      - B(Warning:) set this to V(false) only for testing; the module warns when it is off.
      - V(false) turns verification off even when O(ca_path) (or E(UCS_CA_PATH), which AWX may
        inject into every job) is set; O(ca_path) is then ignored, with a warning that says so.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authorities to trust for the UCS and IAM endpoints, instead
        of the system's.
      - If not set, the value of E(UCS_CA_PATH) is used.
    type: path
  timeout:
    description:
      - Deadline in seconds for each HTTP request attempt, 1 to 600, covering connecting, sending
        and receiving the whole answer together (a server that trickles its answer cannot hold a
        run longer). Answers are read up to 1 MiB after decompression.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is repeated after a failure that is safe to retry (HTTP 429,
        500, 502, 503, 504, timeouts and connection errors for reads; only answers that prove the request was
        not processed for writes), 0 to 10.
    type: int
    default: 3
requirements:
  - requests
"""
