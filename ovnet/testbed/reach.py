"""The seed's reachability matrix measured with real packets: every ordered pair of NICs, each NIC
to the outside host and the outside host to each floating IP (ovnet.testbed.seed.pairs), probed from the source by ovnet.testbed.echo's probe (a ping and a
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
class Traced:
    """What ``ovnet trace`` says of a cell's packet: would it reach the destination (``seen``),
    with which ``source`` address the outside host would see (its last SNAT), the ``verdict``
    and ``reason`` as trace words them ("" verdict: not traced, ``reason`` says why)."""

    seen: bool
    source: str | None
    verdict: str
    reason: str


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: did ``src`` reach ``dst``? ``ping``: the address answered ICMP;
    ``echo``: the name the echo server at that address gave (None: no answer; the outside
    host's is ``outside@<the source address it saw>``); ``reason`` why it is ``expected`` so
    (seed.REASONS) and ``want_source`` the source address the outside host should see;
    ``traced`` what ``ovnet trace`` says (None: not asked)."""

    src: Nic
    dst: Nic
    expected: bool
    ping: bool
    echo: str | None
    reason: str = ""
    want_source: str | None = None
    traced: Traced | None = None

    @property
    def seen(self) -> bool:
        """Reached the right workload: the answer came from ``dst`` itself (its namespace, container or VM)."""
        return (self.echo or "").partition("@")[0] == self.dst.workload

    @property
    def source(self) -> str | None:
        """The source address the destination reported (the outside host's echo), else None."""
        return (self.echo or "").partition("@")[2] or None

    @property
    def ok(self) -> bool:
        """Seen as expected, answering pings where reachable, from the expected source address."""
        return self.seen == self.expected and (self.ping or not self.expected) and \
            (not self.seen or self.want_source is None or self.source == self.want_source)

    @property
    def agrees(self) -> bool:
        """``ovnet trace`` predicts what the probe saw (True when not asked)."""
        if self.traced is None:
            return True
        return self.traced.seen == self.seen and (not self.seen or self.source is None
                                                 or self.traced.source == self.source)


def measure(netns: dict[str, str], shells: dict[str, Path], timeout: float, world: seed.World) -> list[Cell]:
    """Probe every seed pair (seed.pairs(world)), ``timeout`` s per probe; returns the cells in
    that order, each with its expectation (seed.expect).

    ``netns`` maps a workload (and the outside host) to the network namespace its probes run in
    (a name under /run/netns or a path such as a container's /proc/PID/ns/net), ``shells`` a VM
    workload to its guest shell socket. First every namespace probes at once (one prober per
    source NIC, all its targets in parallel), then the VMs, all at once, each VM's NICs one after
    the other (one guest shell; and a VM's probe briefly pins routes that would misdirect its
    replies to probes of others, see ovnet.testbed.initscript.PROBE_SCRIPT). Raises
    RuntimeFailure when a prober fails.
    """
    pairs = seed.pairs(world)
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
        want = seed.expect(src, dst, world)
        cells.append(Cell(src, dst, want.reachable, answer["ping"], answer["echo"], want.reason, want.source))
    return cells
