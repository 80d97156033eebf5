"""A TCP fault proxy for chaos runs: the network faults of a pipeline that talks TCP.

Holds:

* ``tcp`` -- :class:`~ctool.proxy.tcp.TCPFaultProxy`, an asyncio proxy on the loopback
  interface between a pipeline and one upstream server, with faults set and cleared while
  it runs (blackhole, reset, latency, bandwidth, slicer), and its counters
  (:class:`~ctool.proxy.tcp.ProxyCounters`: connections, bytes each way, resets, the
  window of every fault).

Import contract: proxy may import ``ctool.model`` only (docs/design.md section 2). It knows
no pipeline; ``ctool chaos --proxy NAME=HOST:PORT`` wires it in.
"""
