"""Make the checkout importable as ``ansible_collections.ucs_cloud.fleet`` for pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = subprocess.run([str(ROOT / "scripts" / "link-collection.sh")], check=True, capture_output=True, text=True).stdout.strip()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
