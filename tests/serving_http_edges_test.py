"""`arith-tfx serve` at the edges of HTTP, byte for byte over a socket: the requests http.server
refuses itself, HEAD, OPTIONS and wrong methods get status lines and JSON like every answer."""
import json
import socket
import threading
from typing import Dict, NamedTuple, Tuple

import pytest

from pipeline.serving.server import Server
from pipeline.serving.servables import VersionWatcher

MODEL = "/v1/models/arith"
LONG = 70_000  # beyond http.server's 65,536 bytes for the request line and for a header line
STILL_SENDING = 8 << 20  # more than a socket's buffers hold: the client is still sending


class Reply(NamedTuple):
    status_line: str
    headers: Dict[str, str]
    body: bytes


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    """A real server on an empty serving directory: no model is loaded, and none is needed."""
    watcher = VersionWatcher(str(tmp_path_factory.mktemp("serving")))
    server = Server(("127.0.0.1", 0), watcher, "arith")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server.server_address[:2]
    server.shutdown()
    server.server_close()


def _exchange(address, request: bytes) -> bytes:
    """Everything the server sends back until it closes the connection (a server that keeps
    it open fails the test with a timeout)."""
    with socket.create_connection(address, timeout=30) as connection:
        connection.sendall(request)
        return b"".join(iter(lambda: connection.recv(1 << 16), b""))


def _read(received: bytes, has_body: bool = True) -> Tuple[Reply, bytes]:
    """The first response in `received` and what follows it."""
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    length = int(headers.get("Content-Length", 0)) if has_body else 0
    return Reply(status_line, headers, rest[:length]), rest[length:]


def _only_reply(received: bytes) -> Reply:
    reply, rest = _read(received)
    assert rest == b"", (reply, rest[:200])  # nothing beyond the Content-Length
    return reply


def _assert_json_refusal(reply: Reply, status_line: str, message: str) -> None:
    assert reply.status_line == status_line, reply
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    assert message in json.loads(reply.body)["error"], reply.body


@pytest.mark.parametrize("request_bytes,status_line,message", [
    (b"GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request", "malformed request line 'GARBAGE'"),
    (b"GET /v1/models/arith HTTQ/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request",
     "malformed request line 'GET /v1/models/arith HTTQ/1.1': it must be METHOD PATH HTTP/1.1"),
    (b"GET /v1/models/arith extra HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request",
     "malformed request line"),
    # HTTP/0.9, which http.server would answer with a bare body: no status line, no headers.
    (b"GET /v1/models/arith\r\n\r\n", "HTTP/1.1 400 Bad Request",
     "malformed request line 'GET /v1/models/arith'"),
    (b"POST /v1/models/arith:predict\r\n\r\n", "HTTP/1.1 400 Bad Request",
     "malformed request line"),
    (b"GET /v1/models/arith HTTP/0.9\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported",
     "HTTP version 'HTTP/0.9' is not supported"),
    (b"GET /v1/models/arith HTTP/2.0\r\nHost: t\r\n\r\n",
     "HTTP/1.1 505 HTTP Version Not Supported", "HTTP version 'HTTP/2.0' is not supported"),
    (b"GET /v1/models/arith?" + b"a" * LONG + b" HTTP/1.1\r\nHost: t\r\n\r\n",
     "HTTP/1.1 414 Request-URI Too Long", "the request line is longer than 65,536 bytes"),
    (b"GET /v1/models/arith HTTP/1.1\r\nX-Long: " + b"a" * LONG + b"\r\n\r\n",
     "HTTP/1.1 431 Request Header Fields Too Large",
     "the request headers are too large: got more than 65536 bytes when reading header line"),
    (b"GET /v1/models/arith HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101))
     + b"\r\n", "HTTP/1.1 431 Request Header Fields Too Large",
     "the request headers are too large: got more than 100 headers"),
    (b"BREW /v1/models/arith HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 501 Not Implemented",
     "unknown method 'BREW'; this server takes GET, HEAD, POST, OPTIONS"),
    (b"get /v1/models/arith HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 501 Not Implemented",
     "unknown method 'get'"),  # methods are case-sensitive
], ids=["one-word", "bad-version", "four-words", "http-0.9-get", "http-0.9-post",
        "http-0.9-named", "http-2", "long-uri", "long-header", "101-headers", "unknown-method",
        "lowercase-method"])
def test_requests_http_server_refuses_itself_get_json(address, request_bytes, status_line,
                                                      message):
    reply = _only_reply(_exchange(address, request_bytes))
    _assert_json_refusal(reply, status_line, message)
    assert reply.headers["Connection"] == "close"  # and _exchange saw the server close it


def _chunked(size: int) -> bytes:
    return b"%x\r\n" % size + b"a" * size + b"\r\n0\r\n\r\n"


