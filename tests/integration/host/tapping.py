"""A stand-in for a VM's NIC in tests: open a tap device the way QEMU does (IFF_TAP | IFF_NO_PI,
no vnet header), send one ICMP echo request as raw Ethernet and wait for the reply.

Run as ``python3 tapping.py TAP SRC_MAC SRC_IP DST_MAC DST_IP`` inside the tap's namespace;
prints "reply" and exits 0 when the echo reply from DST_IP arrives within 5 s, else exits 1.
Standard library only, so it runs under nsenter with any interpreter.
"""

from __future__ import annotations

import fcntl
import os
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_frame(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str, ident: int) -> bytes:
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"ovnet-tap-probe"
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident, 0, 64, 1, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    mac = lambda text: bytes.fromhex(text.replace(":", ""))  # noqa: E731
    return mac(dst_mac) + mac(src_mac) + b"\x08\x00" + header + icmp


def main(tap: str, src_mac: str, src_ip: str, dst_mac: str, dst_ip: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    ident = os.getpid() & 0xFFFF
    deadline = time.monotonic() + 5
    next_send = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_send:  # resend: the first may race the flow installation
            os.write(fd, echo_frame(src_mac, src_ip, dst_mac, dst_ip, ident))
            next_send = time.monotonic() + 0.5
        if not select.select([fd], [], [], 0.1)[0]:
            continue
        frame = os.read(fd, 2048)
        if frame[12:14] == b"\x08\x00" and frame[23] == 1 and frame[26:30] == socket.inet_aton(dst_ip) \
                and frame[34] == 0:
            print("reply")
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
