"""Record demonstrations on the simulated arm: sim + scripted expert + recorder.

    ros2 launch imitation_ros sim_record.launch.py episodes:=20 output_dir:=/tmp/bags
    imitation-ros launch sim_record episodes:=20 output_dir:=/tmp/bags      # without ROS 2

The launch ends when the expert has run its episodes (the recorder then closes its bag).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('imitation_ros')
    profile = LaunchConfiguration('profile')
    return LaunchDescription([
        DeclareLaunchArgument('profile', default_value=PathJoinSubstitution(
            [share, 'config', 'sim_arm.yaml']), description='robot profile (YAML)'),
        DeclareLaunchArgument('episodes', default_value='10',
                              description='demonstrations the expert performs'),
        DeclareLaunchArgument('output_dir', default_value='bags',
                              description='folder the recorder writes its bag into'),
        DeclareLaunchArgument('seed', default_value='0', description='first episode seed'),
        DeclareLaunchArgument('task', default_value='lift_cube',
                              description='sim task: lift_cube | lift_cube_wide (needs eyes)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='recorder and expert follow /clock of the simulator'),
        Node(package='imitation_ros', executable='sim_node', name='sim', output='screen',
             # Never use_sim_time here: the sim publishes /clock from its own timer, and a
             # timer on sim time would wait for a /clock that only it publishes.
             parameters=[PathJoinSubstitution([share, 'config', 'sim.yaml']),
                         {'profile': profile, 'seed': LaunchConfiguration('seed'),
                          'task': LaunchConfiguration('task')}]),
        Node(package='imitation_ros', executable='recorder_node', name='recorder', output='screen',
             parameters=[PathJoinSubstitution([share, 'config', 'record.yaml']),
                         {'profile': profile, 'output_dir': LaunchConfiguration('output_dir'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}]),
        Node(package='imitation_ros', executable='expert_node', name='expert', output='screen',
             parameters=[PathJoinSubstitution([share, 'config', 'expert.yaml']),
                         {'profile': profile, 'episodes': LaunchConfiguration('episodes'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}],
             on_exit=Shutdown(reason='expert finished its episodes')),
    ])
