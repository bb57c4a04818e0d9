"""pycrdt-websocket served as its documentation shows: `WebsocketServer` behind `ASGIServer`,
run by Hypercorn. One room per URL path (ws://host:port/<room>), documents in memory only.

    bench/.venv-peers/bin/python bench/peers/pycrdt_server.py --port 1234

Runs in its own virtual environment (bench/.venv-peers, `make bench-setup`), not summitpad's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from hypercorn import Config
from hypercorn.asyncio import serve
from pycrdt.websocket import ASGIServer, WebsocketServer


async def main(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    websocket_server = WebsocketServer()
    app = ASGIServer(websocket_server)
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.loglevel = "WARNING"
    # The lower-level start/stop of WebsocketServer: leaving its context manager on a signal
    # ends in a CancelledError of its own task group.
    running = asyncio.create_task(websocket_server.start())
    await websocket_server.started.wait()
    try:
        await serve(app, config, mode="asgi", shutdown_trigger=stop.wait)
    finally:
        await websocket_server.stop()
        await running


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1234)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.host, args.port))
