"""A pipeline that talks TCP to a local server, and the server (tests/chaos partition).

:class:`LineServer` answers each line with the same line, in a thread of its own, and
records when (``time.monotonic()``) every line arrived: the truth a partition test checks
ctool's recovery time against. The pipeline (:func:`create`) opens one connection per
episode to the address in ``$CTOOL_PROXY_ECHO`` (the TCP fault proxy ``ctool chaos
--proxy echo=...`` starts), sends the episode's index and waits ``timeout_ms`` for the
answer; a missing answer is a ``TimeoutError``, a reset a ``ConnectionError``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import ctool


class LineServer:
    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="line-server", daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> LineServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self.address = self._server.sockets[0].getsockname()[:2]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        self._loop.run_until_complete(self._server.wait_closed())
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                self.arrivals.append(time.monotonic())
                writer.write(line)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


class LineClient:
    def __init__(self, timeout_ms: float) -> None:
        self.timeout_s = timeout_ms / 1000.0

    async def episode(self, index: int) -> str:
        host, _, port = os.environ["CTOOL_PROXY_ECHO"].rpartition(":")
        with ctool.span("connect"):
            reader, writer = await asyncio.open_connection(host, int(port))
        try:
            with ctool.span("request"):
                writer.write(f"{index}\n".encode())
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), self.timeout_s)
            if not line:
                raise ConnectionError("closed")
            return line.decode().strip()
        finally:
            writer.close()


def create(timeout_ms: float = 50.0) -> LineClient:
    return LineClient(timeout_ms)
