"""Starting a supervised service follows its process (issue: `ovnet up` gave up on ovnet-server
after 30 s on a loaded machine): alive and not listening yet is still starting, waited for up to
``start_limit``; a process that died fails at once, quoting the end of its log. Real processes,
real sockets (no root)."""

from __future__ import annotations

import sys

import pytest

from ovnet.runtime.daemon import Service
from ovnet.runtime.process import RuntimeFailure, free_port
from ovnet.runtime.services import http_probe

# Listens only after a pause, as a server busy importing and migrating does, then answers health.
SLOW_SERVER = """
import http.server, sys, time
time.sleep(float(sys.argv[2]))
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"status": "ok"}')
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""
DYING = """
import sys
print("starting the store", flush=True)
print("boom: cannot open the store", file=sys.stderr, flush=True)
sys.exit(3)
"""


def _service(tmp_path, script: str, *args: str, port: int, start_timeout: float, start_limit: float) -> Service:
    url = f"http://127.0.0.1:{port}"
    return Service(name="svc", argv=[sys.executable, "-c", script, *args], pidfile=tmp_path / "svc.pid",
                   log=tmp_path / "svc.log", endpoint=url, health=http_probe(f"{url}/healthz"), detaches=False,
                   start_timeout=start_timeout, start_limit=start_limit)


def test_a_live_service_not_listening_yet_is_waited_for_up_to_its_start_limit(tmp_path):
    port = free_port()
    svc = _service(tmp_path, SLOW_SERVER, str(port), "3", port=port, start_timeout=0.5, start_limit=120.0)
    try:
        svc.start()  # listens after ~3 s: past start_timeout, well within start_limit
        assert svc.check() is None
    finally:
        svc.stop()


@pytest.mark.timeout(120)  # well under start_limit: a dead process is not waited for
def test_a_service_that_dies_while_starting_fails_at_once_with_its_log(tmp_path):
    port = free_port()
    svc = _service(tmp_path, DYING, port=port, start_timeout=600.0, start_limit=600.0)
    with pytest.raises(RuntimeFailure) as failed:
        svc.start()
    message = str(failed.value)
    assert "svc exited while starting" in message
    assert "boom: cannot open the store" in message and "starting the store" in message, message
    svc.stop()
