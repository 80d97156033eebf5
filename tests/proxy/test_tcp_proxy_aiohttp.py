"""The TCP fault proxy between an aiohttp client and an aiohttp server (code nobody here
wrote): HTTP through the proxy, a reset seen by the client as a connection error, recovery
after clear(), latency as a lower bound on the request time, and no fd left behind."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from ctool.proxy.tcp import TCPFaultProxy

aiohttp = pytest.importorskip("aiohttp")
web = pytest.importorskip("aiohttp.web")

pytestmark = pytest.mark.asyncio


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello {request.query.get('n', '')}")


async def test_http_through_the_proxy_with_faults() -> None:
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server_port = runner.addresses[0][1]
    baseline = len(os.listdir("/proc/self/fd"))
    proxy = TCPFaultProxy("web", ("127.0.0.1", server_port))
    host, port = await proxy.start()
    url = f"http://{host}:{port}/"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url, params={"n": "1"}) as response:
                assert await response.text() == "hello 1"
            proxy.set_fault("reset")
            with pytest.raises(aiohttp.ClientConnectionError):
                async with session.get(url, params={"n": "2"}) as response:
                    await response.text()
            proxy.clear()
            async with session.get(url, params={"n": "3"}) as response:
                assert await response.text() == "hello 3"
            proxy.set_fault("latency", ms=80)
            start = time.monotonic()
            async with session.get(url, params={"n": "4"}) as response:
                assert await response.text() == "hello 4"
            assert time.monotonic() - start >= 2 * 0.080  # request and response each delayed
            proxy.clear()
        assert proxy.counters.resets >= 1
        assert proxy.counters.bytes_upstream > 0 and proxy.counters.bytes_downstream > 0
        assert [w.kind for w in proxy.counters.windows] == ["reset", "latency"]
    finally:
        await proxy.close()
    deadline = time.monotonic() + 10.0
    while len(os.listdir("/proc/self/fd")) > baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # the server closes its side when it sees EOF
    assert len(os.listdir("/proc/self/fd")) == baseline
    await runner.cleanup()
