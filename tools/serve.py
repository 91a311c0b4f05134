"""Serve the repository root on loopback for the demo and the browser tests.

  python tools/serve.py [--port 8080] [--root .]

Sends Cross-Origin-Opener-Policy / Cross-Origin-Embedder-Policy so the page is cross-origin
isolated (needed by threaded wasm builds) and the right MIME type for .wasm and .mjs.
With --port 0 a free port is chosen; the first line printed is the URL.

--mbps N [--latency-ms M] make the server a slow link for `make bench`: every response waits M ms
before its headers and all bodies share N Mbit/s, sent in 16 KB pieces as the link frees up, so
the browser reads a body the way it comes off a real network, whichever of its threads fetches
it (Chromium's own network emulation hands a worker's fetch its body in ~4 KB reads, and slower
than the page's).
"""
import argparse
import functools
import http.server
import os
import shutil
import sys
import threading
import time


class Link:
    """One link of `mbps` shared by all connections: each piece waits for its turn on the wire."""

    PIECE = 16 * 1024
    # How far the link may fall behind its rate and catch up (a sleep overshoots by a fraction
    # of a piece's time; without this the overshoots add up).
    SLACK = 0.01

    def __init__(self, mbps, latency_ms):
        self.bytes_per_second = mbps * 1e6 / 8
        self.latency = latency_ms / 1000
        self.lock = threading.Lock()
        self.free_at = 0.0  # when the link has sent everything queued so far (time.monotonic)

    def send(self, source, out):
        while piece := source.read(self.PIECE):
            with self.lock:
                start = max(time.monotonic() - self.SLACK, self.free_at)
                self.free_at = start + len(piece) / self.bytes_per_second
                done = self.free_at
            time.sleep(max(0.0, done - time.monotonic()))
            out.write(piece)


class Handler(http.server.SimpleHTTPRequestHandler):
    link = None  # a Link to send bodies through, or None (loopback speed)

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript", ".mjs": "text/javascript",
                      ".json": "application/json", ".onnx": "application/octet-stream"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def send_head(self):
        if self.link:
            time.sleep(self.link.latency)
        return super().send_head()

    def copyfile(self, source, outputfile):
        if self.link:
            self.link.send(source, outputfile)
        else:
            shutil.copyfileobj(source, outputfile)

    def log_message(self, fmt, *args):
        if os.environ.get("SERVE_LOG"):
            super().log_message(fmt, *args)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--mbps", type=float, default=0, help="serve through a link this fast (0: as fast as loopback)")
    parser.add_argument("--latency-ms", type=float, default=0, help="with --mbps: wait this long before each response")
    args = parser.parse_args()
    if args.mbps:
        Handler.link = Link(args.mbps, args.latency_ms)
    handler = functools.partial(Handler, directory=args.root)
    server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    print(f"http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
