"""An asyncio TCP proxy on the loopback interface that injects network faults on demand.

``TCPFaultProxy(name, upstream)`` listens on ``listen`` (default an ephemeral loopback
port) and forwards every accepted connection to ``upstream``. While it runs,
:meth:`TCPFaultProxy.set_fault` switches the fault that every connection, open or new,
sees from its next chunk on, and :meth:`TCPFaultProxy.clear` ends it:

* ``blackhole`` -- connections are accepted (and connected upstream) but nothing is
  forwarded either way: what arrives is read and dropped (counted in ``bytes_dropped``);
* ``reset`` -- every open connection is reset (``SO_LINGER`` 0, then an abort: the peer sees
  ECONNRESET), and so is every new one as soon as it is accepted, for as long as the fault
  lasts;
* ``latency`` -- each chunk waits ``ms`` (plus a uniform ``±jitter_ms``, never below 0)
  before it is forwarded; order is kept, so a burst of chunks waits in turn;
* ``bandwidth`` -- forwarding is paced to ``bytes_per_s`` (pieces of at most 1/20 s worth);
* ``slicer`` -- each chunk is cut into ``slice_bytes`` pieces with ``delay_ms`` between
  them.

Every fault takes ``direction``: ``"both"`` (default), ``"upstream"`` (client to server)
or ``"downstream"`` (server to client). Jitter draws from ``random.Random(seed)``, where
``seed`` (default 0) is a parameter of the fault, so a run is reproducible.

Counters (:attr:`TCPFaultProxy.counters`) record connections accepted and open, bytes
forwarded each way, bytes dropped, resets sent, upstream connections refused, and one
:class:`FaultWindow` per fault with its start and end on ``time.monotonic()``.
:meth:`TCPFaultProxy.close` closes the listener and every connection and waits for them:
no socket or task outlives it. Only loopback addresses are accepted, for listening and
upstream: the proxy is a test instrument, not a network service.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
import struct
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ctool.model.errors import UsageError

FAULT_KINDS = ("blackhole", "reset", "latency", "bandwidth", "slicer")
DIRECTIONS = ("both", "upstream", "downstream")
CHUNK = 65536

_REQUIRED = {
    "blackhole": (),
    "reset": (),
    "latency": ("ms",),
    "bandwidth": ("bytes_per_s",),
    "slicer": ("slice_bytes", "delay_ms"),
}
_OPTIONAL = {"latency": ("jitter_ms",)}
_COMMON = ("direction", "seed")


@dataclass
class FaultWindow:
    """One fault, from :meth:`TCPFaultProxy.set_fault` to the next change (or ``clear``)."""

    kind: str
    params: dict[str, Any]
    start: float
    """``time.monotonic()`` when it was set."""
    end: float | None = None
    """``time.monotonic()`` when it was replaced or cleared; None while it lasts."""


@dataclass
class ProxyCounters:
    connections: int = 0
    """Connections accepted (reset ones included)."""
    open_connections: int = 0
    bytes_upstream: int = 0
    """Bytes forwarded from clients to the upstream server."""
    bytes_downstream: int = 0
    """Bytes forwarded from the upstream server to clients."""
    bytes_dropped: int = 0
    """Bytes read and not forwarded (a blackhole)."""
    resets: int = 0
    """Connections reset by the ``reset`` fault."""
    upstream_failures: int = 0
    """Accepted connections whose upstream connection failed (closed at once)."""
    windows: list[FaultWindow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Fault:
    kind: str
    params: dict[str, Any]
    rng: random.Random

    def applies(self, direction: str) -> bool:
        wanted = self.params.get("direction", "both")
        return bool(wanted == "both" or wanted == direction)


def _loopback(address: tuple[str, int], role: str) -> tuple[str, int]:
    host, port = address
    try:
        ip = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise UsageError(f"proxy {role} {host!r} is not an IP address on loopback") from None
    if not ip.is_loopback:
        raise UsageError(f"proxy {role} {host}:{port} is not on loopback (127.0.0.0/8 or ::1)")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise UsageError(f"proxy {role} port {port!r} is not a port number")
    return str(ip), port


def _number(kind: str, params: dict[str, Any], name: str, *, positive: bool) -> float:
    value = params.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"proxy fault {kind}: {name} must be a number, got {value!r}")
    if value < 0 or (positive and value <= 0):
        sign = "> 0" if positive else ">= 0"
        raise UsageError(f"proxy fault {kind}: {name} must be {sign}, got {value!r}")
    return float(value)


def _check_fault(kind: str, params: dict[str, Any]) -> None:
    if kind not in FAULT_KINDS:
        raise UsageError(f"unknown proxy fault {kind!r} (choose from {', '.join(FAULT_KINDS)})")
    allowed = _REQUIRED[kind] + _OPTIONAL.get(kind, ()) + _COMMON
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise UsageError(f"proxy fault {kind}: unknown parameter {unknown[0]!r}")
    missing = [name for name in _REQUIRED[kind] if name not in params]
    if missing:
        raise UsageError(f"proxy fault {kind} needs {', '.join(missing)}")
    if params.get("direction", "both") not in DIRECTIONS:
        raise UsageError(f"proxy fault {kind}: direction must be one of {', '.join(DIRECTIONS)}")
    for name in ("ms", "jitter_ms", "delay_ms"):
        if name in params:
            _number(kind, params, name, positive=False)
    for name in ("bytes_per_s", "slice_bytes"):
        if name in params:
            _number(kind, params, name, positive=True)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: linger on, timeout 0, then abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class _Connection:
    """One client connection and its upstream connection, pumped both ways."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def reset(self) -> None:
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)

    def abort(self) -> None:
        self.client.transport.abort()
        if self.upstream is not None:
            self.upstream.transport.abort()


