"""Cyclone configuration built from ROS discovery variables.

Regressions pinned:
- LOCALHOST (and the default with no variable set) uses loopback only, multicast off, unicast
  peer localhost with enough participant indices; never Cyclone's multicast default.
- OFF has no peers; SUBNET honours $CYCLONEDDS_URI; ROS_STATIC_PEERS become peers.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from imitation_ros.errors import GraphError
from imitation_ros.graph.dds.context import cyclone_config, discovery_range, domain_id


def _parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


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
    assert cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET',
                           'CYCLONEDDS_URI': 'file:///x.xml'}) == 'file:///x.xml'
    assert cyclone_config({'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}) is None
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
