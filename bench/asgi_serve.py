"""Benchmark only: the predict and status endpoints of `arith-tfx serve` on uvicorn (an ASGI
server: httptools or h11 parse the requests, uvloop or asyncio run the connections), for
`bench/serve_load.py --server uvicorn`. The model side is the same as the real server's: one
VersionWatcher, whose Servable merges concurrent requests into one model call; its blocking
predict runs on a thread pool as wide as the highest concurrency measured.

    .venv/bin/python bench/asgi_serve.py --model-dir DIR [--port 0] [--poll-seconds 0.5]
"""
import argparse
import asyncio
import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import uvicorn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline.serving import rest  # noqa: E402
from pipeline.serving.rest import RequestError  # noqa: E402
from pipeline.serving.server import MAX_BODY_BYTES, VERSION_HEADER  # noqa: E402
from pipeline.serving.servables import VersionWatcher  # noqa: E402


def make_app(watcher: VersionWatcher, model_name: str, threads: int):
    pool = ThreadPoolExecutor(threads)

    async def answer(send, status: int, body, headers=()):
        payload = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *((name.encode(), value.encode()) for name, value in headers)]})
        await send({"type": "http.response.body", "body": payload})

    async def read_body(receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                raise RequestError(413, f"the body is over {MAX_BODY_BYTES:,} bytes")
            if not message.get("more_body"):
                return b"".join(chunks)

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        try:
            route = rest.route(scope["path"])
            if route.model != model_name:
                raise RequestError(404, f"Servable not found for request: Latest({route.model})")
            if route.action == "predict" and scope["method"] == "POST":
                request = rest.parse_predict(await read_body(receive))
                try:
                    answers, version = await asyncio.get_running_loop().run_in_executor(
                        pool, watcher.predict, request.examples, route.version)
                except LookupError as error:
                    raise RequestError(404, str(error)) from None
                await answer(send, 200, rest.predict_body(answers, request.columnar),
                             [(VERSION_HEADER, str(version))])
            elif route.action == "status" and scope["method"] == "GET":
                current = watcher.current
                if current is None:
                    raise RequestError(404, f"no version of model {route.model}")
                await answer(send, 200, rest.status_body([current.version]),
                             [(VERSION_HEADER, str(current.version))])
            else:
                raise RequestError(405, f"{scope['method']} is not measured on {scope['path']}")
        except RequestError as error:
            await answer(send, error.status, rest.error_body(str(error)),
                         list(error.headers.items()))

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model-name", default="arith")
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    watcher = VersionWatcher(args.model_dir, poll_s=args.poll_seconds)
    watcher.poll()
    watcher.start()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # before the line below: a client may connect as soon as it reads it
    host, port = sock.getsockname()
    print(f"asgi_serve: {args.model_name} on http://{host}:{port}/v1/models/{args.model_name} "
          f"(uvicorn {uvicorn.__version__})", flush=True)
    config = uvicorn.Config(make_app(watcher, args.model_name, args.threads), log_level="warning",
                            access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        watcher.stop()


if __name__ == "__main__":
    main()
