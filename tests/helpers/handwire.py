"""Wiring a workload namespace to a chassis by hand, for tests of the underlay that must not depend
on ovnet's own plugging: a veth with its host end on br-int (iface-id = the OVN logical port name)
and its workload end, ``eth0``, addressed inside a fresh namespace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pyroute2 import IPRoute, netns

from ovnet.runtime.chassis import ChassisSpec
from ovnet.runtime.process import run
from ovnet.runtime.underlay import disable_tx_checksum


@dataclass
class Wired:
    netns: str
    host_end: str
    spec: ChassisSpec
    lport: str
    address: str

    def remove(self) -> None:
        try:
            self.spec.vsctl("--if-exists", "del-port", self.spec.bridge, self.host_end)
        finally:
            # The chassis' OVS may be gone already (a test killed it); the namespace must go anyway.
            if self.netns in netns.listnetns():
                netns.remove(self.netns)  # takes the veth pair with it


def wire(spec: ChassisSpec, lport: str, mac: str, cidr: str, mtu: int = 1442) -> Wired:
    """A namespace whose eth0 (``mac``, ``cidr``) is logical port ``lport`` on chassis ``spec``."""
    ns, host_end = f"tw-{secrets.token_hex(4)}", f"tw{secrets.token_hex(4)}"
    tmp = f"tw{secrets.token_hex(5)}"
    netns.create(ns)
    wired = Wired(ns, host_end, spec, lport, cidr.split("/")[0])
    try:
        with IPRoute() as ipr:
            ipr.link("add", ifname=host_end, kind="veth", peer={"ifname": tmp})
            disable_tx_checksum(host_end)
            disable_tx_checksum(tmp)
            ipr.link("set", index=ipr.link_lookup(ifname=tmp)[0], net_ns_fd=ns)
            if spec.netns:
                ipr.link("set", index=ipr.link_lookup(ifname=host_end)[0], net_ns_fd=spec.netns)
        with IPRoute(netns=spec.netns) if spec.netns else IPRoute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=host_end)[0], mtu=mtu, state="up")
        with IPRoute(netns=ns) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
            idx = ipr.link_lookup(ifname=tmp)[0]
            ipr.link("set", index=idx, ifname="eth0", address=mac, mtu=mtu, state="up")
            address, prefix = cidr.split("/")
            ipr.addr("add", index=idx, address=address, prefixlen=int(prefix))
        spec.vsctl("add-port", spec.bridge, host_end, "--", "set", "Interface", host_end,
                   f"external_ids:iface-id={lport}")
    except BaseException:
        wired.remove()
        with IPRoute() as ipr:
            for name in (host_end, tmp):
                if ipr.link_lookup(ifname=name):
                    ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
        raise
    return wired


def pair_across(nb_url: str, first: ChassisSpec, second: ChassisSpec, prefix: str) -> list[Wired]:
    """A logical switch made directly in NB with two ports, and a namespace wired to each: one on
    ``first`` at ``<prefix>.10``, one on ``second`` at ``<prefix>.11`` (/24). Does not wait for up."""
    switch = f"ls-{secrets.token_hex(3)}"
    ports = [(f"{switch}-{i}", f"0a:00:00:00:00:{10 + i:02x}", f"{prefix}.{10 + i}") for i in range(2)]
    args = ["ls-add", switch]
    for name, mac, address in ports:
        args += ["--", "lsp-add", switch, name, "--", "lsp-set-addresses", name, f"{mac} {address}"]
    run(["ovn-nbctl", f"--db={nb_url}", "--timeout=10", *args])
    wired: list[Wired] = []
    try:
        for spec, (name, mac, address) in zip((first, second), ports):
            wired.append(wire(spec, name, mac, f"{address}/24"))
    except BaseException:
        for w in wired:
            w.remove()
        raise
    return wired
