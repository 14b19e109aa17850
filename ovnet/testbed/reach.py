"""The seed's reachability matrix measured with real packets: every ordered pair of NICs
(ovnet.testbed.seed.pairs), probed from the source by ovnet.testbed.echo's probe (a ping and a
TCP query of the echo name) run inside the source's network namespace, or by the same probe run
inside a VM's guest (ovnet.testbed.guest.probe).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ovnet.testbed import guest, seed, workload
from ovnet.testbed.seed import Nic

COLLECT_SLACK_S = 20.0  # beyond the probe timeout, what a prober may take to start and report


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: did ``src`` reach ``dst``? ``ping``: the address answered ICMP;
    ``echo``: the name the echo server at that address gave (None: no answer)."""

    src: Nic
    dst: Nic
    expected: bool
    ping: bool
    echo: str | None

    @property
    def seen(self) -> bool:
        """Reached the right workload: the answer came from ``dst`` itself (its namespace, container or VM)."""
        return self.echo == self.dst.workload

    @property
    def ok(self) -> bool:
        return self.seen == self.expected and (self.ping or not self.expected)


def measure(netns: dict[str, str], shells: dict[str, Path], timeout: float) -> list[Cell]:
    """Probe every seed pair, ``timeout`` s per probe; returns the cells in seed.pairs() order.

    ``netns`` maps a workload to the network namespace its probes run in (a name under /run/netns
    or a path such as a container's /proc/PID/ns/net), ``shells`` a VM workload to its guest
    shell socket. First every namespace probes at once (one prober per source NIC, all its targets
    in parallel), then the VMs, all at once, each VM's NICs one after the other (one guest shell;
    and a VM's probe briefly pins routes that would misdirect its replies to probes of others, see
    ovnet.testbed.initscript.PROBE_SCRIPT). Raises RuntimeFailure when a prober fails.
    """
    pairs = seed.pairs()
    sources = list(dict.fromkeys(src for src, _ in pairs))
    dests = {src: [dst for s, dst in pairs if s == src] for src in sources}
    targets = {src: [dst.address for dst in dests[src]] for src in sources}
    procs = {src: workload.start_probe(netns[src.workload], src.ifname, targets[src], timeout)
             for src in sources if src.workload in netns}
    answers = {src: workload.collect(proc, timeout + COLLECT_SLACK_S) for src, proc in procs.items()}

    def probe_vm(name: str) -> dict[Nic, list[dict]]:
        return {src: guest.probe(shells[name], src.ifname, targets[src], timeout)
                for src in sources if src.workload == name}

    with ThreadPoolExecutor(max_workers=len(shells) or 1) as pool:
        for done in pool.map(probe_vm, shells):
            answers.update(done)
    cells = []
    for src, dst in pairs:
        answer = answers[src][dests[src].index(dst)]
        cells.append(Cell(src, dst, seed.expected(src, dst), answer["ping"], answer["echo"]))
    return cells
