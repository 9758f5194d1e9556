"""What `colcon build` / `ros2 run` / `ros2 launch` under ROS 2 (Jazzy, Humble) need, checked
statically: no ROS 2 is installed here, so nothing imports rclpy or launch.

* setup.py (``pip install``) installs launch/, config/, msg/, package.xml and the ament index
  marker, and every node module is a console script with a ``main``; setup.cfg puts scripts in
  lib/<pkg>.
* CMakeLists.txt (``colcon build``, ament_cmake) generates every msg/*.msg with rosidl, installs
  the hand-written modules after the generator (and never calls ament_python_install_package
  for the package a second time), a launcher in lib/<pkg> for every console script of
  setup.py (same function), and launch/, config/, msg/; the source tree has no
  ``imitation_ros/msg`` (the generated subpackage's name). Checked statically, and by a
  configure + install with stand-ins for the ament/rosidl CMake packages when cmake exists.
* package.xml is format 3, ament_cmake with the rosidl build/exec dependencies, in
  ``rosidl_interface_packages``, depends on no RMW, and every dependency is a known ROS
  package or rosdep key.
* The package parses as Python 3.10 (Humble) and uses no 3.11+ stdlib names.
* Launch files use only the launch API subset that ``imitation_ros.cli.launcher`` stands in
  for, and no '' launch-argument default (launch_ros parses it as YAML None and fails).
* Node classes do not overwrite attributes of rclpy's ``Node``.
* config/<node>.yaml params files only hold keys of the node's config dataclass.
* ``resources.share_dir()`` finds share/ in a colcon install layout.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import os
import re
import runpy
import shutil
import sys
import xml.etree.ElementTree as ET
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from imitation_ros.cli import launcher

ROOT = Path(__file__).resolve().parents[2]
PKG = 'imitation_ros'
NODE_FILES = sorted(p for p in (ROOT / PKG / 'nodes').glob('*.py') if p.name != '__init__.py')
LAUNCH_FILES = sorted((ROOT / 'launch').glob('*.launch.py'))
PY_FILES = sorted([*(ROOT / PKG).rglob('*.py'), *LAUNCH_FILES, ROOT / 'setup.py'])

# ROS 2 packages and rosdep keys (rosdistro base.yaml / python.yaml) that Jazzy and Humble have.
KNOWN_DEPENDS = {
    'rclpy', 'builtin_interfaces', 'std_msgs', 'std_srvs', 'sensor_msgs', 'trajectory_msgs',
    'diagnostic_msgs', 'rosgraph_msgs', 'rcl_interfaces', 'launch', 'launch_ros',
    'ament_index_python', 'rmw_cyclonedds_cpp', 'ros2launch', 'ros2bag', 'rosbag2_storage_mcap',
    'python3-numpy', 'python3-yaml', 'python3-opencv', 'python3-tqdm', 'python3-matplotlib',
    'python3-pytest', 'ament_copyright', 'ament_flake8', 'ament_pep257', 'ament_lint_auto',
    'ament_cmake', 'ament_cmake_python', 'rosidl_default_generators', 'rosidl_default_runtime',
}
# Names that exist only from Python 3.11 on (or 3.12), as attributes, names or imports.
PY311_NAMES = {
    'StrEnum', 'Self', 'tomllib', 'ExceptionGroup', 'BaseExceptionGroup', 'TaskGroup',
    'LiteralString', 'Never', 'assert_never', 'reveal_type', 'Required', 'NotRequired',
    'TypeVarTuple', 'Unpack', 'dataclass_transform', 'ReprEnum', 'EnumCheck', 'file_digest',
    'batched', 'override', 'add_note',
}
# Attributes rclpy's Node (Jazzy) sets or defines; a subclass assigning one breaks the node.
RCLPY_NODE_ATTRS = {
    '_context', '_parameters', '_publishers', '_subscriptions', '_clients', '_services',
    '_timers', '_guards', '_default_callback_group', '_pre_set_parameters_callbacks',
    '_on_set_parameters_callbacks', '_post_set_parameters_callbacks', '_rate_group',
    '_allow_undeclared_parameters', '_parameter_overrides', '_descriptors', '_logger',
    '_parameter_event_publisher', '_clock', '_time_source', '_parameter_service',
    '_logger_service', '_type_description_service', 'publishers', 'subscriptions', 'clients',
    'services', 'timers', 'guards', 'waitables', 'executor', 'context', 'handle',
    'default_callback_group',
}
NODE_CONFIGS = {   # params file -> (node name, config dataclass)
    'sim.yaml': ('sim', 'imitation_ros.sim.config:SimNodeConfig'),
    'expert.yaml': ('expert', 'imitation_ros.sim.config:ExpertNodeConfig'),
    'record.yaml': ('recorder', 'imitation_ros.record:RecorderConfig'),
    'policy.yaml': ('policy', 'imitation_ros.deploy.config:PolicyNodeConfig'),
}
ROS_OWN_PARAMS = {'use_sim_time'}
REQUIRED_ON_COMMAND_LINE = {'policy.yaml': {'checkpoint': 'runs/demo/train'}}


def _setup_kwargs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import setuptools

    seen: dict[str, Any] = {}
    monkeypatch.setattr(setuptools, 'setup', lambda **kw: seen.update(kw))
    monkeypatch.chdir(ROOT)    # setup.py globs relative to the package root, as colcon runs it
    runpy.run_path(str(ROOT / 'setup.py'), run_name='__main__')
    return seen


def test_setup_installs_share_files_and_node_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    kw = _setup_kwargs(monkeypatch)
    installed = {(dest, src) for dest, files in kw['data_files'] for src in files}
    want = {('share/ament_index/resource_index/packages', f'resource/{PKG}'),
            (f'share/{PKG}', 'package.xml')}
    want |= {(f'share/{PKG}/launch', f'launch/{p.name}') for p in LAUNCH_FILES}
    want |= {(f'share/{PKG}/config', f'config/{p.name}') for p in (ROOT / 'config').glob('*.yaml')}
    want |= {(f'share/{PKG}/msg', f'msg/{p.name}') for p in (ROOT / 'msg').glob('*.msg')}
    assert want <= installed, f'not installed: {sorted(want - installed)}'
    assert (ROOT / 'resource' / PKG).is_file()
    assert LAUNCH_FILES and list((ROOT / 'msg').glob('*.msg'))
    assert kw.get('zip_safe') is False, 'share lookup reads files next to the package'
    # Every non-Python file inside the package must be package_data, or colcon drops it.
    data = {p.relative_to(ROOT / PKG).as_posix() for p in (ROOT / PKG).rglob('*')
            if p.is_file() and p.suffix not in ('.py', '.pyc') and '__pycache__' not in p.parts}
    globs = [g for gs in (kw.get('package_data') or {}).values() for g in gs]
    missing = sorted(d for d in data if not any(Path(d).match(g) for g in globs))
    assert not missing, f'files in the package not in package_data: {missing}'

    scripts = dict(re.match(r'\s*([\w-]+)\s*=\s*(\S+)', e).groups()
                   for e in kw['entry_points']['console_scripts'])
    for path in NODE_FILES:
        assert scripts.get(path.stem) == f'{PKG}.nodes.{path.stem}:main', (
            f'{path.name}: no console script {path.stem} = {PKG}.nodes.{path.stem}:main')
        tree = ast.parse(path.read_text(encoding='utf-8'))
        assert any(isinstance(n, ast.FunctionDef) and n.name == 'main' for n in tree.body), path


def _cmake_text() -> str:
    """CMakeLists.txt without its comments (whole-line and trailing `` # ...``)."""
    lines = (re.sub(r'\s+#\s.*$', '', ln) for ln in
             (ROOT / 'CMakeLists.txt').read_text(encoding='utf-8').splitlines())
    return '\n'.join(ln for ln in lines if not ln.lstrip().startswith('#'))


def _console_scripts(kw: dict[str, Any]) -> dict[str, str]:
    return dict(re.match(r'\s*([\w-]+)\s*=\s*(\S+)', e).groups()
                for e in kw['entry_points']['console_scripts'])


def test_cmake_installs_what_setup_py_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    kw = _setup_kwargs(monkeypatch)
    text = _cmake_text()
    # one launcher per console script, calling the same function
    block = re.search(r'set\(IMITATION_ROS_EXECUTABLES\s(.*?)\)', text, re.S)
    assert block, 'CMakeLists.txt: no set(IMITATION_ROS_EXECUTABLES ...)'
    launchers = dict(re.findall(r'"([\w-]+)=([\w.]+:\w+)"', block.group(1)))
    assert launchers == _console_scripts(kw)
    assert 'install(PROGRAMS "${_launcher_dir}/${_name}" DESTINATION lib/${PROJECT_NAME})' in text
    # every msg/*.msg generated; its package dependencies are <depend>s of package.xml
    gen = re.search(r'rosidl_generate_interfaces\(\$\{PROJECT_NAME\}(.*?)\)', text, re.S)
    assert gen, 'CMakeLists.txt: no rosidl_generate_interfaces(${PROJECT_NAME} ...)'
    assert sorted(re.findall(r'"(msg/\w+\.msg)"', gen.group(1))) == sorted(
        f'msg/{p.name}' for p in (ROOT / 'msg').glob('*.msg'))
    deps = gen.group(1).split('DEPENDENCIES', 1)[1].split()
    depends = [e.text for e in ET.parse(ROOT / 'package.xml').getroot().findall('depend')]
    assert deps and set(deps) <= set(depends), (deps, depends)
    # share/: the folders setup.py installs, with the same file patterns
    data = {dest: files for dest, files in kw['data_files']}
    for folder, pattern in (('launch', '*.launch.py'), ('config', '*.yaml'), ('msg', '*.msg')):
        rule = (f'install(DIRECTORY {folder} DESTINATION share/${{PROJECT_NAME}} '
                f'FILES_MATCHING PATTERN "{pattern}")')
        assert rule in text, f'CMakeLists.txt lacks {rule}'
        assert sorted(data[f'share/{PKG}/{folder}']) == sorted(
            p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob(pattern))
    # the Python package: after the generator (our __init__.py wins), no second
    # ament_python_install_package (fails on Humble/Jazzy, ros2/rosidl_python#141)
    assert 'ament_python_install_package' not in text
    py_rule = text.index('DIRECTORY "${PROJECT_NAME}/"')
    assert text.index('rosidl_generate_interfaces(') < py_rule
    assert text.rstrip().endswith('ament_package()')
    assert not (ROOT / PKG / 'msg').exists(), f'{PKG}/msg is the generated subpackage\'s name'


# Stand-ins for the ament/rosidl CMake packages: just what CMakeLists.txt calls, installing what
# the real ones install for it (rosidl_generator_py: the package's empty __init__.py and msg/).
_STUBS = {
    'ament_cmake': """
macro(ament_export_dependencies)
endmacro()
macro(ament_package)
  install(FILES package.xml DESTINATION share/${PROJECT_NAME})
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/marker" "")
  install(FILES "${CMAKE_CURRENT_BINARY_DIR}/marker"
    DESTINATION share/ament_index/resource_index/packages RENAME ${PROJECT_NAME})
endmacro()
""",
    'ament_cmake_python': """
function(ament_get_python_install_dir var)
  set(${var} "lib/site-packages" PARENT_SCOPE)
endfunction()
""",
    'rosidl_default_generators': """
function(rosidl_generate_interfaces target)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/rosidl_generator_py/${target}")
  file(WRITE "${out}/__init__.py" "")
  file(WRITE "${out}/msg/__init__.py" "GENERATED = True\n")
  install(DIRECTORY "${out}/" DESTINATION lib/site-packages/${target})
endfunction()
""",
    'std_msgs': '',
}


def test_cmake_install_layout_with_stand_ins(tmp_path: Path) -> None:
    """Configure + install CMakeLists.txt against stand-ins: the layout colcon would install."""
    if not (shutil.which('cmake') and shutil.which('cc') and shutil.which('c++')):
        pytest.skip('cmake or a C/C++ compiler is not installed (the static test still ran)')
    import subprocess

    for name, body in _STUBS.items():
        cfg = tmp_path / 'stubs' / 'share' / name / 'cmake' / f'{name}Config.cmake'
        cfg.parent.mkdir(parents=True)
        cfg.write_text(body)
    build, prefix = tmp_path / 'build', tmp_path / 'install'
    build.mkdir()
    for cmd in (['cmake', str(ROOT), f'-DCMAKE_PREFIX_PATH={tmp_path / "stubs"}',
                 f'-DCMAKE_INSTALL_PREFIX={prefix}', f'-DPython3_EXECUTABLE={sys.executable}'],
                ['cmake', '--install', '.']):
        res = subprocess.run(cmd, cwd=build, capture_output=True, text=True, timeout=300,
                             check=False)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    site = prefix / 'lib' / 'site-packages' / PKG
    assert (site / '__init__.py').read_text() == (ROOT / PKG / '__init__.py').read_text()
    assert (site / 'msg' / '__init__.py').read_text() == 'GENERATED = True\n'
    assert (site / 'nodes' / 'recorder_node.py').is_file()
    share = prefix / 'share' / PKG
    for folder, pattern in (('launch', '*.launch.py'), ('config', '*.yaml'), ('msg', '*.msg')):
        assert sorted(p.name for p in (share / folder).iterdir()) == sorted(
            p.name for p in (ROOT / folder).glob(pattern)), folder
    assert (share / 'package.xml').is_file()
    assert (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / PKG).is_file()
    scripts = _console_scripts({'entry_points': {'console_scripts': [
        f'{n} = {PKG}.nodes.{n}:main' for n in (p.stem for p in NODE_FILES)]}})
    exes = {p.name: p for p in (prefix / 'lib' / PKG).iterdir()}
    assert set(exes) == {*scripts, 'imitation-ros'}
    for name, target in scripts.items():
        text = exes[name].read_text()
        module, func = target.split(':')
        assert text.startswith(f'#!{sys.executable}\n') and f'from {module} import {func}' \
            in text, text
        assert exes[name].stat().st_mode & 0o111, f'{name} is not executable'
    env = {**os.environ, 'PYTHONPATH': str(prefix / 'lib' / 'site-packages'),
           'IMITATION_ROS_SHARE': ''}
    res = subprocess.run([str(exes['imitation-ros']), '--help'], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0 and res.stdout.startswith('usage: imitation-ros'), res.stderr
    res = subprocess.run([sys.executable, '-c', 'import imitation_ros, imitation_ros.msg; '
                          'from imitation_ros.resources import share_dir; '
                          'print(imitation_ros.__file__, share_dir())'], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(site / '__init__.py'), str(share)]


def test_setup_cfg_puts_scripts_where_ros2_run_looks() -> None:
    cfg = ConfigParser()
    cfg.read(ROOT / 'setup.cfg')
    assert cfg.get('develop', 'script_dir') == f'$base/lib/{PKG}'
    assert cfg.get('install', 'install_scripts') == f'$base/lib/{PKG}'


def test_package_xml_format3_ament_cmake_known_depends() -> None:
    root = ET.parse(ROOT / 'package.xml').getroot()
    assert root.tag == 'package' and root.get('format') == '3'
    assert root.findtext('name') == PKG
    assert root.find('export/build_type').text == 'ament_cmake'
    tools = {(e.text or '').strip() for e in root.findall('buildtool_depend')}
    assert {'ament_cmake', 'ament_cmake_python', 'rosidl_default_generators'} <= tools
    assert 'rosidl_interface_packages' in [e.text for e in root.findall('member_of_group')]
    every = [(e.text or '').strip() for e in root if e.tag.endswith('depend')]
    assert not [d for d in every if d.startswith('rmw')], 'package.xml forces an RMW on users'
    # msg/ uses std_msgs/Header: a build and exec dependency (<depend>); the runtime of the
    # generated code
    assert 'std_msgs' in [(e.text or '').strip() for e in root.findall('depend')]
    assert 'rosidl_default_runtime' in [(e.text or '').strip()
                                        for e in root.findall('exec_depend')]
    for tag in ('version', 'description', 'maintainer', 'license'):
        assert (root.findtext(tag) or '').strip(), f'package.xml: <{tag}> is empty'
    deps = [(e.tag, (e.text or '').strip()) for e in root
            if e.tag.endswith('depend') and e.tag != 'buildtool_depend']
    names = [d for _, d in deps]
    assert len(names) == len(set(names)), 'package.xml: duplicate dependency'
    unknown = sorted(d for d in names if d not in KNOWN_DEPENDS)
    assert not unknown, f'package.xml: not a ROS package or rosdep key here: {unknown}'
    assert 'rclpy' in names and 'launch_ros' in names


@pytest.mark.parametrize('path', PY_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python310_compatible(path: Path) -> None:
    src = path.read_text(encoding='utf-8')
    tree = ast.parse(src, filename=str(path), feature_version=(3, 10))   # e.g. except*
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.name.split('.')[-1]
        else:
            continue
        if name in PY311_NAMES:
            bad.append(f'line {node.lineno}: {name}')
    assert not bad, f'{path.name} uses Python 3.11+ names (Humble runs 3.10): {bad}'


def _imports(tree: ast.AST) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out += [(node.module or '', a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            out += [(a.name, '') for a in node.names]
    return out


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_uses_supported_api(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    stand_in = launcher._stand_in_modules()
    for module, name in _imports(tree):
        assert module in stand_in, f'{path.name}: imports {module}, unknown to cli/launcher.py'
        if name:
            assert hasattr(stand_in[module], name), (
                f'{path.name}: {module}.{name} is not in the launcher stand-in API')
    node_fields = {f.name for f in dataclasses.fields(launcher.LaunchNode)}
    arg_fields = {f.name for f in dataclasses.fields(launcher.DeclareLaunchArgument)}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        fname = getattr(call.func, 'id', getattr(call.func, 'attr', ''))
        keys = {k.arg for k in call.keywords}
        if fname == 'Node':
            assert keys <= node_fields, f'{path.name}: Node({sorted(keys - node_fields)})'
        if fname == 'DeclareLaunchArgument':
            assert keys <= arg_fields, f'{path.name}: {sorted(keys - arg_fields)}'
            for k in call.keywords:
                if k.arg == 'default_value' and isinstance(k.value, ast.Constant):
                    assert k.value.value != '', (
                        f"{path.name}:{call.lineno}: default_value='' becomes None in "
                        "launch_ros parameters; use \"''\" or no default")
    assert any(isinstance(n, ast.FunctionDef) and n.name == 'generate_launch_description'
               for n in tree.body)


@pytest.mark.parametrize('path', NODE_FILES, ids=lambda p: p.name)
def test_node_does_not_shadow_rclpy_node_attributes(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    clashes = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for node in ast.walk(cls):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for tgt in targets:
                for t in ast.walk(tgt):
                    if (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                            and t.value.id == 'self' and t.attr in RCLPY_NODE_ATTRS):
                        clashes.append(f'line {t.lineno}: self.{t.attr}')
            if isinstance(node, ast.FunctionDef) and node.name in RCLPY_NODE_ATTRS:
                clashes.append(f'line {node.lineno}: def {node.name}')
    assert not clashes, f'{path.name} overwrites rclpy Node attributes: {clashes}'


@pytest.mark.parametrize('fname', sorted(NODE_CONFIGS))
def test_params_file_keys_are_config_fields(fname: str) -> None:
    node_name, target = NODE_CONFIGS[fname]
    module, cls_name = target.split(':')
    cls = getattr(importlib.import_module(module), cls_name)
    doc = yaml.safe_load((ROOT / 'config' / fname).read_text(encoding='utf-8'))
    assert list(doc) == [node_name], f'{fname}: top-level key must be the node name {node_name}'
    params = doc[node_name]['ros__parameters']
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields - ROS_OWN_PARAMS)
    assert not unknown, f'{fname}: keys that {cls_name} does not declare: {unknown}'
    values = {k: v for k, v in params.items() if k in fields}
    values.update(REQUIRED_ON_COMMAND_LINE.get(fname, {}))
    cfg = cls(**values)   # the shipped values validate
    assert dataclasses.is_dataclass(cfg)


def test_share_dir_in_colcon_install_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            ) -> None:
    monkeypatch.delenv('IMITATION_ROS_SHARE', raising=False)
    for site in ('lib/python3.12/site-packages', 'local/lib/python3.10/dist-packages'):
        prefix = tmp_path / site.split('/')[0] / 'install' / PKG
        pkg_dir = prefix / site / PKG
        pkg_dir.mkdir(parents=True)
        shutil.copy(ROOT / PKG / 'resources.py', pkg_dir / 'resources.py')
        (prefix / 'share' / PKG / 'msg').mkdir(parents=True)
        spec = importlib.util.spec_from_file_location(f'_colcon_resources_{len(site)}',
                                                      pkg_dir / 'resources.py')
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, mod)
        spec.loader.exec_module(mod)
        assert mod.share_dir() == prefix / 'share' / PKG, site


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_sim_never_runs_on_sim_time(path: Path) -> None:
    """The sim publishes /clock from a timer; on sim time that timer would wait for itself."""
    desc = launcher.load_description(path)
    declared = {e.name for e in desc.entities if isinstance(e, launcher.DeclareLaunchArgument)}
    args = {'use_sim_time': 'true'} if 'use_sim_time' in declared else {}
    if 'profile' in declared and path.name in ('deploy.launch.py', 'dagger.launch.py'):
        args['profile'] = 'sim_arm.yaml'          # no default: the arm's profile is named
    for proc in launcher.plan(desc, args):
        if proc.argv[2].endswith('.sim_node'):
            assert 'use_sim_time:=true' not in proc.argv, f'{path.name}: {proc.argv}'
