"""The TCP fault proxy against a real local line-echo server: each fault as a client sees it,
recovery after clear(), and nothing left open after close().

Every truth is known by construction: the server counts what reaches it; the proxy's
delays are lower bounds of what the client can observe (a sleep never ends early), so the
tests assert those bounds and never an upper wall-clock limit.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from ctool.model.errors import UsageError
from ctool.proxy.tcp import TCPFaultProxy

pytestmark = pytest.mark.asyncio

DEADLINE_S = 10.0


class EchoServer:
    """Echoes every line; records how many bytes reached it and when."""

    def __init__(self) -> None:
        self.received = 0
        self.arrivals: list[float] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while line := await reader.readline():
                self.received += len(line)
                self.arrivals.append(time.monotonic())
                writer.write(line)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


@asynccontextmanager
async def proxied() -> AsyncIterator[tuple[EchoServer, TCPFaultProxy, tuple[str, int]]]:
    server = EchoServer()
    upstream = await server.start()
    proxy = TCPFaultProxy("echo", upstream)
    address = await proxy.start()
    try:
        yield server, proxy, address
    finally:
        await proxy.close()
        await server.close()


async def roundtrip(address: tuple[str, int], line: bytes) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection(*address)
    try:
        start = time.monotonic()
        writer.write(line)
        await writer.drain()
        reply = await asyncio.wait_for(reader.readexactly(len(line)), DEADLINE_S)
        return reply, time.monotonic() - start
    finally:
        writer.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_forwards_both_ways_and_counts_bytes() -> None:
    async with proxied() as (server, proxy, address):
        reply, _ = await roundtrip(address, b"hello\n")
        assert reply == b"hello\n"
        assert server.received == 6
        assert proxy.counters.connections == 1
        assert proxy.counters.bytes_upstream == 6
        assert proxy.counters.bytes_downstream == 6


async def test_blackhole_forwards_nothing_until_cleared() -> None:
    async with proxied() as (server, proxy, address):
        reader, writer = await asyncio.open_connection(*address)
        proxy.set_fault("blackhole")
        writer.write(b"lost\n")
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readline(), 0.3)
        assert server.received == 0
        assert proxy.counters.bytes_dropped == 5
        proxy.clear()
        writer.write(b"back\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), DEADLINE_S) == b"back\n"
        assert server.received == 5
        writer.close()
        (window,) = proxy.counters.windows
        assert window.kind == "blackhole" and window.end is not None
        assert window.end >= window.start


async def test_reset_ends_open_and_new_connections_then_recovers() -> None:
    async with proxied() as (_, proxy, address):
        reader, writer = await asyncio.open_connection(*address)
        writer.write(b"one\n")
        assert await asyncio.wait_for(reader.readline(), DEADLINE_S) == b"one\n"
        proxy.set_fault("reset")
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(1), DEADLINE_S)
        writer.close()
        new_reader, new_writer = await asyncio.open_connection(*address)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(new_reader.read(1), DEADLINE_S)
        new_writer.close()
        assert proxy.counters.resets == 2
        proxy.clear()
        reply, _ = await roundtrip(address, b"again\n")
        assert reply == b"again\n"


async def test_latency_delays_each_direction() -> None:
    async with proxied() as (_, proxy, address):
        proxy.set_fault("latency", ms=100, jitter_ms=10, seed=3)
        reply, elapsed = await roundtrip(address, b"slow\n")
        assert reply == b"slow\n"
        assert elapsed >= 2 * 0.090  # both directions, each at least ms - jitter_ms
        proxy.clear()
        assert proxy.counters.windows[0].params == {"ms": 100, "jitter_ms": 10, "seed": 3}


async def test_bandwidth_paces_the_bytes() -> None:
    async with proxied() as (_, proxy, address):
        proxy.set_fault("bandwidth", bytes_per_s=20_000, direction="downstream")
        line = b"x" * 3999 + b"\n"
        reply, elapsed = await roundtrip(address, line)
        assert reply == line
        # pieces of 1000 B (1/20 s worth); the last one arrives after >= 3 paced pauses
        assert elapsed >= 3 * 1000 / 20_000 * 0.99


async def test_slicer_delivers_in_slices() -> None:
    async with proxied() as (_, proxy, address):
        proxy.set_fault("slicer", slice_bytes=10, delay_ms=20, direction="downstream")
        reader, writer = await asyncio.open_connection(*address)
        line = b"y" * 49 + b"\n"
        start = time.monotonic()
        writer.write(line)
        received = b""
        reads = 0
        while len(received) < len(line):
            received += await asyncio.wait_for(reader.read(100), DEADLINE_S)
            reads += 1
        elapsed = time.monotonic() - start
        writer.close()
        assert received == line
        assert reads >= 2  # a 20 ms pause between slices: they cannot all arrive in one read
        assert elapsed >= 4 * 0.020 * 0.99


async def test_close_leaves_no_connection_or_fd_open() -> None:
    server = EchoServer()
    upstream = await server.start()
    baseline = open_fds()
    proxy = TCPFaultProxy("echo", upstream)
    address = await proxy.start()
    clients = [await asyncio.open_connection(*address) for _ in range(5)]
    for reader, writer in clients:
        writer.write(b"ping\n")
        assert await asyncio.wait_for(reader.readline(), DEADLINE_S) == b"ping\n"
    assert proxy.counters.open_connections == 5
    await proxy.close()
    assert proxy.counters.open_connections == 0
    for reader, writer in clients:
        assert await asyncio.wait_for(reader.read(), DEADLINE_S) == b""  # closed by the proxy
        writer.close()
        await writer.wait_closed()
    deadline = time.monotonic() + DEADLINE_S
    while open_fds() > baseline and time.monotonic() < deadline:
        await asyncio.sleep(0.01)  # the echo server's side of each connection closes on EOF
    assert open_fds() == baseline
    await server.close()


async def test_bad_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not on loopback"):
        TCPFaultProxy("db", ("10.0.0.1", 5432))
    proxy = TCPFaultProxy("db", ("127.0.0.1", 5432))
    with pytest.raises(UsageError, match="unknown proxy fault"):
        proxy.set_fault("partition")
    with pytest.raises(UsageError, match="needs ms"):
        proxy.set_fault("latency")
    with pytest.raises(UsageError, match="bytes_per_s must be > 0"):
        proxy.set_fault("bandwidth", bytes_per_s=0)
    assert proxy.fault is None and proxy.counters.windows == []
