"""The scripted expert as the DAgger person: recovers from states a policy drove into, and
its takeover monitor takes over when the policy strays, hands back when it agrees again."""
from __future__ import annotations

import os

import numpy as np
import pytest

from imitation_ros.errors import ConfigError
from imitation_ros.sim.expert import TakeoverConfig, TakeoverMonitor

os.environ.setdefault('MUJOCO_GL', 'egl')


@pytest.mark.parametrize('seed', [3, 11])
def test_expert_recovers_from_half_closed_gripper_in_the_air(seed: int) -> None:
    from imitation_ros.sim import ArmSim, ScriptedExpert, load_profile_for_sim

    sim = ArmSim(load_profile_for_sim())
    try:
        expert = ScriptedExpert(sim.geometry, sim.joint_names)
        sim.reset(seed)
        grip = sim.joint_names.index('gripper')
        bad = sim.joint_positions().copy()
        bad[grip] = 0.3                     # a policy closed the gripper half-way on nothing
        for _ in range(30):
            sim.set_command(bad)
            sim.advance(sim.control_period_s)
        assert 0.15 < sim.joint_positions()[grip] < 0.45      # looks like "holding"
        expert.reset(seed)
        phases = set()
        for _ in range(int(6.0 / sim.control_period_s)):      # the expert takes over
            sim.set_command(expert.act(sim.task_state(), sim.joint_positions(), sim.time_s))
            phases.add(expert.phase)
            sim.advance(sim.control_period_s)
        assert 'reopen' in phases
        assert sim.success(), f'expert did not recover (phases {phases})'
    finally:
        sim.close()


def test_monitor_takes_over_drives_and_hands_back() -> None:
    cfg = TakeoverConfig(takeover_rad=0.15, handback_rad=0.08, takeover_s=0.1, agree_s=0.3,
                         min_drive_s=0.5)
    mon = TakeoverMonitor([0, 1, 2, 3, 4], 5, cfg)
    expert = np.zeros(6)
    dt = 1 / 30
    t = 0.0
    for _ in range(10):                       # agrees: the policy drives
        assert not mon.update(expert + 0.05, expert, t)
        t += dt
    off = expert.copy()
    off[1] = 0.3
    states = []
    for _ in range(6):                        # strays
        states.append(mon.update(off, expert, t))
        t += dt
    assert not states[0] and states[-1]       # not at once: after takeover_s
    took = t - dt
    back_at = None
    for _ in range(60):                       # agrees again at once
        if not mon.update(expert + 0.02, expert, t):
            back_at = t
            break
        t += dt
    assert back_at is not None and back_at - took >= cfg.min_drive_s - 1e-9
    # once taken over, a policy agreeing only every other period does not win control back
    mon.reset()
    flips = 0
    prev = False
    for k in range(300):
        now = mon.update(off if (k % 2 or k < 10) else expert, expert, k * dt)
        flips += now != prev
        prev = now
    assert flips == 1
    with pytest.raises(ConfigError, match='handback_rad'):
        TakeoverConfig(takeover_rad=0.1, handback_rad=0.2)


def test_expert_node_takeover_config_is_checked() -> None:
    """Takeover mode needs the gate to command the arm (output leader); the thresholds reach
    the monitor; bad values are refused naming the parameter."""
    from imitation_ros.sim import ExpertNodeConfig

    assert ExpertNodeConfig().takeover == 'none'
    cfg = ExpertNodeConfig(takeover='joy', output='leader', takeover_rad=0.3, handback_rad=0.2,
                           agree_s=0.1, takeover_gripper_rad=0.7)
    assert cfg.takeover_config() == TakeoverConfig(takeover_rad=0.3, handback_rad=0.2,
                                                   agree_s=0.1, gripper_rad=0.7)
    with pytest.raises(ConfigError, match='needs output leader'):
        ExpertNodeConfig(takeover='service', output='both')
    with pytest.raises(ConfigError, match='handback_rad'):
        ExpertNodeConfig(takeover='service', output='leader', handback_rad=0.2)
    with pytest.raises(ConfigError, match='takeover must be'):
        ExpertNodeConfig(takeover='always', output='leader')
    with pytest.raises(ConfigError, match='policy_stale_s'):
        ExpertNodeConfig(policy_stale_s=0.0)
