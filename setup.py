"""``pip install`` of ``imitation_ros`` (no ROS, no CMake, no generated message classes).

``colcon build`` uses CMakeLists.txt (ament_cmake + rosidl) instead; both install the same
executables and share/ files (test/unit/test_package_ros_layout.py compares them).
"""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'imitation_ros'
NODES = ['sim_node', 'expert_node', 'recorder_node', 'policy_node', 'dagger_node']

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(include=[PACKAGE, f'{PACKAGE}.*']),
    package_data={f'{PACKAGE}.review': ['static/*.html']},
    python_requires='>=3.10',
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml')),
        (f'share/{PACKAGE}/msg', glob('msg/*.msg')),
    ],
    install_requires=[
        'numpy',
        'pyyaml',
        'rosbags>=0.11,<0.12',
        'tqdm',
        'matplotlib',
        'opencv-python-headless',
    ],
    extras_require={
        # DDS backend for running without ROS 2 (not needed with rclpy sourced).
        'dds': ['cyclonedds==11.0.1'],
        'sim': ['mujoco>=3.3,<3.9', 'gymnasium>=1.1,<2'],
        'learn': ['torch==2.9.1', 'torchvision==0.24.1', 'torchcodec==0.9.1', 'lerobot==0.4.4'],
        'aloha': ['gym-aloha==0.1.5'],
        'test': ['pytest', 'pytest-timeout'],
    },
    zip_safe=False,   # resources.py and the nodes read files next to the package
    maintainer='imitation_ros maintainers',
    maintainer_email='maintainers@users.noreply.r-seed-a34dc11a.example',
    description='Teach a ROS 2 arm by demonstration (record, convert, train, deploy, DAgger).',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'imitation-ros = imitation_ros.cli.main:main',
            *[f'{n} = {PACKAGE}.nodes.{n}:main' for n in NODES],
        ],
    },
)
