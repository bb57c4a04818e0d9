"""`/ws/<pad-id>`: the y-websocket endpoint (and `serve_pad`, which `/ws/ro/<ro-id>` shares)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from .. import protocol
from ..app_keys import REGISTRY, SETTINGS, SHUTTING_DOWN
from ..connection import Connection
from ..errors import CLOSE_MESSAGE_TOO_BIG, Forbidden, ShuttingDown, SummitpadError, TextFrame
from ..keys import check_pad_id
from ..web_security import PARTICIPANT_ID

log = logging.getLogger(__name__)


def origin_allowed(request: web.Request, public_url: str) -> bool:
    """Browsers send Origin on websocket upgrades: accept this site's own only."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: scripts, bots, the y-websocket client in Node
    parts = urlsplit(origin)
    return parts.netloc == request.host or origin == _origin_of(public_url)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def pad_socket(request: web.Request) -> web.StreamResponse:
    pad_id = check_pad_id(request.match_info["pad_id"])

    async def find_pad() -> str:
        return pad_id

    return await serve_pad(request, find_pad)


async def serve_pad(
    request: web.Request,
    find_pad: Callable[[], Awaitable[str]],
    *,
    read_only: bool = False,
    shown_as: str | None = None,
) -> web.StreamResponse:
    """Connect the websocket of `request` to the pad `find_pad` names (its errors close the
    websocket with their code). A `read_only` connection is told so on joining and closed
    (4403) if it sends an update; `shown_as` is the name the client knows the pad by (a
    read-only id): nothing sent to the client then names the pad itself."""
    settings = request.app[SETTINGS]
    if not origin_allowed(request, settings.public_url):
        raise Forbidden(f"websocket from origin {request.headers['Origin']!r} refused")
    if request.app[SHUTTING_DOWN].is_set():
        raise ShuttingDown("shutting down: connect again, to another node if there is one")
    ws = web.WebSocketResponse(
        protocols=_offered_protocols(request),
        max_msg_size=settings.max_message_size,
        compress=False,
        heartbeat=30.0,
    )
    await ws.prepare(request)
    peer = f"{request.remote} " + (f"read-only {shown_as}" if shown_as else "pad")
    registry = request.app[REGISTRY]
    try:
        pad_id = await find_pad()
        peer = f"{peer} of pad {pad_id}" if shown_as else f"{peer} {pad_id}"
        pad = await registry.acquire(pad_id)
    except Exception as exc:
        error = exc if isinstance(exc, SummitpadError) else SummitpadError("cannot load the pad")
        if error is exc:
            log.warning("refusing %s: %s", peer, exc)
        else:
            log.exception("refusing %s: loading the pad failed", peer)
        reason = str(error) if shown_as is None else error.title  # str() may name the pad
        await ws.close(code=error.close_code, message=reason.encode()[:120])
        return ws
    conn = Connection(
        ws,
        request.transport,
        peer=peer,
        send_limit=settings.send_buffer_limit,
        rate=settings.messages_per_second,
        burst=settings.message_burst,
        read_only=read_only,
        author_id=request[PARTICIPANT_ID],
    )
    pad.join(conn)
    try:
        async for msg in ws:
            if conn.closed:
                break
            try:
                if msg.type is WSMsgType.BINARY:
                    conn.check_rate(len(msg.data))
                    pad.receive(conn, protocol.decode_message(msg.data))
                elif msg.type is WSMsgType.TEXT:
                    raise TextFrame("binary frames only")
                elif msg.type is WSMsgType.ERROR:
                    log.info("closing %s: %s", peer, ws.exception())
            except SummitpadError as exc:
                conn.close(exc)
            except Exception:
                log.exception("closing %s: failed on a message", peer)
                conn.close(SummitpadError("internal error"))
    finally:
        conn.closed = True
        pad.leave(conn)
        registry.release(pad)
    if conn.closing is not None:
        await conn.closing  # the close frame with our code goes out before the handler ends
    if ws.close_code == CLOSE_MESSAGE_TOO_BIG:
        log.info("closed %s: message over %d bytes", peer, settings.max_message_size)
    return ws


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    """Echo whatever subprotocol the client offers, as y-websocket servers do."""
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(p.strip() for p in offered.split(",") if p.strip())[:1]
