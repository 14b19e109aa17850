"""Running the ``ovnet`` console script in the test's own process."""

from __future__ import annotations

import sys

import pytest

from ovnet.cli.main import main


def run_ovnet(monkeypatch, capsys, *args: str) -> tuple[int, list[str]]:
    """Run ``ovnet ARGS`` through the console script's main(): (exit status, the non-blank lines
    of stdout and stderr together)."""
    monkeypatch.setattr(sys, "argv", ["ovnet", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, [line for line in (out.out + out.err).splitlines() if line.strip()]
