"""ESGT, the global workspace: when and how a content ignites.

Triggers, checked in this order (the first that fails is reported as the reason):
salience >= threshold; the refractory period (simulated) has elapsed since the last
attempt; arousal >= ``min_arousal``; a coalition of at least ``coalition_min`` nodes.

Phases of an ignition:

1. PREPARE -- the coalition: the ``coalition_core`` most active nodes and their neighbours,
   ranked by activation (inactive nodes excluded), at most ``coalition_max``.
2. SYNCHRONIZE -- Kuramoto on the coalition subgraph (natural frequencies fixed per node,
   ``frequency_hz`` with a seeded ``frequency_spread_hz`` spread; initial phases seeded per
   episode) until r >= ``sync_threshold`` holds for ``sync_hold_steps`` steps, or
   ``sync_max_steps`` pass: then the ignition fails honestly and stops here. The
   coalition's nodes then report the r they observed (fault point ``esgt.sync_reports``);
   their aggregate (``esgt_aggregation``: mean, median or trimmed mean) must still be at
   least ``sync_threshold``, or the ignition fails.
3. BROADCAST -- the content (focus, coalition, coherence) flooded through TIG.
4. SUSTAIN -- ``sustain_steps`` more steps at ``sustain_coupling_gain`` times the coupling
   (the broadcast reinforces the coalition); the achieved coherence is the aggregate of the
   nodes' reports of their mean r (fault point ``esgt.sustain_reports``).
5. DISSOLVE -- ``dissolve_steps`` steps at half the coupling (a local value: the shared
   coupling is never changed).

Time to sync is the number of steps until the hold completed, times ``dt_ms``.
"""

from __future__ import annotations

import enum
import math
import random
import struct
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ctool.faults import fault_point
from ctool.pipeline.kuramoto import make_kuramoto
from ctool.pipeline.pool import ObjectPool
from ctool.pipeline.resilience import aggregate
from ctool.pipeline.tig import TIGFabric

if TYPE_CHECKING:
    import numpy.typing as npt

    from ctool.pipeline.config import PipelineConfig

    FloatArray = npt.NDArray[np.float64]


class Phase(enum.IntEnum):
    IDLE = 0
    PREPARE = 1
    SYNCHRONIZE = 2
    BROADCAST = 3
    SUSTAIN = 4
    DISSOLVE = 5


class ESGTEvent:
    """One ignition attempt. Pooled when ``pooling`` is on (the trace buffer is reused)."""

    __slots__ = (
        "index",
        "time_ms",
        "coalition",
        "phase",
        "success",
        "coherence",
        "time_to_sync_ms",
        "messages",
        "bytes",
        "trace",
    )

    def __init__(self, trace_length: int) -> None:
        self.trace = array("d", bytes(8 * trace_length))
        self.reset(-1, 0.0)

    def reset(self, index: int, time_ms: float) -> None:
        self.index = index
        self.time_ms = time_ms
        self.coalition: tuple[int, ...] = ()
        self.phase = Phase.IDLE
        self.success = False
        self.coherence = 0.0
        self.time_to_sync_ms: float | None = None
        self.messages = 0
        self.bytes = 0


@dataclass(frozen=True, slots=True)
class IgnitionOutcome:
    """What the episode keeps of an ESGT decision (the event itself goes back to its pool)."""

    triggered: bool
    reason: str
    """"ignited", "failed" (did not synchronise), or the first trigger that failed."""
    ignited: bool
    coalition: tuple[int, ...]
    coherence: float
    time_to_sync_ms: float | None
    messages: int
    bytes: int


_PAYLOAD_HEAD = struct.Struct("<IdH")  # episode index, coherence, coalition size


