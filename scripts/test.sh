#!/usr/bin/env bash
# Set up what is missing (scripts/setup.sh) and run the test suite on the DDS backend.
# Tests needing a sourced ROS 2 (marker `ros`) or a GPU (marker `gpu`) are deselected unless
# ROS 2 / CUDA is present. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
VENV="${IMITATION_ROS_VENV:-$ROOT/.venv}"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 \
  MKL_NUM_THREADS=1 MUJOCO_GL="${MUJOCO_GL:-egl}" PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
marks=()
python_has() { "$VENV/bin/python" -c "import $1" >/dev/null 2>&1; }
python_has rclpy || marks+=("not ros")
"$VENV/bin/python" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  >/dev/null 2>&1 || marks+=("not gpu")
sel=""
for m in "${marks[@]}"; do sel="${sel:+$sel and }$m"; done
exec "$VENV/bin/python" -m pytest ${sel:+-m "$sel"} "$@"
