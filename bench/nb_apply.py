"""NB apply rate of the syncer's NB layer: one transaction per port vs one batched transaction.

Starts the runtime's NB ovsdb-server in a temporary state dir on a free port, converges synthetic
model snapshots through ``ovnet.ovn.nb.NbClient`` and prints a table. The baseline is the
one-port-per-transaction rate measured in the same run; other rows are reported as ratios to it.

    .venv/bin/python bench/nb_apply.py [--ports 5000] [--single 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from ovnet.config import Settings
from ovnet.ovn.nb import MAX_TXN_ROWS, NbClient
from ovnet.ovn.registry import desired_rows
from ovnet.runtime.central import central_services
from ovnet.runtime.process import free_port


def synthetic_snapshot(ports: int) -> dict:
    net, sub = str(uuid.uuid4()), str(uuid.uuid4())
    out = {
        "networks": [{"id": net, "name": "bench", "project_id": "p", "mtu": 1442, "revision_number": 1}],
        "subnets": [{"id": sub, "name": "bench4", "project_id": "p", "network_id": net, "cidr": "10.0.0.0/16",
                     "ip_version": 4, "gateway_ip": "10.0.0.1", "enable_dhcp": True, "dns_nameservers": [],
                     "host_routes": [], "revision_number": 1}],
        "ports": [],
    }
    for i in range(ports):
        out["ports"].append({
            "id": str(uuid.uuid4()), "name": "", "project_id": "p", "network_id": net,
            "mac_address": f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
            "fixed_ips": [{"subnet_id": sub, "ip_address": f"10.0.{(i + 2) >> 8 & 255}.{(i + 2) & 255}"}],
            "port_security_enabled": True, "allowed_address_pairs": [], "device_owner": "",
            "admin_state_up": True, "binding:host_id": "", "revision_number": 1, "status": "DOWN"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=5000, help="ports in the batched transaction")
    parser.add_argument("--single", type=int, default=500, help="ports applied one transaction each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovnet-bench-") as tmp:
        settings = Settings(state_dir=Path(tmp), nb_port=free_port())
        nb_service = next(s for s in central_services(settings) if s.name == "ovsdb-nb")
        nb_service.start()
        nb = NbClient(settings.nb_connection)
        nb.start()
        try:
            assert nb.wait_connected(10), "NB did not connect"
            rows = []
            snap = synthetic_snapshot(args.single)
            nb.converge(desired_rows(snap, {snap["networks"][0]["id"], snap["subnets"][0]["id"]}))
            started = time.perf_counter()
            for port in snap["ports"]:
                scope = {port["id"]}
                nb.converge(desired_rows(snap, scope), scope)
            single = args.single / (time.perf_counter() - started)
            rows.append(("1 port per transaction (baseline)", args.single, single))

            snap = synthetic_snapshot(args.ports)
            started = time.perf_counter()
            nb.converge(desired_rows(snap), {p["id"] for p in snap["ports"]} | {snap["networks"][0]["id"],
                                                                               snap["subnets"][0]["id"]})
            batched = args.ports / (time.perf_counter() - started)
            rows.append((f"{args.ports} ports, {MAX_TXN_ROWS} per transaction", args.ports, batched))

            started = time.perf_counter()
            left = nb.converge(desired_rows(snap), dry_run=True)
            total = args.ports + args.single
            noop = (time.perf_counter() - started)
            rows.append((f"full drift check, {total} ports in NB", total, total / noop))
            assert len(left) == args.single + 2  # the first snapshot (switch, DHCP, ports) is not in the second
        finally:
            nb.stop()
            nb_service.stop()
    print(f"{'case':<40} {'ports':>7} {'ports/s':>10} {'x baseline':>11}")
    for name, n, rate in rows:
        print(f"{name:<40} {n:>7} {rate:>10.0f} {rate / single:>11.1f}")


if __name__ == "__main__":
    main()
