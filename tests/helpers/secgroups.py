"""Helpers of the security group data-plane tests: workloads on API ports in namespaces, probes
(ping, and TCP to the echo server) from one namespace to an address, and NB/flows settled."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from tests.helpers.hostnet import ns_run


@dataclass
class Workloads:
    """Namespaces bound to ports through the agent, echo servers in them; ``close()`` removes all."""

    api: ApiClient
    agent: AgentClient
    tmp: Path
    made: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen] = field(default_factory=list)

    def start(self, port: dict) -> str:
        """A namespace with ``port`` bound in it as eth0; its name."""
        name = f"sgw-{secrets.token_hex(4)}"
        netns.create(name)
        self.made.append(name)
        ns_run(name, "ip", "link", "set", "lo", "up")
        self.agent.bind(port["id"], "veth", name)
        return name

    def serve(self, ns: str, tcp_port: int) -> None:
        """The echo server (answers its namespace's name) on ``tcp_port`` in ``ns``; waits until it listens."""
        ready = self.tmp / f"{ns}-{tcp_port}.ready"
        proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-m", "ovnet.testbed.echo",
                                 "serve", ns, "--port", str(tcp_port), "--ready", str(ready), "--netns", ns])
        self.servers.append(proc)
        deadline = time.monotonic() + 60  # a ceiling for a loaded machine; a dead server ends it at once
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"echo server in {ns} did not start")
            time.sleep(0.05)

    def close(self) -> None:
        for proc in self.servers:
            proc.kill()
            proc.wait(timeout=10)
        for name in self.made:
            if name in netns.listnetns():
                netns.remove(name)


def probe(ns: str, address: str, tcp_port: int = 7, timeout: float = 1.0) -> dict:
    """From ``ns``'s eth0: {"ping": bool, "echo": server name | None} for ``address``."""
    done = ns_run(ns, sys.executable, "-m", "ovnet.testbed.echo", "probe", "--ifname", "eth0", "--port",
                  str(tcp_port), "--timeout", str(timeout), address, timeout=60)
    return json.loads(done.stdout)[0]


def settle(nb_url: str) -> None:
    """Wait until every chassis has the flows of NB's current contents (ovn-nbctl --wait=hv)."""
    subprocess.run(["ovn-nbctl", f"--db={nb_url}", "--wait=hv", "--timeout=30", "sync"], check=True,
                   capture_output=True, timeout=60)
