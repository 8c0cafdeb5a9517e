"""`arith-tfx serve` as a client written for TF Serving sees it: a real server process on a
pushed model, a real HTTP client, good and bad requests, and a version pushed while it serves;
and, in this process on the same model, requests batched into one call of the model."""
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, List

import pytest
import requests
from tensorflow.core.example import example_pb2

from components.atomic_pusher import serving_dir as serving_layout
from modules import serving_contract
from pipeline.serving import predict
from pipeline.serving.server import Server
from pipeline.serving.servables import Servable, VersionWatcher

pytestmark = pytest.mark.e2e

FIRST = 100


@pytest.fixture(scope="module")
def server(push_run, tmp_path_factory):
    """The server on a serving directory of its own holding the pushed model as version 100."""
    serving = str(tmp_path_factory.mktemp("serve") / "serving")
    latest = serving_layout.versions(push_run.serving_dir)[-1]
    shutil.copytree(os.path.join(push_run.serving_dir, str(latest)),
                    os.path.join(serving, str(FIRST)))
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.commands.cli", "serve", "--model-dir", serving,
         "--port", "0", "--poll-seconds", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # printed once the first version is loaded
    assert " on http://127.0.0.1:" in line, (line, process.stderr.read() if not line else "")
    url = line.split(" on ")[1].split()[0]
    yield url, serving
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert "Traceback" not in process.stderr.read()


def _predict(url, body, **kwargs):
    return requests.post(f"{url}:predict", json=body, timeout=60, **kwargs)


