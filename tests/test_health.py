"""/healthz and /readyz: the process is up; it can serve (Valkey answers, not shutting down)."""

from __future__ import annotations

import aiohttp
from summitpad.app_keys import SHUTTING_DOWN

from .support import ValkeyProcess, eventually


async def status(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        assert response.headers["Cache-Control"] == "no-store"
        return response.status, await response.text()


async def test_ready_while_valkey_answers_and_not_while_it_is_away(
    tmp_path, start_app, http: aiohttp.ClientSession
):
    valkey = ValkeyProcess(tmp_path / "valkey")
    valkey.start()
    try:
        app = await start_app(redis_url=valkey.url)
        assert await status(http, app.http_url + "/healthz") == (200, "ok\n")
        assert await status(http, app.http_url + "/readyz") == (200, "ready\n")

        valkey.kill()
        code, text = await status(http, app.http_url + "/readyz")
        assert code == 503 and text.startswith("not ready: Valkey/Redis does not answer")
        assert await status(http, app.http_url + "/healthz") == (200, "ok\n")

        valkey.start()
        await eventually(lambda: _ready(http, app.http_url), within=20)
    finally:
        valkey.stop()


async def test_not_ready_while_shutting_down(app, http: aiohttp.ClientSession):
    app.app[SHUTTING_DOWN].set()
    assert await status(http, app.http_url + "/readyz") == (503, "not ready: shutting down\n")
    assert await status(http, app.http_url + "/healthz") == (200, "ok\n")


async def _ready(http: aiohttp.ClientSession, base: str) -> bool:
    code, _ = await status(http, base + "/readyz")
    return code == 200
