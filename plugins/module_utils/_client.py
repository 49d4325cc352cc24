# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PRIVATE to the ucs_cloud.fleet collection: may change without notice.

"""The UCS client of a module, from the connection options every UCS module takes.

Endpoint, credentials and TLS options are checked here before any request; secrets the client
holds or obtains are registered with the module so that Ansible masks them in any output.
ucs_federation_cert builds its client here too (its ``download()``), with the role's names for
the options in messages when the role runs it.
"""

import typing as t

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.ucs_cloud.fleet.plugins.module_utils._endpoints import resolve_endpoint


def ucs_client(module: t.Any, label: t.Callable[[str], str] = str) -> t.Any:
    """Return a ``_http.UcsClient`` for the module's connection options.

    Fails the module (``missing_required_lib``) when requests is missing.

    Raises:
        UcsValidationError: no usable endpoint, or a partial or conflicting set of credentials,
            found before any request.
    """
    # Imported here, as ucs_federation_cert does: requests alone costs about 100 ms.
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils import _http as http  # noqa: PLC0415
    from ansible_collections.ucs_cloud.fleet.plugins.module_utils._auth import resolve_credentials  # noqa: PLC0415

    if http.REQUESTS_IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("requests"), exception=http.REQUESTS_IMPORT_ERROR)
    params = module.params
    # Before anything else: credentials must never go to a guessed host.
    endpoint = resolve_endpoint(params["endpoint"], params["region"], params.get("iam_endpoint"), label)
    credentials = resolve_credentials(params, label)
    warning = http.tls_warning(params["validate_certs"], params["ca_path"], label)
    if warning:
        module.warn(warning)
    return http.UcsClient(
        endpoint,
        credentials,
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        timeout=params["timeout"],
        retries=params["retries"],
        on_retry=module.warn,
        on_secret=module.no_log_values.add,
        label=label,
    )
