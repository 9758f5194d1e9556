#!/usr/bin/env bash
# Set up what is missing on a fresh Debian/Ubuntu machine without ROS 2: system libraries
# (FFmpeg for video, EGL/OSMesa for headless MuJoCo rendering), a venv with the pinned Python
# dependencies, and imitation_ros itself (editable). Safe to run again: skips what is there.
#   IMITATION_ROS_VENV=/path   venv location (default: <repo>/.venv)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IMITATION_ROS_VENV:-$ROOT/.venv}"
APT_PKGS=(ffmpeg libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0 libosmesa6
          chromium chromium-driver)   # chromium: the review page's browser tests

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.imitation_ros_requirements.sha"
want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-gail.txt" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies into $VENV (first time: 2-3 min, ~8 GB)"
  "$VENV/bin/python" -m pip install -q --upgrade pip wheel
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements.txt"
  # imitation (GAIL) pins an older gymnasium than lerobot; it runs on ours: no deps of its own.
  "$VENV/bin/python" -m pip install -q --no-deps -r "$ROOT/requirements-gail.txt"
  "$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT"
  echo "$want" > "$stamp"
fi
echo "setup: ready ($VENV)"
