"""The review web server: standard library ``ThreadingHTTPServer``, one static page, JSON API.

Routes (GET unless noted):

* ``/``                      the page (``static/index.html``: HTML, CSS and JS, no build, no CDN)
* ``/api/dataset``           dataset summary and per-episode metrics and flags
* ``/api/episode/<i>``       series, intervention, stale frames and video spans of episode i
* ``/api/thumb/<i>.jpg``     thumbnail strip of episode i
* ``/api/edits``             the edit file; POST ``{"episode", "field", "value"}`` sets a mark
* ``/api/undo`` (POST)       reverts the last mark
* ``/files/<path>``          a file under the dataset root (HTTP Range: the videos seek)

Safety: the server binds loopback by default; ``/files`` serves only regular files whose
resolved path lies under the dataset root (anything else: 404); POST requests must carry
``Content-Type: application/json`` (a cross-site form cannot) and every request a ``Host`` of
the address served (against DNS rebinding). A dataset that cannot be read still gets the page,
which shows the error message instead of the episodes.
"""
from __future__ import annotations

import json
import logging
import math
import mimetypes
import re
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from imitation_ros.data.edits import Edits, edits_path
from imitation_ros.errors import ImitationRosError

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / 'static'
CHUNK = 1 << 16


class ReviewState:
    """The dataset being reviewed (read once, lazily) and its edit file (one lock for both)."""

    def __init__(self, root: Path, *, title: str = '', notes: list[str] | None = None) -> None:
        self.root = root.resolve()
        self.title = title or self.root.name
        self.notes = list(notes or [])
        self.edit_file = edits_path(self.root)
        self.lock = threading.Lock()
        self._ds: Any = None
        self._metrics: list[dict[str, Any]] | None = None
        self._error: str | None = None
        self._thumbs: dict[int, bytes] = {}

    def dataset(self) -> Any:
        """The opened dataset; raises ImitationRosError (cached) when it cannot be read."""
        from imitation_ros.review.dataset import episode_metrics, open_dataset

        with self.lock:
            if self._ds is None and self._error is None:
                try:
                    self._ds = open_dataset(self.root)
                    self._metrics = episode_metrics(self._ds)
                except ImitationRosError as err:
                    self._error = str(err)
                except Exception as err:  # noqa: BLE001 - any malformed file: name it
                    self._error = (f'{self.root}: cannot read the dataset '
                                   f'({type(err).__name__}: {err})')
            if self._error is not None:
                raise ImitationRosError(self._error)
            return self._ds

    def metrics(self) -> list[dict[str, Any]]:
        """Per-episode metrics (see ``review.dataset.episode_metrics``)."""
        self.dataset()
        return list(self._metrics or [])

    def thumb(self, ep: int) -> bytes:
        """Cached thumbnail strip of episode ``ep``."""
        from imitation_ros.review.dataset import thumbnail_strip

        ds = self.dataset()
        if ep not in self._thumbs:
            self._thumbs[ep] = thumbnail_strip(ds, ep)
        return self._thumbs[ep]

    def edits(self) -> Edits:
        """The edit file as it is now on disk."""
        return Edits.load(self.edit_file, dataset=self.root.name)


