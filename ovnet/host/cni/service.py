"""The agent's CNI service: ADD, DEL, CHECK, STATUS and GC on ovnet ports, and the sweep of ports
whose container vanished without a DEL.

An attachment (CNI_CONTAINERID, CNI_IFNAME) on a network is one port: ``device_id`` = the container
id, ``device_owner`` = ``compute:cni`` (Neutron's ``compute:`` prefix marks a workload's port, as
``compute:docker`` does for Docker's endpoints; ``network:`` is Neutron's own), tags
``cni.ifname:<ifname>``, ``cni.net:<CNI network name>`` and ``cni.host:<chassis>``, name
``cni-<container id[:12]>-<ifname>``. The port is made with the caller's token (the local admin
token puts it in the configuration's ``project``), plugged as a veth into CNI_NETNS as CNI_IFNAME
(ovnet.host.binding) and ovn-installed before ADD answers.

Rules (CNI spec 1.1.0 "Verbs"; cni.md A.7, B.4): ADD for an attachment that exists and is plugged
into the same namespace answers the same Result (podman's clean-up DEL after a failed duplicate
ADD must not destroy a live attachment: an interface name taken by anything else fails, and since
that attempt made no port, the DEL that follows finds nothing to remove); DEL succeeds when the
netns, the veth or the port are gone; GC removes this network's ports made on this host that are
not in the valid attachments.

DEL answers once the port is off the bridge (the container has no network from then on); the
port's deletion in the API and the veth pair's in the kernel follow in the agent. Until they are
done, a request of the same attachment (ADD, DEL, CHECK), an ADD asking for a static IP or MAC
(which the port being deleted may still hold), GC and the sweep wait for them. An agent killed
meanwhile leaves a port that is unplugged (the sweep deletes it after the grace period) and a veth
marked released (the reconcile deletes it). A port whose veth vanished with its namespace (a
container killed without DEL) is deleted by the sweep that follows the round that saw it go.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

import httpx

from ovnet.apiclient import ApiClient, ApiError, is_uuid
from ovnet.host import addressing, nsutil
from ovnet.host.attach import HOST_ID
from ovnet.host.attachment import VETH
from ovnet.host.binding import Binder
from ovnet.host.cni import protocol as p
from ovnet.host.cni.pool import Key, Parked, PortPool, wait_active
from ovnet.host.cni.protocol import Attachment, CniError
from ovnet.host.errors import BindTimeout, HostError

LOG = logging.getLogger(__name__)


def _api_error(exc: ApiError, doing: str) -> CniError:
    if exc.status >= 500:
        return CniError(p.ERR_TRY_LATER, f"the ovnet API failed while {doing}", exc.message)
    if exc.status in (401, 403):
        return CniError(p.ERR_CONFIG, f"the ovnet API refused the token while {doing}", exc.message,
                        unauthorized=exc.status == 401)
    return CniError(p.ERR_REFUSED, f"the ovnet API refused {doing}: {exc.message}", exc.type)


class CniService:
    """CNI verbs over ``binder`` (its admin ApiClient, chassis and VIF plugging).

    ``grace_period`` (seconds) is how long a CNI port made here may stay unplugged before the sweep
    deletes it. Methods take a parsed Attachment and the caller's token (None: the local admin)
    and raise CniError only.
    """

    def __init__(self, binder: Binder, grace_period: float):
        self.binder, self.admin, self.chassis = binder, binder.admin, binder.chassis
        self.grace_period = grace_period
        self._unplugged_since: dict[str, float] = {}  # port id -> monotonic time first seen unplugged
        # ADD/DEL/CHECK of different containers run in parallel (CNI spec 1.1.0 "Lifecycle");
        # GC and the sweep each run alone, since they delete what is not accounted for.
        self._gate = SharedGate()
        # ADD's reads and its early create (three per ADD) for several ADDs at once.
        self._reads = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cni-reads")
        # What answered DELs left to do, by attachment (container id, ifname).
        self._deleting = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cni-del")
        self._pending: dict[tuple[str, str], set[Future]] = {}
        self._pending_lock = threading.Lock()
        # The ports this agent's ADDs made or found (admin's view), by attachment (container id,
        # ifname, CNI network name): a DEL of one still plugged here needs no API read to find it.
        self._added: dict[tuple[str, str, str], dict] = {}
        self.pool = PortPool(binder)

    def close(self) -> None:
        """Finish what answered DELs left to do, delete the pool's ready ports and stop this
        service's threads."""
        self._deleting.shutdown(wait=True)
        self.pool.close()
        self._reads.shutdown(wait=True)

    # -- entry -------------------------------------------------------------------------------------
    def handle(self, verb: str, env: dict, config: dict, token: str | None) -> dict:
        """Run one forwarded CNI request; returns the Result (ADD) or {}. Raises CniError."""
        request = p.parse_request(verb, env, config)
        api = ApiClient(self.binder.api_urls, token) if token else None
        try:
            return self._dispatch(request, api or self.admin, token)
        except (httpx.HTTPError, ApiError) as exc:
            if verb == "STATUS":  # CNI spec 1.1.0 STATUS: 50, ADD cannot be served now
                raise CniError(p.ERR_UNAVAILABLE, "the ovnet API cannot serve ADD now", str(exc)) from None
            if isinstance(exc, ApiError):
                raise _api_error(exc, verb) from None
            raise CniError(p.ERR_TRY_LATER, "the ovnet API cannot be reached", str(exc)) from None
        except BindTimeout as exc:
            raise CniError(p.ERR_TRY_LATER, exc.message) from None
        except HostError as exc:
            raise CniError(p.ERR_REFUSED, exc.message, exc.type) from None
        finally:
            if api is not None:
                api.close()

    def _dispatch(self, request: Attachment, api: ApiClient, token: str | None) -> dict:
        if request.verb in ("ADD", "CHECK") and not nsutil.is_netns(request.netns):
            # Told before any port is made (the CNI spec's "invalid necessary environment variables"),
            # but after the token: a wrong one is 401 on every agent route, whatever else the request holds.
            if token:
                api.list_networks(limit=1)
            raise CniError(p.ERR_ENV, f"CNI_NETNS {request.netns!r} is not a network namespace")
        if request.verb == "STATUS":
            api.list_networks(limit=1)  # the API answers with this token: ADD could be served
            return {}
        if request.verb == "GC":
            self._settle(None)
            with self._gate.exclusive():
                self.gc(request, api, token)
            return {}
        self._settle(request)
        with self._gate.shared():
            if request.verb == "ADD":
                return self.add(request, api, token)
            if request.verb == "DEL":
                self.delete(request, api, token)
            else:
                self.check(request, api)
        return {}

    # -- lookups -------------------------------------------------------------------------------
    def _network(self, request: Attachment, api: ApiClient) -> dict:
        """The configured network (by id, else a unique name, within ``project`` when given)."""
        try:
            net = api.show_network(request.network)
        except ApiError as exc:
            if exc.status not in (400, 404):
                raise
        else:
            # `ovnet cni install` writes the project's id: only a name needs looking up.
            if request.project and request.project != net["project_id"] != self._project_id(request.project, api):
                raise CniError(p.ERR_CONFIG, f"ovnet network {request.network} is not in project {request.project}")
            return net
        project = self._project_id(request.project, api) if request.project else None
        found = api.list_networks(name=request.network, **({"project_id": project} if project else {}))
        if not found and is_uuid(request.network):
            raise CniError(p.ERR_CONFIG, f"ovnet network {request.network} (the configuration's \"network\", an id) "
                           "does not exist: it was deleted, or this token cannot see it; point the configuration "
                           "at an existing network (ovnet cni install)")
        if len(found) != 1:
            raise CniError(p.ERR_CONFIG, f"{'no' if not found else 'more than one'} ovnet network is called "
                           f"{request.network!r}" + (f" in project {request.project}" if project else "")
                           + "; name it by id in the configuration's \"network\"")
        return found[0]

    def _add_reads(self, request: Attachment, api: ApiClient) -> tuple[dict, list[dict], list[dict]]:
        """ADD's reads: the network, the attachment's ports on it and the network's subnets. With
        the network configured by id (as `ovnet cni install` writes it) the three run at once."""
        if not is_uuid(request.network):
            net = self._network(request, api)
            return net, self._ports(api, request.container_id, request.ifname, net["id"]), \
                api.list_subnets(network_id=net["id"])
        ports = self._reads.submit(self._ports, api, request.container_id, request.ifname, request.network)
        subnets = self._reads.submit(api.list_subnets, network_id=request.network)
        try:
            net = self._network(request, api)
        finally:  # their answers (or errors) are awaited before this request's client closes
            wait([ports, subnets])
        if net["id"] != request.network:  # an id-like name: the other two read another network
            return net, self._ports(api, request.container_id, request.ifname, net["id"]), \
                api.list_subnets(network_id=net["id"])
        return net, ports.result(), subnets.result()

    def _project_id(self, ref: str, api: ApiClient) -> str:
        try:
            found = api.find_project(ref)
        except ApiError as exc:
            if exc.status == 403:  # a member token may not look projects up: take the reference as an id
                return ref
            raise
        if found is None:
            raise CniError(p.ERR_CONFIG, f"ovnet has no project called {ref!r} (the configuration's \"project\")")
        return found["id"]

    def _ports(self, api: ApiClient, container_id: str, ifname: str, network_id: str | None) -> list[dict]:
        filters = {"device_id": container_id, "device_owner": p.DEVICE_OWNER, "tags": p.tag(p.IFNAME_TAG, ifname)}
        if network_id:
            filters["network_id"] = network_id
        # The tag filter matches substrings: compare the tag exactly.
        return [port for port in api.list_ports(**filters) if p.tag(p.IFNAME_TAG, ifname) in port["tags"]]

    def _subnets(self, api: ApiClient, port: dict, known: list[dict] | None = None) -> list[dict]:
        """The subnets of ``port``'s fixed IPs: from ``known`` when it has them all (a subnet
        made after it was read is not), else read."""
        ids = sorted({f["subnet_id"] for f in port.get("fixed_ips", [])})
        mine = [s for s in known or [] if s["id"] in ids]
        if len(mine) == len(ids):
            return mine
        return api.list_subnets(id=ids)

    def _plugged_into(self, port: dict, netns: str, ifname: str) -> bool:
        """True when the port is plugged here and ``ifname`` in ``netns`` carries its MAC. This
        host's OVS says so, not ``binding:host_id``, which a member's token does not show."""
        owned = self.binder.host.ovs.port_by_id(port["id"])
        return owned is not None and self.binder.service.plugin(VETH).holds(owned, netns, ifname)

    # -- verbs ---------------------------------------------------------------------------------
    def add(self, request: Attachment, api: ApiClient, token: str | None) -> dict:
        """ADD: the attachment's port, plugged, ovn-installed and ACTIVE in the API; its Result in
        the asked version. With ``pool_size`` configured, a ready port of the pool
        (ovnet.host.cni.pool) when there is one, and the pool refilled afterwards."""
        key = self._pool_key(request, api)
        parked = self.pool.take(key) if key else None
        result = self._add_parked(request, parked) if parked else None
        if result is None:
            result = self._add_made(request, api, token)
        if key:
            self.pool.want(key, request.pool_size)
        return result

    def _pool_key(self, request: Attachment, api: ApiClient) -> Key | None:
        """The pool serving ``request``, or None: only the admin's ADDs of a network and project
        named by id (as `ovnet cni install` writes them) without a static IP or MAC."""
        if (not request.pool_size or api is not self.admin or request.ips or request.mac
                or not is_uuid(request.network) or not is_uuid(request.project or "")):
            return None
        return (request.name, request.network, request.project, request.ifname)

    def _add_parked(self, request: Attachment, parked: Parked) -> dict | None:
        """ADD with a ready port: its owner becomes the container (one bind_host write, which
        also answers the current network and subnets) while its end moves into the container's
        namespace, beside the read of the attachment's ports. Any failure, and an attachment
        that has a port already (the repeated-ADD rules are _add_made's), discards the ready port
        and answers None: the caller makes the port the usual way."""
        port_id = parked.port["id"]
        ports = self._reads.submit(self._ports, self.admin, request.container_id, request.ifname, request.network)
        bound = self._reads.submit(self.admin.bind_port_host, port_id, self.chassis, device_id=request.container_id,
                                   device_owner=p.DEVICE_OWNER, name=self._port_name(request))
        try:
            try:
                self.binder.service.unpark(parked.port, parked.network, parked.subnets, request.netns, request.ifname)
            finally:
                wait([ports, bound])
            answer = bound.result()
            others = [port["id"] for port in ports.result() if port["id"] != port_id]
            if others:
                raise CniError(p.ERR_REFUSED, f"the attachment has port(s) {others} already")
        except (CniError, ApiError, httpx.HTTPError, HostError) as exc:
            LOG.info("CNI ADD: ready port %s not used (%s); making one", port_id, exc)
            self.pool.discard(parked)
            return None
        port = answer["port"]
        self._added[(request.container_id, request.ifname, request.name)] = port
        result = p.build_result(request.ifname, request.netns, port, answer["network"], answer["subnets"])
        return p.convert_result(result, request.version)

    def _add_made(self, request: Attachment, api: ApiClient, token: str | None) -> dict:
        """ADD with a port of its own: found (a repeated ADD) or created here."""
        early = self._create_early(request, api)
        try:
            net, existing, subnets = self._add_reads(request, api)
            # The reads may see the port made beside them: only another one is the attachment's.
            made = self._made(early)
            existing = [port for port in existing if made is None or port["id"] != made["id"]]
            if existing or net["id"] != request.network:
                self._discard(early, api)
                early = None
        except BaseException:
            self._discard(early, api)
            raise
        if existing:
            port = existing[0]
            if not self._plugged_into(port, request.netns, request.ifname):
                # The same container's attachment in another (older) namespace: that one is dead,
                # since a runtime runs one netns per container; move the port, keeping its IP.
                self.binder.unbind(port["id"], token=token)
                self._attach(request, port, token)
            self._wait_active(api, port["id"])
        else:
            port = early.result() if early else self._create_port(request, net, api)
            try:
                if HOST_ID in port:  # created bound here, by the admin: no bind round trip
                    subnets = self._subnets(api, port, subnets)
                    self.binder.attach_created(port, net, subnets, "veth", request.netns, request.ifname)
                else:
                    self._attach(request, port, token)
                self._wait_active(api, port["id"])
            except BaseException:
                self._release(api, port, token)
                raise
        if HOST_ID in port:
            self._added[(request.container_id, request.ifname, request.name)] = port
        # Binding changes neither the MAC nor the fixed IPs: the port as made or found is current.
        result = p.build_result(request.ifname, request.netns, port, net, self._subnets(api, port, subnets))
        return p.convert_result(result, request.version)

    def _create_early(self, request: Attachment, api: ApiClient) -> Future | None:
        """The port's creation, started beside ADD's reads when the configuration names the
        network and, for the admin, its project by id (as `ovnet cni install` writes them): the
        reads then cost no round trip of their own. The reads still decide: a port found for
        the attachment, or a network or project that does not check out, discards it (_discard).
        None when the ids are not both known."""
        if not is_uuid(request.network) or (api is self.admin and not is_uuid(request.project or "")):
            return None
        return self._reads.submit(self._create_port, request, {"id": request.network, "project_id": request.project},
                                  api)

    @staticmethod
    def _made(early: Future | None) -> dict | None:
        """The port ``early`` made, or None (none started, or it failed: its error stays in it)."""
        if early is None:
            return None
        try:
            return early.result()
        except (CniError, ApiError, httpx.HTTPError):
            return None

    def _discard(self, early: Future | None, api: ApiClient) -> None:
        """Delete the port ``early`` made, if it made one (it is not plugged anywhere yet)."""
        made = self._made(early)
        if made is not None:
            self._delete_port(api, made["id"])

    def _attach(self, request: Attachment, port: dict, token: str | None) -> None:
        self.binder.bind(port["id"], "veth", request.netns, token=token, ifname=request.ifname)

    def _wait_active(self, api: ApiClient, port_id: str) -> None:
        """ACTIVE in the API before the Result is printed (issue 12), within the attach's
        bind_timeout (ovnet.host.cni.pool.wait_active)."""
        wait_active(api, port_id, self.binder.service.bind_timeout)

    @staticmethod
    def _port_name(request: Attachment) -> str:
        return f"cni-{request.container_id[:12]}-{request.ifname}"

    def _create_port(self, request: Attachment, net: dict, api: ApiClient) -> dict:
        attrs: dict = {
            "network_id": net["id"], "name": self._port_name(request),
            "device_id": request.container_id, "device_owner": p.DEVICE_OWNER,
            "tags": [p.tag(p.IFNAME_TAG, request.ifname), p.tag(p.NETWORK_TAG, request.name),
                     p.tag(p.HOST_TAG, self.chassis)],
        }
        if api is self.admin:
            # Bound at its creation (the admin may set binding:host_id, Neutron's policy): no
            # separate bind write, which would also queue behind the syncer applying the create.
            attrs.update({"project_id": net["project_id"], HOST_ID: self.chassis})
        if request.ips:
            attrs["fixed_ips"] = [{"ip_address": ip} for ip in request.ips]
        if request.mac:
            attrs["mac_address"] = request.mac
        try:
            # No wait for NB: the ovn-installed wait that follows cannot end before NB has the port.
            return api.create_port(wait=False, **attrs)
        except ApiError as exc:
            if exc.status >= 500:
                raise
            raise CniError(p.ERR_REFUSED, f"ovnet refused the port on network {request.network}: {exc.message}",
                           exc.type) from None

    def _delete_port(self, api: ApiClient, port_id: str) -> None:
        # No wait for NB: nothing here depends on the switch port being gone (its IP is free in
        # the API at once, and a new port with it is applied to NB after this removal).
        try:
            api.delete_port(port_id, wait=False)
        except ApiError as exc:
            if exc.status != 404:
                raise

    def delete(self, request: Attachment, api: ApiClient, token: str | None) -> None:
        """DEL: unplug the attachment's port and have it deleted (see the module's docstring for
        what follows the answer); what is already gone is success. The port
        is found by container id + ifname among this CNI network's (its ``cni.net:`` tag: no
        network lookup, so a network deleted meanwhile is no obstacle); with none found, a
        ``prevResult`` interface's MAC finds a CNI port of this host. A port this agent's ADD made
        and still has plugged is known without a read."""
        known = self._added.pop((request.container_id, request.ifname, request.name), None)
        if known and api is self.admin and self.binder.host.ovs.port_by_id(known["id"]):
            self._delete_later(request, self.binder.release_for_delete(known), known["id"])
            return
        mine = p.tag(p.NETWORK_TAG, request.name)
        ports = [port for port in self._ports(api, request.container_id, request.ifname, None) if mine in port["tags"]]
        if not ports and request.prev_result:
            macs = {i.get("mac") for i in request.prev_result.get("interfaces", [])
                    if i.get("sandbox") and i.get("name") == request.ifname}
            ports = [port for port in api.list_ports(device_owner=p.DEVICE_OWNER, mac_address=sorted(macs))
                     if p.tag(p.HOST_TAG, self.chassis) in port["tags"]] if macs else []
        for port in ports:
            if HOST_ID in port:  # an admin's listing: this host's port (else a Conflict), unplugged at once
                self._delete_later(request, self.binder.release_for_delete(port), port["id"])
            else:
                self._release(api, port, token)

    def _delete_later(self, request: Attachment, finish: Callable[[], None], port_id: str) -> None:
        key = (request.container_id, request.ifname)
        with self._pending_lock:
            future = self._deleting.submit(self._finish_delete, port_id, finish)
            self._pending.setdefault(key, set()).add(future)
        future.add_done_callback(lambda done: self._forget(key, done))

    def _finish_delete(self, port_id: str, finish: Callable[[], None]) -> None:
        try:
            self._delete_port(self.admin, port_id)
        except (ApiError, httpx.HTTPError) as exc:
            LOG.warning("CNI DEL: port %s is unplugged but could not be deleted (%s); the sweep deletes it "
                        "after %g s", port_id, exc, self.grace_period)
        finally:
            try:
                finish()
            except Exception:  # noqa: BLE001 - the reconcile deletes a released veth it finds
                LOG.exception("CNI DEL: the veth of port %s could not be deleted", port_id)

    def _forget(self, key: tuple[str, str], future: Future) -> None:
        with self._pending_lock:
            futures = self._pending.get(key, set())
            futures.discard(future)
            if not futures:
                self._pending.pop(key, None)

    def _settle(self, request: Attachment | None) -> None:
        """Wait for what answered DELs left to do that ``request`` could meet: its own
        attachment's, or all of it (``request`` None: GC and the sweep; an ADD with a static IP
        or MAC, which a port being deleted may still hold)."""
        with self._pending_lock:
            if request is None or (request.verb == "ADD" and (request.ips or request.mac)):
                futures = [f for fs in self._pending.values() for f in fs]
            else:
                futures = list(self._pending.get((request.container_id, request.ifname), ()))
        wait(futures)

    def _release(self, api: ApiClient, port: dict, token: str | None) -> None:
        # Bound to another host is a Conflict (then the port is that host's, and stays). An admin's
        # listing shows the binding, so the port is only unplugged before its deletion; a member's
        # does not, and unbind reads it with the admin token.
        if HOST_ID in port:
            self.binder.unplug_for_delete(port)
        else:
            self.binder.unbind(port["id"], token=token)
        self._delete_port(api, port["id"])

    def check(self, request: Attachment, api: ApiClient) -> None:
        """CHECK: the port exists, is plugged here and ovn-installed, and ``ifname`` in the netns
        has its MAC and addresses. Raises CniError 3 (no such attachment) or 101 (drift)."""
        net = self._network(request, api)
        ports = self._ports(api, request.container_id, request.ifname, net["id"])
        if not ports:
            raise CniError(p.ERR_UNKNOWN_CONTAINER, f"no ovnet port for container {request.container_id} "
                           f"interface {request.ifname} on network {request.network}")
        port = ports[0]
        owned = self.binder.host.ovs.port_by_id(port["id"])
        if owned is None:
            raise CniError(p.ERR_DRIFT, f"port {port['id']} is not plugged on this host ({self.chassis})")
        if not owned.installed:
            raise CniError(p.ERR_DRIFT, f"port {port['id']} is not ovn-installed on this host")
        wanted = {f"{ip['address']}" for ip in p.build_result(
            request.ifname, request.netns, port, net, self._subnets(api, port))["ips"]}
        try:
            with nsutil.iproute(request.netns) as ipr:
                index = addressing.link_index(ipr, request.ifname)
                if index is None:
                    raise CniError(p.ERR_DRIFT, f"interface {request.ifname} is missing in {request.netns}")
                mac = ipr.get_links(index)[0].get_attr("IFLA_ADDRESS")
                have = {f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}" for a in ipr.get_addr(index=index)
                        if a["scope"] == 0}
        except OSError as exc:
            raise CniError(p.ERR_DRIFT, f"network namespace {request.netns} cannot be entered", str(exc)) from None
        if mac != port["mac_address"]:
            raise CniError(p.ERR_DRIFT, f"interface {request.ifname} has MAC {mac}, its port {port['mac_address']}")
        if not wanted <= have:
            raise CniError(p.ERR_DRIFT, f"interface {request.ifname} lacks {', '.join(sorted(wanted - have))}",
                           f"has {', '.join(sorted(have)) or 'no address'}")

    def gc(self, request: Attachment, api: ApiClient, token: str | None) -> None:
        """GC: delete this CNI network's ports made on this host whose attachment is not valid.
        Keeps going past a failing port and reports them all at the end (CNI spec 1.1.0 GC)."""
        ports = api.list_ports(device_owner=p.DEVICE_OWNER, tags=[p.tag(p.NETWORK_TAG, request.name),
                                                                   p.tag(p.HOST_TAG, self.chassis)])
        failed = []
        for port in ports:
            if not {p.tag(p.NETWORK_TAG, request.name), p.tag(p.HOST_TAG, self.chassis)} <= set(port["tags"]):
                continue
            ifnames = [t[len(p.IFNAME_TAG):] for t in port["tags"] if t.startswith(p.IFNAME_TAG)]
            if any((port["device_id"], ifname) in request.valid for ifname in ifnames):
                continue
            try:
                self._release(api, port, token)
                LOG.info("CNI GC removed port %s (container %s)", port["id"], port["device_id"])
            except (ApiError, HostError, httpx.HTTPError) as exc:
                failed.append(f"{port['id']}: {exc}")
        if failed:
            raise CniError(p.ERR_TRY_LATER, f"GC could not remove {len(failed)} port(s)", "; ".join(failed))

    # -- the agent's sweep -----------------------------------------------------------------------
    def sweep(self, now: float | None = None) -> list[str]:
        """Delete CNI ports made on this host that stayed unplugged (no OVS port with its veth:
        the container's namespace went away without a DEL, cni.md B.4 pitfall 1) for longer than
        ``grace_period``, or at once when the binder saw their veth vanish (Binder.take_vanished:
        the namespace is gone, so no ADD can plug that port again, and the port should go as a DEL
        would have taken it, not linger as a host finding of ``ovnet check``); returns their ids.
        Called by the agent's reconcile, after the binder's own round has taken the OVS ports of
        vanished veths away. The pool's sweep runs first (ovnet.host.cni.pool.PortPool.sweep)."""
        now = time.monotonic() if now is None else now
        self.pool.sweep()
        self._settle(None)
        with self._gate.exclusive():
            ports = self.admin.list_ports(device_owner=p.DEVICE_OWNER, tags=p.tag(p.HOST_TAG, self.chassis))
            plugged = {o.port_id for o in self.binder.host.ovs.owned_ports()}
            unplugged = {port["id"]: port for port in ports
                         if p.tag(p.HOST_TAG, self.chassis) in port["tags"] and port["id"] not in plugged}
            self._unplugged_since = {i: self._unplugged_since.get(i, now) for i in unplugged}
            self._added = {key: port for key, port in self._added.items() if port["id"] in plugged}
            vanished = self.binder.take_vanished()
            removed = []
            for port_id, since in list(self._unplugged_since.items()):
                if now - since < self.grace_period and port_id not in vanished:
                    continue
                try:
                    self._release(self.admin, unplugged[port_id], None)
                except (ApiError, HostError) as exc:
                    LOG.warning("CNI sweep could not remove port %s: %s", port_id, exc)
                    continue
                removed.append(port_id)
            if removed:
                LOG.info("CNI sweep removed ports of vanished containers: %s", removed)
            return removed


class SharedGate:
    """A readers-writer lock: any number of ``shared()`` holders, or one ``exclusive()`` holder.
    A waiting exclusive holder keeps new shared ones out, so GC is never starved by ADDs."""

    def __init__(self):
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextmanager
    def shared(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive and not self._waiting)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self):
        with self._cond:
            self._waiting += 1
            self._cond.wait_for(lambda: not self._exclusive and not self._shared)
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()
