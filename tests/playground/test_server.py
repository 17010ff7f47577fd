"""The playground's HTTP API: a server on a free port in a thread, requests through urllib."""
import json
import shutil
import threading
import time
import urllib.error
import urllib.request

import pytest

from ember.playground.server import PlaygroundServer


@pytest.fixture
def server():
    server = PlaygroundServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    assert not thread.is_alive() and not server.playground._thread.is_alive()


def request(server, path, body=None, method=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_static_page(server):
    for path, kind in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")]:
        status, content_type, body = request(server, path)
        assert status == 200 and content_type.startswith(kind) and body
    assert b'src="app.js"' in request(server, "/")[2]
    for path in ["/missing.js", "/../server.py", "/%2e%2e/server.py", "/api/nothing"]:
        assert request(server, path)[0] == 404


def test_state_config_step_reset(server):
    status, content_type, body = request(server, "/api/state")
    state = json.loads(body)
    assert status == 200 and content_type == "application/json"
    assert state["steps"] == 0 and state["playing"] is False and state["config"]["dataset"] == "circles"

    status, _, body = request(server, "/api/config", {"dataset": "xor", "hidden": [4, 3], "points": 60,
                                                      "val_fraction": 0.5, "batch_size": 10})
    state = json.loads(body)
    assert status == 200 and state["config"]["dataset"] == "xor" and state["config"]["hidden"] == [4, 3]
    assert len(state["train_points"]) == 30 and len(state["val_points"]) == 30
    assert [len(layer) for layer in state["neurons"]] == [2, 4, 3, 1]
    assert len(state["boundary"]) == 40 and len(state["boundary"][0]) == 40

    state = json.loads(request(server, "/api/step?n=4", method="POST")[2])
    assert state["steps"] == 4 and state["epoch"] == 1 and len(state["history"]) == 2
    state = json.loads(request(server, "/api/step", method="POST")[2])
    assert state["steps"] == 5
    state = json.loads(request(server, "/api/reset", method="POST")[2])
    assert state["steps"] == 0 and state["config"]["hidden"] == [4, 3]  # settings kept


def test_play_and_pause(server):
    request(server, "/api/config", {"dataset": "xor", "points": 40})
    assert json.loads(request(server, "/api/play", method="POST")[2])["playing"] is True
    deadline = time.monotonic() + 30
    while json.loads(request(server, "/api/state")[2])["epoch"] < 2:
        assert time.monotonic() < deadline, "no epoch trained within 30 s of play"
        time.sleep(0.05)
    paused = json.loads(request(server, "/api/pause", method="POST")[2])
    assert paused["playing"] is False
    time.sleep(0.3)
    assert json.loads(request(server, "/api/state")[2])["steps"] == paused["steps"]


@pytest.mark.parametrize("path, body, message", [
    ("/api/config", {"hidden": [9]}, "1 to 8 neurons"),
    ("/api/config", {"colour": "red"}, "unknown setting"),
    ("/api/config", [1, 2], "JSON object"),
    ("/api/step?n=0", None, "step count n"),
    ("/api/step?n=many", None, "step count n"),
])
def test_bad_requests_answer_400_with_the_reason(server, path, body, message):
    status, content_type, reply = request(server, path, body, method="POST")
    assert status == 400 and content_type == "application/json"
    assert message in json.loads(reply)["error"]
    assert json.loads(request(server, "/api/state")[2])["config"]["hidden"] == [4, 2]  # unchanged


def test_csv_upload(server):
    csv = "x1,x2,label\n" + "\n".join(f"{i},{-i},{i % 2}" for i in range(10))
    state = json.loads(request(server, "/api/config", {"dataset": "csv", "csv": csv, "val_fraction": 0.2})[2])
    assert len(state["train_points"]) == 8 and state["train_points"][1] == [1, -1, 1]
    status, _, reply = request(server, "/api/config", {"dataset": "csv", "csv": "1,2\n"})
    assert status == 400 and "fields" in json.loads(reply)["error"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_graph_svg(server):
    status, content_type, body = request(server, "/api/graph.svg")
    assert status == 200 and content_type == "image/svg+xml"
    assert b"<svg" in body and b"AddmmBackward0" in body and b"TanhBackward0" in body


def test_graph_without_dot_says_so(server, monkeypatch):
    monkeypatch.setenv("PATH", "")  # graphviz runs `dot` from PATH
    status, content_type, body = request(server, "/api/graph.svg")
    assert status == 503 and content_type.startswith("text/plain")
    assert b"apt-get install graphviz" in body


def test_command_line_refuses_a_bad_or_busy_port(capsys):
    from ember.cli.main import main
    with pytest.raises(SystemExit) as exit_:
        main(["playground", "--no-browser", "--port", "99999"])
    assert exit_.value.code == 2 and "--port 99999: expected 0 to 65535" in capsys.readouterr().err
    server = PlaygroundServer("127.0.0.1", 0)
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["playground", "--no-browser", "--port", str(server.server_address[1])])
        assert exit_.value.code == 2 and "choose another --port" in capsys.readouterr().err
    finally:
        server.server_close()


def test_command_line_serves_until_interrupted():
    import signal
    import subprocess
    import sys
    process = subprocess.Popen([sys.executable, "-m", "ember.playground", "--no-browser", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = process.stdout.readline()
        assert line.startswith("ember playground: http://127.0.0.1:")
        url = line.split()[2]
        with urllib.request.urlopen(url + "api/state", timeout=30) as response:
            assert json.loads(response.read())["steps"] == 0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