class ESGTCoordinator:
    def __init__(self, seed: int, fabric: TIGFabric, config: PipelineConfig) -> None:
        self._seed = seed
        self._fabric = fabric
        self._config = config
        rng = random.Random(f"ctool-esgt:{seed}")
        two_pi = 2.0 * math.pi
        self._omega = [
            two_pi * (config.frequency_hz + config.frequency_spread_hz * rng.gauss(0.0, 1.0))
            for _ in range(fabric.nodes)
        ]
        trace_length = config.sync_max_steps + config.sustain_steps + config.dissolve_steps
        self.event_pool: ObjectPool[ESGTEvent] = ObjectPool(
            lambda: ESGTEvent(trace_length), enabled=config.pooling
        )
        self._last_attempt_ms: float | None = None
        self.attempts = 0
        self.ignitions = 0
        self.failures = 0
        self.sync_ms_total = 0.0
        self.coherence_total = 0.0
        self.messages = 0
        self.bytes = 0

    def prepare(self, order: list[int], activation: FloatArray) -> tuple[int, ...]:
        cfg = self._config
        members = set(order[: cfg.coalition_core])
        for node in order[: cfg.coalition_core]:
            members.update(self._fabric.neighbours[node])
        ranked = [node for node in order if node in members and activation[node] > 0.0]
        return tuple(ranked[: cfg.coalition_max])

    def process(
        self,
        index: int,
        time_ms: float,
        *,
        salience: float,
        threshold: float,
        arousal: float,
        focus: str,
        order: list[int],
        activation: FloatArray,
    ) -> IgnitionOutcome:
        cfg = self._config
        reason = ""
        if salience < threshold:
            reason = "salience"
        elif (
            self._last_attempt_ms is not None
            and time_ms - self._last_attempt_ms < cfg.refractory_ms
        ):
            reason = "refractory"
        elif arousal < cfg.min_arousal:
            reason = "arousal"
        if reason:
            return IgnitionOutcome(False, reason, False, (), 0.0, None, 0, 0)
        coalition = self.prepare(order, activation)
        if len(coalition) < cfg.coalition_min:
            return IgnitionOutcome(False, "coalition", False, coalition, 0.0, None, 0, 0)

        self._last_attempt_ms = time_ms
        self.attempts += 1
        event = self.event_pool.acquire()
        event.reset(index, time_ms)
        event.coalition = coalition
        event.phase = Phase.PREPARE
        try:
            self._ignite(event, focus)
            return IgnitionOutcome(
                True,
                "ignited" if event.success else "failed",
                event.success,
                event.coalition,
                event.coherence,
                event.time_to_sync_ms,
                event.messages,
                event.bytes,
            )
        finally:
            self.event_pool.release(event)

    def _ignite(self, event: ESGTEvent, focus: str) -> None:
        cfg = self._config
        members = sorted(event.coalition)
        phase_rng = random.Random(f"ctool-phases:{self._seed}:{event.index}")
        two_pi = 2.0 * math.pi
        theta = [phase_rng.uniform(0.0, two_pi) for _ in members]
        network = make_kuramoto(
            cfg.kuramoto,
            self._fabric.weights[np.ix_(members, members)],
            [self._omega[node] for node in members],
            theta,
            cfg.dt_ms / 1000.0,
        )
        coupling = cfg.kuramoto_coupling
        trace = event.trace

        event.phase = Phase.SYNCHRONIZE
        steps = network.synchronize(
            coupling,
            threshold=cfg.sync_threshold,
            hold=cfg.sync_hold_steps,
            max_steps=cfg.sync_max_steps,
            trace=trace,
        )
        if steps is None:
            event.success = False
            event.coherence = trace[cfg.sync_max_steps - 1]
            self.failures += 1
            return
        # The coalition's nodes confirm the synchronised state: each reports the r it sees.
        agreed = self._agree("esgt.sync_reports", trace[steps - 1], len(members))
        if not agreed >= cfg.sync_threshold:  # a NaN agreement is no agreement
            event.success = False
            event.coherence = agreed
            self.failures += 1
            return
        event.time_to_sync_ms = steps * cfg.dt_ms

        event.phase = Phase.BROADCAST
        payload = (
            _PAYLOAD_HEAD.pack(event.index, agreed, len(members))
            + struct.pack(f"<{len(members)}H", *members)
            + focus.encode()
        )
        event.messages, event.bytes = self._fabric.broadcast(members, payload)

        event.phase = Phase.SUSTAIN
        # The broadcast makes the content global: the coalition's coupling is reinforced.
        sustain_coupling = coupling * cfg.sustain_coupling_gain
        sustained = network.run(cfg.sustain_steps, sustain_coupling, trace, steps)
        event.coherence = self._agree("esgt.sustain_reports", sustained, len(members))

        event.phase = Phase.DISSOLVE
        dissolve_coupling = coupling / 2.0  # a local value; cfg.kuramoto_coupling is untouched
        network.run(cfg.dissolve_steps, dissolve_coupling, trace, steps + cfg.sustain_steps)

        event.success = True
        self.ignitions += 1
        self.sync_ms_total += event.time_to_sync_ms
        self.coherence_total += event.coherence
        self.messages += event.messages
        self.bytes += event.bytes

    def _agree(self, point: str, observed: float, nodes: int) -> float:
        """Every coalition node reports the order parameter it observed (an honest node
        reports ``observed``); the coordinator combines the reports by
        ``esgt_aggregation``. The reports pass the fault point ``point``."""
        reports = fault_point(point, [observed] * nodes)
        return aggregate(reports, self._config.esgt_aggregation)

    def stats(self, simulated_s: float) -> dict[str, float | int]:
        return {
            "attempts": self.attempts,
            "ignited": self.ignitions,
            "failed": self.failures,
            "success_rate": self.ignitions / self.attempts if self.attempts else 0.0,
            "per_simulated_s": self.ignitions / simulated_s if simulated_s else 0.0,
            "mean_time_to_sync_ms": self.sync_ms_total / self.ignitions if self.ignitions else 0.0,
            "mean_coherence": self.coherence_total / self.ignitions if self.ignitions else 0.0,
            "sync_threshold": self._config.sync_threshold,
        }
