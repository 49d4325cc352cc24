"""``patch_module_args`` on every supported ansible-core.

ansible.module_utils.testing (with patch_module_args) exists from ansible-core 2.19 on; for 2.16
to 2.18 the same context manager sets the serialized arguments AnsibleModule reads, as
ansible-core's own unit tests did before 2.19.
"""

from __future__ import annotations

import contextlib
import json
import typing as t

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args: t.Optional[t.Dict[str, t.Any]] = None) -> t.Iterator[None]:
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


__all__ = ["SYSLOG_REFUSES_NUL", "patch_module_args", "refused_naming"]


# Python 3.13's syslog refuses a NUL, and AnsibleModule logs every module's invocation there (or
# to the journal) before the module's code runs: a NUL in an option is then refused by
# ansible-core itself, before any request, in words that name no option.
SYSLOG_REFUSES_NUL = "Failed to log to syslog (embedded null character)"


def refused_naming(option: str, value: str, msg: str) -> bool:
    """Whether ``msg`` refuses ``value`` of ``option``: by naming the option, or (a NUL) as
    ansible-core refuses it on Python 3.13 and later."""
    return option in msg or ("\x00" in value and msg.startswith(SYSLOG_REFUSES_NUL))
