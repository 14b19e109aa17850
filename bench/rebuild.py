"""Issue 15, "OVN is derived", at scale: NB rebuilt from the model, and ``ovnet sync --check``,
with ``--ports`` logical switch ports (default 10,000; goals <= 10 s and <= 3 s).

A SQLite model with one network, its subnet and ``--ports`` ports (bench/sync_flush.py's model);
a private NB ovsdb-server on a free port; a running Syncer (the server's), which fills NB. Then:
  - ``ovnet sync --check`` as a user runs it (a new process: imports, one NB read, model read,
    compare), ``--runs`` times;
  - the NB wipe: stop NB, delete its file, start it empty; the seconds until the running syncer's
    reconcile after the reconnect has rebuilt NB (checked afterwards: no drift), ``--runs`` times.
Baseline of the same run: one OVSDB ``transact`` of the same rows into an empty NB in one
transaction through python-ovs's JSON-RPC (ovsdb-server's own cost, no IDL, no ovnet), so a figure from a loaded machine can be read
as a ratio. Prints the load average beside each figure, and the CPU seconds ovnet and the NB
ovsdb-server spent (about the time on an idle machine: their work overlaps little; the check reads
NB beside the model, so there it is an upper bound). Ends with one PASS/MISS line per goal: the
median over ``--runs``, each run's figure and the load.

    .venv/bin/python bench/rebuild.py [--ports 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ovs.jsonrpc
import ovs.stream
from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ovnet.config import load_settings  # noqa: E402
from ovnet.model import syncer_io  # noqa: E402
from ovnet.model.store import Store  # noqa: E402
from ovnet.ovn.registry import TABLE, desired_rows  # noqa: E402
from ovnet.ovn.syncer import SYNCED, Syncer  # noqa: E402
from ovnet.ovn.translate import OWNER_KEY  # noqa: E402
from ovnet.runtime.central import central_services  # noqa: E402
from ovnet.runtime.process import free_port  # noqa: E402
from sync_flush import Model  # noqa: E402  (bench/ is the script's directory)

RECONCILES = "ovnet_reconcile_duration_seconds_count"
NB_FILE = "ovnnb_db.db"


def load() -> str:
    return "load %.1f" % os.getloadavg()[0]


def reconciles() -> float:
    return REGISTRY.get_sample_value(RECONCILES) or 0.0


def _datum(value):
    # A desired row's column as OVSDB JSON (RFC 7047 §5.1): maps and sets spelled out.
    if isinstance(value, dict):
        return ["map", [[k, v] for k, v in sorted(value.items())]]
    if isinstance(value, list):
        return ["set", value]
    return value


def baseline_ops(desired: dict) -> list:
    """One transaction inserting the desired switch and ports: what ovsdb-server alone costs."""
    (switch,) = desired["Logical_Switch"].values()
    ports = []
    ops = []
    for i, row in enumerate(desired["Logical_Switch_Port"].values()):
        ports.append(["named-uuid", f"p{i}"])
        ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": f"p{i}",
                    "row": {c: _datum(v) for c, v in row.items() if c not in TABLE["Logical_Switch_Port"].references}})
    ops.append({"op": "insert", "table": "Logical_Switch",
                "row": {**{c: _datum(v) for c, v in switch.items()}, "ports": ["set", ports]}})
    return ["OVN_Northbound", *ops]


def transact(remote: str, params: list) -> None:
    """One OVSDB ``transact`` over python-ovs's JSON-RPC (no IDL); raises on any error."""
    error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote))
    assert not error, os.strerror(error)
    conn = ovs.jsonrpc.Connection(stream)
    try:
        error, reply = conn.transact_block(ovs.jsonrpc.Message.create_request("transact", params))
        assert not error and not reply.error, (error, reply and reply.error)
        failed = [r for r in reply.result if isinstance(r, dict) and "error" in r]
        assert not failed, failed[:3]
    finally:
        conn.close()


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far (proc(5), stat fields 14-15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wipe_nb(nb_service, settings) -> None:
    nb_service.stop()
    (settings.db_dir / NB_FILE).unlink()
    nb_service.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovnet-bench-rebuild-") as tmp:
        settings = load_settings(tmp, nb_port=free_port(), sb_port=free_port(), sync_interval=3600)
        settings.save()
        nb_service = next(s for s in central_services(settings) if s.name == "ovsdb-nb")
        nb_service.start()
        store = Store(settings.sql_url)
        store.migrate()
        syncer = Syncer(store, settings)
        try:
            started = time.perf_counter()
            Model(store).ports(args.ports)
            print(f"model: 1 network, 1 subnet, {args.ports} ports in {time.perf_counter() - started:.1f} s ({load()})")
            with store.session(readonly=True) as session:
                desired = desired_rows(syncer_io.snapshot(session, SYNCED))
            ops = baseline_ops(desired)
            base = []
            for _ in range(args.runs):
                wipe_nb(nb_service, settings)
                started, nb_cpu = time.perf_counter(), cpu_of(nb_service.pid())
                transact(settings.nb_connection, ops)
                base.append(time.perf_counter() - started)
                print(f"baseline: one transact of {args.ports} ports into an empty NB: {base[-1]:.2f} s; "
                      f"CPU: NB ovsdb-server {cpu_of(nb_service.pid()) - nb_cpu:.2f} s ({load()})")
            wipe_nb(nb_service, settings)

            syncer.start()
            started = time.perf_counter()
            assert syncer.flush(900), "the first sync did not finish"
            print(f"first sync (server start, empty NB): {time.perf_counter() - started:.1f} s ({load()})")
            owned = sum(OWNER_KEY in r.external_ids for r in syncer.nb.idl.tables["Logical_Switch_Port"].rows.values())
            assert owned == args.ports, f"{owned} ports in NB"

            checks, check_cpu = [], []
            for _ in range(args.runs):
                started, cpu, nb_cpu = time.perf_counter(), children_cpu(), cpu_of(nb_service.pid())
                out = subprocess.run([str(Path(sys.executable).parent / "ovnet"), "sync", "--check", "--state-dir", tmp],
                                     capture_output=True, text=True)
                checks.append(time.perf_counter() - started)
                check_cpu.append((children_cpu() - cpu, cpu_of(nb_service.pid()) - nb_cpu))
                assert out.returncode == 0, out.stdout + out.stderr
                print(f"ovnet sync --check over {args.ports} ports: {checks[-1]:.2f} s; CPU: ovnet {check_cpu[-1][0]:.2f} s, "
                      f"NB ovsdb-server {check_cpu[-1][1]:.2f} s ({load()})")

            rebuilds, rebuild_cpu = [], []
            for _ in range(args.runs):
                before = reconciles()
                wipe_nb(nb_service, settings)
                started, cpu, nb_cpu = time.perf_counter(), time.process_time(), cpu_of(nb_service.pid())
                while reconciles() <= before:
                    time.sleep(0.05)
                    assert time.perf_counter() - started < 900, "no reconcile after the wipe"
                rebuilds.append(time.perf_counter() - started)
                rebuild_cpu.append((time.process_time() - cpu, cpu_of(nb_service.pid()) - nb_cpu))
                print(f"NB wipe -> rebuilt with {args.ports} ports: {rebuilds[-1]:.2f} s; CPU: ovnet {rebuild_cpu[-1][0]:.2f} s, "
                      f"NB ovsdb-server {rebuild_cpu[-1][1]:.2f} s ({load()})")
                assert syncer.drift() == [], "drift after the rebuild"
        finally:
            syncer.stop()
            store.dispose()
            nb_service.stop()
    b = statistics.median(base)
    for name, runs, cpus, goal in (("NB rebuilt from the model", rebuilds, rebuild_cpu, 10.0),
                                   ("ovnet sync --check", checks, check_cpu, 3.0)):
        m = statistics.median(runs)
        ovnet_cpu, nb_cpu = statistics.median(c[0] for c in cpus), statistics.median(c[1] for c in cpus)
        print(f"{'PASS' if m <= goal else 'MISS'}: {name} ({args.ports} ports): median {m:.2f} s over {len(runs)} "
              f"runs ({' / '.join(f'{r:.2f}' for r in runs)}; goal <= {goal:.0f} s, {load()}), "
              f"{m / b:.1f}x the one-transact baseline ({b:.2f} s); CPU ovnet {ovnet_cpu:.2f} s + "
              f"NB ovsdb-server {nb_cpu:.2f} s (the wall time on an idle machine is at most about their sum)")


if __name__ == "__main__":
    main()
