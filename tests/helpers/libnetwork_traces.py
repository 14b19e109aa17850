"""The libnetwork traces recorded against a real dockerd 20.10 (shared/reference/libnetwork-traces),
copied into tests/fixtures so a clean clone has them: one JSON object a line with ``endpoint``
("Interface.Method"), ``request`` (the body dockerd sent, None for an empty body), ``response``,
``status`` and ``cli`` (the command that caused the call)."""

from __future__ import annotations

import json
from pathlib import Path

TRACES = Path(__file__).parent.parent / "fixtures" / "libnetwork-traces"


def load(name: str) -> list[dict]:
    """The calls of one scenario file (e.g. ``"s5-dualstack-opts-internal"``), in order."""
    lines = (TRACES / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def all_calls() -> list[tuple[str, dict]]:
    """(scenario, call) for every call of every scenario."""
    return [(path.stem, call) for path in sorted(TRACES.glob("*.jsonl")) for call in load(path.stem)]


def calls_of(endpoint: str) -> list[dict]:
    """Every traced call of ``endpoint`` across scenarios."""
    return [call for _name, call in all_calls() if call["endpoint"] == endpoint]
