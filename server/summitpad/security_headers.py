"""The security headers of every response: pages, static files, error pages, exports, the APIs
and the answers to websocket upgrades.

- `Content-Security-Policy`: everything from this origin only, and no script but the bundles
  under /static: no inline script, no `eval`, no plugins, no `<base>` that moves relative
  links, no form that posts elsewhere. Styles are ours too: the pages carry no `style`
  attribute and no `<style>` element (the front-end colours people through the CSSOM, which a
  policy does not restrict), QR codes are inline SVG and the editor drops pasted images, so
  `data:` images are not needed. `connect-src 'self'` covers `ws:`/`wss:` to this host in
  browsers of CSP level 3; with a public URL set, its `wss:` (or `ws:`) origin is listed as
  well, for browsers that do not count websockets as `'self'`.
- `X-Content-Type-Options: nosniff`: the browser goes by the Content-Type: a text export, a
  JSON answer or a calendar is never taken for a page or a script because of what is in it.
- `Referrer-Policy: same-origin`: a pad's URL, and a read-only link, is all it takes to read
  (or write) its notes, so a link followed out of a pad must not carry it to another site in
  the `Referer`. Within the site the header stays: a refused form sends people back to the
  page they came from with it (rendering.py), which `no-referrer` would break.
- Framing: by default no site may show summitpad in a frame (`frame-ancestors 'none'` and, for
  browsers without CSP, `X-Frame-Options: DENY`), so a page cannot be overlaid to trick a
  click. The `frame_ancestors` setting names the origins that may (a wiki embedding the
  signage); then `X-Frame-Options` is left out, since it cannot name an origin.
- `Strict-Transport-Security: max-age=31536000` when the public URL is `https://`: for a year
  the browser goes there over TLS only, so a network in the venue cannot hand it a plain-HTTP
  copy of the site (or read its cookies on the way). Not for subdomains: they are not ours.

A view that sets one of these headers itself keeps its value: the HTML export has a stricter
policy (no script, nothing fetched, a sandbox; pad_export_file.py). Such a policy only gains the
directives that do not fall back to `default-src` (frame-ancestors, base-uri, form-action) when
it lacks them, so the framing setting holds there too.

The headers are set in `on_response_prepare`, right before a response's headers go out: a
middleware would miss the responses a view sends itself (the archive download, a websocket
handshake), since their headers are gone by the time the view returns.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .settings import Settings

CSP = "Content-Security-Policy"
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000"
_NONE = "'none'"
# Directives that a policy without them leaves open (they do not fall back to default-src).
_NO_FALLBACK = ("frame-ancestors", "base-uri", "form-action")
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)


def check_frame_ancestors(value: str) -> str:
    """The origins of the `frame_ancestors` setting, one space apart; ConfigurationError for
    anything that is not scheme://host[:port] (a header must never carry what an operator did
    not mean: a path, a wildcard, a quote or a semicolon would change the policy)."""
    origins = value.split()
    for origin in origins:
        match = _ORIGIN.fullmatch(origin)
        if match is None or not 0 < int(match["port"] or 80) < 65536:
            raise ConfigurationError(
                f"frame_ancestors: {origin!r} is not an origin: give scheme://host[:port] "
                "(http or https, no path, no wildcard), several separated by spaces, e.g. "
                "https://wiki.example.org; leave it empty to forbid framing"
            )
    return " ".join(origins)


def content_security_policy(settings: Settings) -> str:
    """The policy of every page."""
    connect = ["'self'"]
    public = urlsplit(settings.public_url)
    if settings.public_url_given and _ORIGIN.fullmatch(f"{public.scheme}://{public.netloc}"):
        scheme = "wss" if public.scheme == "https" else "ws"
        connect.append(f"{scheme}://{public.netloc}")
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src {' '.join(connect)}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {settings.frame_ancestors or _NONE}",
    ]
    return "; ".join(directives)


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every response gets unless it has its own."""
    headers = {
        CSP: content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
    }
    if not settings.frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    if settings.public_url_given and urlsplit(settings.public_url).scheme == "https":
        headers["Strict-Transport-Security"] = HSTS
    return headers


def complete_policy(policy: str, defaults: str) -> str:
    """A view's own `policy` plus the directives of `defaults` it lacks that would otherwise
    be open: it only ever gets stricter."""
    present = {d.split(maxsplit=1)[0].lower() for d in policy.split(";") if d.strip()}
    missing = [
        d for d in defaults.split("; ") if d.split(maxsplit=1)[0] in _NO_FALLBACK
        and d.split(maxsplit=1)[0] not in present
    ]
    return "; ".join([policy.strip().rstrip(";"), *missing]) if missing else policy


class SecurityHeaders:
    """The `on_response_prepare` handler that sets the headers; made once per app."""

    def __init__(self, settings: Settings) -> None:
        self.headers = security_headers(settings)
        self.policy = self.headers[CSP]

    async def __call__(self, request: web.Request, response: web.StreamResponse) -> None:
        self.apply(response.headers)

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set the headers that `headers` lacks; complete a policy of its own."""
        own = headers.get(CSP)
        if own is not None:
            headers[CSP] = complete_policy(own, self.policy)
        for name, value in self.headers.items():
            headers.setdefault(name, value)
