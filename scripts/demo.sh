#!/usr/bin/env bash
# Set up what is missing (scripts/setup.sh), then run the whole loop on the simulated arm:
# record demonstrations (sim + scripted expert + recorder over DDS), convert, train,
# evaluate offline and closed loop. Extra arguments go to `imitation-ros demo`
# (e.g. --policy act --episodes 50 --steps 5000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
VENV="${IMITATION_ROS_VENV:-$ROOT/.venv}"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}" \
  HF_HUB_OFFLINE=1 MUJOCO_GL="${MUJOCO_GL:-egl}" PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
exec "$VENV/bin/imitation-ros" demo "$@"
