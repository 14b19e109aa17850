"""X-Auth-Token authentication: every request reads its token's row from the store.

No validated token is cached: a token revoked or expired (``ovnet project token --revoke``, which
writes the store directly, possibly from another process) must fail on the very next request, and
a primary-key lookup costs less than keeping a cache coherent across API servers.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ovnet.model.store import Store
from ovnet.model.tenancy import Context, authenticate


class Authenticator:
    """Maps a token to its Context; raises NotAuthorized (401) for a missing, unknown, revoked or
    expired token."""

    def __init__(self, store: Store):
        self.store = store

    def context(self, token: str | None) -> Context:
        """``token``'s Context, read in a transaction of its own."""
        return self.store.run(lambda s: self.context_in(s, token), readonly=True)

    @staticmethod
    def context_in(session: Session, token: str | None) -> Context:
        """``token``'s Context, read in the caller's transaction ``session``: a write that starts
        with it saves a transaction and a threadpool call, and still sees a revocation committed
        before it began (its transaction reads the token row, on every server of the store)."""
        return authenticate(session, token)