def test_status_names_the_served_version(server):
    url, _ = server
    status = requests.get(url, timeout=60)
    assert status.status_code == 200
    assert status.json() == {"model_version_status": [{
        "version": str(FIRST), "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""}}]}
    metadata = requests.get(f"{url}/metadata", timeout=60).json()
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert list(signature["inputs"]) == ["examples"]
    assert set(signature["outputs"]) == {"res", "confidence", "error"}


def test_answers_are_those_of_the_saved_model(server):
    url, serving = server
    lines = ["x=3,y=-4:x*y", "y=7,x=2:y-x", "x=-5,y=5:x+y"]
    expected = predict.answer(lines, os.path.join(serving, str(FIRST)))
    defs_op = [dict(zip(("defs", "op"), line.split(":"))) for line in lines]
    rows = _predict(url, {"instances": defs_op})
    assert rows.status_code == 200, rows.text
    assert rows.headers["X-Model-Version"] == str(FIRST)
    predictions = rows.json()["predictions"]
    assert [p["res"] for p in predictions] == [a.res for a in expected]
    assert [p["confidence"] for p in predictions] == pytest.approx(
        [a.confidence for a in expected], abs=1e-5)
    assert [p["error"] for p in predictions] == [a.error for a in expected]
    # What a TF Serving client sends to this model: serialized tf.Examples, base64-encoded.
    b64 = [{"b64": base64.b64encode(serving_contract.request(d["defs"], d["op"])).decode()}
           for d in defs_op]
    assert _predict(url, {"instances": b64}).json()["predictions"] == predictions
    columns = _predict(url, {"inputs": {"defs": [d["defs"] for d in defs_op],
                                        "op": [d["op"] for d in defs_op]}}).json()
    assert columns["outputs"]["res"] == [p["res"] for p in predictions]
    assert _predict(url.replace("/arith", f"/arith/versions/{FIRST}"),
                    {"instances": defs_op}).json()["predictions"] == predictions


@pytest.mark.parametrize("send,status,message", [
    (dict(data=b"{not json", headers={"Content-Type": "application/json"}), 400,
     "not valid JSON"),
    (dict(json={"instances": [{"defs": "x=1,y=2"}]}), 400, "instance 0: expected an object"),
    (dict(json={"instances": [{"defs": "x=1,y=?", "op": "x+y"}]}), 400,
     "instance 0: unknown character"),
    (dict(json={"instances": [{"defs": "x=1,y=2", "op": "x+y"},
                              {"defs": "x=" + "9" * 60 + ",y=1", "op": "x+y"}]}), 400,
     "instance 1: expression longer than"),
    (dict(json={"instances": [{"defs": "x=100000,y=1", "op": "x+y"}]}), 400,
     "operands must be in"),
    (dict(data=b"x" * (10 << 20)), 413, "at most 1,048,576"),
])
def test_malformed_requests_get_a_4xx_naming_the_problem(server, send, status, message):
    url, _ = server
    refused = requests.post(f"{url}:predict", timeout=60, **send)
    assert refused.status_code == status, refused.text
    assert message in refused.json()["error"], refused.json()
    assert _predict(url, {"instances": [{"defs": "x=1,y=2", "op": "x+y"}]}).status_code == 200


@pytest.mark.parametrize("method,path,status,allow", [
    ("get", ":predict", 405, "POST, OPTIONS"), ("post", "", 405, "GET, HEAD, OPTIONS"),
    ("get", "/versions/7", 404, None), ("post", "/versions/7:predict", 404, None)])
def test_wrong_methods_versions_and_models_are_refused(server, method, path, status, allow):
    url, _ = server
    body = {"json": {"instances": [{"defs": "x=1,y=2", "op": "x+y"}]}} if method == "post" else {}
    refused = getattr(requests, method)(f"{url}{path}", timeout=60, **body)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]
    assert refused.headers.get("Allow") == allow
    other = requests.get(url.replace("/arith", "/other"), timeout=60)
    assert other.status_code == 404 and "serves 'arith'" in other.json()["error"]


def test_a_negative_length_and_a_get_with_a_body_are_refused(server):
    url, _ = server
    host, rest_of_url = url.split("//")[1].split("/", 1)
    connection = http.client.HTTPConnection(host, timeout=60)
    connection.putrequest("POST", f"/{rest_of_url}:predict")
    connection.putheader("Content-Length", "-1")
    connection.endheaders()
    reply = connection.getresponse()
    assert reply.status == 400 and "must not be negative" in json.loads(reply.read())["error"]
    connection.close()
    with_body = requests.get(url, data=b'{"x": 1}', timeout=60)
    assert with_body.status_code == 400 and "takes no body" in with_body.json()["error"]


@pytest.mark.parametrize("path", ["", "/metadata"])
def test_head_answers_as_get_without_the_body(server, path):
    url, _ = server
    head, get = requests.head(f"{url}{path}", timeout=60), requests.get(f"{url}{path}", timeout=60)
    assert head.status_code == get.status_code == 200, get.text
    assert head.content == b""
    for header in ("Content-Type", "Content-Length", "X-Model-Version"):
        assert head.headers[header] == get.headers[header], header


def test_a_newly_pushed_version_is_served_without_failing_a_request(server):
    url, serving = server
    answered, failures, stop = [], [], threading.Event()

    def client():
        with requests.Session() as session:
            while not stop.is_set():
                reply = session.post(f"{url}:predict", timeout=60, json={
                    "instances": [{"defs": "x=2,y=3", "op": "x*y"}]})
                (answered if reply.status_code == 200 else failures).append(
                    (reply.status_code, reply.headers.get("X-Model-Version"), reply.text))
    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    new = serving_layout.publish(os.path.join(serving, str(FIRST)), serving)
    deadline = time.time() + 120
    while time.time() < deadline and \
            requests.get(url, timeout=60).json()["model_version_status"][0]["version"] != str(new):
        time.sleep(0.2)
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    served = {version for _, version, _ in answered}
    assert served == {str(FIRST), str(new)}, served
    assert requests.get(url, timeout=60).json()["model_version_status"][0]["version"] == str(new)


# Batching, watched at the model: a Server in this process on the pushed model. The servable's
# signature is wrapped to record (and hold) each call, and its queue is read to know when the
# requests wait in it; the model and its answers are real.

@pytest.fixture(scope="module")
def loaded(push_run):
    """The pushed model's latest version, loaded in this process as the server loads it."""
    watcher = VersionWatcher(push_run.serving_dir)
    watcher.poll()
    assert watcher.current is not None
    yield watcher
    watcher.stop()


class HeldSignature:
    """The model's serving signature, recording the examples and answers of every call; a call
    waits for `release`, so that the requests sent meanwhile queue behind it."""

    def __init__(self, signature):
        self.signature = signature
        self.calls: List[List[bytes]] = []
        self.answers: List[List[dict]] = []  # of the calls that did not fail
        self.release = threading.Event()

    def __call__(self, **inputs):
        self.calls.append(inputs[serving_contract.INPUT].numpy().tolist())
        self.release.wait()
        outputs = self.signature(**inputs)
        self.answers.append(serving_contract.answers(outputs))
        return outputs


@pytest.fixture
def held(loaded):
    servable = loaded.current
    signature = HeldSignature(servable._serve)
    servable._serve = signature
    yield signature
    signature.release.set()
    servable._serve = signature.signature


@pytest.fixture
def local_url(loaded):
    server = Server(("127.0.0.1", 0), loaded, "arith")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}/v1/models/arith"
    server.shutdown()
    server.server_close()


def _wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout_s} s for {what}"
        time.sleep(0.01)


