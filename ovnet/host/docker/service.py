"""The Docker plugin inside the host agent: both drivers on one socket, plus the endpoint GC.

The agent builds one ``DockerPlugin`` and calls ``start()`` before it serves anything else, so the
socket exists before a dockerd that has networks of this driver needs it (libnetwork.md
pitfall 18); ``stop()`` on the way out. The GC runs at start and every ``interval`` seconds.
"""

from __future__ import annotations

import logging
import threading

import httpx

from ovnet.apiclient import ApiError
from ovnet.host.attach import AttachService
from ovnet.host.attachment import VETH
from ovnet.host.docker import pools
from ovnet.host.docker.app import create_app
from ovnet.host.docker.catalog import Catalog
from ovnet.host.docker.engine import Engine, EngineUnavailable
from ovnet.host.docker.ipam import IpamDriver, PoolLedger
from ovnet.host.docker.network import HOST_ID, PROFILE, PROFILE_NETWORK, NetworkDriver
from ovnet.host.docker.server import PLUGINS_DIR, PluginServer, plugin_socket
from ovnet.host.docker.unclaimed import UnclaimedSweep
from ovnet.host.docker.veth import DockerVeth
from ovnet.host.errors import Conflict

LOG = logging.getLogger(__name__)
ADDRESS_SPACE = "ovnet"


class DockerPlugin:
    """libnetwork NetworkDriver + IpamDriver named ``name`` for this chassis.

    ``attach`` is the agent's attach service (its admin ApiClient: Docker networks may live in any
    project); ``docker_host`` the dockerd to ask during GC (``unix:///run/docker.sock``);
    ``interval`` seconds between GCs; ``ipam_grace_s`` seconds an IPAM port may stay unclaimed
    (ovnet.host.docker.unclaimed)."""

    def __init__(self, attach: AttachService, name: str = "ovnet", docker_host: str = "unix:///run/docker.sock",
                 interval: float = 60.0, plugins_dir=PLUGINS_DIR, ipam_grace_s: float = 60.0):
        # Docker's veth: dockerd, not ovnet, moves the peer into the sandbox (ovnet.host.docker.veth).
        self.attach = attach.with_plugin(VETH, DockerVeth)
        self.api, self.chassis, self.name, self.interval = attach.api, attach.chassis, name, interval
        self.catalog = Catalog(self.api)
        ledger = PoolLedger()
        self.network = NetworkDriver(self.catalog, ledger, self.attach, ADDRESS_SPACE)
        self.ipam = IpamDriver(self.catalog, ledger, self.network.unplug, self.chassis)
        self.unclaimed = UnclaimedSweep(self.api, self.chassis, ipam_grace_s)
        self.engine = Engine(docker_host)
        self.server = PluginServer(create_app(self.network, self.ipam, ADDRESS_SPACE), plugin_socket(name, plugins_dir))
        self._stop = threading.Event()
        self._suspects: set[str] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve the socket (raises SocketInUse when another process serves that name) and start
        the GC thread."""
        self.server.start()
        self._thread = threading.Thread(target=self._gc_forever, name="docker-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.engine.close()

    def _gc_forever(self) -> None:
        while True:
            try:
                self.collect()
            except (ApiError, httpx.HTTPError) as exc:
                LOG.warning("docker endpoint GC failed (%s); retrying in %g s", exc, self.interval)
            if self._stop.wait(self.interval):
                return

    def collect(self) -> list[str]:
        """One GC round: IPAM ports this host made that no endpoint claimed within the grace
        period are deleted (ovnet.host.docker.unclaimed; whether dockerd answers or not: one that
        died between RequestAddress and CreateEndpoint never claims them). Then a port bound here
        to an endpoint of a Docker network this dockerd has (``binding:profile``
        docker_network_id, set by CreateEndpoint) is unplugged and deleted when that network has
        not listed the endpoint for two rounds in a row (an endpoint being created now is listed
        by the next round); ports of networks this dockerd does not have are another engine's
        business, and none goes when dockerd does not answer. Returns the port ids removed."""
        removed = self.unclaimed.sweep()
        try:
            networks = self.engine.endpoints(self.name)
        except EngineUnavailable as exc:
            LOG.info("docker endpoint GC skipped: %s", exc)
            return removed
        unknown = {}
        for port in self.api.list_ports(device_owner=pools.DEVICE_OWNER, **{HOST_ID: self.chassis}):
            docker_network = (port.get(PROFILE) or {}).get(PROFILE_NETWORK)
            if docker_network in networks and port["device_id"] not in networks[docker_network]:
                unknown[port["id"]] = port
        for port_id in set(unknown) & self._suspects - self.attach.busy():
            LOG.info("removing port %s of endpoint %s: dockerd no longer knows it", port_id,
                     unknown[port_id]["device_id"][:12])
            try:
                self.network.unplug(port_id)
            except Conflict:
                continue  # a Join or DeleteEndpoint of it began meanwhile: the next round looks again
            self.catalog.forget_endpoint(unknown[port_id]["device_id"])
            try:
                self.api.delete_port(port_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
            removed.append(port_id)
        self._suspects = set(unknown) - set(removed)
        return removed
