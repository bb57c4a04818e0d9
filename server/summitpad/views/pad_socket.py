"""`/ws/<pad-id>`: the y-websocket endpoint (and `serve_pad`, which `/ws/ro/<ro-id>` shares)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from .. import protocol
from ..app_keys import METRICS, REGISTRY, SETTINGS, SHUTTING_DOWN
from ..connection import Connection
from ..errors import (
    CLOSE_MESSAGE_TOO_BIG,
    Forbidden,
    ShuttingDown,
    SummitpadError,
    TextFrame,
    TooManyConnections,
)
from ..keys import check_pad_id
from ..metrics import Metrics
from ..participant_limits import PARTICIPANTS
from ..web_security import PARTICIPANT_ID

log = logging.getLogger(__name__)


def origin_allowed(request: web.Request, public_url: str) -> bool:
    """Browsers send Origin on websocket upgrades: accept this site's own only, the public
    URL's if there is one (else the address the request came to)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: scripts, bots, the y-websocket client in Node
    try:
        if public_url:
            return _origin_of(origin) == _origin_of(public_url)
        return urlsplit(origin).netloc.lower() == request.host.lower()
    except ValueError:  # no URL at all, or a port out of range
        return False


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, the port filled in where the URL leaves out the default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(scheme)


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
    if not origin_allowed(request, settings.public_url if settings.public_url_given else ""):
        raise Forbidden(f"websocket from origin {request.headers['Origin']!r} refused")
    if request.app[SHUTTING_DOWN].is_set():
        raise ShuttingDown("shutting down: connect again, to another node if there is one")
    ws = web.WebSocketResponse(
        protocols=_offered_protocols(request),
        max_msg_size=settings.max_message_size,
        compress=False,
        # Pinged after two thirds of client_timeout without a byte from the client, closed
        # (1006) if the pong is not back by the end of it; and closed too after client_timeout
        # without a whole frame (a message or a pong), so a frame begun and never finished
        # does not hold the connection either, however slowly its bytes trickle in.
        heartbeat=settings.client_timeout * 2 / 3,
        receive_timeout=settings.client_timeout,
    )
    await ws.prepare(request)
    metrics = request.app[METRICS]
    metrics.connections.inc()
    try:
        with request.app[PARTICIPANTS].connected(request[PARTICIPANT_ID]):
            return await _serve(request, ws, find_pad, read_only=read_only, shown_as=shown_as)
    except TooManyConnections as exc:
        return await _refuse_participant(request, ws, exc, metrics)
    finally:
        metrics.connections.dec()


async def _refuse_participant(
    request: web.Request, ws: web.WebSocketResponse, error: TooManyConnections, metrics: Metrics
) -> web.WebSocketResponse:
    """Close (4429) a connection past its participant's limit. The upgrade is accepted first:
    a browser learns nothing from a refused handshake and the stock client would retry it at
    once, while after a 44xx close it stops (the page tries again much later)."""
    peer = f"{request.remote} {request.path}"
    code = error.close_code
    log.warning("refusing %s: %s (%s)", peer, error, code, extra={"peer": peer, "close_code": code})
    metrics.closed_with(code)
    await ws.close(code=code, message=str(error).encode()[:120])
    return ws


async def _serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    find_pad: Callable[[], Awaitable[str]],
    *,
    read_only: bool,
    shown_as: str | None,
) -> web.WebSocketResponse:
    settings = request.app[SETTINGS]
    metrics = request.app[METRICS]
    peer = f"{request.remote} " + (f"read-only {shown_as}" if shown_as else "pad")
    registry = request.app[REGISTRY]
    participants = request.app[PARTICIPANTS]
    try:
        pad_id = await find_pad()
        peer = f"{peer} of pad {pad_id}" if shown_as else f"{peer} {pad_id}"
        pad = await registry.acquire(pad_id)
    except Exception as exc:
        error = exc if isinstance(exc, SummitpadError) else SummitpadError("cannot load the pad")
        code = error.close_code
        extra = {"peer": peer, "close_code": code}
        if error is exc:
            log.warning("refusing %s: %s (%s)", peer, exc, code, extra=extra)
        else:
            log.exception("refusing %s: loading the pad failed (%s)", peer, code, extra=extra)
        metrics.closed_with(code)
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
        metrics=metrics,
    )
    pad.join(conn)
    try:
        async for msg in ws:
            if conn.closed:
                break
            try:
                if msg.type is WSMsgType.BINARY:
                    conn.check_rate(len(msg.data))
                    participants.check_rate(conn.author_id, len(msg.data))
                    pad.receive(conn, protocol.decode_message(msg.data))
                elif msg.type is WSMsgType.TEXT:
                    raise TextFrame("binary frames only")
                elif msg.type is WSMsgType.ERROR:  # aiohttp has closed the websocket
                    _closed_by_aiohttp(ws, peer, settings.max_message_size, metrics)
            except SummitpadError as exc:
                conn.close(exc)
            except Exception:
                conn.close(SummitpadError("internal error: failed on a message"), exc_info=True)
    except TimeoutError:  # receive_timeout
        _timed_out(request, conn, settings.client_timeout, metrics)
    finally:
        conn.closed = True
        pad.leave(conn)
        registry.release(pad)
    if conn.closing is not None:
        await conn.closing  # the close frame with our code goes out before the handler ends
    return ws


def _closed_by_aiohttp(
    ws: web.WebSocketResponse, peer: str, max_size: int, metrics: Metrics
) -> None:
    """Log (once) and count a close aiohttp made: a message over the size limit, a frame that
    breaks the websocket protocol, a client that stopped answering pings."""
    error = ws.exception()  # a WebSocketError carries the code aiohttp sent
    code = int(getattr(error, "code", None) or ws.close_code or WSCloseCode.ABNORMAL_CLOSURE)
    reason = f"message over {max_size} bytes" if code == CLOSE_MESSAGE_TOO_BIG else str(error)
    log.info("closed %s: %s (%s)", peer, reason, code, extra={"peer": peer, "close_code": code})
    metrics.closed_with(code)


def _timed_out(
    request: web.Request, conn: Connection, timeout: float, metrics: Metrics
) -> None:
    """Cut a client that sent no whole frame for `timeout` seconds, as aiohttp does one that
    stopped answering pings: a client stuck mid-frame would not read a close frame."""
    code = WSCloseCode.ABNORMAL_CLOSURE
    if not conn.closed:  # else its close was logged and counted already
        log.info(
            "closed %s: no whole message or pong in %g s (%s)", conn.peer, timeout, code,
            extra={"peer": conn.peer, "close_code": code},
        )
        metrics.closed_with(code)
    if request.transport is not None:
        request.transport.abort()


def _offered_protocols(request: web.Request) -> tuple[str, ...]:
    """Echo whatever subprotocol the client offers, as y-websocket servers do."""
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    return tuple(p.strip() for p in offered.split(",") if p.strip())[:1]
