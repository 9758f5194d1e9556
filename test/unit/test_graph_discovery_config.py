"""Cyclone configuration built from ROS discovery variables.

Regressions pinned:
- LOCALHOST (and the default with no variable set) uses loopback only, multicast off, unicast
  peer localhost with enough participant indices; never Cyclone's multicast default.
- OFF has no peers; SUBNET honours $CYCLONEDDS_URI; ROS_STATIC_PEERS become peers.
- every mode asks for a big socket receive buffer (max only, never a min the kernel may refuse);
- $CYCLONEDDS_URI is merged after ours (user wins) in LOCALHOST mode too, with multicast forced
  off again after it; OFF ignores it. A real Cyclone participant reads the merged list.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from imitation_ros.errors import GraphError
from imitation_ros.graph.dds.context import (
    SOCKET_RCVBUF_MAX,
    cyclone_config,
    discovery_range,
    domain_id,
)


def _sources(config: str) -> list[str]:
    """The comma-separated sources of a config (the XML here holds no commas)."""
    return config.split(',')


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(_sources(xml)[0])


@pytest.mark.parametrize('env', [{'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}, {},
                                 {'ROS_LOCALHOST_ONLY': '1'},
                                 {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'localhost',
                                  'CYCLONEDDS_URI': '<CycloneDDS/>'}])
def test_localhost_is_loopback_without_multicast(env: dict[str, str]) -> None:
    assert discovery_range(env) == 'LOCALHOST'
    root = _parse(cyclone_config(env))
    assert root.findtext('.//AllowMulticast') == 'false'
    ifaces = root.findall('.//Interfaces/NetworkInterface')
    assert [i.get('address') for i in ifaces] == ['127.0.0.1']
    assert ifaces[0].get('multicast') == 'false'
    assert [p.get('address') for p in root.findall('.//Peers/Peer')] == ['localhost']
    assert int(root.findtext('.//MaxAutoParticipantIndex')) >= 32
    assert root.findtext('.//ParticipantIndex') == 'auto'
    assert 'SPDPMulticastAddress' not in cyclone_config(env)


def test_off_has_no_peers() -> None:
    env = {'ROS_AUTOMATIC_DISCOVERY_RANGE': 'OFF', 'ROS_STATIC_PEERS': '10.0.0.2'}
    root = _parse(cyclone_config(env))
    assert root.findtext('.//AllowMulticast') == 'false'
    assert root.findall('.//Peer') == []


def test_subnet_uses_user_uri_and_static_peers() -> None:
    cfg = cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET',
                          'CYCLONEDDS_URI': 'file:///x.xml'})
    assert cfg.endswith(',file:///x.xml')  # after ours: the user's values win
    root = _parse(cfg)
    assert root.find('.//AllowMulticast') is None and root.find('.//Peers') is None
    assert 'AllowMulticast' not in cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'})
    assert discovery_range({'ROS_LOCALHOST_ONLY': '0'}) == 'SUBNET'
    root = _parse(cyclone_config({'ROS_STATIC_PEERS': '10.0.0.2;host.b'}))
    assert [p.get('address') for p in root.findall('.//Peer')] == [
        'localhost', '10.0.0.2', 'host.b']


def test_bad_values() -> None:
    with pytest.raises(GraphError, match='ROS_AUTOMATIC_DISCOVERY_RANGE'):
        discovery_range({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LAN'})
    with pytest.raises(GraphError, match='ROS_DOMAIN_ID'):
        domain_id({'ROS_DOMAIN_ID': '999'})
    assert domain_id({}) == 0 and domain_id({'ROS_DOMAIN_ID': '42'}) == 42


@pytest.mark.parametrize('rng', ['LOCALHOST', 'OFF', 'SUBNET', 'SYSTEM_DEFAULT'])
def test_every_mode_asks_for_a_big_receive_buffer(rng: str) -> None:
    root = _parse(cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': rng}))
    (elem,) = root.findall('.//Internal/SocketReceiveBufferSize')
    # an explicit min above net.core.rmem_max makes Cyclone refuse to create the participant
    assert elem.get('min') == 'default' and elem.get('max') == SOCKET_RCVBUF_MAX


def test_localhost_merges_user_uri_but_keeps_multicast_off() -> None:
    user = ('<CycloneDDS><Domain><General><AllowMulticast>true</AllowMulticast></General>'
            '</Domain></CycloneDDS>')
    parts = _sources(cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
                                     'CYCLONEDDS_URI': user}))
    assert len(parts) == 3 and parts[1] == user
    assert ET.fromstring(parts[2]).findtext('.//AllowMulticast') == 'false'
    parts = _sources(cyclone_config({'CYCLONEDDS_URI': 'file:///etc/dds.xml'}))
    assert parts[0].startswith('<CycloneDDS>') and parts[1] == 'file:///etc/dds.xml'
    assert len(parts) == 3 and 'false' in parts[2]
    # OFF: isolation first, the user's file (and its peers) is not read
    off = cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'OFF', 'CYCLONEDDS_URI': user})
    assert 'true' not in off and len(_sources(off)) == 1


def test_cyclone_reads_the_merged_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       ros_domain: int) -> None:
    """A real participant with the merged list: user buffer wins, multicast stays off."""
    trace = tmp_path / 'cyclone.log'
    user = ('<CycloneDDS><Domain><General><AllowMulticast>true</AllowMulticast></General>'
            '<Internal><SocketReceiveBufferSize max="2MiB"/></Internal>'
            f'<Tracing><Category>config</Category><OutputFile>{trace}</OutputFile></Tracing>'
            '</Domain></CycloneDDS>')
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    monkeypatch.setenv('CYCLONEDDS_URI', user)
    from imitation_ros.graph.dds import context

    ctx = context.Context([])
    try:
        _ = ctx.participant
    finally:
        ctx.shutdown()
    text = trace.read_text()
    assert 'Domain/General/AllowMulticast/#text: false {0,1,2}' in text
    assert 'Domain/Internal/SocketReceiveBufferSize[@max]: 2 MiB {0,1}' in text
    assert 'Domain/Internal/SocketReceiveBufferSize[@min]: default {0}' in text
