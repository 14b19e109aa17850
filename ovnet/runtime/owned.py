"""A record of the kernel objects (network namespaces, links) that ovnet created under one state dir,
so that `ovnet down` removes exactly those and nothing else."""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

from pyroute2 import IPRoute, netns

OWNED_FILE = "owned.json"


@contextmanager
def _locked(state_dir: Path):
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / (OWNED_FILE + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = state_dir / OWNED_FILE
        data = json.loads(path.read_text()) if path.exists() else {"netns": [], "links": []}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)


def remember(state_dir: Path, *, netns_name: str | None = None, link: str | None = None) -> None:
    """Record a network namespace or a root-namespace link (interface name) as ovnet's."""
    with _locked(state_dir) as data:
        if netns_name and netns_name not in data["netns"]:
            data["netns"].append(netns_name)
        if link and link not in data["links"]:
            data["links"].append(link)


def forget(state_dir: Path, *, netns_name: str | None = None, link: str | None = None) -> None:
    """Drop a record made by remember() (after the object was removed)."""
    with _locked(state_dir) as data:
        if netns_name in data["netns"]:
            data["netns"].remove(netns_name)
        if link in data["links"]:
            data["links"].remove(link)


def ensure_netns(state_dir: Path, name: str) -> None:
    """Create network namespace ``name`` (with ``lo`` up) unless it exists, and record it as ovnet's."""
    if name not in netns.listnetns():
        netns.create(name)
        with IPRoute(netns=name) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    remember(state_dir, netns_name=name)


def remove_all(state_dir: Path) -> list[str]:
    """Delete every recorded link and namespace that still exists; return what was removed."""
    removed: list[str] = []
    with _locked(state_dir) as data:
        with IPRoute() as ipr:
            for link in data["links"]:
                idx = ipr.link_lookup(ifname=link)
                if idx:
                    ipr.link("del", index=idx[0])
                    removed.append(f"link {link}")
        present = set(netns.listnetns())
        for name in data["netns"]:
            if name in present:
                netns.remove(name)
                removed.append(f"netns {name}")
        data["netns"], data["links"] = [], []
    return removed
