"""Who answers at an address: a tiny echo server run inside a workload's network namespace, and the
clients that run inside another namespace to probe it.

Run as ``python -m ovnet.testbed.echo`` inside a namespace (``nsenter --net=/run/netns/NS ...``):

- ``serve NAME --port P --ready FILE [--netns NS]``: UDP on P answers any datagram with NAME
  (UTF-8); TCP on P reads until the peer half-closes and answers ``NAME <bytes received>``. FILE
  is written once both sockets listen. With ``--netns`` it exits when /run/netns/NS is deleted,
  so removing a workload's namespace (``ovnet down``) never leaves its server running.
- ``probe --ifname IF --port P IP...``: from interface IF only (SO_BINDTODEVICE, so a second NIC
  cannot carry the probe), per IP in parallel: an ICMP ping (ping(8), one reply within
  ``--timeout`` s) and a UDP query; prints a JSON list of {"ip", "ping": bool, "echo": name|null}.
- ``send IP --port P --bytes N``: a TCP transfer of N bytes; prints JSON {"peer", "bytes",
  "seconds"}, ``peer`` being the server's NAME and ``bytes`` the count it received.

Only the Python standard library and ping(8): it starts once per namespace and must start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

QUERY = b"who?"
CHUNK = 256 * 1024


def serve(name: str, port: int, ready: Path, netns: str | None = None) -> None:
    """Answer UDP and TCP on ``port`` with ``name`` until killed (or ``netns`` is deleted)."""
    if netns:
        threading.Thread(target=_exit_with_namespace, args=(netns,), daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", port))
    tcp.listen(16)
    threading.Thread(target=_serve_tcp, args=(tcp, name), daemon=True).start()
    ready.write_text(f"{port}\n")
    answer = name.encode()
    while True:
        _data, peer = udp.recvfrom(2048)
        udp.sendto(answer, peer)


def _exit_with_namespace(netns: str) -> None:
    mine = os.stat("/proc/self/ns/net").st_ino
    while True:
        time.sleep(1.0)
        try:
            if os.stat(f"/run/netns/{netns}").st_ino != mine:
                os._exit(0)
        except FileNotFoundError:
            os._exit(0)


def _serve_tcp(listener: socket.socket, name: str) -> None:
    while True:
        conn, _peer = listener.accept()
        threading.Thread(target=_sink, args=(conn, name), daemon=True).start()


def _sink(conn: socket.socket, name: str) -> None:
    with conn:
        total = 0
        while chunk := conn.recv(CHUNK):
            total += len(chunk)
        conn.sendall(f"{name} {total}".encode())


def ping(ifname: str, address: str, timeout: float) -> bool:
    """True when ``address`` answers one ICMP echo sent from ``ifname`` within ``timeout`` s."""
    # -c1 with a -w deadline resends every 0.2 s until the first reply, so one lost packet
    # (the first one waits for ARP) does not turn into a false "unreachable".
    argv = ["ping", "-n", "-q", "-c1", "-i0.2", f"-w{max(1, round(timeout))}", "-I", ifname, address]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def query(ifname: str, address: str, port: int, timeout: float) -> str | None:
    """The name the echo server at ``address`` gives to a UDP query from ``ifname``, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                sock.sendto(QUERY, (address, port))
            except OSError:
                return None  # no route from this interface: unreachable at once
            sock.settimeout(min(0.25, left))
            try:
                return sock.recv(2048).decode()
            except TimeoutError:
                continue
    return None


def probe(ifname: str, port: int, addresses: list[str], timeout: float) -> list[dict]:
    """Ping and query every address in parallel; one dict per address, in order."""
    with ThreadPoolExecutor(max_workers=2 * len(addresses) or 1) as pool:
        pings = [pool.submit(ping, ifname, a, timeout) for a in addresses]
        echoes = [pool.submit(query, ifname, a, port, timeout) for a in addresses]
        return [{"ip": a, "ping": p.result(), "echo": e.result()} for a, p, e in zip(addresses, pings, echoes)]


def send(address: str, port: int, size: int, timeout: float = 30.0) -> dict:
    """Send ``size`` bytes over TCP to ``address``; the server's answer and the elapsed seconds."""
    block = b"\0" * CHUNK
    started = time.monotonic()
    with socket.create_connection((address, port), timeout=timeout) as conn:
        left = size
        while left > 0:
            conn.sendall(block[: min(left, CHUNK)])
            left -= min(left, CHUNK)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(2048):
            answer += chunk
    peer, _, count = answer.decode().rpartition(" ")
    return {"peer": peer, "bytes": int(count), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ovnet.testbed.echo")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("name")
    p_serve.add_argument("--port", type=int, required=True)
    p_serve.add_argument("--ready", type=Path, required=True)
    p_serve.add_argument("--netns")
    p_probe = sub.add_parser("probe")
    p_probe.add_argument("addresses", nargs="*")
    p_probe.add_argument("--ifname", required=True)
    p_probe.add_argument("--port", type=int, required=True)
    p_probe.add_argument("--timeout", type=float, default=1.0)
    p_send = sub.add_parser("send")
    p_send.add_argument("address")
    p_send.add_argument("--port", type=int, required=True)
    p_send.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        serve(args.name, args.port, args.ready, args.netns)
    elif args.cmd == "probe":
        print(json.dumps(probe(args.ifname, args.port, args.addresses, args.timeout)))
    else:
        print(json.dumps(send(args.address, args.port, args.bytes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
