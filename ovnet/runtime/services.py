"""ovnet's own long-running services (API server, host agent), supervised like the OVS/OVN daemons."""

from __future__ import annotations

from ovnet.config import Settings
from ovnet.runtime.daemon import Service


def ovnet_services(settings: Settings) -> list[Service]:
    """The ovnet services ``ovnet up`` starts after OVS/OVN, in start order."""
    return []
