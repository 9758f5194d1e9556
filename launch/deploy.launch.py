"""Run a trained policy on the arm (real or simulated).

    ros2 launch imitation_ros deploy.launch.py profile:=so_arm.yaml checkpoint:=runs/demo/train
    ros2 service call /policy/enable std_srvs/srv/SetBool "{data: true}"   # then it moves
    imitation-ros launch deploy profile:=sim_arm.yaml checkpoint:=runs/demo/train enabled:=true

``profile`` has no default: name the arm's profile (a path, or a file under config/; it must
state ``max_velocity_rad_s``). The policy node starts disabled unless ``enabled:=true``.
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
        # no default: a real arm must never run on another arm's (the simulator's) limits
        DeclareLaunchArgument('profile', description='robot profile of the arm (YAML path, or '
                              'a file name under config/; required)'),
        # The default is the YAML text '' (quotes included): launch_ros parses substituted
        # parameter values as YAML, and a bare '' (None) fails "Allowed value types are ...".
        # The policy node then refuses to start and asks for checkpoint:=...
        DeclareLaunchArgument('checkpoint', default_value="''",
                              description='training output folder or checkpoint (required)'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='follow /clock'),
        DeclareLaunchArgument('enabled', default_value='false',
                              description='true: command at once; false: wait for '
                                          '/policy/enable'),
        Node(package='imitation_ros', executable='policy_node', name='policy', output='screen',
             parameters=[LaunchConfiguration('params_file'),
                         {'profile': LaunchConfiguration('profile'),
                          'checkpoint': LaunchConfiguration('checkpoint'),
                          'enabled': LaunchConfiguration('enabled'),
                          'use_sim_time': LaunchConfiguration('use_sim_time')}]),
    ])