@pytest.mark.parametrize("request_bytes,status_line,message", [
    (b"GET /v1/models/arith HTTP/1.1\r\nX-Long: " + b"a" * STILL_SENDING + b"\r\n\r\n",
     "HTTP/1.1 431 Request Header Fields Too Large", "the request headers are too large"),
    (b"POST /v1/models/arith:predict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     + _chunked(STILL_SENDING), "HTTP/1.1 411 Length Required", "not chunked"),
], ids=["long-header", "chunked-body"])
def test_a_refusal_reaches_a_client_that_is_still_sending(address, request_bytes, status_line,
                                                          message):
    # The server answers before the request has arrived; closing with input unread would reset
    # the connection, and the client's send would fail before it read the refusal.
    reply = _only_reply(_exchange(address, request_bytes))
    _assert_json_refusal(reply, status_line, message)
    assert reply.headers["Connection"] == "close"


@pytest.mark.parametrize("target,allow", [
    (MODEL, "GET, HEAD, OPTIONS"),
    (f"{MODEL}/versions/3", "GET, HEAD, OPTIONS"),
    (f"{MODEL}/metadata", "GET, HEAD, OPTIONS"),
    (f"{MODEL}:predict", "POST, OPTIONS"),
    (f"{MODEL}/versions/3:predict", "POST, OPTIONS"),
    ("*", "GET, HEAD, POST, OPTIONS"),
])
def test_options_lists_the_methods_of_the_resource(address, target, allow):
    received = _exchange(address, f"OPTIONS {target} HTTP/1.1\r\nHost: t\r\n"
                                  f"Connection: close\r\n\r\n".encode())
    reply, rest = _read(received, has_body=False)
    assert reply.status_line == "HTTP/1.1 204 No Content"
    assert reply.headers["Allow"] == allow
    assert "Content-Length" not in reply.headers and rest == b""


def test_options_on_another_model_is_not_found(address):
    reply = _only_reply(_exchange(address, b"OPTIONS /v1/models/other HTTP/1.1\r\nHost: t\r\n"
                                           b"Connection: close\r\n\r\n"))
    _assert_json_refusal(reply, "HTTP/1.1 404 Not Found", "this server serves 'arith'")


@pytest.mark.parametrize("request_line,extra,allow", [
    (f"GET {MODEL}:predict", "", "POST, OPTIONS"),
    (f"PUT {MODEL}:predict", "Content-Length: 2\r\n", "POST, OPTIONS"),
    (f"POST {MODEL}", "Content-Length: 2\r\n", "GET, HEAD, OPTIONS"),
    (f"DELETE {MODEL}/versions/3", "", "GET, HEAD, OPTIONS"),
    (f"PATCH {MODEL}/metadata", "Content-Length: 2\r\n", "GET, HEAD, OPTIONS"),
])
def test_a_wrong_method_gets_405_with_the_allowed_ones(address, request_line, extra, allow):
    body = "{}" if extra else ""
    reply = _only_reply(_exchange(address, f"{request_line} HTTP/1.1\r\nHost: t\r\n{extra}"
                                           f"Connection: close\r\n\r\n{body}".encode()))
    method = request_line.split()[0]
    _assert_json_refusal(reply, "HTTP/1.1 405 Method Not Allowed",
                         f"{method} is not allowed on {request_line.split()[1]}; it takes {allow}")
    assert reply.headers["Allow"] == allow


def test_head_answers_as_get_without_the_body(address):
    # On one connection: the GET's status line must follow the HEAD's headers directly.
    received = _exchange(address, f"HEAD {MODEL} HTTP/1.1\r\nHost: t\r\n\r\n"
                                  f"GET {MODEL} HTTP/1.1\r\nHost: t\r\n"
                                  f"Connection: close\r\n\r\n".encode())
    head, rest = _read(received, has_body=False)
    get = _only_reply(rest)
    assert head.status_line == get.status_line == "HTTP/1.1 404 Not Found"  # nothing loaded
    assert head.headers["Content-Type"] == get.headers["Content-Type"] == "application/json"
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    assert "Connection" not in head.headers  # a refusal of the resource, not of the connection
    assert json.loads(get.body) == {"error": "Could not find version any of model arith"}


def test_head_on_predict_is_refused_without_a_body(address):
    received = _exchange(address, f"HEAD {MODEL}:predict HTTP/1.1\r\nHost: t\r\n"
                                  f"Connection: close\r\n\r\n".encode())
    reply, rest = _read(received, has_body=False)
    assert reply.status_line == "HTTP/1.1 405 Method Not Allowed"
    assert reply.headers["Allow"] == "POST, OPTIONS"
    assert reply.headers["Content-Type"] == "application/json"
    assert int(reply.headers["Content-Length"]) > 0 and rest == b""
