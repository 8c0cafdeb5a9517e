"""`arith-tfx serve` as a client written for TF Serving sees it: a real server process on a
pushed model, a real HTTP client, good and bad requests, and a version pushed while it serves."""
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

import pytest
import requests

from components.atomic_pusher import serving_dir as serving_layout
from modules import serving_contract
from pipeline import predict

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
        [sys.executable, "-m", "pipeline.cli", "serve", "--model-dir", serving, "--port", "0",
         "--poll-seconds", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


@pytest.mark.parametrize("method,path,status", [
    ("get", ":predict", 405), ("post", "", 405), ("get", "/versions/7", 404),
    ("post", "/versions/7:predict", 404)])
def test_wrong_methods_versions_and_models_are_refused(server, method, path, status):
    url, _ = server
    body = {"json": {"instances": [{"defs": "x=1,y=2", "op": "x+y"}]}} if method == "post" else {}
    refused = getattr(requests, method)(f"{url}{path}", timeout=60, **body)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]
    other = requests.get(url.replace("/arith", "/other"), timeout=60)
    assert other.status_code == 404 and "serves 'arith'" in other.json()["error"]


def test_a_negative_length_a_head_and_a_get_with_a_body_are_refused(server):
    url, _ = server
    host, rest_of_url = url.split("//")[1].split("/", 1)
    connection = http.client.HTTPConnection(host, timeout=60)
    connection.putrequest("POST", f"/{rest_of_url}:predict")
    connection.putheader("Content-Length", "-1")
    connection.endheaders()
    reply = connection.getresponse()
    assert reply.status == 400 and "must not be negative" in json.loads(reply.read())["error"]
    connection.close()
    assert requests.head(url, timeout=60).status_code == 405
    with_body = requests.get(url, data=b'{"x": 1}', timeout=60)
    assert with_body.status_code == 400 and "takes no body" in with_body.json()["error"]


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