class TCPFaultProxy:
    """A loopback TCP proxy to ``upstream`` with switchable faults (module docstring)."""

    def __init__(
        self,
        name: str,
        upstream: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.name = name
        self.upstream = _loopback(upstream, "upstream")
        self.listen = _loopback(listen, "listen address")
        self.counters = ProxyCounters()
        self._fault: _Fault | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def fault(self) -> str | None:
        """The kind of the fault in force, or None."""
        return self._fault.kind if self._fault else None

    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound address (host, port) for the pipeline to connect to."""
        if self._server is not None or self._closed:
            raise UsageError(f"proxy {self.name!r} was already started")
        host, port = self.listen
        self._server = await asyncio.start_server(self._handle, host, port)
        bound = self._server.sockets[0].getsockname()
        self.listen = (str(bound[0]), int(bound[1]))
        return self.listen

    def set_fault(self, kind: str | None, **params: Any) -> None:
        """Make ``kind`` (with ``params``) the fault every connection sees; None clears."""
        if kind is None:
            self.clear()
            return
        _check_fault(kind, params)
        self._end_window()
        self._fault = _Fault(kind, dict(params), random.Random(params.get("seed", 0)))
        self.counters.windows.append(FaultWindow(kind, dict(params), time.monotonic()))
        if kind == "reset":
            for connection in list(self._connections):
                self._reset(connection)

    def clear(self) -> None:
        """End the fault in force (a no-op without one)."""
        self._end_window()
        self._fault = None

    def _end_window(self) -> None:
        if self._fault is not None:
            self.counters.windows[-1].end = time.monotonic()

    def _reset(self, connection: _Connection) -> None:
        connection.reset()
        self.counters.resets += 1
        for task in connection.tasks:
            task.cancel()

    async def close(self) -> None:
        """Stop listening, close every connection and wait until all of them are gone."""
        if self._closed:
            return
        self._closed = True
        self.clear()
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.abort()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        connection = _Connection(writer)
        self.counters.connections += 1
        self.counters.open_connections += 1
        self._connections.add(connection)
        try:
            await self._serve(connection, reader)
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(connection)
            self.counters.open_connections -= 1
            connection.abort()
            self._handlers.discard(task)

    async def _serve(self, connection: _Connection, reader: asyncio.StreamReader) -> None:
        if self._closed:
            return
        if self._fault is not None and self._fault.kind == "reset":
            connection.reset()
            self.counters.resets += 1
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.counters.upstream_failures += 1
            return
        connection.upstream = up_writer
        connection.tasks = [
            asyncio.ensure_future(self._pump(reader, up_writer, "upstream")),
            asyncio.ensure_future(self._pump(up_reader, connection.client, "downstream")),
        ]
        try:
            await asyncio.gather(*connection.tasks)
        finally:
            for pump in connection.tasks:
                pump.cancel()
            await asyncio.gather(*connection.tasks, return_exceptions=True)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str
    ) -> None:
        """Forward one direction until EOF, applying the fault in force to each chunk."""
        try:
            while True:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                await self._forward(chunk, writer, direction)
        except (ConnectionError, OSError):
            return

    async def _forward(self, chunk: bytes, writer: asyncio.StreamWriter, direction: str) -> None:
        fault = self._fault
        kind = fault.kind if fault is not None and fault.applies(direction) else None
        if fault is None or kind is None:
            await self._write(chunk, writer, direction)
        elif kind == "blackhole":
            self.counters.bytes_dropped += len(chunk)
        elif kind == "latency":
            jitter = float(fault.params.get("jitter_ms", 0.0))
            delay = float(fault.params["ms"]) + fault.rng.uniform(-jitter, jitter)
            await asyncio.sleep(max(0.0, delay) / 1000.0)
            await self._write(chunk, writer, direction)
        elif kind == "bandwidth":
            rate = float(fault.params["bytes_per_s"])
            piece = max(1, int(rate / 20))
            for offset in range(0, len(chunk), piece):
                part = chunk[offset : offset + piece]
                await self._write(part, writer, direction)
                await asyncio.sleep(len(part) / rate)
        elif kind == "slicer":
            size = int(fault.params["slice_bytes"])
            delay_s = float(fault.params["delay_ms"]) / 1000.0
            for offset in range(0, len(chunk), size):
                if offset:
                    await asyncio.sleep(delay_s)
                await self._write(chunk[offset : offset + size], writer, direction)
        else:  # reset: the connection is being torn down; forward nothing more
            self.counters.bytes_dropped += len(chunk)

    async def _write(self, data: bytes, writer: asyncio.StreamWriter, direction: str) -> None:
        writer.write(data)
        await writer.drain()
        if direction == "upstream":
            self.counters.bytes_upstream += len(data)
        else:
            self.counters.bytes_downstream += len(data)
