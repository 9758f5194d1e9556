"""Inference workers: compute the next action chunk while the current one executes.

The controller hands a worker an :class:`InferenceRequest` (the recent observations, the
time the newest was taken) and polls it every control period; the control tick never waits
for a forward pass. Three workers share the interface:

* :class:`ThreadWorker`: the forward pass runs on a background thread (the policy node's
  default).
* :class:`ProcessWorker`: the forward pass runs in a child process that loads its own copy
  of the policy (``inference_worker:=process``): the control tick never waits for the
  policy's Python code to release the GIL.
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
import multiprocessing
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from imitation_ros.errors import ImitationRosError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from multiprocessing.connection import Connection

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


def _process_main(conn: Connection, factory: Callable[[], ChunkPolicy],
                  min_latency_s: float, torch_threads: int) -> None:
    """The child of a :class:`ProcessWorker`: load the policy, then serve requests."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the parent node handles Ctrl-C
    try:
        if torch_threads > 0:
            import torch

            torch.set_num_threads(torch_threads)
        policy = factory()
    except Exception as err:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(('error', f'{type(err).__name__}: {err}'))
        return
    conn.send(('ready', ''))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != 'run':
            return
        seq, req = msg[1], msg[2]
        t0 = time.perf_counter()
        try:
            res = run_policy(policy, req)
        except Exception as err:  # noqa: BLE001 - the control loop must hear of it
            res = InferenceResult(req, None, 0, time.perf_counter() - t0,
                                  f'{type(err).__name__}: {err}')
        pad = min_latency_s - (time.perf_counter() - t0)
        if pad > 0:
            time.sleep(pad)
        conn.send(('done', seq, res.chunk, res.n_exec, res.compute_s, res.error))


class ProcessWorker:
    """Runs forward passes in a child process (spawned), one request at a time.

    The child builds its own policy with ``factory`` (a picklable callable, e.g.
    ``functools.partial(load_policy, path, device='cpu')``); requests go over a pipe (the
    observation history, a few small arrays) and only the chunk comes back. The control
    thread never shares the GIL with the forward pass. A child that dies turns every later
    request into an error result, so the controller holds and says why.
    """

    def __init__(self, factory: Callable[[], ChunkPolicy], *, min_latency_s: float = 0.0,
                 torch_threads: int = 1, start_timeout_s: float = 300.0,
                 name: str = 'policy-inference') -> None:
        """Start the child and wait until its policy is loaded.

        Args:
            factory: Builds the policy in the child.
            min_latency_s: Pad each forward pass to at least this long; 0 = off.
            torch_threads: ``torch.set_num_threads`` in the child; 0 = leave as is.
            start_timeout_s: How long loading may take.
            name: Process name.

        Raises:
            PolicyError: The child failed to load the policy or did not answer in time.
        """
        from imitation_ros.errors import PolicyError

        ctx = multiprocessing.get_context('spawn')     # never fork a threaded process
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_process_main, name=name, daemon=True,
                                 args=(child, factory, min_latency_s, torch_threads))
        self._proc.start()
        child.close()
        try:
            ok = self._conn.poll(start_timeout_s)
            reply = self._conn.recv() if ok else ('error', f'no answer in {start_timeout_s} s')
        except (EOFError, OSError):
            self._proc.join(5.0)
            reply = ('error', f'the process exited (code {self._proc.exitcode}) before '
                              'answering; see the traceback above')
        if reply[0] != 'ready':
            self.close()
            msg = f'inference process could not load the policy: {reply[1]}'
            raise PolicyError(msg)
        self._seq = 0
        self._inflight: dict[int, InferenceRequest] = {}
        self._result: InferenceResult | None = None

    @property
    def busy(self) -> bool:
        """True from submit until the result is polled."""
        return bool(self._inflight) or self._result is not None

    def submit(self, request: InferenceRequest) -> None:
        """Send a request to the child (the caller checks ``busy`` first)."""
        self._seq += 1
        self._inflight[self._seq] = request
        try:
            self._conn.send(('run', self._seq, request))
        except (OSError, ValueError) as err:
            del self._inflight[self._seq]
            self._result = InferenceResult(request, None, 0, 0.0, self._dead(err))

    def _dead(self, err: object = '') -> str:
        code = self._proc.exitcode
        return f'inference process exited (code {code}){f": {err}" if err else ""}'

    def poll(self, now_s: float) -> InferenceResult | None:
        """The finished result, once (never blocks)."""
        del now_s
        try:
            while self._conn.poll(0):
                _, seq, chunk, n_exec, compute_s, error = self._conn.recv()
                req = self._inflight.pop(seq, None)
                if req is not None:
                    self._result = InferenceResult(req, chunk, n_exec, compute_s, error)
        except (EOFError, OSError) as err:
            for seq, req in list(self._inflight.items()):
                self._result = InferenceResult(req, None, 0, 0.0, self._dead(err))
                del self._inflight[seq]
        if self._inflight and not self._proc.is_alive():
            seq, req = next(iter(self._inflight.items()))
            del self._inflight[seq]
            self._result = InferenceResult(req, None, 0, 0.0, self._dead())
        res, self._result = self._result, None
        return res

    def cancel(self) -> None:
        """Drop the unpolled result (a running pass finishes; its epoch is then stale)."""
        self._result = None

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the child (waits ``timeout_s`` for a running forward pass, then kills it)."""
        try:
            self._conn.send(('stop',))
        except (OSError, ValueError):
            pass
        self._proc.join(timeout_s)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout_s)
        self._conn.close()


def history_of(history: Sequence[Mapping[str, Any]], n: int) -> tuple[Mapping[str, Any], ...]:
    """The last ``n`` observations, oldest first, padded with the oldest when short."""
    h = list(history)[-max(1, n):]
    return tuple([h[0]] * (max(1, n) - len(h)) + h)
