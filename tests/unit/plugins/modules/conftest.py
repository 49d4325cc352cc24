"""Run the modules' main() as on a target, whatever ran before in this pytest process.

ansible-core 2.19 routes module warnings to the controller's display once controller code has
been imported (``ansible.module_utils._internal.is_controller``), which the action plugin tests
do; a module run on a target collects them in its result, and that is what these tests check.
"""

from __future__ import annotations

from typing import Iterator

import pytest

try:
    from ansible.module_utils import _internal as module_internal
except ImportError:  # ansible-core before 2.19 has no such switch
    module_internal = None


@pytest.fixture(autouse=True)
def _as_on_a_target(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if module_internal is not None and hasattr(module_internal, "is_controller"):
        monkeypatch.setattr(module_internal, "is_controller", False)
    yield
