#!/usr/bin/env bash
# Set up what is missing (scripts/setup.sh) and run the test suite.
# Sources ROS 2 ($IMITATION_ROS_ROS_ENV, else /opt/ros/jazzy/setup.bash, else
# /opt/ros/humble/setup.bash) when it is installed and not sourced already, so the tests
# marked `ros` run (real rclpy, ros2 CLI, colcon); where rclpy does not import they are deselected,
# as are `gpu` tests without CUDA. The test process itself stays on the DDS backend either way
# (test/conftest.py). IMITATION_ROS_NO_ROS=1 skips sourcing ROS 2. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
VENV="${IMITATION_ROS_VENV:-$ROOT/.venv}"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 \
  MKL_NUM_THREADS=1 MUJOCO_GL="${MUJOCO_GL:-egl}" PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
ROS_ENV="${IMITATION_ROS_ROS_ENV:-}"
for f in /opt/ros/jazzy/setup.bash /opt/ros/humble/setup.bash; do
  [ -n "$ROS_ENV" ] || [ ! -f "$f" ] || ROS_ENV="$f"
done
if [ -z "${IMITATION_ROS_NO_ROS:-}" ] && [ -z "${ROS_DISTRO:-}" ] && [ -n "$ROS_ENV" ] \
    && [ -f "$ROS_ENV" ]; then
  echo "test: sourcing $ROS_ENV (tests marked ros will run)"
  set +u   # ROS 2's setup scripts read unset variables
  # shellcheck disable=SC1090
  source "$ROS_ENV"
  set -u
fi
marks=()
python_has() { "$VENV/bin/python" -c "import $1" >/dev/null 2>&1; }
python_has rclpy || marks+=("not ros")
"$VENV/bin/python" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  >/dev/null 2>&1 || marks+=("not gpu")
sel=""
for m in "${marks[@]}"; do sel="${sel:+$sel and }$m"; done
exec "$VENV/bin/python" -m pytest ${sel:+-m "$sel"} "$@"
