"""The demo's matrix printer: one symbol per cell naming its reason, fits 100 columns for the seed
(with the outside host and the floating IPs) and for a larger picture, a legend, a summary no
wider than 100 columns, JSON and per-cell details with what ovnet trace said."""

from __future__ import annotations

import json

from rich.console import Console

from ovnet.cli import matrix
from ovnet.cli.demo import placement
from ovnet.testbed import seed
from ovnet.testbed.reach import Cell, Traced
from ovnet.testbed.seed import Nic

WORLD = seed.World(seed.outside_nic("10.50.50.1"), {"A-vm1": "10.50.50.11", "B-vm1": "10.50.50.12",
                                                    "A-vm3": "10.50.50.13"},
                   {"tenant-a": "10.50.50.20", "tenant-b": "10.50.50.21"})


def _cells(pairs, wrong=(), disagree=()) -> list[Cell]:
    cells = []
    for src, dst in pairs:
        want = seed.expect(src, dst, WORLD)
        seen = want.reachable != ((src, dst) in wrong)
        echo = (f"{dst.workload}@{want.source}" if want.source else dst.workload) if seen else None
        traced = Traced(seen != ((src, dst) in disagree), want.source, "delivered" if seen else "dropped", "why")
        cells.append(Cell(src, dst, want.reachable, seen, echo, want.reason, want.source, traced))
    return cells


def _render(*renderables, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    for r in renderables:
        console.print(r, crop=False, soft_wrap=True)
    return console.export_text().splitlines()


def test_seed_matrix_fits_100_columns_with_one_symbol_per_cell_naming_its_reason():
    cells = _cells(seed.pairs(WORLD))
    where = placement(["a-rather-long-hostname", "hv2"])
    grid, width = matrix.grid(cells, where)
    lines = _render(grid, matrix.legend(where, cells), matrix.summary(cells, 6))
    assert width <= 100 and max(len(line) for line in lines) <= 100
    nics = seed.nics() + [WORLD.outside] + WORLD.fip_nics()
    rows = lines[2:2 + len(nics)]  # 12 columns: numbers written downwards on two lines
    assert len(rows) == len(nics)
    symbols = [row.split("│")[1].split() for row in rows]
    assert all(len(s) == len(nics) for s in symbols)
    flat = [x for s in symbols for x in s]
    for reason, mark in matrix.MARKS.items():
        assert flat.count(mark) == sum(c.reason == reason for c in cells), reason
    assert matrix.WRONG not in flat and matrix.OK_REACHED not in flat
    assert all(set(s) == {matrix.SELF} for s in symbols[len(seed.nics()) + 1:])  # a floating IP is no source
    assert rows[len(seed.nics())].split("│")[0].split() == ["9", "outside", "pub", "10.50.50.1", "public", "-", "ex"]
    assert rows[len(seed.nics()) + 1].split("│")[0].split() == ["10", "A-vm1", "fip", "10.50.50.11", "tenant-a/public",
                                                              "h1", "ns"]
    assert any(line.startswith("b blocked by group default") for line in lines)
    assert any("h1 a-rather-long-hostname" in line for line in lines) and any("vm QEMU VM" in line for line in lines)
    assert "A-vm2" in rows[1] and "(VM)" not in rows[1]


def test_a_wrong_cell_and_a_trace_disagreement_are_marked_and_counted():
    pairs = seed.pairs(WORLD)
    cells = _cells(pairs, wrong={pairs[0]}, disagree={pairs[1]})
    grid, _ = matrix.grid(cells, placement(["hv1", "hv2"]))
    assert sum(line.count(matrix.WRONG) for line in _render(grid)) == 2
    line = matrix.summary(cells, 3)
    assert line.startswith(f"{len(cells) - 1}/{len(cells)} cells as expected")
    assert line.endswith(f"ovnet trace agrees on {len(cells) - 1}/{len(cells)}") and len(line) <= 100


def test_the_outside_host_must_see_the_expected_source_address():
    a1 = seed.nics()[0]
    right = Cell(a1, WORLD.outside, True, True, "outside@10.50.50.11", "floating IP", "10.50.50.11")
    snat = Cell(a1, WORLD.outside, True, True, "outside@10.50.50.20", "floating IP", "10.50.50.11")
    assert right.seen and right.source == "10.50.50.11" and right.ok
    assert snat.seen and not snat.ok
    assert not Cell(a1, WORLD.outside, True, True, "outside@10.50.50.11", "floating IP", "10.50.50.11",
                    Traced(True, "10.50.50.20", "delivered", "x")).agrees


def test_thirty_nics_still_fit_100_columns():
    nics = [Nic(f"w{i}", f"p{i % 3}", "net1", f"10.0.{i // 250}.{i % 250 + 1}", "eth0") for i in range(30)]
    pairs = [(a, b) for a in nics for b in nics if a != b]
    cells = [Cell(a, b, a.project == b.project, a.project == b.project, b.workload) for a, b in pairs]
    where = {n.workload: (f"hv{i % 4}", "podman") for i, n in enumerate(nics)}
    grid, width = matrix.grid(cells, where)
    lines = _render(grid)
    assert width <= 100 and max(len(line) for line in lines) <= 100
    assert lines[0].split()[-1] == "3" and lines[1].split()[-1] == "0"  # 30 written downwards


def test_json_and_details_carry_every_cell():
    cells = _cells(seed.pairs(WORLD))
    where = placement(["hv1", "hv2"])
    data = json.loads(json.dumps(matrix.as_json(cells, where)))
    assert data["total"] == data["ok"] == len(cells)
    first = data["cells"][0]
    assert first["src"]["workload"] == cells[0].src.workload and first["src"]["host"] == "hv1"
    assert set(first) == {"src", "dst", "expected", "reason", "seen", "ping", "echo", "source", "want_source", "ok",
                          "trace"}
    assert first["trace"] == {"seen": True, "source": None, "verdict": "delivered", "reason": "why", "agrees": True}
    assert data["trace_agrees"] == len(cells)
    details = matrix.details(cells)
    assert len(details) == len(cells) and "trace: delivered — why" in details[0].plain
