"""The HTTP server of `arith-tfx serve`: TF Serving's REST endpoints for one model, on the
versions a VersionWatcher loads. Every refusal is a 4xx with `{"error": "..."}`."""
import json
import logging
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict

from modules import serving_contract
from pipeline.serving import rest
from pipeline.serving.rest import RequestError
from pipeline.serving.servables import VersionWatcher

log = logging.getLogger("arith-tfx.serve")

MAX_BODY_BYTES = 1 << 20
# A larger body is read and dropped (so that the client sees the 413, not a reset) up to this.
MAX_DRAIN_BYTES = 64 << 20
VERSION_HEADER = "X-Model-Version"  # not TF Serving's; tells a client which version answered


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, watcher: VersionWatcher, model_name: str):
        super().__init__(address, Handler)
        self.watcher = watcher
        self.model_name = model_name


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as TF Serving's clients expect
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, which cost 40 ms per request.
    disable_nagle_algorithm = True
    timeout = 30  # seconds a connection may stay silent (idle keep-alive, a slow body)
    server_version = "arith-tfx-serve"
    server: Server

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")

    def do_OPTIONS(self):  # noqa: N802
        self._handle("OPTIONS")

    def do_HEAD(self):  # noqa: N802  (a HEAD answer has headers only)
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _handle(self, method: str) -> None:
        try:
            self._respond(200, *self._dispatch(method))
        except RequestError as error:
            self._respond_if_connected(error.status, rest.error_body(str(error)))
        except ConnectionError:  # the client went away; nobody to answer
            self.close_connection = True
        except Exception:  # pylint: disable=broad-except  (a bug here must not kill the server)
            log.exception("request %s %s failed", method, self.path)
            self._respond_if_connected(500, rest.error_body("internal error; see the server's log"))

    def _respond_if_connected(self, status: int, body: Dict[str, Any]) -> None:
        try:
            self._respond(status, body)
        except ConnectionError:
            self.close_connection = True

    def _dispatch(self, method: str):
        body = self._body(required=method in ("POST", "PUT", "PATCH"))
        route = rest.route(self.path)
        if route.model != self.server.model_name:
            raise RequestError(404, f"Servable not found for request: Latest({route.model}); "
                                    f"this server serves {self.server.model_name!r}")
        if route.action == "predict":
            if method != "POST":
                raise RequestError(405, f"{self.path} takes POST")
            request = rest.parse_predict(body)
            try:
                answers, version = self.server.watcher.predict(request.examples, route.version)
            except LookupError as error:
                raise RequestError(404, str(error)) from None
            return rest.predict_body(answers, request.columnar), version
        if method != "GET":
            raise RequestError(405, f"{self.path} takes GET")
        if body:
            raise RequestError(400, f"GET {self.path} takes no body")
        current = self.server.watcher.current
        if current is None or route.version not in (None, current.version):
            raise RequestError(404, f"Could not find version "
                                    f"{route.version or 'any'} of model {route.model}")
        if route.action == "metadata":
            return _metadata(route.model, current), current.version
        return rest.status_body([current.version]), current.version

    def _body(self, required: bool) -> bytes:
        """The request body (read whole, so that the next request on the connection starts
        where it should); RequestError for a missing, negative or too large length."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise RequestError(411, "send the body with a Content-Length, not chunked")
        declared = self.headers.get("Content-Length")
        if declared is None and not required:
            return b""
        try:
            length = int(declared or "")
        except ValueError:
            self.close_connection = True
            raise RequestError(411, "a POST needs a Content-Length header") from None
        if length < 0:
            self.close_connection = True
            raise RequestError(400, f"Content-Length must not be negative, got {length}")
        if length > MAX_BODY_BYTES:
            remaining = length if length <= MAX_DRAIN_BYTES else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            self.close_connection = True
            raise RequestError(413, f"the body is {length:,} bytes; at most {MAX_BODY_BYTES:,}")
        return self.rfile.read(length)

    def _respond(self, status: int, body: Dict[str, Any], version=None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if version is not None:
            self.send_header(VERSION_HEADER, str(version))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)


def _metadata(name: str, servable) -> Dict[str, Any]:
    signature = servable.signature_def()
    return {"model_spec": {"name": name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": {"signature_def": {serving_contract.SIGNATURE: signature}}}}


def serve(serving_dir: str, host: str, port: int, model_name: str, poll_s: float,
          batch_wait_ms: float, max_batch: int) -> int:
    watcher = VersionWatcher(serving_dir, poll_s=poll_s, max_batch=max_batch,
                             batch_wait_s=batch_wait_ms / 1000.0)
    watcher.poll()
    watcher.start()
    server = Server((host, port), watcher, model_name)
    host, port = server.server_address[:2]
    current = watcher.current
    print(f"arith-tfx serve: {model_name} "
          f"{'version ' + str(current.version) if current else '(no version pushed yet)'} "
          f"from {serving_dir} on http://{host}:{port}/v1/models/{model_name} "
          f"(Ctrl-C stops)", flush=True)

    def stop(signum, _frame):
        log.info("stopping (signal %s)", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        watcher.stop()
    print("arith-tfx serve: stopped", file=sys.stderr, flush=True)
    return 0
