"""Recorder node ``recorder``: profile topics -> rosbag2 bag, episode by episode.

Wiring only; the logic is ``imitation_ros.record.RecordingSession``. Subscribes every topic
of the robot profile with ``raw=True`` (CDR bytes, never deserialized), QoS per
``record.qos.choose_qos``. Services ``~/start_episode`` (Trigger), ``~/stop_episode``
(SetBool, data = success), ``~/discard_episode`` (Trigger); topic ``~/task`` (String) sets
the task text; ``intervention_topic`` (Bool, latched: a DAgger gate's control state)
becomes ``InterventionEvent`` records in the bag. Publishes ``~/status`` (String, JSON) and
``/diagnostics`` at ``status_period_s``. The bag is closed in ``destroy_node`` (SIGINT / SIGTERM).

The records the recorder writes itself are also published live, the same bytes on the same
topic as in the bag (reliable, volatile; so ``ros2 topic echo /episode_events`` shows them and
``ros2 bag play`` of the bag replays them the same way): ``/episode_events``
(``imitation_ros/msg/EpisodeEvent``) and, with ``intervention_topic`` set,
``/intervention_events`` (``imitation_ros/msg/InterventionEvent``). The recorder never
subscribes to these two topics (``plan_topics`` refuses them in a profile), so it cannot record
its own publication. On rclpy the generated classes (``imitation_ros.msg``, built by
``colcon build``) are needed; without them (a source checkout on ``PYTHONPATH``) the records
still go into the bag and the node says once why they are not published.
"""
from __future__ import annotations

import json
import sys
import time
from functools import partial
from typing import Any

from imitation_ros.errors import GraphError, ImitationRosError, RecordError
from imitation_ros.graph import Node, declare_config, msg_type, qos_profile, run, srv_type
from imitation_ros.profile import load_profile
from imitation_ros.record import RecorderConfig, RecordingSession, socket_buffer_warning
from imitation_ros.record.keyboard import HELP, KeyReader
from imitation_ros.record.session import (
    EVENT_TYPE,
    EVENTS_TOPIC,
    INTERVENTION_TOPIC,
    INTERVENTION_TYPE,
)
from imitation_ros.resources import resolve_config

String = msg_type('std_msgs/msg/String')
Bool = msg_type('std_msgs/msg/Bool')
DiagnosticArray = msg_type('diagnostic_msgs/msg/DiagnosticArray')
DiagnosticStatus = msg_type('diagnostic_msgs/msg/DiagnosticStatus')
KeyValue = msg_type('diagnostic_msgs/msg/KeyValue')
Trigger = srv_type('std_srvs/srv/Trigger')
SetBool = srv_type('std_srvs/srv/SetBool')
DISCOVERY_WAIT_S = 1.0


