"""ApiClient with several API URLs: a server that refuses connections is skipped for the next one,
over real loopback sockets (a closed port, and a small HTTP server answering like ovnet-server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ovnet.apiclient import ApiClient
from ovnet.runtime.process import free_port


class _Neutron(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.paths.append(self.path)
        body = json.dumps({"networks": [{"id": "n1"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def live_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Neutron)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.paths
    finally:
        server.shutdown()
        server.server_close()


def test_a_refused_server_is_skipped_and_the_live_one_stays_current(live_url):
    url, paths = live_url
    dead = f"http://127.0.0.1:{free_port()}"
    with ApiClient([dead, url], "t") as api:
        assert api.list_networks() == [{"id": "n1"}]
        assert api.base_url == url  # the next request goes straight to the server that answered
        assert api.list_networks() == [{"id": "n1"}]
    assert paths == ["/v2.0/networks", "/v2.0/networks"]


def test_no_server_connects_raises_connect_error():
    with ApiClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], "t") as api:
        with pytest.raises(httpx.ConnectError):
            api.list_networks()


def test_an_api_client_needs_a_url():
    with pytest.raises(ValueError):
        ApiClient([], "t")
