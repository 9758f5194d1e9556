"""The interface every simulated robot of the suite offers (MuJoCo arm, gymnasium adapters).

``sim_node`` and the in-process evaluation only talk to this protocol, so any environment
that implements it (see ``docs/sim.md``) looks like a ros2_control arm on the graph.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from numpy.typing import NDArray

    from imitation_ros.sim.clamp import ClampReport


@runtime_checkable
class SimRobot(Protocol):
    """A robot whose joints take position commands and whose time advances in fixed steps.

    Attributes:
        joint_names: Joint order of every vector in and out (the profile's order).
        lower_rad: Lower command limits, one per joint.
        upper_rad: Upper command limits, one per joint.
        camera_names: Cameras :meth:`render` can draw (may be empty).
        task_state_names: Meaning of each entry of :meth:`task_state`.
        control_period_s: Period of :meth:`step` (1 / profile fps).
        physics_dt_s: Smallest increment :meth:`advance` steps by.
        clamp_count: Number of commands altered by the clamp since construction.
    """

    joint_names: tuple[str, ...]
    lower_rad: NDArray[np.float64]
    upper_rad: NDArray[np.float64]
    camera_names: tuple[str, ...]
    task_state_names: tuple[str, ...]
    control_period_s: float
    physics_dt_s: float
    clamp_count: int

    def reset(self, seed: int | None = None) -> dict[str, Any]:
        """Start a new randomized episode; return the first observation."""

    def set_command(self, cmd: Sequence[float] | NDArray[Any]) -> ClampReport:
        """Set the joint position target (clamped); held until the next command."""

    def advance(self, dt_s: float) -> int:
        """Advance simulated time by ``dt_s`` (whole physics steps); return steps taken."""

    def step(self, cmd: Sequence[float] | NDArray[Any]) -> dict[str, Any]:
        """Command, advance one control period, return the observation."""

    def observation(self, *, images: bool = True) -> dict[str, Any]:
        """Observation dict keyed by the profile's feature keys."""

    def joint_positions(self) -> NDArray[np.float64]:
        """Measured joint positions, rad."""

    def joint_velocities(self) -> NDArray[np.float64]:
        """Measured joint velocities, rad/s."""

    def render(self, camera: str | None = None) -> NDArray[np.uint8]:
        """HxWx3 RGB image of ``camera`` (the first camera when ``None``)."""

    def success(self) -> bool:
        """True when the task is achieved right now."""

    def task_state(self) -> NDArray[np.float64]:
        """Privileged task state (object pose ...), laid out as ``task_state_names``."""

    @property
    def target(self) -> NDArray[np.float64]:
        """The held (clamped) joint target, rad."""

    @property
    def time_s(self) -> float:
        """Simulated time since the last reset, s."""

    def close(self) -> None:
        """Free renderers and environments."""
