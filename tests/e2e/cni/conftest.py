"""A private all-in-one (fast agent reconcile, short CNI grace period), an ovnet network installed
as a CNI network with the real ``ovnet cni install`` into private config and plugin dirs, and a
private Podman 4.3 with the CNI backend and the busybox image. One per test module."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ovnet.apiclient import ApiClient
from ovnet.host.ovs import LocalOvs
from ovnet.runtime import allinone as aio
from ovnet.testbed.podman import PrivatePodman
from tests.helpers.allinone import private_settings


def ovnet_cli(settings, *args: str) -> subprocess.CompletedProcess:
    """Run the real ``ovnet`` command (against the all-in-one when ``settings`` is given); fails the
    test on a non-zero exit."""
    state = ["--state-dir", str(settings.state_dir)] if settings is not None else []
    done = subprocess.run([sys.executable, "-m", "ovnet.cli.main", *args, *state],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


@dataclass
class CniOnOvnet:
    """The pieces a CNI e2e test needs."""

    settings: object
    api: ApiClient
    ovs: LocalOvs
    podman: PrivatePodman
    network: dict  # the ovnet network
    name: str  # its CNI network name
    conf_dir: Path
    bin_dir: Path

    def cni_ports(self) -> list[dict]:
        """The API's CNI ports on the network."""
        return self.api.list_ports(network_id=self.network["id"], device_owner="compute:cni")

    def ovs_port_ids(self) -> set[str]:
        """Port ids plugged on this chassis' OVS by ovnet."""
        return {o.port_id for o in self.ovs.owned_ports()}

    def forget_cached_result(self, container_id: str, ifname: str = "eth0") -> None:
        """Delete libcni's cached ADD Result of an attachment whose DEL the runtime never sent
        (/var/lib/cni/results is shared by every libcni user: remove exactly ours)."""
        Path(f"/var/lib/cni/results/{self.name}-{container_id}-{ifname}").unlink(missing_ok=True)

    def wait_ports(self, count: int, timeout: float = 30.0) -> list[dict]:
        """Poll until the network has ``count`` CNI ports (the sweep and DEL are asynchronous to
        podman's exit in some paths); returns the last list."""
        deadline = time.monotonic() + timeout
        while True:
            ports = self.cni_ports()
            if len(ports) == count or time.monotonic() > deadline:
                return ports
            time.sleep(0.25)


@pytest.fixture(scope="module")
def cni_env(tmp_path_factory):
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: `make setup` installs the Debian package podman")
    tmp = tmp_path_factory.mktemp("cni")
    settings = private_settings(tmp, agent_sync_interval=1.0, cni_grace_period=3.0)
    podman = api = ovs = None
    try:
        aio.up(settings)
        api = ApiClient.from_settings(settings)
        ovs = LocalOvs(settings.ovs_db_sock, settings.bridge)
        net = api.create_network(name=f"cni-{secrets.token_hex(3)}")
        prefix = f"10.{secrets.randbelow(60) + 160}.{secrets.randbelow(250)}"
        api.create_subnet(network_id=net["id"], cidr=f"{prefix}.0/24", ip_version=4)
        net = api.show_network(net["id"])
        conf_dir, bin_dir = tmp / "net.d", tmp / "bin"
        name = f"ovc-{secrets.token_hex(3)}"
        ovnet_cli(settings, "cni", "install", net["name"], "--name", name, "--conf-dir", str(conf_dir),
                  "--bin-dir", str(bin_dir))
        podman = PrivatePodman(conf_dir, [bin_dir])  # a short root: conmon socket paths must fit 108 bytes
        podman.import_busybox()
        yield CniOnOvnet(settings, api, ovs, podman, net, name, conf_dir, bin_dir)
    finally:
        if podman is not None:
            podman.destroy()
        if ovs is not None:
            ovs.close()
        if api is not None:
            api.close()
        aio.down(settings, purge=True)
