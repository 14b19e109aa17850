"""Sockets inside another network namespace without forking.

pyroute2's own ``netns=`` support forks a helper process per socket (~15 ms here); a short-lived
thread that enters the namespace with setns(2), opens the socket and ends costs ~2 ms. setns
changes only the calling thread's namespace, and a socket keeps the namespace it was opened in.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading

from pyroute2 import IPRoute
from pyroute2.netns import setns

NETLINK_ROUTE = 0
NS_GET_NSTYPE = 0xB703  # ioctl on a namespace file: its CLONE_NEW* type (linux/nsfs.h, Linux 4.11)
CLONE_NEWNET = 0x40000000


def _in_netns(netns: str | None, work):
    """``work()``'s result, run by a short-lived thread that entered ``netns`` (None: ours) first;
    its exception is raised in the caller's thread."""
    box: dict = {}

    def enter_and_work() -> None:
        try:
            if netns is not None:
                setns(netns, flags=0, fork=False)
            box["result"] = work()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=enter_and_work, name=f"netns-{netns}")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def is_netns(netns: str) -> bool:
    """True when ``netns`` (a name under /run/netns, as pyroute2's setns takes it, or a path)
    opens as a network namespace; False for a missing file or any other file."""
    path = netns if "/" in netns else f"/run/netns/{netns}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET
    except OSError:  # ENOTTY: not a namespace file
        return False
    finally:
        os.close(fd)


def netns_socket(netns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    """A socket opened inside network namespace ``netns`` (a name under /run/netns or a path).
    Raises OSError when the namespace does not exist."""
    return _in_netns(netns, lambda: socket.socket(family, kind, proto))


def iproute(netns: str | None) -> IPRoute:
    """An rtnetlink client in ``netns`` (None: the current namespace)."""
    if netns is None:
        return IPRoute()
    return IPRoute(use_socket=netns_socket(netns, socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE))


def write_sysctl(netns: str | None, key: str, value: str) -> None:
    """Write ``value`` to sysctl ``key`` (e.g. "net/ipv4/conf/vh1/arp_ignore") of network namespace
    ``netns`` (None: ours). /proc/sys/net shows the namespace of the thread that opens it, so the
    file is opened from inside ``netns``. Raises OSError."""

    def write() -> None:
        with open(f"/proc/sys/{key}", "w") as f:
            f.write(value)

    _in_netns(netns, write)
