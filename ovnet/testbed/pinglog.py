"""A ping that runs in the background inside a namespace and tells how long replies stopped:
what a gateway failover or a floating IP change costs, seen from the outside host.

ping(8) with ``-D`` prints each reply with its receive time (seconds since the epoch); the
longest interval between consecutive replies, less the send interval, is the outage.
"""

from __future__ import annotations

import re
import subprocess
import time

from ovnet.testbed.workload import in_netns

REPLY_RE = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from ")


class PingLog:
    """``ping -D -i interval address`` inside ``ns`` until ``stop()``; reply times in ``replies``."""

    def __init__(self, ns: str, address: str, interval: float = 0.05):
        self.interval = interval
        self.replies: list[float] = []
        self._proc = subprocess.Popen(in_netns(ns, "ping", "-n", "-D", "-W", "1", "-i", str(interval), address),
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self) -> list[float]:
        """Stop the ping (by its pid) and return the reply times (seconds since the epoch)."""
        self._proc.terminate()
        out, _ = self._proc.communicate(timeout=10)
        self.replies = [float(m.group(1)) for m in map(REPLY_RE.match, out.splitlines()) if m]
        return self.replies

    def outage_after(self, moment: float) -> float | None:
        """Seconds without replies around ``moment`` (time.time()): from the last reply before it to
        the first one after it, less one interval; None when no reply came after it."""
        before = [t for t in self.replies if t <= moment]
        after = [t for t in self.replies if t > moment]
        if not after:
            return None
        start = before[-1] if before else moment
        return max(0.0, after[0] - start - self.interval)


def first_reply_s(ns: str, address: str, timeout: float = 10.0, wait: float = 0.2) -> float | None:
    """Seconds until ``address`` first answers a ping from ``ns`` (one echo at a time, each waiting
    up to ``wait`` s, so an early "unreachable" while ARP cannot resolve yet does not end it);
    None when it does not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        done = subprocess.run(in_netns(ns, "ping", "-n", "-c", "1", "-W", str(wait), address),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if done.returncode == 0:
            return time.monotonic() - started
    return None
