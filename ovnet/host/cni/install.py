"""Installing ovnet as a CNI network: a conflist in the runtime's config dir, the plugin in its bin dirs.

The conflist says ``cniVersion`` 1.0.0 with ``cniVersions`` up to 1.1.0: Debian's podman 4.3
(libcni 1.1) fails on a 1.1.0 Result, while libcni >= 1.2 picks 1.1.0 from ``cniVersions`` and can
then send STATUS and GC (cni.md B.2, B.4 pitfall 3). The plugin file is ovnet/cniplugin.py itself,
with a ``#!<python3> -IS`` line: it needs nothing outside the standard library.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from ovnet import cniplugin

DEFAULT_CONF_DIR = Path("/etc/cni/net.d")
# In the state dir: the (conf dir, bin dirs) each `ovnet cni install` wrote into, so that deleting a
# project can find its conflists wherever --conf-dir put them.
INSTALLS_FILE = "cni-installs.json"
# Debian's podman and containerd search /usr/lib/cni (compiled in) and /opt/cni/bin (cni.md B.3).
DEFAULT_BIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
PLUGIN_TYPE = "ovnet"
# The plugin starts for every CNI call, several times per container (cni.md B.4 pitfall 2), and
# needs only the standard library: Debian's python3 has the C modules it imports built in and
# starts it in 10.5 ms against 12.2 ms for a shared-libpython build with those modules as shared
# objects (pyenv's 3.11 here; median of 40, load 1.8).
SYSTEM_PYTHON = "/usr/bin/python3"
# CNI spec 1.1, "Network configuration format", name: an alphanumeric first, then alphanumerics,
# '_', '.' or '-'. It also keeps NAME.conflist inside the config dir (no '/', no '..' prefix).
NETWORK_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def check_name(name: str) -> str:
    """``name`` if it is a valid CNI network name (CNI spec 1.1, network configuration ``name``);
    ValueError otherwise."""
    if not NETWORK_NAME_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a CNI network name: an alphanumeric first, then only "
                         "alphanumerics, '_', '.' or '-'")
    return name


def conflist(name: str, network: str, project: str | None, socket: Path, pool_size: int = 0) -> dict:
    """The network configuration list of CNI network ``name`` on ovnet network ``network`` (an id
    or name) of ``project`` (or None), served by the agent on ``socket``, whose agent keeps
    ``pool_size`` ready ports for it (ovnet.host.cni.pool; 0: none). ValueError for a name that
    is not a CNI network name."""
    check_name(name)
    plugin: dict = {"type": PLUGIN_TYPE, "network": network, "agent_socket": str(socket),
                    "capabilities": {"ips": True, "mac": True}}
    if project:
        plugin["project"] = project
    if pool_size:
        plugin["pool_size"] = pool_size
    return {"cniVersion": "1.0.0", "cniVersions": ["0.4.0", "1.0.0", "1.1.0"], "name": name, "plugins": [plugin]}


def conflist_path(conf_dir: Path, name: str) -> Path:
    """Where the conflist of CNI network ``name`` lives; ValueError for an invalid name."""
    return conf_dir / f"{check_name(name)}.conflist"


# libcni's ConfFiles: the files a runtime reads from its config dir, in byte order of their names.
CONF_SUFFIXES = (".conf", ".conflist", ".json")


def read_before(conf_dir: Path, name: str) -> list[Path]:
    """The network configurations in ``conf_dir`` that sort before CNI network ``name``'s conflist.

    A runtime that uses the first one in name order (containerd's ``ctr run --cni``, libcni's
    ConfFiles sorted) takes the first of these instead of ``name``; one that names its network
    (``podman run --network name``) is not affected. Debian's podman ships
    ``87-podman-bridge.conflist``, which sorts before most network names. ``name`` is not renamed
    to come first: installing a second network would then move every such runtime's default
    without a word. ValueError for an invalid name."""
    ours = conflist_path(conf_dir, name).name
    if not conf_dir.is_dir():
        return []
    return sorted(p for p in conf_dir.iterdir() if p.suffix in CONF_SUFFIXES and p.name < ours)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)  # atomic: a runtime never execs or reads half a file


def plugin_python() -> str:
    """The interpreter the plugin starts with: the distribution's SYSTEM_PYTHON when it is there,
    else this interpreter's real path."""
    return SYSTEM_PYTHON if os.access(SYSTEM_PYTHON, os.X_OK) else os.path.realpath(sys.executable)


