"""Find the package's shared files (``msg/``, ``config/``, ``launch/``) wherever it is installed.

Looked up in order: ``$IMITATION_ROS_SHARE``; the source tree (an editable or colcon
``--symlink-install`` checkout); ``<prefix>/share/imitation_ros`` of a pip or colcon install;
ament_index when ROS 2 is sourced.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from imitation_ros.errors import ConfigError

PACKAGE = 'imitation_ros'


@lru_cache(maxsize=1)
def share_dir() -> Path:
    """Return the directory that holds ``msg/``, ``config/`` and ``launch/``.

    Raises:
        ConfigError: None of the known places holds the package's ``msg/`` folder.
    """
    candidates: list[Path] = []
    if os.environ.get('IMITATION_ROS_SHARE'):
        candidates.append(Path(os.environ['IMITATION_ROS_SHARE']))
    candidates.append(Path(__file__).resolve().parent.parent)
    # colcon: <prefix>/lib/pythonX.Y/site-packages/imitation_ros/resources.py, or with
    # Debian's layout <prefix>/local/lib/pythonX.Y/dist-packages/...: the first ancestor that
    # holds share/imitation_ros. Not resolved, so a symlinked install finds its own prefix.
    here = Path(os.path.abspath(__file__))
    candidates.extend(parent / 'share' / PACKAGE for parent in list(here.parents)[1:6])
    candidates.append(Path(sys.prefix) / 'share' / PACKAGE)
    try:  # pragma: no cover - only with ROS 2 sourced
        from ament_index_python.packages import get_package_share_directory

        candidates.append(Path(get_package_share_directory(PACKAGE)))
    except Exception:  # noqa: BLE001 - ament_index missing or package not in the index
        pass
    for cand in candidates:
        if (cand / 'msg').is_dir():
            return cand
    looked = [str(c) for c in candidates]
    msg = f'cannot find the {PACKAGE} share folder (msg/); looked in {looked}'
    raise ConfigError(msg)


def config_path(name: str) -> Path:
    """Return the path of a file under the package's ``config/`` (``sim_arm.yaml``)."""
    return share_dir() / 'config' / name


def resolve_config(path_or_name: str | os.PathLike[str]) -> Path:
    """Return ``path_or_name`` if it exists, else the file of that name in ``config/``."""
    path = Path(path_or_name)
    if path.exists():
        return path
    cand = config_path(str(path_or_name))
    if cand.exists():
        return cand
    cand = config_path(f'{path_or_name}.yaml')
    if cand.exists():
        return cand
    msg = f'{path_or_name}: no such file, and no config/{path.name} in {share_dir()}'
    raise ConfigError(msg)
