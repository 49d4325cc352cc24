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


__all__ = ["patch_module_args"]
