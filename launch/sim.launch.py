"""The simulated arm alone, or with its scripted expert teleoperating it (no recording).

    ros2 launch imitation_ros sim.launch.py                      # sim only
    ros2 launch imitation_ros sim.launch.py expert:=true episodes:=5
    imitation-ros launch sim expert:=true                        # without ROS 2

Parameters: config/sim.yaml and config/expert.yaml; the launch overrides only the profile,
the seed, the expert switch, its episode count and use_sim_time.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('imitation_ros')
    profile = LaunchConfiguration('profile')
    return LaunchDescription([
        DeclareLaunchArgument('params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'sim.yaml']), description='sim_node parameters (YAML)'),
        DeclareLaunchArgument('expert_params_file', default_value=PathJoinSubstitution(
            [share, 'config', 'expert.yaml']), description='expert_node parameters (YAML)'),
        DeclareLaunchArgument('profile', default_value='sim_arm.yaml',
                              description='robot profile: path or file name under config/'),
        DeclareLaunchArgument('seed', default_value='0', description='first episode seed'),
        DeclareLaunchArgument('expert', default_value='false',
                              description='also start the scripted expert'),
        DeclareLaunchArgument('episodes', default_value='3',
                              description='episodes the expert runs before exiting'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='the expert follows /clock of the simulator'),
        Node(package='imitation_ros', executable='sim_node', name='sim', output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'profile': profile, 'seed': LaunchConfiguration('seed')}]),
        Node(package='imitation_ros', executable='expert_node', name='expert', output='screen',
             condition=IfCondition(LaunchConfiguration('expert')),
             parameters=[LaunchConfiguration('expert_params_file'),
                         {'profile': profile, 'episodes': LaunchConfiguration('episodes'),
                          'use_recorder': False,
                          'use_sim_time': LaunchConfiguration('use_sim_time')}],
             on_exit=Shutdown(reason='expert finished its episodes')),
    ])
