"""A central and compute hosts of ovnet on this machine, each with a state dir of its own, as
separate machines would run them (``ovnet up --role central|compute``)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

from ovnet.config import Settings, load_settings
from ovnet.runtime import allinone as aio
from ovnet.runtime import underlay
from ovnet.runtime.chassis import local_chassis
from tests.helpers.allinone import private_settings


def compute_settings(tmp_path, central: Settings, name: str, **overrides) -> Settings:
    """Settings of a compute host ``name`` under ``tmp_path/name`` reaching ``central``'s NB/SB/API
    through its remotes (its vswitchd in a private namespace), with the central's admin token
    copied into its state dir, as an operator would."""
    remotes = dict(nb_remotes=central.nb_remotes or (central.nb_connection,),
                   sb_remotes=central.sb_remotes or (central.sb_connection,), api_urls=central.api_endpoints)
    settings = private_settings(tmp_path / name, role="compute", **{**remotes, **overrides})
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    token = settings.admin_token_file
    token.touch(mode=0o600)
    token.write_text(central.admin_token_file.read_text())
    return settings


@contextlib.contextmanager
def running_roles(tmp_path, computes: int = 1, **central_overrides):
    """A running central (``central_overrides``, e.g. ``cluster_size=3``) and ``computes`` compute
    hosts; yields (central Settings as saved by up, [compute Settings]); everything goes down
    (purge) at exit, also when a start failed half-way. Compute n (1-based) tunnels Geneve from
    100.64.0.n on an underlay segment of the central's state dir (``ovnet.runtime.underlay``, as
    `ovnet host add` does), which stands for the machines' network."""
    central = private_settings(tmp_path / "central", role="central", **central_overrides)
    hosts: list[Settings] = []
    try:
        aio.up(central)
        central = load_settings(central.state_dir)  # with the cluster remotes up filled in
        for n in range(1, computes + 1):
            host = compute_settings(tmp_path, central, f"hv{n}", encap_ip=underlay.encap_address(n))
            hosts.append(host)
            aio.up(host)
            underlay.attach(central.state_dir, local_chassis(host), n, host.underlay_mtu)
        yield central, hosts
    finally:
        for host in reversed(hosts):
            aio.down(host, purge=True)
        aio.down(central, purge=True)


def ovnet_cli(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``ovnet ARGS --state-dir <settings.state_dir>`` as a separate process."""
    return subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, "--state-dir", str(settings.state_dir)],
                          capture_output=True, text=True, timeout=timeout, env={"COLUMNS": "200", "PATH":
                          "/usr/sbin:/usr/bin:/sbin:/bin"})

