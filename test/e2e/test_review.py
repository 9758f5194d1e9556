"""``imitation-ros review`` end to end (issue 22): from a recorder bag to a cleaned dataset.

One synthetic recorder bag with known flaws (``imitation_ros.review.demo``: a person took over
in episode 1, episode 2 failed, the front camera stopped in episode 3, episode 4 is three times
longer) is served by the real command line (``review BAG --profile``: it converts the bag, every
episode kept, into ``BAG.review``). The HTTP tests check the API, the server's safety (path
traversal, Range, POST rules, a malformed dataset) and ``review-apply``. The tests marked
``browser`` drive Debian's chromium through chromedriver (Selenium; nothing is downloaded):
the overview lists every episode with its flags, the episode view plays (the videos'
``currentTime`` advances and the plot cursor follows), a discard clicked in the page and
applied gives a dataset without that episode that ``LeRobotDataset`` loads. Screenshots go to
the test's output folder (and to ``$REVIEW_SCREENSHOTS`` when set; the README's come from
there). ``lerobot-dataset-viz`` writes a Rerun ``.rrd`` of an episode of the converted dataset.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from imitation_ros.review.demo import write_review_demo

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path('/usr/bin/chromium')
CHROMEDRIVER = Path('/usr/bin/chromedriver')
N_EPISODES = 5


def _cli(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'SVT_LOG': '1'}
    return subprocess.run([sys.executable, '-m', 'imitation_ros.cli.main', *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False,
                          **kw)


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob('*')):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope='module')
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``imitation-ros review BAG --profile P`` running; yields (url, dataset root, process)."""
    folder = tmp_path_factory.mktemp('review')
    bag, profile, _ = write_review_demo(folder, convert=False)
    env = {**os.environ, 'PYTHONPATH': str(REPO), 'SVT_LOG': '1'}
    proc = subprocess.Popen(
        [sys.executable, '-m', 'imitation_ros.cli.main', 'review', str(bag), '--profile',
         str(profile)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + 300
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r'open (http://127\.0\.0\.1:\d+/)', line):
            url = m.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail('review did not print its URL:\n' + ''.join(lines[-30:]))
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    root = bag.with_name('bag.review')
    assert (root / 'meta' / 'info.json').is_file(), ''.join(lines)
    yield url, root, proc
    proc.terminate()
    proc.wait(timeout=30)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _raw(url: str, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """A request whose path goes out exactly as written (no client-side normalisation)."""
    host, port = re.match(r'http://([\d.]+):(\d+)/', url).groups()  # type: ignore[union-attr]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    hdrs = {'Host': f'{host}:{port}', **(headers or {})}
    if body is not None:
        hdrs['Content-Length'] = str(len(body))
    for k, v in hdrs.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    r = conn.getresponse()
    out = r.status, dict(r.getheaders()), r.read()
    conn.close()
    return out


def _post(url: str, path: str, obj: Any) -> tuple[int, Any]:
    code, _, body = _raw(url, 'POST', path, {'Content-Type': 'application/json'},
                         json.dumps(obj).encode())
    return code, json.loads(body)


# -- the API ------------------------------------------------------------------------------------
def test_overview_api_flags_the_known_flaws(served: Any) -> None:
    url, root, _ = served
    code, doc = _get(url + 'api/dataset')
    assert code == 200, doc
    eps = doc['episodes']
    assert len(eps) == N_EPISODES
    assert doc['cameras'] == ['observation.images.front', 'observation.images.wrist']
    by = {e['episode']: e for e in eps}
    assert by[0]['flags'] == [] and by[0]['success'] is True
    assert 'human' in by[1]['flags'] and 0.2 < by[1]['human_frac'] < 0.6
    assert by[2]['success'] is False and by[2]['status'] == 'failed'
    assert 'dropouts' in by[3]['flags'] and by[3]['dropped_frames'] >= 4
    assert 'duration' in by[4]['flags'] and by[4]['duration_z'] > 2.5
    assert all(e['camera_lag_s'] == pytest.approx(0.03, abs=1e-3) for e in eps)
    assert [e['task'] for e in eps] == ['put the block in the bin'] * N_EPISODES
    ep1 = _get(url + 'api/episode/1')[1]
    assert any(ep1['intervention']) and not all(ep1['intervention'])
    assert [v['key'] for v in ep1['videos']] == doc['cameras']
    assert _get(url + 'api/episode/3')[1]['jumps'], 'the camera dropout leaves a jump'
    assert _get(url + 'api/episode/99')[0] == 500


def test_files_under_the_dataset_only(served: Any) -> None:
    url, root, _ = served
    code, _, body = _raw(url, 'GET', '/files/meta/info.json')
    assert code == 200 and json.loads(body)['total_episodes'] == N_EPISODES
    outside = root.parent / 'secret.txt'
    outside.write_text('not for the browser')
    (root / 'link').symlink_to(outside)
    for path in ('/files/../secret.txt', '/files/../../../../etc/passwd',
                 '/files/%2e%2e/secret.txt', '/files/..%2fsecret.txt',
                 '/files/meta/../../secret.txt', '/files//etc/passwd', '/files/link',
                 '/files/%2fetc%2fpasswd', '/../secret.txt', '/files/meta',
                 '/files/meta/info.json%00.png'):
        code, _, body = _raw(url, 'GET', path)
        assert code in (403, 404), (path, code)
        assert b'not for the browser' not in body and b'root:' not in body, path
    (root / 'link').unlink()


def test_video_range_requests(served: Any) -> None:
    url, root, _ = served
    rel = _get(url + 'api/episode/0')[1]['videos'][0]['path']
    data = (root / rel).read_bytes()
    code, hdrs, body = _raw(url, 'GET', f'/files/{rel}', {'Range': 'bytes=100-199'})
    assert code == 206 and body == data[100:200]
    assert hdrs['Content-Range'] == f'bytes 100-199/{len(data)}'
    code, _, body = _raw(url, 'GET', f'/files/{rel}', {'Range': 'bytes=-50'})
    assert code == 206 and body == data[-50:]
    code, _, _ = _raw(url, 'GET', f'/files/{rel}', {'Range': f'bytes={len(data)}-'})
    assert code == 416
    code, hdrs, body = _raw(url, 'GET', f'/files/{rel}')
    assert code == 200 and body == data and hdrs['Accept-Ranges'] == 'bytes'


def test_posts_need_json_and_a_local_host(served: Any) -> None:
    url, root, _ = served
    form = b'episode=0&field=discard&value=true'
    code, _, _ = _raw(url, 'POST', '/api/edits',
                      {'Content-Type': 'application/x-www-form-urlencoded'}, form)
    assert code == 415
    code, _, _ = _raw(url, 'GET', '/api/dataset', {'Host': 'evil.example:80'})
    assert code == 403
    code, doc = _post(url, '/api/edits', {'episode': 0, 'field': 'trim', 'value': [2, 1]})
    assert code == 400 and 'trim' in doc['error']
    code, doc = _post(url, '/api/edits', {'episode': 42, 'field': 'discard', 'value': True})
    assert code == 400 and 'no episode 42' in doc['error']
    assert not root.with_name('bag.review.edits.json').exists() or \
        json.loads(root.with_name('bag.review.edits.json').read_text())['episodes'] == {}


def _serve_in_thread(root: Path) -> tuple[str, Any]:
    from imitation_ros.review.server import make_server, url_of

    server = make_server(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url_of(server), server


def _broken_copies(root: Path, where: Path) -> dict[str, Path]:
    bad_json = where / 'bad_json'
    shutil.copytree(root, bad_json)
    (bad_json / 'meta' / 'info.json').write_text('{"fps": 10, ')
    no_data = where / 'no_data'
    shutil.copytree(root, no_data)
    shutil.rmtree(no_data / 'data')
    return {'meta/info.json: not valid JSON': bad_json, 'data: no parquet files': no_data}


def test_malformed_dataset_gets_a_message_not_a_traceback(served: Any, tmp_path: Path) -> None:
    _, root, _ = served
    for why, broken in _broken_copies(root, tmp_path).items():
        url, server = _serve_in_thread(broken)
        try:
            code, doc = _get(url + 'api/dataset')
            assert code == 500 and why in doc['error'], doc
            assert str(broken) in doc['error']
            assert 'Traceback' not in json.dumps(doc)
            code, _, page = _raw(url, 'GET', '/')
            assert code == 200 and b'cannot be reviewed' in page
        finally:
            server.shutdown()
            server.server_close()


def test_review_apply_discard_trim_task_success(served: Any, tmp_path: Path) -> None:
    """Marks through the API, undo, then ``review-apply`` twice: same result, source intact."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    _, root, _ = served
    copy = tmp_path / 'ds'
    shutil.copytree(root, copy)
    url, server = _serve_in_thread(copy)
    try:
        for ep, field, value in ((2, 'discard', True), (0, 'task', 'put the red block in'),
                                 (4, 'success', False), (4, 'trim', [0.5, 2.0]),
                                 (1, 'discard', True)):
            code, doc = _post(url, '/api/edits', {'episode': ep, 'field': field, 'value': value})
            assert code == 200, doc
        code, doc = _post(url, '/api/undo', {})          # the discard of episode 1 undone
        assert code == 200 and doc['episodes'] == {
            '0': {'task': 'put the red block in'}, '2': {'discard': True},
            '4': {'success': False, 'trim': [0.5, 2.0]}}
    finally:
        server.shutdown()
        server.server_close()
    before = _tree_digest(copy)
    lengths = [int(v) for v in LeRobotDataset('local/ds', root=copy).meta.episodes['length']]
    res = _cli('review-apply', str(copy), '--out', str(tmp_path / 'clean'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert _tree_digest(copy) == before, 'the reviewed dataset must stay untouched'
    clean = LeRobotDataset('local/clean', root=tmp_path / 'clean')
    assert clean.meta.total_episodes == N_EPISODES - 1
    new_lengths = [int(v) for v in clean.meta.episodes['length']]
    assert new_lengths[:3] == [lengths[0], lengths[1], lengths[3]]
    assert new_lengths[3] == 15                  # 0.5 <= t < 2.0 s at 10 fps
    first = clean[0]
    assert first['task'] == 'put the red block in'
    assert first['observation.images.front'].shape == (3, 48, 64)
    assert clean[len(clean) - 1]['task'] == 'put the block in the bin'
    report = json.loads((tmp_path / 'clean' / 'quality' / 'report.json').read_text())
    assert [r['status'] for r in report['episodes']] == ['success', 'success', 'success',
                                                         'failed']
    res = _cli('review-apply', str(copy), '--out', str(tmp_path / 'clean'))
    assert res.returncode == 1 and 'exists' in res.stderr
    from imitation_ros.data.edits import apply_edits   # again, in-process (same code path)

    apply_edits(copy, tmp_path / 'again')
    cols = ['observation.state', 'action', 'episode_index', 'frame_index', 'index']

    def frames(p: Path) -> pd.DataFrame:
        return pd.concat([pd.read_parquet(f) for f in sorted((p / 'data').rglob('*.parquet'))])

    a, b = frames(tmp_path / 'clean'), frames(tmp_path / 'again')
    for c in cols:
        assert np.array_equal(np.stack(a[c].to_numpy()), np.stack(b[c].to_numpy())), c


def test_cli_refuses_what_it_cannot_review(tmp_path: Path) -> None:
    (tmp_path / 'eval.json').write_text('{"faithful": {"success": 3}}')
    res = _cli('review', str(tmp_path / 'eval.json'))
    assert res.returncode == 1 and 'no frames' in res.stderr
    res = _cli('review', str(tmp_path))
    assert res.returncode == 1 and 'neither a LeRobot dataset' in res.stderr
    bag, _, _ = write_review_demo(tmp_path / 'x', convert=False)
    res = _cli('review', str(bag))
    assert res.returncode == 1 and '--profile' in res.stderr


def test_dagger_round_folder_reviews_its_dataset(served: Any, tmp_path: Path) -> None:
    from imitation_ros.review.sources import resolve_source

    _, root, _ = served
    shutil.copytree(root, tmp_path / 'round1' / 'dataset')
    (tmp_path / 'round1' / 'report.json').write_text(json.dumps(
        {'rounds': [{'round': 'round1', 'frames_added': 40, 'success': 0.8}]}))
    src = resolve_source(tmp_path / 'round1')
    assert src.root == tmp_path / 'round1' / 'dataset'
    assert 'frames_added 40' in src.notes[1]


@pytest.mark.slow
def test_lerobot_dataset_viz_writes_rrd(served: Any, tmp_path: Path) -> None:
    """lerobot's own Rerun viewer opens the converted dataset (``--save 1``: an .rrd file)."""
    _, root, _ = served
    res = subprocess.run(
        [sys.executable, '-m', 'lerobot.scripts.lerobot_dataset_viz', '--repo-id',
         'local/bag.review', '--root', str(root), '--episode-index', '1', '--save', '1',
         '--output-dir', str(tmp_path), '--num-workers', '0'],
        capture_output=True, text=True, timeout=400, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    rrd = list(tmp_path.glob('*.rrd'))
    assert len(rrd) == 1 and rrd[0].stat().st_size > 10_000, rrd
    assert rrd[0].read_bytes()[:4] == b'RRF2'


# -- in the browser -----------------------------------------------------------------------------
@pytest.fixture(scope='module')
def browser() -> Any:
    """Headless Debian chromium driven by /usr/bin/chromedriver (no download at test time)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f'{", ".join(missing)} missing: install Debian\'s chromium and '
                    f'chromium-driver (scripts/setup.sh does)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(prefix='review-chromium-')
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
                '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--window-size=1500,1000',
                '--autoplay-policy=no-user-gesture-required', f'--user-data-dir={profile}'):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, script: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f'timed out waiting for: {script}')


def _screenshot(driver: Any, out: Path, name: str) -> Path:
    path = out / name
    driver.save_screenshot(str(path))
    if os.environ.get('REVIEW_SCREENSHOTS'):
        Path(os.environ['REVIEW_SCREENSHOTS']).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ['REVIEW_SCREENSHOTS']) / name)
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.browser
def test_browser_overview_lists_every_episode_with_flags(served: Any, browser: Any,
                                                         tmp_path: Path) -> None:
    url, _, _ = served
    api = _get(url + 'api/dataset')[1]['episodes']
    browser.get(url)
    _wait(browser, "return document.querySelectorAll('tr.episode-row').length === 5 && "
                   "[...document.querySelectorAll('img.thumb')].every(i => i.complete && "
                   "i.naturalWidth > 0)")
    rows = browser.execute_script(
        "return [...document.querySelectorAll('tr.episode-row')].map(r => [Number("
        "r.dataset.episode), [...r.querySelectorAll('.flag')].map(f => f.textContent)])")
    assert sorted(rows) == sorted([e['episode'], e['flags']] for e in api)
    assert browser.execute_script(
        "return document.querySelector('tr[data-episode=\"4\"] td.bad') !== null")
    browser.find_element('css selector', 'th[data-key="duration_s"]').click()   # sort
    order = browser.execute_script(
        "return [...document.querySelectorAll('tr.episode-row')].map(r => +r.dataset.episode)")
    assert order[-1] == 4
    browser.find_element('id', 'only-flagged').click()                          # filter
    flagged = browser.execute_script(
        "return [...document.querySelectorAll('tr.episode-row')].map(r => +r.dataset.episode)")
    assert sorted(flagged) == sorted(e['episode'] for e in api if e['flags'])
    browser.find_element('id', 'only-flagged').click()
    _screenshot(browser, tmp_path, 'review_overview.png')


@pytest.mark.browser
def test_browser_episode_view_plays_in_sync(served: Any, browser: Any, tmp_path: Path) -> None:
    url, _, _ = served
    browser.get(url + '#/episode/1')
    _wait(browser, "const v = [...document.querySelectorAll('video.cam')]; return v.length === 2"
                   " && v.every(x => x.readyState >= 2)")
    start = browser.execute_script(
        "return [...document.querySelectorAll('video.cam')].map(v => v.currentTime)")
    froms = browser.execute_script(
        "return [...document.querySelectorAll('video.cam')].map(v => +v.dataset.from)")
    assert start == pytest.approx(froms, abs=0.05)
    x0 = float(browser.find_element('id', 'cursor').get_attribute('data-x'))
    browser.find_element('id', 'play').click()
    _wait(browser, 'return window.reviewState.t > 0.6', timeout=30)
    state = browser.execute_script(
        "const v = [...document.querySelectorAll('video.cam')]; const c = "
        "document.getElementById('cursor'); return {times: v.map(x => x.currentTime), "
        "froms: v.map(x => +x.dataset.from), t: window.reviewState.t, ct: +c.dataset.t, "
        "x: +c.dataset.x, err: document.getElementById('vidmsg').textContent}")
    assert state['err'] == ''
    for cur, frm in zip(state['times'], state['froms'], strict=True):
        assert cur - frm > 0.5, state                        # the video played
        assert abs((cur - frm) - state['ct']) < 0.35, state  # and the cursor follows it
    assert state['x'] > x0 + 20
    browser.find_element('id', 'play').click()               # pause
    assert browser.execute_script('return window.reviewState.playing') is False
    browser.execute_script('seek(0.85)')                     # inside the intervention
    _wait(browser, "return [...document.querySelectorAll('video.cam')].every(v => !v.seeking "
                   "&& v.readyState >= 2)")
    _screenshot(browser, tmp_path, 'review_episode.png')
    # scrub: a click on a plot moves the cursor and the videos
    plot = browser.find_element('css selector', 'canvas.overlay')
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).move_to_element_with_offset(plot, 0, 0).click().perform()
    t = browser.execute_script('return window.reviewState.t')
    times = browser.execute_script(
        "return [...document.querySelectorAll('video.cam')].map(v => v.currentTime - "
        "+v.dataset.from)")
    assert times == pytest.approx([t, t], abs=0.05)


@pytest.mark.browser
def test_browser_discard_then_apply(served: Any, browser: Any, tmp_path: Path) -> None:
    """Click discard on the overview; the applied dataset lacks the episode and loads."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    url, root, _ = served
    edits = root.with_name('bag.review.edits.json')
    browser.get(url + '#/')
    _wait(browser, "return document.querySelectorAll('tr.episode-row').length === 5")
    browser.find_element('css selector', 'tr[data-episode="2"] button.discard-btn').click()
    _wait(browser, "return document.querySelector('tr[data-episode=\"2\"]')"
                   ".classList.contains('discard')")
    assert json.loads(edits.read_text())['episodes'] == {'2': {'discard': True}}
    before = _tree_digest(root)
    res = _cli('review-apply', str(root), '--out', str(tmp_path / 'clean'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert _tree_digest(root) == before
    src = LeRobotDataset('local/src', root=root)
    clean = LeRobotDataset('local/clean', root=tmp_path / 'clean')
    assert clean.meta.total_episodes == N_EPISODES - 1
    want = [int(n) for i, n in enumerate(src.meta.episodes['length']) if i != 2]
    assert [int(n) for n in clean.meta.episodes['length']] == want
    assert len(clean) == sum(want)
    item = clean[len(clean) - 1]
    assert item['observation.images.wrist'].shape == (3, 48, 64)


@pytest.mark.browser
def test_browser_malformed_dataset_page_names_the_problem(served: Any, browser: Any,
                                                          tmp_path: Path) -> None:
    _, root, _ = served
    broken = _broken_copies(root, tmp_path)['meta/info.json: not valid JSON']
    url, server = _serve_in_thread(broken)
    try:
        browser.get(url)
        text = _wait(browser, "const e = document.getElementById('error'); "
                              "return e && e.textContent")
        assert 'info.json: not valid JSON' in text and 'Traceback' not in text
    finally:
        server.shutdown()
        server.server_close()
