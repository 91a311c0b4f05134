"""Test tools/serve.py: the headers every page needs, and the paced link `make bench` loads over.

Starts the server on a temporary folder, as the bench does (`--port 0`), and checks that
- a file comes back whole, with the cross-origin isolation headers and the .wasm MIME type;
- with --mbps, a body takes at least as long as the link's rate allows and not much longer, the
  response waits --latency-ms first, and two bodies at once share the one link (each takes
  about twice as long; together they still keep to the rate).

  python tools/test_serve.py
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

SERVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serve.py")
BODY = os.urandom(2 << 20)  # 2 MiB: 0.21 s at 80 Mbit/s


class Server:
    def __init__(self, root, *args):
        self.proc = subprocess.Popen([sys.executable, SERVE, "--port", "0", "--root", root, *args],
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()

    def get(self, path):
        """(headers, body, seconds to the first header, seconds to the last byte)."""
        start = time.monotonic()
        with urllib.request.urlopen(self.url + path) as response:
            first = time.monotonic() - start
            body = response.read()
            return response.headers, body, first, time.monotonic() - start

    def close(self):
        self.proc.terminate()
        self.proc.wait()


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.TemporaryDirectory()
        with open(os.path.join(cls.root.name, "engine.wasm"), "wb") as f:
            f.write(BODY)

    @classmethod
    def tearDownClass(cls):
        cls.root.cleanup()

    def serve(self, *args):
        server = Server(self.root.name, *args)
        self.addCleanup(server.close)
        return server

    def test_headers_and_body(self):
        headers, body, _, _ = self.serve().get("engine.wasm")
        self.assertEqual(body, BODY)
        self.assertEqual(headers["Content-Type"], "application/wasm")
        self.assertEqual(headers["Cross-Origin-Opener-Policy"], "same-origin")
        self.assertEqual(headers["Cross-Origin-Embedder-Policy"], "require-corp")

    def test_paced_body_keeps_to_the_rate(self):
        server = self.serve("--mbps", "80", "--latency-ms", "50")
        ideal = len(BODY) * 8 / 80e6
        _, body, first, total = server.get("engine.wasm")
        self.assertEqual(body, BODY)
        self.assertGreaterEqual(first, 0.05, "the latency comes before the headers")
        self.assertGreaterEqual(total, 0.05 + 0.95 * ideal, "faster than the link")
        self.assertLess(total, 0.05 + 2 * ideal, "much slower than the link")

    def test_two_bodies_share_the_link(self):
        server = self.serve("--mbps", "80")
        ideal = len(BODY) * 8 / 80e6
        results = []
        threads = [threading.Thread(target=lambda: results.append(server.get("engine.wasm"))) for _ in range(2)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        self.assertEqual([r[1] for r in results], [BODY, BODY])
        self.assertGreaterEqual(elapsed, 0.95 * 2 * ideal, "two bodies went faster than one link")
        self.assertLess(elapsed, 2 * 2 * ideal)
        for _, _, _, total in results:
            self.assertGreater(total, 1.4 * ideal, "each body waits for the other's pieces")


if __name__ == "__main__":
    unittest.main()
