"""The demo's matrix printer: one symbol per cell, fits 100 columns for the seed and for a larger
picture, a legend, a summary, JSON and per-cell details."""

from __future__ import annotations

import json

from rich.console import Console

from ovnet.cli import matrix
from ovnet.cli.demo import placement
from ovnet.testbed import seed
from ovnet.testbed.reach import Cell
from ovnet.testbed.seed import Nic


def _cells(pairs, wrong=()) -> list[Cell]:
    cells = []
    for src, dst in pairs:
        expected = seed.expected(src, dst)
        seen = expected != ((src, dst) in wrong)
        cells.append(Cell(src, dst, expected, seen, dst.workload if seen else None))
    return cells


def _render(*renderables, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    for r in renderables:
        console.print(r, crop=False, soft_wrap=True)
    return console.export_text().splitlines()


def test_seed_matrix_fits_100_columns_with_one_symbol_per_cell():
    cells = _cells(seed.pairs())
    where = placement(["a-rather-long-hostname", "hv2"])
    grid, width = matrix.grid(cells, where)
    lines = _render(grid, matrix.legend(where))
    assert width <= 100 and max(len(line) for line in lines) <= 100
    nics = seed.nics()
    rows = lines[1:1 + len(nics)]
    assert len(rows) == len(nics)
    symbols = [row.split("│")[1].split() for row in rows]
    assert all(len(s) == len(nics) for s in symbols)
    flat = [x for s in symbols for x in s]
    assert flat.count(matrix.OK_REACHED) == sum(seed.expected(a, b) for a, b in seed.pairs())
    assert flat.count(matrix.OK_ISOLATED) == sum(not seed.expected(a, b) for a, b in seed.pairs())
    assert matrix.WRONG not in flat
    assert "h1 a-rather-long-hostname" in lines[-2] and "vm QEMU VM" in lines[-1]
    assert "A-vm2" in rows[1] and "(VM)" not in rows[1]


def test_a_wrong_cell_is_marked_and_counted():
    pairs = seed.pairs()
    cells = _cells(pairs, wrong={pairs[0]})
    grid, _ = matrix.grid(cells, placement(["hv1", "hv2"]))
    assert sum(line.count(matrix.WRONG) for line in _render(grid)) == 1
    assert matrix.summary(cells, 3).startswith(f"{len(cells) - 1}/{len(cells)} cells as expected")


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
    cells = _cells(seed.pairs())
    where = placement(["hv1", "hv2"])
    data = json.loads(json.dumps(matrix.as_json(cells, where)))
    assert data["total"] == data["ok"] == len(cells)
    first = data["cells"][0]
    assert first["src"]["workload"] == cells[0].src.workload and first["src"]["host"] == "hv1"
    assert set(first) == {"src", "dst", "expected", "seen", "ping", "echo", "ok"}
    assert len(matrix.details(cells)) == len(cells)
