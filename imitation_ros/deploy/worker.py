"""Inference workers: compute the next action chunk while the current one executes.

The controller hands a worker an :class:`InferenceRequest` (the recent observations, the
time the newest was taken) and polls it every control period; the control tick never waits
for a forward pass. Three workers share the interface:

* :class:`ThreadWorker`: the forward pass runs on a background thread (the policy node).
* :class:`InlineWorker`: runs at submit, result available at once: the "stop-the-world"
  evaluation (and lerobot's inline ``select_action`` loop, minus its stall).
* :class:`DeferredWorker`: runs at submit but releases the result only once the
  controller's clock has advanced by the measured compute time (scaled) or a fixed latency:
  latency-faithful evaluation against a simulated clock, deterministic for a fixed latency.

A policy is called as the node calls it: ``policy.reset()``, ``policy.observe(o)`` for every
older observation of the history, then ``policy(newest)`` -> chunk (T, n), row 0 = the action
for the time the newest observation was taken. Only the worker touches the policy.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from imitation_ros.errors import ImitationRosError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import NDArray

logger = logging.getLogger(__name__)


class ChunkPolicy(Protocol):
    """What the workers need of a policy (``imitation_ros.learn.PolicyRunner`` is one)."""

    @property
    def n_action_steps(self) -> int: ...

    def reset(self) -> None: ...

    def __call__(self, obs: Mapping[str, Any]) -> NDArray[np.floating]: ...


@dataclass(frozen=True, slots=True)
class InferenceRequest:
    """One forward pass to run."""

    history: tuple[Mapping[str, Any], ...]    # oldest first; the last is the newest
    obs_time_s: float                          # when the newest observation was taken
    request_time_s: float                      # controller time of the request
    epoch: int                                 # results of an older epoch are dropped


@dataclass(frozen=True, slots=True)
class InferenceResult:
    """A chunk (or the error that replaced it)."""

    request: InferenceRequest
    chunk: NDArray[np.float64] | None
    n_exec: int                                # rows meant to be executed
    compute_s: float                           # wall time of the forward pass
    error: str = ''


def run_policy(policy: ChunkPolicy, req: InferenceRequest) -> InferenceResult:
    """Run one forward pass; suite errors and non-2D output become a result with ``error``."""
    t0 = time.perf_counter()
    try:
        policy.reset()
        observe = getattr(policy, 'observe', None)
        if observe is not None:
            for obs in req.history[:-1]:
                observe(obs)
        chunk = np.asarray(policy(req.history[-1]), dtype=np.float64)
    except ImitationRosError as err:
        return InferenceResult(req, None, 0, time.perf_counter() - t0, str(err))
    compute = time.perf_counter() - t0
    if chunk.ndim == 1:
        chunk = chunk[None, :]
    if chunk.ndim != 2 or len(chunk) == 0:
        return InferenceResult(req, None, 0, compute, f'policy returned shape {chunk.shape}')
    n_exec = max(1, min(int(policy.n_action_steps), len(chunk)))
    return InferenceResult(req, chunk, n_exec, compute)


class Worker(Protocol):
    """What the controller needs of a worker."""

    @property
    def busy(self) -> bool: ...

    def submit(self, request: InferenceRequest) -> None: ...

    def poll(self, now_s: float) -> InferenceResult | None: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


class InlineWorker:
    """Runs the forward pass at submit; the result is available at once."""

    def __init__(self, policy: ChunkPolicy) -> None:
        self.policy = policy
        self._result: InferenceResult | None = None

    @property
    def busy(self) -> bool:
        """True while a result waits to be polled."""
        return self._result is not None

    def submit(self, request: InferenceRequest) -> None:
        """Run the policy now."""
        self._result = run_policy(self.policy, request)

    def poll(self, now_s: float) -> InferenceResult | None:
        """The result, once."""
        del now_s
        res, self._result = self._result, None
        return res

    def cancel(self) -> None:
        """Forget the pending result (a reset; the clock may start over)."""
        self._result = None

    def close(self) -> None:
        """Nothing to free."""


class DeferredWorker(InlineWorker):
    """Runs at submit; releases the result when the clock reaches request + latency.

    Args:
        policy: The policy.
        latency_s: Fixed latency, s; None: the measured compute time x ``time_scale``.
        time_scale: Clock seconds per wall second of compute (a sim's real-time factor).
    """

    def __init__(self, policy: ChunkPolicy, *, latency_s: float | None = None,
                 time_scale: float = 1.0) -> None:
        super().__init__(policy)
        self.latency_s = latency_s
        self.time_scale = time_scale

    def poll(self, now_s: float) -> InferenceResult | None:
        """The result, once its latency has passed on the controller's clock."""
        res = self._result
        if res is None:
            return None
        lat = res.compute_s * self.time_scale if self.latency_s is None else self.latency_s
        if now_s + 1e-9 < res.request.request_time_s + lat:
            return None
        self._result = None
        return res


GIL_SWITCH_S = 0.0005     # the control thread waits at most about this for the GIL


class ThreadWorker:
    """Runs forward passes on one background thread (daemon), one request at a time.

    The forward pass holds the GIL between torch kernels; Python's default switch interval
    (5 ms) would let it delay the control tick by that much. The worker lowers the process's
    switch interval to ``GIL_SWITCH_S`` (never raises it).
    """

    def __init__(self, policy: ChunkPolicy, *, min_latency_s: float = 0.0,
                 name: str = 'policy-inference') -> None:
        """Start the thread.

        Args:
            policy: The policy; only this thread calls it from now on.
            min_latency_s: Pad each forward pass to at least this long (rehearse a slower
                computer); 0 = off.
            name: Thread name.
        """
        self.policy = policy
        self.min_latency_s = min_latency_s
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._cv = threading.Condition()
        self._request: InferenceRequest | None = None
        self._result: InferenceResult | None = None
        self._running = False
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True from submit until the result is polled."""
        with self._cv:
            return self._request is not None or self._running or self._result is not None

    def submit(self, request: InferenceRequest) -> None:
        """Queue a request (the caller checks ``busy`` first; a pending one is replaced)."""
        with self._cv:
            self._request = request
            self._cv.notify()

    def poll(self, now_s: float) -> InferenceResult | None:
        """The finished result, once (never blocks)."""
        del now_s
        with self._cv:
            res, self._result = self._result, None
            return res

    def cancel(self) -> None:
        """Drop the queued request and the unpolled result (a running pass finishes)."""
        with self._cv:
            self._request = None
            self._result = None

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (waits for a running forward pass up to ``timeout_s``)."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._request is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                req, self._request, self._running = self._request, None, True
            t0 = time.perf_counter()
            try:
                res = run_policy(self.policy, req)
            except Exception as err:  # noqa: BLE001 - the control loop must hear of it
                logger.exception('policy forward pass failed')
                res = InferenceResult(req, None, 0, time.perf_counter() - t0,
                                      f'{type(err).__name__}: {err}')
            pad = self.min_latency_s - (time.perf_counter() - t0)
            if pad > 0:
                time.sleep(pad)
            with self._cv:
                self._result, self._running = res, False


def history_of(history: Sequence[Mapping[str, Any]], n: int) -> tuple[Mapping[str, Any], ...]:
    """The last ``n`` observations, oldest first, padded with the oldest when short."""
    h = list(history)[-max(1, n):]
    return tuple([h[0]] * (max(1, n) - len(h)) + h)
