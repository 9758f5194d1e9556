"""DAgger on the arm: the policy node's output goes through the dagger gate.

    ros2 launch imitation_ros dagger.launch.py profile:=so_arm.yaml checkpoint:=runs/demo/train
    ros2 service call /dagger/enable std_srvs/srv/SetBool "{data: true}"
    ros2 service call /policy/enable std_srvs/srv/SetBool "{data: true}"
    imitation-ros launch dagger profile:=sim_arm.yaml checkpoint:=runs/demo/train enabled:=true

``profile`` has no default (name the arm's; it must state ``max_velocity_rad_s``). Both nodes
start disabled unless ``enabled:=true``.

The policy node's command topic is remapped to /policy/command; dagger_node publishes on the
arm's controller topic (the profile's forward or trajectory topic). The person's leader arm
publishes on the profile's action topic; a deadman button on /joy (button ``joy_button``),
``/dagger/take_over`` (SetBool) or moving the leader away from the follower takes over.
The recorder started beside it (record.launch.py) follows /dagger/human_in_control (its
intervention_topic) and writes InterventionEvent records into the bag.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('imitation_ros')
    profile = LaunchConfiguration('profile')
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'policy.yaml']), description='policy node parameters'),
        DeclareLaunchArgument('dagger_params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'dagger.yaml']), description='dagger node parameters'),
        # no default: a real arm must never run on another arm's (the simulator's) limits
        DeclareLaunchArgument('profile', description='robot profile of the arm (YAML path, or '
                              'a file name under config/; required)'),
        # '' in quotes: launch_ros parses substituted parameter values as YAML (see deploy)
        DeclareLaunchArgument('checkpoint', default_value="''",
                              description='training output folder or checkpoint (required)'),
        DeclareLaunchArgument('mode', default_value='hg',
                              description='hg, classic or label_only'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='follow /clock'),
        DeclareLaunchArgument('enabled', default_value='false',
                              description='true: both nodes command at once; false: wait for '
                                          '/policy/enable and /dagger/enable'),
        Node(package='imitation_ros', executable='policy_node', name='policy', output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'profile': profile, 'command': 'forward',
                          'checkpoint': LaunchConfiguration('checkpoint'),
                          'enabled': LaunchConfiguration('enabled'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}],
             remappings=[('/forward_position_controller/commands', '/policy/command')]),
        Node(package='imitation_ros', executable='dagger_node', name='dagger', output='screen',
             parameters=[LaunchConfiguration('dagger_params_file'),
                         {'profile': profile, 'command': 'forward',
                          'mode': LaunchConfiguration('mode'),
                          'enabled': LaunchConfiguration('enabled'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}]),
    ])