def _start_in_order(servable: Servable, held: HeldSignature,
                    senders: List[Callable[[], None]]) -> List[threading.Thread]:
    """Starts each sender in a thread of its own once the one before is waiting: the first in
    the held model call, each next one in the queue behind it."""
    threads = []
    for queued, sender in enumerate(senders):
        threads.append(threading.Thread(target=sender))
        threads[-1].start()
        if queued == 0:
            _wait_until(lambda: len(held.calls) == 1, "the first request to reach the model")
        else:
            _wait_until(lambda count=queued: servable._queue.qsize() == count,
                        f"{queued} requests queued")
    return threads


def _example(instance: dict) -> bytes:
    return serving_contract.request(instance["defs"], instance["op"])


def _assert_same_answers(served: List[dict], answers: List[dict]) -> None:
    assert [a["res"] for a in served] == [a["res"] for a in answers]
    assert [a["error"] for a in served] == [a["error"] for a in answers]
    assert [a["confidence"] for a in served] == pytest.approx(
        [a["confidence"] for a in answers], abs=1e-6)  # the server rounds to 6 places


def test_requests_that_arrive_during_a_model_call_share_the_next_one(loaded, held, local_url):
    instances = {"first": [{"defs": "x=1,y=2", "op": "x+y"}],
                 "two": [{"defs": "x=3,y=-4", "op": "x*y"}, {"defs": "y=7,x=2", "op": "y-x"}],
                 "bad": [{"defs": "x=1,y=?", "op": "x+y"}],
                 "last": [{"defs": "x=-5,y=5", "op": "x+y"}]}
    replies = {}

    def sender(name):
        def send():
            replies[name] = _predict(local_url, {"instances": instances[name]})
        return send
    threads = _start_in_order(loaded.current, held, [sender(name) for name in instances])
    held.release.set()
    for thread in threads:
        thread.join()
    # Two calls of the model: the first request's, and one for the three queued behind it.
    assert held.calls == [[_example(i) for i in instances["first"]],
                          [_example(i) for name in ("two", "bad", "last") for i in instances[name]]]
    first, merged = held.answers
    assert "unknown character" in merged[2]["error"]  # the model's answer to the bad instance
    refused = replies.pop("bad")
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"].startswith("instance 0: unknown character")
    for name, answers in (("first", first), ("two", merged[:2]), ("last", merged[3:])):
        assert replies[name].status_code == 200, replies[name].text
        _assert_same_answers(replies[name].json()["predictions"], answers)


def test_a_batch_the_model_fails_on_is_answered_request_by_request(loaded, held):
    # A feature of the wrong type fails the signature's parsing of the whole batch. (The server
    # refuses such an example before the model; a Servable takes what it is given.)
    wrong_type = example_pb2.Example()
    wrong_type.features.feature["defs"].int64_list.value.append(3)
    examples = {"first": [_example({"defs": "x=1,y=2", "op": "x+y"})],
                "before": [_example({"defs": "x=3,y=4", "op": "x*y"})],
                "broken": [wrong_type.SerializeToString()],
                "after": [_example({"defs": "y=9,x=2", "op": "x-y"})]}
    servable, outcomes = loaded.current, {}

    def caller(name):
        def call():
            try:
                outcomes[name] = servable.predict(examples[name])
            except RuntimeError as error:
                outcomes[name] = error
        return call
    threads = _start_in_order(servable, held, [caller(name) for name in examples])
    held.release.set()
    for thread in threads:
        thread.join()
    # The three queued requests in one call, which fails; then each alone.
    assert held.calls == [examples["first"],
                          examples["before"] + examples["broken"] + examples["after"],
                          examples["before"], examples["broken"], examples["after"]]
    assert isinstance(outcomes["broken"], RuntimeError)
    assert "could not answer the request" in str(outcomes["broken"])
    assert len(held.answers) == 3
    for name, answers in zip(("first", "before", "after"), held.answers):
        _assert_same_answers(outcomes[name], answers)
