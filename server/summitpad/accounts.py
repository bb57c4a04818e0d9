"""Organizer and moderator accounts, logins and API tokens in Valkey/Redis.

    <prefix>:user:<login>           hash: login, name, role, password (scrypt$N$r$p$salt$hash)
    <prefix>:users                  set of every login
    <prefix>:login:<sha256>         a logged-in browser: the login it belongs to, expires
    <prefix>:apitoken:<sha256>      an API token: the login it acts as

Valkey never holds a login cookie or an API token itself, only its SHA-256: a copy of the
database does not let anyone in. Participants need no account; this is for the few people who
run a summit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import redis.asyncio as aioredis

from .errors import Conflict, InvalidInput, StoreUnavailable
from .keys import api_token_key, login_key, user_index_key, user_key
from .schedule import NAME_MAX, Session
from .store import UNAVAILABLE, as_text

T = TypeVar("T")

LOGIN_PATTERN = r"[a-z0-9._-]{1,40}"
_LOGIN = re.compile(LOGIN_PATTERN)
PASSWORD_MIN = 10
PASSWORD_MAX = 1024
LOGIN_MAX_AGE = 14 * 24 * 3600  # seconds a browser stays logged in
API_TOKEN_PREFIX = "spt_"
_FIRST_GENERATION = "0"  # of an account written before accounts had generations
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
# Checked against when the login is unknown, so that costs the same time as a wrong password.
_DUMMY_HASH = (
    f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
    f"{base64.b64encode(bytes(SALT_BYTES)).decode()}${base64.b64encode(bytes(HASH_BYTES)).decode()}"
)

# KEYS: user hash. ARGV: replace ("1"/"0"), then field, value pairs.
# One key, so it stays atomic on a Redis Cluster too. Returns 1 if written, 0 if it exists.
_PUT_USER = """
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""


class Role(StrEnum):
    ORGANIZER = "organizer"  # runs the summit: everything
    MODERATOR = "moderator"  # runs the sessions that name them as moderator


@dataclass(frozen=True, slots=True)
class User:
    login: str
    name: str
    role: Role

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER

    def can_moderate(self, session: Session) -> bool:
        """Organizers moderate every session; a moderator the sessions that name them
        (by login or by name, ignoring case and surrounding spaces)."""
        if self.is_organizer:
            return True
        named = session.moderator.strip().casefold()
        if not named:
            return False
        return named in {self.login.casefold(), self.name.strip().casefold()} - {""}


