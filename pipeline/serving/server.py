"""The HTTP server of `arith-tfx serve`: TF Serving's REST endpoints for one model, on the
versions a VersionWatcher loads. Every refusal, http.server's own too, is `{"error": "..."}`."""
import json
import logging
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

from modules import serving_contract
from pipeline.serving import rest
from pipeline.serving.rest import RequestError
from pipeline.serving.servables import VersionWatcher

log = logging.getLogger("arith-tfx.serve")

MAX_BODY_BYTES = 1 << 20
# A larger body, and what a client still sends after a refusal, is read and dropped up to this,
# so that the client sees the refusal, not a reset.
MAX_DRAIN_BYTES = 64 << 20
VERSION_HEADER = "X-Model-Version"  # not TF Serving's; tells a client which version answered
MAX_REQUEST_LINE_BYTES = 65536  # http.server's limit; a longer request line is refused (414)
LINGER_S = 5.0  # how long, at most, a refused request's unread rest is read and dropped


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
    _unread_input = False  # the request was not read whole; see _discard_input

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

    def do_HEAD(self):  # noqa: N802  (GET's answer without the body)
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        try:
            self._respond(*self._dispatch(method))
        except RequestError as error:
            self._respond_if_connected(error.status, rest.error_body(str(error)), error.headers)
        except ConnectionError:  # the client went away; nobody to answer
            self.close_connection = True
        except Exception:  # pylint: disable=broad-except  (a bug here must not kill the server)
            log.exception("request %s %s failed", method, self.path)
            self._respond_if_connected(500, rest.error_body("internal error; see the server's log"))

    def _respond_if_connected(self, status: int, body: Dict[str, Any],
                              headers: Optional[Dict[str, str]] = None) -> None:
        try:
            self._respond(status, body, headers)
        except ConnectionError:
            self.close_connection = True

    def _dispatch(self, method: str) -> Tuple[int, Optional[Dict[str, Any]], Dict[str, str]]:
        """(status, JSON body or None, headers) of the answer; RequestError for a refusal."""
        body = self._body(required=method in ("POST", "PUT", "PATCH"))
        if method == "OPTIONS" and self.path == "*":  # about the server, not one resource
            return 204, None, {"Allow": ", ".join(rest.ALL_METHODS)}
        route = rest.route(self.path)
        if route.model != self.server.model_name:
            raise RequestError(404, f"Servable not found for request: Latest({route.model}); "
                                    f"this server serves {self.server.model_name!r}")
        allowed = ", ".join(rest.METHODS[route.action])
        if method not in rest.METHODS[route.action]:
            raise RequestError(405, f"{method} is not allowed on {self.path}; it takes {allowed}",
                               {"Allow": allowed})
        if method == "OPTIONS":
            return 204, None, {"Allow": allowed}
        if route.action == "predict":
            request = rest.parse_predict(body)
            try:
                answers, version = self.server.watcher.predict(request.examples, route.version)
            except LookupError as error:
                raise RequestError(404, str(error)) from None
            return 200, rest.predict_body(answers, request.columnar), {VERSION_HEADER: str(version)}
        if body:
            raise RequestError(400, f"{method} {self.path} takes no body")
        current = self.server.watcher.current
        if current is None or route.version not in (None, current.version):
            raise RequestError(404, f"Could not find version "
                                    f"{route.version or 'any'} of model {route.model}")
        answer = (_metadata(route.model, current) if route.action == "metadata"
                  else rest.status_body([current.version]))
        return 200, answer, {VERSION_HEADER: str(current.version)}

    def _body(self, required: bool) -> bytes:
        """The request body (read whole, so that the next request on the connection starts
        where it should); RequestError for a missing, negative or too large length."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._stop_reading()
            raise RequestError(411, "send the body with a Content-Length, not chunked")
        declared = self.headers.get("Content-Length")
        if declared is None and not required:
            return b""
        try:
            length = int(declared or "")
        except ValueError:
            self._stop_reading()
            raise RequestError(411, "a POST needs a Content-Length header") from None
        if length < 0:
            self._stop_reading()
            raise RequestError(400, f"Content-Length must not be negative, got {length}")
        if length > MAX_BODY_BYTES:
            remaining = length if length <= MAX_DRAIN_BYTES else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            self._stop_reading()
            raise RequestError(413, f"the body is {length:,} bytes; at most {MAX_BODY_BYTES:,}")
        return self.rfile.read(length)

    def _respond(self, status: int, body: Optional[Dict[str, Any]],
                 headers: Optional[Dict[str, str]] = None) -> None:
        """Sends the answer; a HEAD gets its headers only, and no body means no content (204)."""
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def parse_request(self) -> bool:
        """http.server's parsing, without HTTP/0.9, which it takes (`GET /path`, or the version
        named) and answers with a body alone: no status line or headers to tell a refusal by."""
        if not super().parse_request():
            return False
        words = self.requestline.split()
        if len(words) < 3:  # `GET /path`
            self.send_error(HTTPStatus.BAD_REQUEST)
            return False
        if int(words[-1][len("HTTP/"):].split(".")[0]) == 0:  # checked digits by http.server
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
            return False
        return True

    def send_error(self, code: int, message: Optional[str] = None,
                   explain: Optional[str] = None) -> None:
        """The refusals http.server makes itself (a request it cannot read, a method without a
        do_ method), as JSON like every other; the connection closes, as the rest of the request
        is still unread."""
        error = self._protocol_error(code, message, explain)
        self.log_error("code %d: %s", code, error)
        if self.request_version == "HTTP/0.9":  # also http.server's guess before it read one
            self.request_version = self.protocol_version  # so that the answer has a status line
        self._stop_reading()
        self._respond_if_connected(code, rest.error_body(error))

    def _protocol_error(self, code: int, message: Optional[str], explain: Optional[str]) -> str:
        line = self.requestline if len(self.requestline) <= 100 else self.requestline[:97] + "..."
        if code == HTTPStatus.BAD_REQUEST:
            return (f"malformed request line {line!r}: it must be METHOD PATH HTTP/1.1, e.g. "
                    f"'GET /v1/models/{self.server.model_name} HTTP/1.1'")
        if code == HTTPStatus.REQUEST_URI_TOO_LONG:
            return f"the request line is longer than {MAX_REQUEST_LINE_BYTES:,} bytes"
        if code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
            return f"the request headers are too large: {explain}"
        if code == HTTPStatus.NOT_IMPLEMENTED:
            return (f"unknown method {self.command!r}; this server takes "
                    f"{', '.join(rest.ALL_METHODS)}")
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:
            return (f"HTTP version {self.requestline.split()[-1]!r} is not supported; send "
                    f"HTTP/1.1 (or HTTP/1.0)")
        return message or HTTPStatus(code).phrase

    def _stop_reading(self) -> None:
        """The rest of the request cannot be read (its length is unknown, or too large, or the
        request is malformed): the connection closes after the answer."""
        self.close_connection = True
        self._unread_input = True

    def finish(self) -> None:
        super().finish()
        if self._unread_input:
            self._discard_input()

    def _discard_input(self) -> None:
        """Reads and drops what the client still sends, until it closes the connection (at most
        LINGER_S and MAX_DRAIN_BYTES): closing a socket with input unread resets the connection,
        and a client that is still sending sees the reset instead of the answer."""
        try:
            self.connection.shutdown(socket.SHUT_WR)  # the answer is whole: the client reads EOF
            deadline, drained = time.monotonic() + LINGER_S, 0
            while drained < MAX_DRAIN_BYTES and time.monotonic() < deadline:
                self.connection.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = self.connection.recv(1 << 16)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:  # a timeout or a reset: the connection closes either way
            pass

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