class RecorderNode(Node):
    """Records the profile's topics; episodes are driven by services, Joy or the keyboard."""

    def __init__(self) -> None:
        super().__init__('recorder')
        cfg = declare_config(self, RecorderConfig, runtime=('task',), on_change=self._on_config)
        profile = load_profile(resolve_config(cfg.profile))
        warning = socket_buffer_warning(profile)
        if warning is not None:
            self.get_logger().warning(warning)
        self._session = RecordingSession(cfg, profile)   # ConfigError before any bag exists
        qos = self._choose_qos()
        bag = self._session.open(self._now(), qos)
        try:
            for topic, plan in self._session.plans.items():
                depth = max(100, int(2 * (plan.expected_hz or 0)))     # 2 s of messages
                self.create_subscription(msg_type(plan.type), topic, partial(self._on_raw, topic),
                                         qos_profile(qos[topic], depth), raw=True)
            self.create_subscription(String, '~/task', self._on_task, qos_profile('latched'))
            if cfg.intervention_topic:      # DAgger gate's control state -> InterventionEvent
                self.create_subscription(Bool, cfg.intervention_topic, self._on_control,
                                         qos_profile('latched'))
            self.create_service(Trigger, '~/start_episode', self._on_start)
            self.create_service(SetBool, '~/stop_episode', self._on_stop)
            self.create_service(Trigger, '~/discard_episode', self._on_discard)
            self._status_pub = self.create_publisher(String, '~/status', qos_profile('reliable'))
            self._diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics',
                                                   qos_profile('reliable'))
            self._record_pubs = self._record_publishers(cfg)
            self._session.on_record = self._publish_record
            self.create_timer(min(0.1, cfg.flush_period_s / 2), self._tick)
            self.create_timer(cfg.status_period_s, self._publish_status)
        except Exception:                     # no node to destroy: close the bag here
            self._session.close(self._now(), reason='recorder failed to start')
            raise
        self._keys = KeyReader() if cfg.keyboard else None
        if self._keys is not None:
            self.get_logger().info(HELP)
        self.get_logger().info(
            f'recording {len(self._session.plans)} topic(s) of profile {profile.name!r} into '
            f'{bag}; start an episode with ~/start_episode')
        for topic in sorted(self._session.plans):
            self.get_logger().info(f'  {topic} [{self._session.plans[topic].type}] '
                                   f'QoS {qos[topic]}')

    def _now(self) -> int:
        return self.get_clock().now().nanoseconds

    def _record_publishers(self, cfg: RecorderConfig) -> dict[str, Any]:
        """Publishers of the records the session writes itself (topic and QoS as in the bag)."""
        wanted = [(EVENTS_TOPIC, EVENT_TYPE)]
        if cfg.intervention_topic:
            wanted.append((INTERVENTION_TOPIC, INTERVENTION_TYPE))
        pubs = {}
        for topic, mtype in wanted:
            try:
                cls = msg_type(mtype)
            except GraphError as err:
                self.get_logger().warning(f'{topic}: written into the bag, not published live: '
                                          f'{err}')
                continue
            pubs[topic] = self.create_publisher(cls, topic, qos_profile('reliable', 100))
        return pubs

    def _publish_record(self, topic: str, data: bytes) -> None:
        pub = self._record_pubs.get(topic)
        if pub is not None:
            pub.publish(data)         # the CDR written into the bag (rclpy: publish_raw)

    def _choose_qos(self) -> dict[str, str]:
        """QoS per topic; ``auto`` topics wait up to 1 s for their publishers to be discovered.

        Right after the node is created (rclpy or DDS backend) discovery has usually not yet
        reported the publishers, and a reliable subscription to a best-effort publisher
        receives nothing. Discovery runs in the middleware's own thread, so polling without
        spinning sees it.
        """
        plans = self._session.plans
        auto = [t for t, plan in plans.items() if getattr(plan, 'qos', 'auto') == 'auto']
        deadline = time.monotonic() + DISCOVERY_WAIT_S
        while auto and time.monotonic() < deadline:
            if all(self._offered(t) for t in auto):
                break
            time.sleep(0.05)
        return {t: plan.choose_qos(self._offered(t)) for t, plan in plans.items()}

    def _offered(self, topic: str) -> list[str] | None:
        info = getattr(self, 'get_publishers_info_by_topic', None)
        if info is None:
            return None
        try:
            return [getattr(e.qos_profile.reliability, 'name', str(e.qos_profile.reliability))
                    for e in info(topic)]
        except Exception:  # noqa: BLE001 - graph introspection is best effort
            return None

    def _on_raw(self, topic: str, data: bytes) -> None:
        self._session.on_message(topic, self._now(), data)

    def _on_control(self, msg: Any) -> None:
        self._session.on_control(self._now(), bool(msg.data))

    def _on_config(self, cfg: RecorderConfig) -> None:
        """Run-time parameter change (only ``task`` is accepted; the rest needs a restart)."""
        self._session.set_task(cfg.task)
        self.get_logger().info(f'task of the next episodes: {cfg.task!r} (parameter)')

    def _on_task(self, msg: Any) -> None:
        self._session.set_task(str(msg.data))
        self.get_logger().info(f'task of the next episodes: {msg.data!r}')

    def _say(self, notice: Any) -> None:
        # One call site per severity: rclpy raises ValueError when a line logs at two levels.
        log = self.get_logger()
        if notice.level == 'error':
            log.error(notice.text)
        elif notice.level == 'warn':
            log.warning(notice.text)
        else:
            log.info(notice.text)

    def _log(self, notices: list[Any]) -> None:
        for n in notices:
            self._say(n)
        if notices:
            self._publish_status()

    def _tick(self) -> None:
        for cmd in self._keys.poll() if self._keys is not None else []:
            self._log(self._session.command(cmd, self._now()))
        self._log(self._session.tick(self._now()))

    def _on_start(self, request: Any, response: Any) -> Any:
        notes = self._session.command('start', self._now())
        response.success = self._session.recording
        response.message = notes[0].text
        self._log(notes)
        return response

    def _on_stop(self, request: Any, response: Any) -> Any:
        notes = self._session.command('stop_success' if request.data else 'stop_fail',
                                      self._now())
        response.success = notes[0].level != 'warn' or 'discarded' in notes[0].text
        response.message = notes[0].text
        self._log(notes)
        return response

    def _on_discard(self, request: Any, response: Any) -> Any:
        notes = self._session.command('discard', self._now())
        response.success = 'discarded' in notes[0].text
        response.message = notes[0].text
        self._log(notes)
        return response

    def _publish_status(self) -> None:
        now = self._now()
        self._status_pub.publish(String(data=json.dumps(self._session.status(now))))
        arr = DiagnosticArray()
        arr.header.stamp.sec, arr.header.stamp.nanosec = now // 10**9, now % 10**9
        for entry in self._session.diagnostics(now):
            st = DiagnosticStatus(name=entry.name, message=entry.message, hardware_id='recorder',
                                  values=[KeyValue(key=k, value=v)
                                          for k, v in entry.values.items()])
            # rclpy's 'byte' fields take bytes of length 1 (DiagnosticStatus.OK is b'\\x00').
            st.level = (bytes([entry.level]) if isinstance(DiagnosticStatus.OK, bytes)
                        else entry.level)
            arr.status.append(st)
        self._diag_pub.publish(arr)

    def destroy_node(self) -> None:
        """Close the bag (an active episode ends with STOP, success false) and the node."""
        if getattr(self, '_keys', None) is not None:
            self._keys.close()
        session = getattr(self, '_session', None)
        if session is not None:
            for n in session.close(self._now(), reason='recorder shut down during the episode'):
                self._say(n)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Entry point of ``recorder_node``; a bad profile or config exits 1 with the reason."""
    try:
        run(RecorderNode, args)
    except (ImitationRosError, RecordError) as err:
        sys.stderr.write(f'recorder_node: error: {err}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
