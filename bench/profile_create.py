"""Where a single port create's CPU goes: the real app, in-process, driven by ASGI calls.

The API app (ovnet.api.app.create_app) over a private SQLite store holding ``--ports`` ports on one
/16 subnet; then ``--creates`` single-port POSTs go straight into the ASGI app (no HTTP client, no
socket), one at a time, with the threadpool hop replaced by a direct call so that one thread does
all the work and cProfile sees it. Prints the process CPU per create (ms) and, with ``--profile``,
the share of the profiled time by package and ovnet module (own time), and ovnet's functions by
inclusive time. CPU times on a busy machine run high: compare runs made under the same load.

    .venv/bin/python bench/profile_create.py [--ports 10000] [--creates 2000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path

import ovnet.api.routes
from ovnet.api.app import create_app
from ovnet.model.store import Store
from ovnet.model.tenancy import create_project, issue_token


async def _direct(fn, *args, **kwargs):
    return fn(*args, **kwargs)


class Caller:
    """ASGI requests into ``app`` with ``token``: ``await call(method, path, body) -> (status, body)``."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode()

    async def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        raw = json.dumps(body).encode() if body is not None else b""
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                             (b"x-auth-token", self.token), (b"content-length", str(len(raw)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        messages = [{"type": "http.request", "body": raw, "more_body": False}]
        answer: dict = {"body": b""}

        async def receive():
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
        await self.app(scope, receive, send)
        return answer["status"], answer["body"]


def _shares(profile: cProfile.Profile) -> str:
    """Own time by package (ovnet by module) and ovnet's functions by inclusive time, in percent."""
    stats = pstats.Stats(profile)
    total = sum(tt for _, _, tt, _, _ in stats.stats.values())
    groups: Counter = Counter()
    for (path, _line, name), (_cc, _nc, own, _inc, _callers) in stats.stats.items():
        if "/ovnet/" in path:
            key = "ovnet/" + path.split("/ovnet/", 1)[1]
        elif "sqlalchemy" in path:
            key = "sqlalchemy.orm" if "sqlalchemy/orm" in path else "sqlalchemy (engine, sql, pool, event)"
        elif any(p in path for p in ("fastapi", "starlette", "anyio", "asyncio")):
            key = "fastapi, starlette, asyncio"
        elif path == "~":
            key = name if "sqlite3" in name else "builtins"
        else:
            key = "other: " + Path(path).name
        groups[key] += own
    lines = [f"{100 * t / total:5.1f}%  {k}" for k, t in groups.most_common(16)]
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(r"/ovnet/", 25)
    inclusive = [line for line in out.getvalue().splitlines() if "/ovnet/" in line]
    return "\n".join(["own time by package:", *lines, "ovnet functions by inclusive time (s):", *inclusive])


async def run(args: argparse.Namespace) -> None:
    ovnet.api.routes.run_in_threadpool = _direct
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/ovnet.db")
        store.migrate()

        def token(session):
            project = create_project(session, "bench")
            session.flush()
            return issue_token(session, project.id, "member")
        caller = Caller(create_app(store), store.run(token))
        status, body = await caller.call("POST", "/v2.0/networks", {"network": {"name": "bench"}})
        net = json.loads(body)["network"]["id"]
        await caller.call("POST", "/v2.0/subnets", {"subnet": {"network_id": net, "cidr": "10.0.0.0/16",
                                                               "ip_version": 4}})
        for start in range(0, args.ports, 500):
            status, body = await caller.call("POST", "/v2.0/ports",
                                             {"ports": [{"network_id": net}] * min(500, args.ports - start)})
            assert status == 201, body
        one = {"port": {"network_id": net}}
        for _ in range(200):  # warm: statement plans, caches
            await caller.call("POST", "/v2.0/ports", one)
        gc.collect()
        gc.freeze()  # as the server does at start-up (ovnet.server)
        profile = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        for _ in range(args.creates):
            status, body = await caller.call("POST", "/v2.0/ports", one)
            assert status == 201, body
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.dispose()
    print(f"{args.creates} single creates with {args.ports:,} ports present: {1000 * cpu / args.creates:.3f} ms CPU "
          f"each ({1000 * wall / args.creates:.3f} ms wall){', profiled' if profile else ''}")
    if profile:
        print(_shares(profile))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=10_000, help="ports present before the creates")
    parser.add_argument("--creates", type=int, default=2000, help="single-port creates measured")
    parser.add_argument("--profile", action="store_true", help="cProfile the creates and print the shares")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