def check_login(login: str) -> str:
    """The login lower-cased, or InvalidInput."""
    normal = login.strip().lower()
    if not _LOGIN.fullmatch(normal):
        raise InvalidInput(f"{login[:60]!r} is not a login (1-40 of a-z 0-9 . _ -)")
    return normal


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$<salt b64>$<hash b64>`. Slow on purpose: call it in a thread."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return (
        f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$"
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a `hash_password` string; False for anything malformed."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return False
    if not (2**10 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    if not expected:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int = HASH_BYTES) -> bytes:
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen
    )


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a login or API token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()




class AccountStore:
    """Accounts, logins and API tokens. Every method raises StoreUnavailable when Valkey
    cannot answer."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._put_user = client.register_script(_PUT_USER)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        try:
            return await operation()
        except UNAVAILABLE as exc:
            raise StoreUnavailable(f"Valkey/Redis cannot be reached for accounts: {exc}") \
                from exc

    # Accounts

    async def add_user(
        self, login: str, password: str, role: Role | str, name: str = "", *,
        replace: bool = False,
    ) -> User:
        """Create an account (Conflict if the login exists), or replace it if `replace`."""
        login = check_login(login)
        try:
            role_ = Role(role)
        except ValueError:
            raise InvalidInput(
                f"{str(role)[:30]!r} is not a role ({', '.join(Role)})"
            ) from None
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise InvalidInput(
                f"a password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters"
            )
        name = " ".join(name.split()) or login
        if len(name) > NAME_MAX:
            raise InvalidInput(f"a name has at most {NAME_MAX} characters")
        stored = await asyncio.to_thread(hash_password, password)
        # A new generation on every write: logins and API tokens of the account as it was
        # (before a new password, say) stop working.
        fields = ["login", login, "name", name, "role", role_.value, "password", stored,
                  "generation", secrets.token_hex(8)]
        key = user_key(self.prefix, login)
        written = await self._call(
            lambda: self._put_user(keys=[key], args=["1" if replace else "0", *fields])
        )
        if not written:
            raise Conflict(f"there is already an account {login!r}")
        await self._call(lambda: self.client.sadd(user_index_key(self.prefix), login))
        return User(login, name, role_)

    async def _record(self, login: str) -> dict[str, str]:
        raw = await self._call(lambda: self.client.hgetall(user_key(self.prefix, login)))
        return {as_text(k): as_text(v) for k, v in raw.items()}

    @staticmethod
    def _user(record: dict[str, str]) -> User | None:
        try:
            return User(record["login"], record["name"], Role(record["role"]))
        except (KeyError, ValueError):
            return None

    async def get_user(self, login: str) -> User | None:
        try:
            login = check_login(login)
        except InvalidInput:
            return None
        return self._user(await self._record(login))

    async def users(self) -> list[User]:
        """Every account, by login."""
        logins = sorted(
            as_text(m)
            for m in await self._call(lambda: self.client.smembers(user_index_key(self.prefix)))
        )
        users = []
        for login in logins:
            user = await self.get_user(login)
            if user is not None:
                users.append(user)
        return users

    async def check_password(self, login: str, password: str) -> User | None:
        """The user if the password is theirs, else None. An unknown login or an overlong
        password costs the same time as a wrong password."""
        try:
            record = await self._record(check_login(login))
        except InvalidInput:
            record = {}
        stored = record.get("password") or _DUMMY_HASH
        candidate = password if len(password) <= PASSWORD_MAX else ""
        matches = await asyncio.to_thread(verify_password, candidate, stored)
        if not matches or candidate != password or "password" not in record:
            return None
        return self._user(record)

    # Logins (browser sessions)

    async def _holder(self, login: str) -> str:
        """What a login or token stores: the account and its generation."""
        record = await self._record(login)
        if "login" not in record:
            raise InvalidInput(f"there is no account {login[:60]!r}")
        return f"{login} {record.get('generation', _FIRST_GENERATION)}"

    async def _user_of(self, holder: bytes | str | None) -> User | None:
        """The account a stored login or token belongs to, if it is still the same account."""
        if holder is None:
            return None
        login, _, generation = as_text(holder).partition(" ")
        try:
            record = await self._record(check_login(login))
        except InvalidInput:
            return None
        if not generation or record.get("generation", _FIRST_GENERATION) != generation:
            return None  # replaced since: a new password ends every login and token
        return self._user(record)

    async def start_login(self, user: User) -> str:
        """A new login token for the cookie; Valkey keeps only its digest, for 14 days."""
        token = secrets.token_urlsafe(32)
        key = login_key(self.prefix, token_digest(token))
        holder = await self._holder(user.login)
        await self._call(lambda: self.client.set(key, holder, ex=LOGIN_MAX_AGE))
        return token

    async def user_for_login(self, token: str) -> User | None:
        if not _TOKEN.fullmatch(token):
            return None
        holder = await self._call(
            lambda: self.client.get(login_key(self.prefix, token_digest(token)))
        )
        return await self._user_of(holder)

    async def end_login(self, token: str) -> None:
        if _TOKEN.fullmatch(token):
            await self._call(
                lambda: self.client.delete(login_key(self.prefix, token_digest(token)))
            )

    # API tokens

    async def create_api_token(self, login: str) -> str:
        """A new API token acting as `login`. Only its digest is stored: show it once."""
        holder = await self._holder(check_login(login))
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        key = api_token_key(self.prefix, token_digest(token))
        await self._call(lambda: self.client.set(key, holder))
        return token

    async def user_for_api_token(self, token: str) -> User | None:
        if not is_api_token(token):
            return None
        holder = await self._call(
            lambda: self.client.get(api_token_key(self.prefix, token_digest(token)))
        )
        return await self._user_of(holder)

    async def revoke_api_token(self, token: str) -> None:
        if is_api_token(token):
            await self._call(
                lambda: self.client.delete(api_token_key(self.prefix, token_digest(token)))
            )


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX) and bool(
        _TOKEN.fullmatch(token[len(API_TOKEN_PREFIX):])
    )
