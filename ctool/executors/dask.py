"""``--executor dask``: the replicas of a run as tasks on a Dask cluster.

``DaskPool`` is a :class:`~ctool.run.replicas.ReplicaPool`. With a scheduler address it
connects to that cluster (``--connect-timeout``: an unreachable scheduler is a one-line
usage error); without one it starts a ``distributed.LocalCluster`` of N worker processes of
one thread each on 127.0.0.1 and closes it at the end, whatever happens.

Each replica is pinned to its own worker (N replicas need N workers). The pool watches the
scheduler while parts run: a worker that leaves (its process was killed) makes its replica a
:class:`~ctool.run.replicas.ReplicaLost`, and the run goes on with the others. On
interrupt it sets the run's stop ``Event`` (each replica ends its part and returns what it
measured), then stops every replica and, if it started one, the LocalCluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from ctool.executors.replica import run_replica, start_replica, stop_replica
from ctool.model.errors import CtoolError, UsageError
from ctool.model.records import PartRecords
from ctool.run.config import RunConfig
from ctool.run.replicas import ReplicaInfo, ReplicaLost
from ctool.run.workers import WorkerSpec

INSTALL = 'pip install "ctool[dask]"'
WATCH_EVERY_S = 0.25
STOP_TIMEOUT_S = 10.0
LOCAL_HOST = "127.0.0.1"


def require_dask() -> None:
    """A one-line usage error when the ``dask`` extra is missing."""
    try:
        distributed()
    except ImportError:
        raise UsageError(f"--executor dask needs Dask distributed: {INSTALL}") from None


def distributed() -> Any:
    """The ``distributed`` module (untyped: reached through ``Any``)."""
    return importlib.import_module("distributed")


class DaskPool:
    """N replicas on a Dask cluster (a given scheduler, or a LocalCluster started here)."""

    def __init__(
        self,
        spec: WorkerSpec,
        *,
        scheduler: str | None,
        connect_timeout_s: float,
        metrics: bool = False,
        metrics_linger_s: float = 0.0,
        on_targets: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        require_dask()
        self.spec = spec
        self.scheduler = scheduler
        self.connect_timeout_s = connect_timeout_s
        self.metrics = metrics
        self.metrics_linger_s = metrics_linger_s
        self.on_targets = on_targets
        self.run_id = uuid.uuid4().hex[:12]
        self.infos: list[ReplicaInfo] = []
        self.addresses: list[str] = []
        self.client: Any = None
        self.cluster: Any = None
        self._stop_name = f"ctool-stop-{self.run_id}"
        self._running: dict[int, Any] = {}
        self._closed = False

    # -- connecting ------------------------------------------------------------------------

    def _connect(self, count: int) -> None:
        dd = distributed()
        if self.scheduler is None:
            self.cluster = dd.LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                host=LOCAL_HOST,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            address = self.cluster.scheduler_address
        else:
            address = self.scheduler
        try:
            self.client = dd.Client(address, timeout=self.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"cannot reach the Dask scheduler at {address} within "
                f"{self.connect_timeout_s:g} s ({type(exc).__name__})"
            ) from None
        try:
            self.client.wait_for_workers(count, timeout=self.connect_timeout_s)
        except (OSError, TimeoutError):
            have = len(self.client.scheduler_info()["workers"])
            raise UsageError(
                f"the Dask cluster at {address} has {have} worker(s); {count} replicas need "
                f"{count} (one replica per worker)"
            ) from None
        workers = sorted(self.client.scheduler_info()["workers"])
        self.addresses = workers[:count]

    async def start(self, count: int) -> None:
        await asyncio.to_thread(self._connect, count)
        host = self._metrics_host
        futures = [
            self.client.submit(
                start_replica,
                self.run_id,
                index,
                self.spec,
                address,
                {"host": host(address), "linger_s": self.metrics_linger_s}
                if self.metrics
                else None,
                workers=[address],
                allow_other_workers=False,
                pure=False,
                key=f"ctool-start-{self.run_id}-{index}",
            )
            for index, address in enumerate(self.addresses)
        ]
        outcomes = await self._wait(futures, list(range(count)))
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                raise self._failure(index, outcome, "starting")
        self.infos = [
            ReplicaInfo(**{k: v for k, v in o.items() if k != "metrics_url"}) for o in outcomes
        ]
        if self.on_targets is not None and self.metrics:
            self.on_targets([{"url": o["metrics_url"], "replica": o["index"]} for o in outcomes])

    @staticmethod
    def _metrics_host(address: str) -> str:
        """The worker's own host (``tcp://10.0.0.5:4321`` -> ``10.0.0.5``)."""
        return address.split("://", 1)[-1].rsplit(":", 1)[0]

    # -- waiting on tasks while watching the workers ---------------------------------------

    async def _wait(self, futures: list[Any], indices: list[int]) -> list[Any]:
        """Each future's result, ``ReplicaLost`` for one whose worker left, or its error."""
        results: dict[int, Any] = {}
        pending = dict(zip(indices, futures, strict=True))
        try:
            while pending:
                for index, future in list(pending.items()):
                    if future.done():
                        results[index] = await asyncio.to_thread(_outcome, future)
                        del pending[index]
                if not pending:
                    break
                present = await asyncio.to_thread(self._workers_present)
                for index in list(pending):
                    if self.addresses[index] not in present:
                        pending.pop(index).cancel()
                        results[index] = ReplicaLost(
                            index, f"{self._name(index)} was lost: its worker left the cluster"
                        )
                await asyncio.sleep(WATCH_EVERY_S)
        except asyncio.CancelledError:  # interrupt() collects the running parts
            raise
        return [results[i] for i in indices]

    def _failure(self, index: int, exc: BaseException, doing: str) -> CtoolError:
        """A replica's own error as ctool's: usage errors stay usage errors (exit 2)."""
        if isinstance(exc, CtoolError):
            return exc
        where = f"replica {index} on Dask worker {self.addresses[index]}"
        return CtoolError(f"{where} failed while {doing}: {type(exc).__name__}: {exc}")

    def _name(self, index: int) -> str:
        if index < len(self.infos):
            return self.infos[index].name()
        return f"replica {index} on Dask worker {self.addresses[index]}"

    def _workers_present(self) -> set[str]:
        return set(self.client.scheduler_info()["workers"])

    # -- the ReplicaPool protocol ----------------------------------------------------------

    async def run(
        self, index: int, *, episodes: int | None, duration_s: float | None, tag: str
    ) -> PartRecords:
        command = {"episodes": episodes, "duration_s": duration_s, "tag": tag}
        future = self.client.submit(
            run_replica,
            self.run_id,
            index,
            command,
            self._stop_name,
            workers=[self.addresses[index]],
            allow_other_workers=False,
            pure=False,
        )
        self._running[index] = future
        (outcome,) = await self._wait([future], [index])
        self._running.pop(index, None)
        if isinstance(outcome, ReplicaLost):
            raise outcome
        if isinstance(outcome, BaseException):
            raise self._failure(index, outcome, "running")
        part: PartRecords = outcome
        return part

    async def interrupt(self, indices: list[int]) -> dict[int, PartRecords]:
        """Set the stop event: the running parts end and come back with what they have."""
        if self.client is None:
            return {}
        running = {i: f for i, f in self._running.items() if i in indices}
        await asyncio.to_thread(
            lambda: distributed().Event(self._stop_name, client=self.client).set()
        )
        outcomes = await self._wait(list(running.values()), list(running))
        return {i: o for i, o in zip(running, outcomes, strict=True) if isinstance(o, PartRecords)}

    async def close(self, *, graceful: bool) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.shield(asyncio.to_thread(self._close_sync))

    def _close_sync(self) -> None:
        try:
            if self.client is not None and self.addresses:
                with contextlib.suppress(Exception):
                    self._stop_replicas()
        finally:
            if self.client is not None:
                with contextlib.suppress(Exception):
                    self.client.close(timeout=STOP_TIMEOUT_S)
            if self.cluster is not None:
                with contextlib.suppress(Exception):
                    self.cluster.close(timeout=STOP_TIMEOUT_S)

    def _stop_replicas(self) -> None:
        present = self._workers_present()
        futures = [
            self.client.submit(
                stop_replica,
                self.run_id,
                index,
                workers=[address],
                allow_other_workers=False,
                pure=False,
            )
            for index, address in enumerate(self.addresses)
            if address in present
        ]
        distributed().wait(futures, timeout=STOP_TIMEOUT_S + self.metrics_linger_s)


def _outcome(future: Any) -> Any:
    try:
        return future.result()
    except Exception as exc:
        return exc


def pool_factory(exporter: Any = None) -> Callable[[WorkerSpec, RunConfig], DaskPool]:
    """``run_profile(..., pool_factory=...)`` for ``--executor dask``; with ``exporter`` (the
    parent's ``PrometheusObserver``) each replica serves its own metrics, listed by the
    exporter's ``/targets``."""
    require_dask()

    def make(spec: WorkerSpec, cfg: RunConfig) -> DaskPool:
        return DaskPool(
            spec,
            scheduler=cfg.scheduler,
            connect_timeout_s=cfg.connect_timeout_s,
            metrics=exporter is not None,
            metrics_linger_s=float(getattr(exporter, "linger_s", 0.0)),
            on_targets=getattr(exporter, "set_targets", None),
        )

    return make
