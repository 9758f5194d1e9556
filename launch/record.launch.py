"""Record teleoperated demonstrations into a rosbag2 bag, episode by episode.

    ros2 launch imitation_ros record.launch.py profile:=so_arm.yaml output_dir:=/data/bags
    imitation-ros launch record profile:=so_arm.yaml output_dir:=/data/bags   # without ROS 2

Then, per demonstration: ``ros2 service call /recorder/start_episode std_srvs/srv/Trigger``,
demonstrate, ``ros2 service call /recorder/stop_episode std_srvs/srv/SetBool "{data: true}"``
(or ``/recorder/discard_episode``). Parameters: config/record.yaml.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('imitation_ros')
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'record.yaml']), description='recorder parameters (YAML)'),
        DeclareLaunchArgument('profile', default_value='sim_arm.yaml',
                              description='robot profile: path or file name under config/'),
        DeclareLaunchArgument('output_dir', default_value='bags',
                              description='folder the recorder writes its bags into'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='stamp events with /clock'),
        Node(package='imitation_ros', executable='recorder_node', name='recorder',
             output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'profile': LaunchConfiguration('profile'),
                          'output_dir': LaunchConfiguration('output_dir'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}]),
    ])
