"""Failed logins counted per account name, in Valkey, so that guessing a password is slow.

The login form already waits half a second or more after a wrong password, but that only slows one
guesser at a time: many guesses at once would each cost a password hash (scrypt, a few tens of
milliseconds of CPU) and would each get their answer. So every node counts the tries at an
account name in one Valkey key that expires `WINDOW` seconds after the first try, and forgets
them when a try succeeds; past `MAX_FAILURES` the form answers 429 without checking the
password, even a right one, until the window ends. The count is per name, not per address:
behind a proxy every browser has the proxy's address. A guesser can so lock an account for
`WINDOW` seconds at a time, which is the price of never letting them try faster. The name is
hashed into the key: any string a form sends makes a key of the same short length, and no name
is stored.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

from .errors import StoreUnavailable
from .keys import login_failures_key
from .store import UNAVAILABLE

MAX_FAILURES = 10
WINDOW = 15 * 60  # seconds, from the first failure


class LoginThrottle:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, login: str) -> str:
        digest = hashlib.sha256(login.strip().casefold().encode()).hexdigest()[:32]
        return login_failures_key(self._prefix, digest)

    async def attempt(self, login: str) -> int:
        """Count one try at `login`'s password, before it is checked; answer how many seconds
        to wait first (0: check it now). Counting before checking keeps many guesses sent at
        once from all getting past the limit while their hashes are computed."""
        key = self._key(login)
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, WINDOW, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot be reached for logins: {exc}") from exc
        return 0 if int(count) <= MAX_FAILURES else max(int(ttl), 1)

    async def succeeded(self, login: str) -> None:
        """A right password before the limit: the failures so far are forgiven."""
        try:
            await self._client.delete(self._key(login))
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot be reached for logins: {exc}") from exc
