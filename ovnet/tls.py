"""The one TLS context of a process, shared by every HTTP client ovnet makes.

httpx builds a new ``ssl.SSLContext`` for each Client or HTTPTransport it is not given one for,
and loading the CA bundle costs ~30 ms of CPU each time (a second of wall time on a loaded
machine). ``ovnet up`` probes its services about 17 times, and an agent, the CLI, the test bed and
the tests make thousands of clients, almost all of them plain HTTP over loopback or a unix socket
that never uses the context. An ``https://`` API URL is verified exactly as httpx's default would
(its ``create_ssl_context()``: certifi's bundle, or SSL_CERT_FILE/SSL_CERT_DIR when set).
``ssl.SSLContext`` is safe to share between threads and connections.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context() -> ssl.SSLContext:
    """The process' verifying client context (built on first use); pass it as httpx's ``verify``."""
    return httpx.create_ssl_context()
