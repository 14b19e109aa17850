"""Commands inside a running test VM, through the shell its init keeps on a virtio console port.

QEMU exposes that port as a unix socket (``qemu.QemuSpec.shell``); a command is written as one
line followed by an ``echo`` of a marker carrying its exit status, and the output is read up to
that marker. Nothing runs over the VM's network, so a test can drive the guest even while its
NIC is unplugged.
"""

from __future__ import annotations

import math
import re
import secrets
import socket
import time
from pathlib import Path


# One line of /etc/probe.sh (ovnet.testbed.initscript.PROBE_SCRIPT): "ADDR PING NAME".
PROBE_LINE = re.compile(r"^(\d+\.\d+\.\d+\.\d+) ([01]) (\S+)$", re.MULTILINE)


class GuestError(Exception):
    """The guest shell did not answer in time."""


def run(shell: Path, command: str, timeout: float = 30.0) -> tuple[int, str]:
    """Run ``command`` (one shell line) in the guest; return (exit status, output with stderr).

    Waits up to ``timeout`` seconds, including for the shell to come up after boot. Raises
    GuestError when no answer comes.
    """
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        while True:
            try:
                sock.connect(str(shell))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() >= deadline:
                    raise GuestError(f"no guest shell at {shell}") from None
                time.sleep(0.05)
        # The guest may not read its port yet: say hello until the shell answers.
        hello = f"@@hello-{secrets.token_hex(4)}@@"
        _exchange(sock, f"echo {hello}\n", re.compile(re.escape(hello)), deadline, resend=0.5)
        marker = secrets.token_hex(4)
        pattern = re.compile(rf"@@{marker} rc=(\d+)@@")
        output, match = _exchange(sock, f"{command} 2>&1; echo \"@@{marker} rc=$?@@\"\n", pattern, deadline)
        lines = output[:match.start()].replace("\r", "").splitlines(keepends=True)
        return int(match.group(1)), "".join(line for line in lines if hello not in line)  # late hellos


def _exchange(sock: socket.socket, line: str, pattern: re.Pattern, deadline: float,
              resend: float | None = None) -> tuple[str, re.Match]:
    buffer = ""
    sent_at = 0.0
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise GuestError(f"the guest shell did not answer {line.strip()!r}")
        if not sent_at or (resend and now - sent_at >= resend):
            sock.sendall(line.encode())
            sent_at = now
        sock.settimeout(min(0.1, deadline - now))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            raise GuestError("the guest shell's socket closed")
        buffer += chunk.decode(errors="replace")
        match = pattern.search(buffer)
        if match:
            return buffer, match


def probe(shell: Path, ifname: str, addresses: list[str], timeout: float = 1.0, port: int = 7) -> list[dict]:
    """ovnet.testbed.echo's probe run inside the VM from its NIC ``ifname``: per address a ping
    and a TCP query of the echo service on ``port``, ``timeout`` s each (rounded up to whole
    seconds, busybox's unit), all at once. Returns one {"ip", "ping": bool, "echo": name | None}
    per address, in order (repeated addresses are probed once). Raises GuestError when the guest
    does not answer or an address gets no result line."""
    unique = list(dict.fromkeys(addresses))
    seconds = max(1, math.ceil(timeout))
    status, output = run(shell, f"/etc/probe.sh {ifname} {port} {seconds} {' '.join(unique)}", timeout=seconds + 30)
    found = {ip: (ping == "1", None if name == "-" else name) for ip, ping, name in PROBE_LINE.findall(output)}
    missing = [ip for ip in unique if ip not in found]
    if status != 0 or missing:
        raise GuestError(f"probe from {ifname} failed (exit {status}, no result for {missing}): {output[-500:]}")
    return [{"ip": ip, "ping": found[ip][0], "echo": found[ip][1]} for ip in addresses]
