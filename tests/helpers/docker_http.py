"""Speak to a libnetwork plugin socket exactly as dockerd's Go client does: HTTP/1.1 POST with an
empty ``Host``, no Content-Type, ``Content-Length: 0`` for argument-less calls."""

from __future__ import annotations

import json
import socket


def post(path, call: str, body: bytes) -> tuple[int, dict, str]:
    """POST ``body`` to ``/<call>`` on unix socket ``path``; returns (status, JSON answer, Content-Type)."""
    request = (f"POST /{call} HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n"
               f"Content-Length: {len(body)}\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n"
               "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n").encode() + body
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), json.loads(payload), headers.get("content-type", "")
