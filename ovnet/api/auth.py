"""X-Auth-Token authentication: every request reads its token's row from the store.

No validated token is cached: a token revoked or expired (``ovnet project token --revoke``, which
writes the store directly, possibly from another process) must fail on the very next request, and
a primary-key lookup costs less than keeping a cache coherent across API servers.
"""

from __future__ import annotations

from ovnet.model.store import Store
from ovnet.model.tenancy import Context, authenticate


class Authenticator:
    """Maps a token to its Context; raises NotAuthorized (401) for a missing, unknown, revoked or
    expired token."""

    def __init__(self, store: Store):
        self.store = store

    def context(self, token: str | None) -> Context:
        return self.store.run(lambda s: authenticate(s, token), readonly=True)
