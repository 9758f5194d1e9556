"""Run a trained policy on the arm (real or simulated).

    ros2 launch imitation_ros deploy.launch.py checkpoint:=runs/demo/train
    imitation-ros launch deploy checkpoint:=runs/demo/train            # without ROS 2
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
            [share, 'config', 'policy.yaml']), description='policy node parameters'),
        DeclareLaunchArgument('profile', default_value=PathJoinSubstitution(
            [share, 'config', 'sim_arm.yaml']), description='robot profile (YAML)'),
        # The default is the YAML text '' (quotes included): launch_ros parses substituted
        # parameter values as YAML, and a bare '' (None) fails "Allowed value types are ...".
        # The policy node then refuses to start and asks for checkpoint:=...
        DeclareLaunchArgument('checkpoint', default_value="''",
                              description='training output folder or checkpoint (required)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='follow /clock'),
        Node(package='imitation_ros', executable='policy_node', name='policy', output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'profile': LaunchConfiguration('profile'),
                          'checkpoint': LaunchConfiguration('checkpoint'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}]),
    ])
