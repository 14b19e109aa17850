"""X-Auth-Token authentication with a small in-process cache of validated tokens."""

from __future__ import annotations

import threading
import time

from ovnet.model.store import Store
from ovnet.model.tenancy import Context, authenticate, hash_token

CACHE_TTL_S = 30.0


class Authenticator:
    """Maps a token to its Context; a validated token is trusted for CACHE_TTL_S seconds.

    Raises NotAuthorized (401) for a missing or unknown token. Only digests are cached.
    """

    def __init__(self, store: Store, ttl_s: float = CACHE_TTL_S):
        self.store = store
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[Context, float]] = {}
        self._lock = threading.Lock()

    def context(self, token: str | None) -> Context:
        digest = hash_token(token) if token else ""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit and hit[1] > now:
            return hit[0]
        ctx = self.store.run(lambda s: authenticate(s, token), readonly=True)
        with self._lock:
            self._cache[digest] = (ctx, now + self.ttl_s)
        return ctx
