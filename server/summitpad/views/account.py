"""Logging in and out, for organizers and moderators (participants need no account)."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from ..login_throttle import LoginThrottle
from ..rendering import read_form, render
from ..web_security import (
    ACCOUNTS,
    clear_login_cookie,
    login_token,
    set_login_cookie,
    template_context,
)

FAILED_LOGIN_DELAY = 0.5  # seconds, plus up to as much again, on top of the password hash
NEXT_MAX = 2000


def safe_next(value: str | None) -> str:
    """`value` if it is a path on this site, else "/": never a redirect to somewhere else."""
    if (
        not value
        or len(value) > NEXT_MAX
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _form(
    request: web.Request, *, next_path: str, login: str = "", error: str = "", status: int = 200
) -> web.Response:
    context = {
        **template_context(request),
        "next": next_path,
        "login": login,
        "error": error,
    }
    return render(request, "login.html", context, status=status)


async def login_page(request: web.Request) -> web.Response:
    return _form(request, next_path=safe_next(request.query.get("next")))


async def login_post(request: web.Request) -> web.Response:
    form = await read_form(request)
    login = str(form.get("login", "")).strip()
    password = str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "")))
    accounts = request.app[ACCOUNTS]
    throttle = LoginThrottle(accounts.client, accounts.prefix)
    wait = await throttle.attempt(login) if login else 0
    if wait:
        minutes = (wait + 59) // 60
        response = _form(
            request, next_path=next_path, login=login[:40], status=429,
            error=f"Too many failed logins to this account: try again in {minutes} "
                  f"minute{'s' if minutes != 1 else ''}",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = await accounts.check_password(login, password) if login and password else None
    if user is None:
        await asyncio.sleep(FAILED_LOGIN_DELAY * (1 + secrets.randbelow(1000) / 1000))
        return _form(
            request, next_path=next_path, login=login[:40],
            error="Wrong login or password", status=401,
        )
    await throttle.succeeded(login)
    previous = login_token(request)
    if previous:  # a new token on every login: a planted cookie gains nothing
        await accounts.end_login(previous)
    token = await accounts.start_login(user)
    response = web.Response(status=303, headers={"Location": next_path})
    set_login_cookie(request, response, token)
    return response


async def logout(request: web.Request) -> web.Response:
    token = login_token(request)
    if token:
        await request.app[ACCOUNTS].end_login(token)
    response = web.Response(status=303, headers={"Location": "/"})
    clear_login_cookie(request, response)
    return response


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/login", login_page, name="login")
    router.add_post("/login", login_post, name="login_post")
    router.add_post("/logout", logout, name="logout")
