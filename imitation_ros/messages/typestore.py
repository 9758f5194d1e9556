"""The rosbags typestore with the suite's ``msg/`` definitions registered."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from imitation_ros.errors import MessageError
from imitation_ros.resources import PACKAGE, share_dir

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

#: ROS distributions whose standard message definitions are known. Humble and Jazzy differ in
#: a few types; pick with ``$IMITATION_ROS_DISTRO`` (falls back to ``$ROS_DISTRO``).
DISTROS = ('humble', 'jazzy')


def _distro() -> str:
    name = os.environ.get('IMITATION_ROS_DISTRO') or os.environ.get('ROS_DISTRO') or 'jazzy'
    return name if name in DISTROS else 'jazzy'


def normalize_type(name: str) -> str:
    """Return ``pkg/msg/Name`` for ``pkg/msg/Name``, ``pkg/Name`` or ``pkg::msg::dds_::Name_``.

    Raises:
        MessageError: The name has none of these shapes.
    """
    if '::' in name:
        parts = name.split('::')
        if len(parts) == 4 and parts[2] == 'dds_' and parts[3].endswith('_'):
            return f'{parts[0]}/{parts[1]}/{parts[3][:-1]}'
        if len(parts) == 3:
            return '/'.join(parts)
    parts = name.split('/')
    if len(parts) == 3 and all(parts):
        return name
    if len(parts) == 2 and all(parts):
        return f'{parts[0]}/msg/{parts[1]}'
    msg = f'message type {name!r} is not of the form package/msg/Name'
    raise MessageError(msg)


def own_msg_types() -> dict[str, str]:
    """Return ``{type name: .msg text}`` of the definitions in the package's ``msg/``."""
    folder = share_dir() / 'msg'
    return {
        f'{PACKAGE}/msg/{path.stem}': path.read_text(encoding='utf-8')
        for path in sorted(folder.glob('*.msg'))
    }


@lru_cache(maxsize=4)
def typestore(distro: str | None = None) -> Typestore:
    """Return the typestore of ``distro`` (default: $ROS_DISTRO or jazzy) plus ``msg/``.

    Raises:
        MessageError: A definition in ``msg/`` does not parse.
    """
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    distro = distro or _distro()
    store = get_typestore(Stores.ROS2_HUMBLE if distro == 'humble' else Stores.ROS2_JAZZY)
    types = {}
    for name, text in own_msg_types().items():
        try:
            types.update(get_types_from_msg(text, name))
        except Exception as err:  # rosbags raises several parser errors
            msg = f'{share_dir() / "msg" / name.rsplit("/", 1)[1]}.msg: cannot parse: {err}'
            raise MessageError(msg) from err
    store.register(types)
    return store