def plugin_text(python: str | None = None) -> str:
    """The plugin executable's text, started by ``python`` (default plugin_python())."""
    source = Path(cniplugin.__file__).read_text()
    body = source.split("\n", 1)[1] if source.startswith("#!") else source
    return f"#!{python or plugin_python()} -IS\n{body}"


def install(config: dict, conf_dir: Path, bin_dirs: list[Path]) -> list[Path]:
    """Write ``config`` (see conflist) into ``conf_dir`` and the plugin as ``ovnet`` into each of
    ``bin_dirs``; returns the files written. Re-running it rewrites the same files."""
    written = [conflist_path(conf_dir, config["name"])]
    _write(written[0], json.dumps(config, indent=2) + "\n", 0o644)
    for bin_dir in bin_dirs:
        written.append(bin_dir / PLUGIN_TYPE)
        _write(written[-1], plugin_text(), 0o755)
    return written


def _ovnet_plugins(path: Path) -> list[dict]:
    """The ovnet plugin entries of the network configuration at ``path`` (none: not ovnet's)."""
    try:
        data = json.loads(path.read_text())
        return [p for p in data.get("plugins", []) if isinstance(p, dict) and p.get("type") == PLUGIN_TYPE]
    except (OSError, ValueError, AttributeError):
        return []


def _ours(path: Path) -> bool:
    return bool(_ovnet_plugins(path))


def record_install(state_dir: Path, conf_dir: Path, bin_dirs: list[Path]) -> None:
    """Remember in ``state_dir`` that a conflist went into ``conf_dir`` with the plugin in
    ``bin_dirs`` (INSTALLS_FILE, a JSON list of {"conf_dir", "bin_dirs"}, absolute paths). Raises
    OSError when the state dir cannot be written."""
    entry = {"conf_dir": str(conf_dir.absolute()), "bin_dirs": [str(d.absolute()) for d in bin_dirs]}
    known = _recorded(state_dir)
    if entry not in known:
        _write(state_dir / INSTALLS_FILE, json.dumps([*known, entry], indent=2) + "\n", 0o644)


def _recorded(state_dir: Path) -> list[dict]:
    try:
        entries = json.loads((state_dir / INSTALLS_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and "conf_dir" in e] if isinstance(entries, list) else []


def remove_project(state_dir: Path, project_id: str) -> tuple[list[Path], list[str]]:
    """Uninstall every CNI network of project ``project_id`` (an ovnet conflist whose plugin names
    that project id, as ``ovnet cni install`` writes it) from the config dirs recorded in
    ``state_dir`` and DEFAULT_CONF_DIR, with the plugin where no ovnet conflist is left (as
    uninstall). Returns (the files removed, one line per conflist that could not be, saying why)."""
    places = {str(DEFAULT_CONF_DIR): [str(d) for d in DEFAULT_BIN_DIRS]}
    for entry in _recorded(state_dir):
        places.setdefault(entry["conf_dir"], []).extend(d for d in entry.get("bin_dirs", [])
                                                        if d not in places.get(entry["conf_dir"], []))
    removed: list[Path] = []
    left: list[str] = []
    for conf_dir, bin_dirs in places.items():
        folder = Path(conf_dir)
        mine = sorted(p for p in folder.glob("*.conflist")
                      if any(plugin.get("project") == project_id for plugin in _ovnet_plugins(p)))
        for path in mine:
            try:
                removed += uninstall(path.stem, folder, [Path(d) for d in bin_dirs])
            except (OSError, ValueError) as exc:
                left.append(f"{path} left: {exc}")
    return removed, left


def uninstall(name: str, conf_dir: Path, bin_dirs: list[Path]) -> list[Path]:
    """Remove the conflist of ``name`` (only if it is an ovnet one) and, once no ovnet conflist is
    left in ``conf_dir``, the plugin from ``bin_dirs``; returns the files removed. Nothing there is
    fine. Raises ValueError when ``name``'s conflist belongs to another plugin."""
    removed = []
    path = conflist_path(conf_dir, name)
    if path.exists():
        if not _ours(path):
            raise ValueError(f"{path} is not an ovnet network configuration; left alone")
        path.unlink()
        removed.append(path)
    if not any(_ours(p) for p in conf_dir.glob("*.conflist")):
        for bin_dir in bin_dirs:
            plugin = bin_dir / PLUGIN_TYPE
            if plugin.exists():
                plugin.unlink()
                removed.append(plugin)
    return removed
