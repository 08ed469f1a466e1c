"""The cross-domain reactions are registered by app.core.hooks itself, whoever fires the first hook (web,
worker, CLI): checked in a fresh interpreter, where no test has imported the reacting modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from app.core import hooks
hooks._load_reactions()
print(json.dumps({
    "incident": sorted({f.__module__ for f in hooks._incident_changed}),
    "linked": sorted({f.__module__ for f in hooks._footage_linked}),
}))
"""


def test_reactions_load_with_the_first_hook() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    for kind in ("incident", "linked"):
        assert "app.incident.activation" in got[kind], got  # the activation check is recomputed
        assert "app.footage.key_moments" in got[kind], got  # force began/ended keyframes follow