def _handler(state: ReviewState, allowed_hosts: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = 'imitation-ros-review'
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt: str, *args: Any) -> None:
            logger.debug('%s ' + fmt, self.address_string(), *args)

        # -- plumbing -------------------------------------------------------------------------
        def _send(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None,
                  ) -> None:
            self.send_response(code)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-store')
            self.send_header('X-Content-Type-Options', 'nosniff')
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)

        def _json(self, obj: Any, code: int = 200) -> None:
            body = json.dumps(_finite(obj), allow_nan=False, default=_jsonable).encode()
            self._send(code, body, 'application/json')

        def _error(self, code: int, message: str) -> None:
            self._json({'error': message}, code)

        def _host_ok(self) -> bool:
            host = (self.headers.get('Host') or '').rsplit(':', 1)[0].strip('[]').lower()
            if host in allowed_hosts:
                return True
            self._error(HTTPStatus.FORBIDDEN, f'host {host!r} not served')
            return False

        # -- GET ------------------------------------------------------------------------------
        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            if not self._host_ok():
                return
            path = urllib.parse.urlsplit(self.path).path
            try:
                if path in ('/', '/index.html'):
                    self._send(200, (STATIC / 'index.html').read_bytes(),
                               'text/html; charset=utf-8')
                elif path == '/api/dataset':
                    self._dataset()
                elif m := re.fullmatch(r'/api/episode/(\d+)', path):
                    from imitation_ros.review.dataset import episode_detail

                    self._json(episode_detail(state.dataset(), int(m.group(1))))
                elif m := re.fullmatch(r'/api/thumb/(\d+)\.jpg', path):
                    body = state.thumb(int(m.group(1)))
                    if body:
                        self._send(200, body, 'image/jpeg')
                    else:
                        self._error(HTTPStatus.NOT_FOUND, 'no camera')
                elif path == '/api/edits':
                    self._json({'path': str(state.edit_file), **state.edits().to_json()})
                elif path.startswith('/files/'):
                    self._file(path[len('/files/'):])
                else:
                    self._error(HTTPStatus.NOT_FOUND, 'not found')
            except ImitationRosError as err:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(err))
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as err:  # noqa: BLE001 - a message, never a traceback page
                logger.exception('review: %s failed', self.path)
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f'{type(err).__name__}: {err}')

        def _dataset(self) -> None:
            try:
                metrics = state.metrics()
            except ImitationRosError as err:
                self._json({'title': state.title, 'root': str(state.root), 'error': str(err),
                            'notes': state.notes}, HTTPStatus.INTERNAL_SERVER_ERROR)
                return
            ds = state.dataset()
            self._json({'title': state.title, 'root': str(state.root), 'fps': ds.fps,
                        'cameras': ds.video_keys, 'notes': state.notes,
                        'edit_file': str(state.edit_file), 'episodes': metrics,
                        'edits': state.edits().to_json()})

        def _file(self, rel: str) -> None:
            rel = urllib.parse.unquote(rel)
            if '\x00' in rel:
                self._error(HTTPStatus.NOT_FOUND, 'not found')
                return
            target = (state.root / rel).resolve()
            if not target.is_relative_to(state.root) or not target.is_file():
                self._error(HTTPStatus.NOT_FOUND, 'not found')
                return
            size = target.stat().st_size
            ctype = mimetypes.guess_type(target.name)[0] or 'application/octet-stream'
            start, end, code = 0, size - 1, 200
            rng = self.headers.get('Range')
            if rng:
                m = re.fullmatch(r'bytes=(\d*)-(\d*)', rng.strip())
                if not m or (not m.group(1) and not m.group(2)):
                    self._send(416, b'', ctype, {'Content-Range': f'bytes */{size}'})
                    return
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:
                    start = max(size - int(m.group(2)), 0)
                if start > end or start >= size:
                    self._send(416, b'', ctype, {'Content-Range': f'bytes */{size}'})
                    return
                code = 206
            self.send_response(code)
            self.send_header('Content-Type', ctype)
            self.send_header('Accept-Ranges', 'bytes')
            self.send_header('Content-Length', str(end - start + 1))
            if code == 206:
                self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
            self.end_headers()
            if self.command == 'HEAD':
                return
            with target.open('rb') as f:
                f.seek(start)
                left = end - start + 1
                while left > 0:
                    chunk = f.read(min(CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)

        # -- POST -----------------------------------------------------------------------------
        def do_POST(self) -> None:  # noqa: N802
            if not self._host_ok():
                return
            if (self.headers.get('Content-Type') or '').split(';')[0].strip() != \
                    'application/json':
                self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, 'POST application/json only')
                return
            length = int(self.headers.get('Content-Length') or 0)
            if length > 1 << 20:
                self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, 'request too large')
                return
            path = urllib.parse.urlsplit(self.path).path
            try:
                body = json.loads(self.rfile.read(length) or b'{}')
                with state.lock:
                    edits = state.edits()
                    if path == '/api/edits':
                        n = len(state._metrics or [])  # noqa: SLF001
                        ep = int(body['episode'])
                        if n and not 0 <= ep < n:
                            self._error(HTTPStatus.BAD_REQUEST, f'no episode {ep}')
                            return
                        edits.set(ep, str(body['field']), body.get('value'))
                    elif path == '/api/undo':
                        edits.undo()
                    else:
                        self._error(HTTPStatus.NOT_FOUND, 'not found')
                        return
                    edits.save(state.edit_file)
                self._json({'path': str(state.edit_file), **edits.to_json()})
            except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
                self._error(HTTPStatus.BAD_REQUEST, f'bad request: {err}')
            except ImitationRosError as err:
                self._error(HTTPStatus.BAD_REQUEST, str(err))

    return Handler


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def make_server(root: str | Path, *, host: str = '127.0.0.1', port: int = 0, title: str = '',
                notes: list[str] | None = None) -> ThreadingHTTPServer:
    """Return a server for the dataset at ``root`` (port 0: a free port; not started)."""
    state = ReviewState(Path(root), title=title, notes=notes)
    allowed = {host.lower(), 'localhost', '127.0.0.1', '::1'}
    server = ThreadingHTTPServer((host, port), _handler(state, allowed))
    server.daemon_threads = True
    server.review_state = state  # type: ignore[attr-defined]
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    """The page's URL."""
    host, port = server.server_address[:2]
    return f'http://{host}:{port}/'
