"""The playground's HTTP server: the static page and a small JSON API over one Session.

    GET  /api/state        everything the page draws (and whether training is playing)
    POST /api/config       a JSON object of settings to change; rebuilds data and network
    POST /api/step?n=K     train K batches (default 1)
    POST /api/play         train an epoch at a time in the background until paused
    POST /api/pause
    POST /api/reset        fresh weights, same settings
    GET  /api/graph.svg    the autograd graph of one batch's loss (503 with the reason
                           when Graphviz's ``dot`` or the graphviz package is missing)

Errors in a request are answered 400 with ``{"error": message}``.
"""
from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from .session import Config, Session

STATIC = Path(__file__).parent / "static"
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                  ".css": "text/css; charset=utf-8"}
MAX_STEPS = 10_000   # one request's training, so a request cannot hold the session for minutes
MAX_BODY = 8 << 20   # an uploaded CSV travels in the config body


class Playground:
    """The session the page works on, and the background thread that trains while playing.
    All work on the session holds ``lock``, so requests and the trainer take turns on it."""

    def __init__(self, config: Config | None = None):
        self.lock = threading.Lock()
        self.session = Session(config)
        self.playing = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._train, name="playground-trainer", daemon=True)
        self._thread.start()

    def _train(self) -> None:
        while not self._stopped.is_set():
            if not self.playing:
                self._stopped.wait(0.05)
                continue
            with self.lock:
                if self.playing:
                    self.session.step(self.session.steps_per_epoch())
            time.sleep(0.002)  # a waiting request gets the lock between epochs

    def state(self) -> dict:
        with self.lock:
            return {**self.session.state(), "playing": self.playing}

    def configure(self, values: dict) -> None:
        with self.lock:
            self.session = Session(Config.from_dict(values, self.session.config))
            self.playing = False

    def reset(self) -> None:
        self.configure({})

    def step(self, n: int) -> None:
        with self.lock:
            self.session.step(n)

    def graph_svg(self) -> bytes:
        """The autograd graph of the first training batch's loss, rendered by ``dot``."""
        from ember.viz.graph import _DOT_MISSING, _graphviz, draw_graph
        graphviz = _graphviz()  # ModuleNotFoundError naming the extra that installs it
        with self.lock:
            loss = self.session.first_batch_loss()
            dot = draw_graph(loss, params=dict(self.session.model.named_parameters()))
        try:
            return dot.pipe(format="svg")
        except graphviz.ExecutableNotFound as error:
            raise RuntimeError(_DOT_MISSING) from error

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    server: "PlaygroundServer"

    def log_message(self, format, *args):  # the terminal shows the URL, not every poll
        pass

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/api/state":
            return self._json(self.server.playground.state())
        if path == "/api/graph.svg":
            return self._graph()
        name = "index.html" if path == "/" else path.lstrip("/")
        file = STATIC / name
        if "/" in name or file.suffix not in _CONTENT_TYPES or not file.is_file():
            return self._json({"error": f"no such page: {path}"}, HTTPStatus.NOT_FOUND)
        self._send(file.read_bytes(), _CONTENT_TYPES[file.suffix])

    def do_POST(self):
        url = urlparse(self.path)
        playground = self.server.playground
        try:
            if url.path == "/api/config":
                playground.configure(self._body())
            elif url.path == "/api/step":
                playground.step(_count(parse_qs(url.query).get("n", ["1"])[-1]))
            elif url.path == "/api/play":
                playground.playing = True
            elif url.path == "/api/pause":
                playground.playing = False
            elif url.path == "/api/reset":
                playground.reset()
            else:
                return self._json({"error": f"no such endpoint: POST {url.path}"}, HTTPStatus.NOT_FOUND)
        except ValueError as error:
            return self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        self._json(playground.state())

    def _graph(self):
        try:
            svg = self.server.playground.graph_svg()
        except (ModuleNotFoundError, RuntimeError) as error:  # no graphviz package, or no `dot`
            return self._send(str(error).encode(), "text/plain; charset=utf-8", HTTPStatus.SERVICE_UNAVAILABLE)
        self._send(svg, "image/svg+xml")

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"playground: request body of {length} bytes; at most {MAX_BODY} are accepted")
        try:
            values = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as error:
            raise ValueError(f"playground: the request body is not JSON ({error})") from None
        if not isinstance(values, dict):
            raise ValueError("playground: the config must be a JSON object of settings")
        return values

    def _json(self, value, status=HTTPStatus.OK):
        self._send(json.dumps(value).encode(), "application/json", status)

    def _send(self, data: bytes, content_type: str, status=HTTPStatus.OK):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_STEPS:
        raise ValueError(f"playground: step count n must be an integer in [1, {MAX_STEPS}], got {text!r}")
    return n


class PlaygroundServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer serving one Playground; ``server_close`` also stops its trainer."""
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, config: Config | None = None):
        self.playground = Playground(config)
        try:
            super().__init__((host, port), _Handler)
        except BaseException:
            self.playground.close()
            raise

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def server_close(self):
        super().server_close()
        self.playground.close()
