"""Summary of a bag for ``imitation-ros bag info``: topics, episodes, health, closed or not."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imitation_ros.errors import BagError
from imitation_ros.messages import typestore
from imitation_ros.record.bag_writer import read_metadata
from imitation_ros.record.recover import EVENT_TYPE, EVENTS_TOPIC, is_closed


def bag_summary(path: str | Path) -> dict[str, Any]:
    """Return topics (type, count), episodes (from /episode_events) and recorder health.

    An unclosed bag (kill -9) is summarized from its last ``metadata.yaml`` snapshot, with
    ``closed: False`` and a hint to run ``imitation-ros bag recover``.

    Raises:
        BagError: ``path`` is not a readable bag.
    """
    from rosbags.highlevel import AnyReader, AnyReaderError

    bag = Path(path)
    if not bag.is_dir():
        msg = f'{bag}: not a bag directory'
        raise BagError(msg)
    meta = read_metadata(bag)
    custom = dict((meta or {}).get('custom_data') or {})
    out: dict[str, Any] = {'bag': str(bag), 'closed': is_closed(bag)}
    if meta is not None:
        out['storage'] = meta.get('storage_identifier')
        out['message_count'] = meta.get('message_count')
        out['duration_s'] = round((meta.get('duration') or {}).get('nanoseconds', 0) / 1e9, 3)
    if not out['closed']:
        if meta is None:
            msg = f'{bag}: no readable metadata.yaml and the bag is not closed'
            raise BagError(msg)
        out['topics'] = {
            e['topic_metadata']['name']: {'type': e['topic_metadata']['type'],
                                          'count': e['message_count']}
            for e in meta.get('topics_with_message_count') or []}
        out['hint'] = f'bag was not closed; run: imitation-ros bag recover {bag}'
        out['episodes'] = _json(custom.get('imitation_ros.episodes'))
        return out
    try:
        with AnyReader([bag], default_typestore=typestore()) as reader:
            out['topics'] = {c.topic: {'type': c.msgtype, 'count': c.msgcount}
                             for c in reader.connections}
            conns = [c for c in reader.connections
                     if c.topic == EVENTS_TOPIC and c.msgtype == EVENT_TYPE]
            episodes: list[dict[str, Any]] = []
            open_ep: dict[str, Any] | None = None
            for conn, t_ns, raw in reader.messages(conns):
                ev = reader.deserialize(raw, conn.msgtype)
                if ev.event == 0:
                    open_ep = {'index': int(ev.episode_index), 'task': ev.task,
                               'start_ns': t_ns}
                elif open_ep is not None:
                    open_ep.update({
                        'kept': ev.event == 1, 'success': bool(ev.success),
                        'reason': ev.reason,
                        'duration_s': round((t_ns - open_ep['start_ns']) / 1e9, 3)})
                    episodes.append(open_ep)
                    open_ep = None
            if open_ep is not None:
                open_ep.update({'kept': None, 'reason': 'no STOP/DISCARD event'})
                episodes.append(open_ep)
    except AnyReaderError as err:
        msg = f'{bag}: cannot read bag: {err}'
        raise BagError(msg) from err
    known = {e.get('index'): e for e in _json(custom.get('imitation_ros.episodes')) or []}
    for ep in episodes:
        if known.get(ep['index'], {}).get('frames') is not None:
            ep['frames'] = known[ep['index']]['frames']
    out['episodes'] = episodes
    out['health'] = _json(custom.get('imitation_ros.health'))
    if 'imitation_ros.recovered' in custom:
        out['recovered'] = _json(custom['imitation_ros.recovered'])
    return out


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
