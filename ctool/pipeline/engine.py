"""The reference pipeline: one episode is stimulus -> MMEI -> MCEA -> TIG -> MEA -> ESGT ->
MCEA.phi, each stage inside a ``ctool.span`` of that name (``MCEA.phi`` nested in ``MCEA``).

Episodes advance a simulated clock by ``episode_ms``; everything random is seeded from
``(seed, episode index)``, so outputs depend only on the seed, the settings and the order
in which episodes run -- never on the machine's speed. The episode coroutine yields to the
event loop between stages (``asyncio.sleep(0)``, a cooperative hand-over, not a stand-in
for work), so concurrent episodes interleave as in a real async service.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from ctool.faults import fault_point
from ctool.pipeline.config import OPTIMISATION_SETTINGS, RESILIENCE_SETTINGS, PipelineConfig
from ctool.pipeline.esgt import ESGTCoordinator, IgnitionOutcome
from ctool.pipeline.mcea import ArousalController, ArousalState
from ctool.pipeline.mea import Attention, AttentionSchema
from ctool.pipeline.mmei import HealthProbe, InteroceptionMonitor, Needs
from ctool.pipeline.phi import PhiCalculator, PhiResult
from ctool.pipeline.resilience import Admission, CircuitBreaker, HandOff
from ctool.pipeline.stimulus import Stimulus, StimulusStream
from ctool.pipeline.tig import TIGFabric
from ctool.spans import span

_TIG = span("TIG")
_ESGT = span("ESGT")
_MEA = span("MEA")
_MCEA = span("MCEA")
_MMEI = span("MMEI")
_PHI = span("MCEA.phi")


@dataclass(frozen=True, slots=True)
class EpisodeResult:
    """Everything an episode decided; :meth:`ReferencePipeline.outputs` turns it into a dict."""

    index: int
    time_ms: float
    modality: str
    target: int
    needs: dict[str, float]
    arousal: float
    arousal_level: str
    threshold: float
    focus: str
    confidence: float
    salience: float
    predicted_focus: str | None
    prediction_error: float
    triggered: bool
    ignition: str
    ignited: bool
    coalition: tuple[int, ...]
    coherence: float
    time_to_sync_ms: float | None
    messages: int
    bytes: int
    phi: float
    phi_nodes: tuple[int, ...]
    mib: tuple[tuple[int, ...], tuple[int, ...]]


_RESULT_FIELDS = tuple(f.name for f in fields(EpisodeResult))


class ReferencePipeline:
    """The five-stage consciousness pipeline (see docs/pipeline.md)."""

    def __init__(self, config: PipelineConfig, *, seed: int = 0, preset: str = "optimized"):
        self.config = config
        self.seed = seed
        self.preset = preset
        self.stream = StimulusStream(
            seed,
            vocabulary=config.vocabulary,
            zipf_exponent=config.zipf_exponent,
            episode_ms=config.episode_ms,
        )
        self.tig = TIGFabric(
            seed,
            nodes=config.nodes,
            m=config.ba_m,
            closure_probability=config.closure_probability,
            weight_min=config.weight_min,
            weight_max=config.weight_max,
            vocabulary=config.vocabulary,
            inputs_per_target=config.inputs_per_target,
            propagation_gain=config.propagation_gain,
            propagation_hops=config.propagation_hops,
            broadcast_hops=config.broadcast_hops,
            pooling=config.pooling,
        )
        self.mmei = InteroceptionMonitor(
            window=config.needs_window,
            curiosity_tau_s=config.curiosity_tau_s,
            episode_ms=config.episode_ms,
        )
        self.probe = HealthProbe(config.health_probe, config.probe_interval_s)
        self.mcea = ArousalController(
            baseline=config.arousal_baseline,
            rise_per_s=config.arousal_rise_per_s,
            fall_per_s=config.arousal_fall_per_s,
            refractory_drop=config.refractory_drop,
            refractory_recovery_ms=config.refractory_recovery_ms,
            phi_gain=config.phi_arousal_gain,
        )
        self.mea = AttentionSchema(
            nodes=config.nodes, inputs=self.tig.inputs, leak_bytes=config.leak_bytes
        )
        self.esgt = ESGTCoordinator(seed, self.tig, config)
        self.phi = PhiCalculator(
            self.tig.weights,
            method=config.phi,
            cache=config.phi_cache,
            cache_size=config.phi_cache_size,
            radius=config.phi_spectral_radius,
            max_nodes=config.phi_max_nodes,
        )
        self.handoff = HandOff(
            retries=config.handoff_retries,
            backoff_ms=config.retry_backoff_ms,
            timeout_ms=config.stage_timeout_ms,
        )
        self.breaker = (
            CircuitBreaker(
                failures=config.phi_breaker_failures,
                reset_ms=config.phi_breaker_reset_ms,
                timeout_ms=config.stage_timeout_ms,
            )
            if config.phi_breaker
            else None
        )
        self.admission = Admission(config.max_in_flight)
        self.episodes = 0
        self._last_time_ms = 0.0
        self._closed = False

    async def episode(self, index: int) -> EpisodeResult:
        if self.admission.limit:
            return await self.admission.run(lambda: self._episode(index))
        return await self._episode(index)

    async def _episode(self, index: int) -> EpisodeResult:
        handoff = self.handoff
        stimulus = await handoff("stimulus", self.stream.at(index))
        with _MMEI:
            needs = self.mmei.update(stimulus)
            self.probe.sample()
        needs = await handoff("mmei.needs", needs)
        await asyncio.sleep(0)
        with _MCEA:
            state = self.mcea.update(needs, stimulus.time_ms)
        state = await handoff("mcea.arousal", state)
        await asyncio.sleep(0)
        with _TIG:
            activation = self.tig.propagate(stimulus.target, stimulus.intensity)
            order: list[int] = np.argsort(-activation, kind="stable").tolist()
        activation = await handoff("tig.activation", activation)
        await asyncio.sleep(0)
        with _MEA:
            attention = self.mea.attend(stimulus, order, activation)
        attention = await handoff("mea.signal", attention)
        await asyncio.sleep(0)
        with _ESGT:
            outcome = self.esgt.process(
                index,
                stimulus.time_ms,
                salience=attention.salience,
                threshold=state.threshold,
                arousal=state.arousal,
                focus=attention.focus,
                order=order,
                activation=activation,
            )
        outcome = await handoff("esgt.outcome", outcome)
        await asyncio.sleep(0)
        phi = PhiResult(0.0, ((), ()), 0.0)
        phi_nodes: tuple[int, ...] = ()
        # Two lines, not one combined ``with``: the stage locator (leakcheck, profilers)
        # tells nested stages apart by the line ranges of their ``with`` blocks.
        with _MCEA:  # noqa: SIM117
            with _PHI:
                if outcome.ignited:
                    # The coalition is ranked by activation: take its k most active nodes.
                    phi_nodes = tuple(sorted(outcome.coalition[: self.config.phi_max_nodes]))
                    phi = self._phi(phi_nodes)
                    self.mcea.ignited(stimulus.time_ms, phi.phi)
        self.episodes += 1
        self._last_time_ms = max(self._last_time_ms, stimulus.time_ms + self.config.episode_ms)
        return _result(index, stimulus, needs, state, attention, outcome, phi_nodes, phi)

    def _phi(self, nodes: tuple[int, ...]) -> PhiResult:
        """Φ of ``nodes``, through the fault points ``mcea.phi.nodes`` (its input) and
        ``mcea.phi`` (its value), behind the circuit breaker when ``phi_breaker`` is on."""

        def compute() -> PhiResult:
            result = self.phi.compute(fault_point("mcea.phi.nodes", nodes))
            value = fault_point("mcea.phi", result.phi)
            return result if value == result.phi else replace(result, phi=value)

        if self.breaker is None:
            return compute()
        return self.breaker.call(compute, lambda: self.phi.fallback(nodes), _finite_phi)

    def outputs(self, result: EpisodeResult) -> dict[str, Any]:
        """The episode's behaviour as plain values (for the behaviour digest)."""
        values = {name: getattr(result, name) for name in _RESULT_FIELDS}
        values["needs"] = dict(result.needs)
        return values

    def metrics(self) -> dict[str, Any]:
        simulated_s = self._last_time_ms / 1000.0
        return {
            "phi": self.phi.stats(),
            "messages": {
                "count": self.esgt.messages,
                "bytes": self.esgt.bytes,
                "bytes_per_s": self.esgt.bytes / simulated_s if simulated_s else 0.0,
                "per": "simulated second",
            },
            "ignitions": self.esgt.stats(simulated_s),
            "health": self.probe.stats(),
            "pool": _pool_totals(self.tig.message_pool.stats(), self.esgt.event_pool.stats()),
            "tig": self.tig.metrics.as_dict(),
            "episodes": self.episodes,
            "simulated_s": simulated_s,
            "preset": self.preset,
            "settings": {name: getattr(self.config, name) for name in OPTIMISATION_SETTINGS},
            "resilience": self._resilience(),
        }

    def _resilience(self) -> dict[str, Any]:
        """The resilience settings and what each mechanism did (docs/pipeline.md)."""
        return {
            "settings": {name: getattr(self.config, name) for name in RESILIENCE_SETTINGS},
            "handoffs": self.handoff.stats(),
            "phi_breaker": self.breaker.stats() if self.breaker else None,
            "admission": self.admission.stats(),
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.probe.close()


def _finite_phi(result: PhiResult) -> bool:
    """A Φ the breaker accepts: a finite number (a fault may leave NaN, None, ...)."""
    return isinstance(result.phi, float) and math.isfinite(result.phi)


def _result(
    index: int,
    stimulus: Stimulus,
    needs: Needs,
    state: ArousalState,
    attention: Attention,
    outcome: IgnitionOutcome,
    phi_nodes: tuple[int, ...],
    phi: PhiResult,
) -> EpisodeResult:
    return EpisodeResult(
        index=index,
        time_ms=stimulus.time_ms,
        modality=stimulus.modality,
        target=stimulus.target,
        needs=needs.as_dict(),
        arousal=state.arousal,
        arousal_level=state.level,
        threshold=state.threshold,
        focus=attention.focus,
        confidence=attention.confidence,
        salience=attention.salience,
        predicted_focus=attention.predicted,
        prediction_error=attention.prediction_error,
        triggered=outcome.triggered,
        ignition=outcome.reason,
        ignited=outcome.ignited,
        coalition=outcome.coalition,
        coherence=outcome.coherence,
        time_to_sync_ms=outcome.time_to_sync_ms,
        messages=outcome.messages,
        bytes=outcome.bytes,
        phi=phi.phi,
        phi_nodes=phi_nodes,
        mib=phi.mib,
    )


def _pool_totals(*pools: dict[str, int]) -> dict[str, int]:
    """Objects built fresh and objects reused, over every pool of the pipeline."""
    created = sum(p["created"] for p in pools)
    reused = sum(p["reused"] for p in pools)
    return {"created": created, "reused": reused, "acquired": created + reused}
