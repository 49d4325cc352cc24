# Copyright: ucs_cloud.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Attribute texts shared by the modules of ucs_cloud.fleet."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  action_group:
    description: Use C(group/ucs_cloud.fleet.ucs) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ucs_cloud.fleet.ucs
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change and makes no API write call.
  safe_file_operations:
    description:
      - Files are replaced atomically, so a reader sees the old file or the new one, never a partial one.
"""

    # The modules that are steps of the role ucs_kubeconfig: action plugins, run per host.
    ROLE_STEP = r"""
attributes:
  action:
    description: The work is done by an action plugin, on the controller, in the host's worker.
    support: full
  platform:
    platforms: posix
"""
