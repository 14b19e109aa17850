"""A running API as the acceptance tests drive it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ovnet.config import Settings


@dataclass
class Endpoint:
    """A running API: its settings, the admin token and clouds.yaml, and the optional NB check."""

    settings: Settings
    token: str
    clouds_yaml: Path
    nb_check: Callable[[str, str, dict | None], None] | None = None

    def after(self, kind: str, resource_id: str, shown: dict | None) -> None:
        """Hook run after each acceptance step ("network" | "subnet" | "port")."""
        if self.nb_check is not None:
            self.nb_check(kind, resource_id, shown)
