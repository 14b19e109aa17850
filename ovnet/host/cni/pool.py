"""The agent's pool of ready CNI ports (the idea of OpenStack Kuryr's port pools).

An ADD on a port it must first create, plug and see ovn-installed and ACTIVE spends most of its
time waiting on the API, northd and ovn-controller. A pool port has all of that done ahead:
created by the admin in the network's project, bound to this chassis, tagged as the attachments
it serves are (``cni.net:``, ``cni.host:``, ``cni.ifname:``), its veth's host end on the bridge and
ovn-installed, its workload end parked on this host (ovnet.host.vif.VethVif.park), ACTIVE in the
API. Handing it out is one bind_host write (device_id, device_owner, name) beside moving the end
into the container's namespace (ovnet.host.cni.service.CniService.add).

A pool is kept per key (CNI network name, ovnet network id, project id, interface name) once an
ADD with ``pool_size`` > 0 in its configuration has succeeded, and refilled by one background
thread once no port was taken for REFILL_DELAY_S: making a port keeps the API, northd,
ovn-controller and this agent busy for tens of ms, which must not slow the container that just
took one (measured: refilling at once made `podman run` slower than no pool at all). Ports taken
in a burst are replaced after it; an ADD finding the pool empty makes its port itself. Pool ports carry ``device_owner`` POOL_DEVICE_OWNER, so GC, DEL and the CNI
sweep (which look for ``compute:cni``) never see them, and the API deletes them with their
network (a network delete is not refused for them). They are deleted when the agent stops
(``close``); the pool's own ``sweep`` deletes pool ports of this host it does not hold (left by a
killed agent) and forgets held ones the API no longer has (their network was deleted; the
reconcile removes their OVS ports and veths).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ovnet.apiclient import ApiError
from ovnet.host.binding import Binder
from ovnet.host.cni import protocol as p
from ovnet.host.errors import BindTimeout, HostError

LOG = logging.getLogger(__name__)
# Between reads of a port's status on its way to ACTIVE: the first soon (the status usually
# follows ovn-installed within a few ms), then less often.
ACTIVE_POLL_S = (0.002, 0.02)
# Quiet time after the last take before the pool is refilled (see the module's docstring): longer
# than the rest of a `podman run --rm` after its ADD (container start, exit, clean-up DEL).
REFILL_DELAY_S = 1.0

Key = tuple[str, str, str, str]  # (CNI network name, network id, project id, interface name)


def wait_active(api, port_id: str, timeout: float) -> None:
    """Return once ``api`` (an ApiClient) shows ``port_id`` ACTIVE; BindTimeout after ``timeout``
    seconds. ovn-controller marks the port up in SB as it sets ovn-installed, and northd and the
    syncer carry that to the API's status a few tens of ms later; no event of it reaches the
    agent, hence the short reads."""
    deadline = time.monotonic() + timeout
    pause, longest = ACTIVE_POLL_S
    while api.show_port(port_id)["status"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise BindTimeout(f"port {port_id} is ovn-installed but not ACTIVE in the API after "
                              f"{timeout:g} s (is ovnet-server's syncer running?)")
        time.sleep(pause)
        pause = min(2 * pause, longest)


@dataclass(frozen=True)
class Parked:
    """A ready port: ``port``, its ``network`` and ``subnets`` (Neutron JSON, admin's view, as they
    were when it was made)."""

    port: dict
    network: dict
    subnets: list[dict]


class PortPool:
    """Ready CNI ports of this host (``binder``'s chassis), per Key. Thread-safe."""

    def __init__(self, binder: Binder, refill_delay: float = REFILL_DELAY_S):
        self.binder, self.admin, self.chassis = binder, binder.admin, binder.chassis
        self.refill_delay = refill_delay
        self._last_take = float("-inf")  # monotonic time
        self._stop = threading.Event()
        self._ready: dict[Key, list[Parked]] = {}
        self._sizes: dict[Key, int] = {}
        self._filling: set[Key] = set()
        self._handed: set[str] = set()  # taken, their owner maybe not rewritten yet: not stale
        self._closed = False
        self._lock = threading.Lock()
        # Held from a pool port's creation until the pool holds it, and by the sweep: it never
        # takes a port being made for one left by a killed agent.
        self._making = threading.Lock()
        self._filler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cni-pool")

    def take(self, key: Key) -> Parked | None:
        """A ready port of ``key``'s pool, now the caller's (it hands it out, or ``discard``s it),
        or None when there is none."""
        with self._lock:
            ready = self._ready.get(key)
            if not ready:
                return None
            parked = ready.pop(0)
            self._handed.add(parked.port["id"])
            self._last_take = time.monotonic()
            return parked

    def want(self, key: Key, size: int) -> None:
        """Keep ``size`` ready ports for ``key`` from now on; the missing ones are made in the
        background."""
        with self._lock:
            if self._closed:
                return
            self._sizes[key] = size
            if key in self._filling or len(self._ready.get(key, ())) >= size:
                return
            self._filling.add(key)
        self._filler.submit(self._fill, key)

    def _fill(self, key: Key) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed or len(self._ready.get(key, ())) >= self._sizes.get(key, 0):
                        return
                    quiet = self._last_take + self.refill_delay - time.monotonic()
                if quiet > 0:
                    self._stop.wait(quiet)
                    continue
                with self._making:
                    parked = self._make(key)
                    with self._lock:
                        self._ready.setdefault(key, []).append(parked)
        except (ApiError, httpx.HTTPError, HostError) as exc:
            # The next ADD asks again; meanwhile ADDs make their ports themselves.
            LOG.warning("CNI pool: no ready port made for network %s: %s", key[1], exc)
        except Exception:  # noqa: BLE001 - a bug: its traceback, and the next ADD asks again
            LOG.exception("CNI pool: filling the pool of network %s failed", key[1])
        finally:
            with self._lock:
                self._filling.discard(key)

    def _make(self, key: Key) -> Parked:
        name, network_id, project_id, ifname = key
        port = self.admin.create_port(
            wait=False, network_id=network_id, project_id=project_id, name=f"cni-pool-{ifname}",
            device_owner=p.POOL_DEVICE_OWNER, **{"binding:host_id": self.chassis},
            tags=[p.tag(p.IFNAME_TAG, ifname), p.tag(p.NETWORK_TAG, name), p.tag(p.HOST_TAG, self.chassis)])
        try:
            network = self.admin.show_network(network_id)
            subnet_ids = sorted({f["subnet_id"] for f in port["fixed_ips"]})
            subnets = self.admin.list_subnets(id=subnet_ids) if subnet_ids else []
            self.binder.service.park(port, network, subnets)
            wait_active(self.admin, port["id"], self.binder.service.bind_timeout)
        except BaseException:
            self._delete(port)
            raise
        return Parked(port, network, subnets)

    def discard(self, parked: Parked) -> None:
        """Unplug and delete a port ``take`` gave that is not handed out after all."""
        self._delete(parked.port)

    def _delete(self, port: dict) -> None:
        try:
            self.binder.unplug_for_delete(port)
            self.admin.delete_port(port["id"], wait=False)
        except ApiError as exc:
            if exc.status != 404:
                LOG.warning("CNI pool: port %s could not be deleted (%s); the pool's sweep retries", port["id"], exc)
        except (httpx.HTTPError, HostError) as exc:
            LOG.warning("CNI pool: port %s could not be deleted (%s); the pool's sweep retries", port["id"], exc)

    def close(self) -> None:
        """Stop filling and delete every ready port (the agent stops)."""
        with self._lock:
            self._closed = True
        self._stop.set()
        self._filler.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            ready, self._ready = [x for held in self._ready.values() for x in held], {}
        for parked in ready:
            self._delete(parked.port)

    def held(self) -> list[str]:
        """The ids of the ready ports, oldest first per pool."""
        with self._lock:
            return [x.port["id"] for held in self._ready.values() for x in held]

    def sweep(self) -> list[str]:
        """Delete the pool ports of this host this pool does not hold (made before the agent
        restarted) and forget held ones the API no longer has; returns the deleted ids."""
        host_tag = p.tag(p.HOST_TAG, self.chassis)
        with self._making:
            listed = {port["id"]: port for port in self.admin.list_ports(device_owner=p.POOL_DEVICE_OWNER, tags=host_tag)
                      if host_tag in port["tags"]}
            with self._lock:
                for key, held in self._ready.items():
                    self._ready[key] = [x for x in held if x.port["id"] in listed]
                self._handed &= set(listed)
                known = {x.port["id"] for held in self._ready.values() for x in held} | self._handed
        stale = [port for port_id, port in listed.items() if port_id not in known]
        for port in stale:
            self._delete(port)
        if stale:
            LOG.info("CNI pool: removed ready ports no pool holds: %s", [port["id"] for port in stale])
        return [port["id"] for port in stale]
