"""Kuramoto oscillators on a coalition subgraph: the SYNCHRONIZE/SUSTAIN/DISSOLVE dynamics.

``dθi/dt = ωi + (K/n) Σj wij sin(θj − θi)``, integrated with explicit Euler steps of ``dt``.
The order parameter ``r = |mean exp(iθ)|`` measures coherence.

Two implementations of one step give the same trajectories (to ~1e-12):

* :class:`PythonKuramoto` -- the textbook double loop over oscillator pairs with
  ``math.sin`` (the honest "before");
* :class:`NumpyKuramoto` -- ``Σj wij sin(θj − θi) = Im(conj(zi) Σj wij zj)`` with
  ``z = exp(iθ)``: one complex matrix-vector product per step, no temporaries.

The synchronisation loop, the sustain and dissolve runs live in the shared base class, so
the two differ only in :meth:`KuramotoNetwork.step`.
"""

from __future__ import annotations

import math
from collections.abc import MutableSequence, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    ComplexArray = npt.NDArray[np.complex128]


class KuramotoNetwork:
    """Base class: the phase loops. Subclasses implement one Euler step."""

    n: int
    dt: float

    def step(self, coupling: float) -> float:
        """Advance one Euler step with coupling ``coupling`` (rad/s); return the new r."""
        raise NotImplementedError

    def phases(self) -> list[float]:
        raise NotImplementedError

    def synchronize(
        self,
        coupling: float,
        *,
        threshold: float,
        hold: int,
        max_steps: int,
        trace: MutableSequence[float],
    ) -> int | None:
        """Step until r >= threshold has held for ``hold`` consecutive steps.

        Returns the number of steps taken when the hold completed, or ``None`` when
        ``max_steps`` passed first. Writes each step's r into ``trace[0 .. steps-1]``.
        """
        held = 0
        for index in range(max_steps):
            r = self.step(coupling)
            trace[index] = r
            held = held + 1 if r >= threshold else 0
            if held >= hold:
                return index + 1
        return None

    def run(self, steps: int, coupling: float, trace: MutableSequence[float], offset: int) -> float:
        """Step ``steps`` times at ``coupling``; record r from ``trace[offset]``; mean r."""
        total = 0.0
        for index in range(offset, offset + steps):
            r = self.step(coupling)
            trace[index] = r
            total += r
        return total / steps


class PythonKuramoto(KuramotoNetwork):
    """Pure-Python loops over all oscillator pairs."""

    def __init__(
        self,
        weights: Sequence[Sequence[float]],
        omega: Sequence[float],
        theta: Sequence[float],
        dt: float,
    ) -> None:
        self.n = len(theta)
        self.dt = dt
        self._weights = [list(row) for row in weights]
        self._omega = list(omega)
        self._theta = list(theta)

    def phases(self) -> list[float]:
        return list(self._theta)

    def step(self, coupling: float) -> float:
        n = self.n
        theta = self._theta
        k_over_n = coupling / n
        new_theta = []
        for i in range(n):
            theta_i = theta[i]
            row = self._weights[i]
            pull = 0.0
            for j in range(n):
                weight = row[j]
                if weight != 0.0:
                    pull += weight * math.sin(theta[j] - theta_i)
            new_theta.append(theta_i + self.dt * (self._omega[i] + k_over_n * pull))
        self._theta = new_theta
        re = 0.0
        im = 0.0
        for value in new_theta:
            re += math.cos(value)
            im += math.sin(value)
        return math.hypot(re, im) / n


class NumpyKuramoto(KuramotoNetwork):
    """One complex matrix-vector product per step, with every array preallocated.

    For vectors of ~20 elements numpy's per-call overhead dominates, so the step uses the
    cheapest calls: ``np.dot`` rather than ``@``, ``cos``/``sin`` written straight into the
    real and imaginary parts of ``z`` rather than ``exp(1j * theta)``, ``vdot`` with a vector
    of ones for the order parameter, and ``out=`` buffers instead of temporaries.
    """

    def __init__(
        self, weights: FloatArray, omega: Sequence[float], theta: Sequence[float], dt: float
    ) -> None:
        self.n = len(theta)
        self.dt = dt
        self._weights = np.ascontiguousarray(weights, dtype=np.complex128)
        self._dt_omega = dt * np.asarray(omega, dtype=np.float64)
        self._theta = np.asarray(theta, dtype=np.float64).copy()
        self._z: ComplexArray = np.empty(self.n, dtype=np.complex128)
        np.cos(self._theta, out=self._z.real)
        np.sin(self._theta, out=self._z.imag)
        self._ones = np.ones(self.n, dtype=np.complex128)
        self._conj: ComplexArray = np.empty(self.n, dtype=np.complex128)
        self._delta: FloatArray = np.empty(self.n, dtype=np.float64)

    def phases(self) -> list[float]:
        return [float(value) for value in self._theta]

    def step(self, coupling: float) -> float:
        z, theta, delta = self._z, self._theta, self._delta
        pulled = np.dot(self._weights, z)  # Σj wij zj
        np.multiply(np.conjugate(z, out=self._conj), pulled, out=pulled)
        # Im(conj(zi) Σj wij zj) = Σj wij sin(θj − θi)
        np.multiply(pulled.imag, self.dt * coupling / self.n, out=delta)
        delta += self._dt_omega
        theta += delta
        np.cos(theta, out=z.real)
        np.sin(theta, out=z.imag)
        return abs(complex(np.vdot(self._ones, z))) / self.n


def make_kuramoto(
    impl: str,
    weights: FloatArray,
    omega: Sequence[float],
    theta: Sequence[float],
    dt: float,
) -> KuramotoNetwork:
    if impl == "python":
        return PythonKuramoto(weights.tolist(), omega, theta, dt)
    if impl == "numpy":
        return NumpyKuramoto(weights, omega, theta, dt)
    raise ValueError(f"unknown Kuramoto implementation {impl!r}")
