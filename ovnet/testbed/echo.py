"""Who answers at an address: a tiny echo server run inside a workload's network namespace, and the
clients that run inside another namespace to probe it.

Run as ``python -m ovnet.testbed.echo`` inside a namespace (``nsenter --net=/run/netns/NS ...``):

- ``serve NAME --port P --ready FILE [--netns NS] [--peer]``: TCP on P reads until the peer
  half-closes and answers ``NAME <bytes received>`` (UTF-8), the protocol the test VMs' echo
  service speaks too (ovnet.testbed.initscript); with ``--peer`` the name is ``NAME@<peer
  address>``, what a host outside sees as the source (SNAT, floating IP). FILE is written once it listens. With ``--netns`` it exits when
  /run/netns/NS is deleted, so removing a workload's namespace (``ovnet down``) never leaves its
  server running.
- ``probe --ifname IF --port P IP...``: from interface IF only (SO_BINDTODEVICE, so a second NIC
  cannot carry the probe), per IP in parallel: an ICMP ping (ping(8), one reply within
  ``--timeout`` s) and a TCP query of the name (an empty transfer); prints a JSON list of
  {"ip", "ping": bool, "echo": name|null}.
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

# A lost SYN is resent after 0.25 s rather than after TCP's 1 s back-off; each further attempt
# waits twice as long, for a slow peer (a busy VM under TCG).
CONNECT_ATTEMPT_S = 0.25
ANSWER_TIMEOUT_S = 5.0  # once connected, the peer exists: give a slow one (a VM under TCG) time
CHUNK = 256 * 1024


def serve(name: str, port: int, ready: Path, netns: str | None = None, peer: bool = False) -> None:
    """Answer TCP on ``port`` with ``name`` (``name@<peer address>`` with ``peer``) until killed
    (or ``netns`` is deleted)."""
    if netns:
        threading.Thread(target=_exit_with_namespace, args=(netns,), daemon=True).start()
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", port))
    tcp.listen(16)
    ready.write_text(f"{port}\n")
    _serve_tcp(tcp, name, peer)


def _exit_with_namespace(netns: str) -> None:
    mine = os.stat("/proc/self/ns/net").st_ino
    while True:
        time.sleep(1.0)
        try:
            if os.stat(f"/run/netns/{netns}").st_ino != mine:
                os._exit(0)
        except FileNotFoundError:
            os._exit(0)


def _serve_tcp(listener: socket.socket, name: str, peer: bool) -> None:
    while True:
        conn, address = listener.accept()
        threading.Thread(target=_sink, args=(conn, f"{name}@{address[0]}" if peer else name), daemon=True).start()


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
    """The name the echo server at ``address`` gives to an empty TCP transfer from ``ifname``,
    or None when no connection is made within ``timeout`` s (or none answers once made)."""
    deadline = time.monotonic() + timeout
    attempt = CONNECT_ATTEMPT_S
    while (left := deadline - time.monotonic()) > 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
            sock.settimeout(min(attempt, left))
            attempt *= 2
            try:
                sock.connect((address, port))
            except TimeoutError:
                continue
            except OSError:
                return None  # no route from this interface, or refused: nothing answers there
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(ANSWER_TIMEOUT_S)
            answer = b""
            try:
                while chunk := sock.recv(2048):
                    answer += chunk
            except OSError:
                return None
            return answer.decode(errors="replace").rpartition(" ")[0] or None
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
    p_serve.add_argument("--peer", action="store_true")
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
        serve(args.name, args.port, args.ready, args.netns, args.peer)
    elif args.cmd == "probe":
        print(json.dumps(probe(args.ifname, args.port, args.addresses, args.timeout)))
    else:
        print(json.dumps(send(args.address, args.port, args.bytes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
