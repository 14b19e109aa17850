"""The reachability matrix as people and scripts read it: a grid of one symbol per cell that fits
a 100-column terminal (columns numbered, rows naming each NIC; the symbol names the cell's reason,
ovnet.testbed.seed.REASONS), a legend and a summary line; ``as_json`` for machines and
``details`` (one line per cell, with what ``ovnet trace`` said) for ``--verbose``.

It knows nothing of the seed: NICs are taken from the cells in order of first appearance, and
``where`` names each workload's hypervisor and kind, so added rows and columns (an outside host,
a Podman workload) need no change here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from rich.console import Group
from rich.text import Text

from ovnet.testbed.reach import Cell
from ovnet.testbed.seed import DEFAULT_GROUP, REASONS, Nic

OK_REACHED, OK_ISOLATED, WRONG, SELF = "✓", "·", "✗", "-"
# one letter per reason (seed.REASONS); a cell without a reason shows OK_REACHED or OK_ISOLATED
MARKS = {"same network": "n", "routed": "r", "floating IP": "f", "SNAT": "s", "isolated": OK_ISOLATED,
         "no route": "~", "asymmetric": "a", f"blocked by group {DEFAULT_GROUP}": "b"}
REACHING = {"same network", "routed", "floating IP", "SNAT"}
KINDS = {"netns": ("ns", "network namespace"), "vm": ("vm", "QEMU VM"), "docker": ("dk", "Docker container"),
         "podman": ("pm", "Podman container"), "outside": ("ex", "outside host")}


def kind_code(kind: str) -> str:
    """Two letters for a workload kind ("netns" -> "ns"; an unknown kind: its first two letters)."""
    return KINDS.get(kind, (kind[:2], kind))[0]


def nics_of(cells: Iterable[Cell]) -> list[Nic]:
    """Every NIC appearing in ``cells`` (as source or destination), in order of first appearance."""
    return list(dict.fromkeys(nic for c in cells for nic in (c.src, c.dst)))


def symbol(cell: Cell | None) -> tuple[str, str]:
    """(symbol, rich style) of one cell; None is a pair that was not probed (a workload's own
    NICs, a floating IP as a source). Not as expected, or ``ovnet trace`` disagreeing: WRONG."""
    if cell is None:
        return SELF, "dim"
    if not cell.ok or not cell.agrees:
        return WRONG, "bold red"
    return MARKS.get(cell.reason, OK_REACHED if cell.seen else OK_ISOLATED), _style(cell.reason, cell.seen)


def _style(reason: str, reached: bool) -> str:
    return "green" if reached else "yellow" if reason.startswith("blocked") else "dim"


def _header(count: int, indent: int) -> list[Text]:
    # Column numbers written downwards (tens over ones) keep every column two characters wide.
    digits = len(str(count))
    lines = []
    for place in range(digits):
        line = Text(" " * indent)
        for number in range(1, count + 1):
            text = str(number).rjust(digits)
            line.append(text[place] + " ", style="bold")
        lines.append(line)
    return lines


def grid(cells: list[Cell], where: dict[str, tuple[str, str]]) -> tuple[Group, int]:
    """The matrix and its width in characters. ``where`` maps a workload name to (host, kind);
    rows and columns are numbered alike, hosts abbreviated h1, h2, ... (see ``legend``)."""
    nics = nics_of(cells)
    hosts = host_codes(where)
    by_pair = {(c.src, c.dst): c for c in cells}
    labels = []
    for number, nic in enumerate(nics, 1):
        host, kind = where.get(nic.workload, ("?", "?"))
        labels.append([str(number), nic.workload, nic.ifname, nic.address,
                       f"{nic.project}/{nic.network}" if nic.project else nic.network, hosts.get(host, "-"),
                       kind_code(kind)])
    widths = [max(len(row[i]) for row in labels) for i in range(7)] if labels else [0] * 7
    indent = sum(widths) + len(widths) + 2  # one space between fields, then "│ "
    lines = _header(len(nics), indent)
    for nic, label in zip(nics, labels):
        line = Text(" ".join(f.rjust(w) if i == 0 else f.ljust(w) for i, (f, w) in enumerate(zip(label, widths))))
        line.append(" │ ", style="dim")
        for dst in nics:
            mark, style = symbol(by_pair.get((nic, dst)))
            line.append(mark + " ", style=style)
        lines.append(line)
    return Group(*lines), indent + 2 * len(nics)


def host_codes(where: dict[str, tuple[str, str]]) -> dict[str, str]:
    """{host name: "h1", "h2", ...} in order of first appearance in ``where`` ("" is on no
    hypervisor, the outside host: left out)."""
    hosts = list(dict.fromkeys(host for host, _kind in where.values() if host))
    return {host: f"h{i}" for i, host in enumerate(hosts, 1)}


def legend(where: dict[str, tuple[str, str]], cells: Iterable[Cell] = ()) -> Text:
    """What the symbols (the reasons of ``cells``, in seed.REASONS order), host codes and kind
    codes mean."""
    text = Text()
    reasons = {c.reason for c in cells}
    for reason, meaning in REASONS.items():
        if reason in reasons:
            text.append(MARKS[reason], style=_style(reason, reason in REACHING))
            text.append(f" {reason}: {meaning}\n")
    text.append(WRONG, style="bold red")
    text.append(" not as expected, or ovnet trace disagrees\n")
    text.append(SELF, style="dim")
    text.append(" not probed (own NIC; a floating IP is a destination only)\n")
    text.append("rows probe columns; hosts: " + ", ".join(f"{code} {host}" for host, code in host_codes(where).items()))
    kinds = dict.fromkeys(kind for _host, kind in where.values())
    text.append("\nkinds: " + ", ".join(f"{kind_code(k)} {KINDS.get(k, (k, k))[1]}" for k in kinds))
    return text


def summary(cells: list[Cell], crossing: int) -> str:
    """One line of at most 100 columns: cells as expected of all, reachable (``crossing`` of them
    across Geneve), not reachable, and on how many cells ``ovnet trace`` agreed."""
    good = sum(c.ok for c in cells)
    reached = sum(c.seen for c in cells)
    traced = [c for c in cells if c.traced is not None]
    line = f"{good}/{len(cells)} cells as expected ({reached} reachable, {crossing} across Geneve; " \
           f"{len(cells) - reached} not)"
    return line + (f"; ovnet trace agrees on {sum(c.agrees for c in traced)}/{len(traced)}" if traced else "")


def _nic_json(nic: Nic, where: dict[str, tuple[str, str]]) -> dict:
    host, kind = where.get(nic.workload, (None, None))
    return {"workload": nic.workload, "ifname": nic.ifname, "address": nic.address, "project": nic.project,
            "network": nic.network, "host": host, "kind": kind}


def as_json(cells: list[Cell], where: dict[str, tuple[str, str]]) -> dict:
    """{"cells": [{"src", "dst", "expected", "reason", "seen", "ping", "echo", "source",
    "want_source", "ok", "trace": {"seen", "source", "verdict", "reason", "agrees"} | None}],
    "total", "ok", "trace_agrees"} with src/dst as {"workload", "ifname", "address", "project",
    "network", "host", "kind"}."""
    return {"cells": [{"src": _nic_json(c.src, where), "dst": _nic_json(c.dst, where), "expected": c.expected,
                       "reason": c.reason, "seen": c.seen, "ping": c.ping, "echo": c.echo,
                       "source": c.source, "want_source": c.want_source, "ok": c.ok,
                       "trace": None if c.traced is None else {**asdict(c.traced), "agrees": c.agrees}}
                      for c in cells],
            "total": len(cells), "ok": sum(c.ok for c in cells), "trace_agrees": sum(c.agrees for c in cells)}


def details(cells: list[Cell]) -> list[Text]:
    """One line per cell: symbol, source NIC -> destination NIC, expected (reason), ping, echo
    answer, and what ``ovnet trace`` said."""
    lines = []
    for c in cells:
        mark, style = symbol(c)
        line = Text(mark, style=style)
        line.append(f" {c.src.workload} {c.src.ifname} {c.src.address} -> {c.dst.workload} {c.dst.address}: "
                    f"expected {'reachable' if c.expected else 'isolated'} ({c.reason or '-'}), ping "
                    f"{'answered' if c.ping else 'silent'}, echo {c.echo or 'none'}")
        if c.traced is not None:
            line.append(f"; trace: {c.traced.verdict or 'not traced'} — {c.traced.reason}"
                        + ("" if c.agrees else " (DISAGREES)"))
        lines.append(line)
    return lines
