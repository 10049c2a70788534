"""A loopback HTTP server in a thread, shared by the fake package indexes.

One server serves many "spaces": each test registers its own space under a
random prefix, so tests share a port but never each other's packages.
"""

import logging
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._serve(send_body=True)

    def do_HEAD(self):
        self._serve(send_body=False)

    def _serve(self, *, send_body):
        # Keep the percent-encoding of "@scope%2fname" intact for the space,
        # which decides how to split its own part of the path.
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        prefix, _, rest = path.lstrip("/").partition("/")
        space = self.server.spaces.get(unquote(prefix))
        answer = space.respond(rest) if space else None
        if answer is None:
            status, content_type, body = 404, "text/plain", b"not found\n"
        else:
            status = 200
            content_type, body = answer

        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Tests publish into a space after a first resolution; clients must
        # not answer from a cached copy.
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format, *args):
        logger.debug("loopback %s", format % args)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 that routes by the first segment."""

    def __init__(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.spaces = {}
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="loopback-index", daemon=True
        )

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def mount(self, space):
        """Serve ``space`` under a fresh prefix and return its base URL."""
        prefix = secrets.token_hex(8)
        self._server.spaces[prefix] = space
        return f"{self.url}/{prefix}"

    def unmount(self, base_url):
        """Stop serving the space mounted at ``base_url``."""
        self._server.spaces.pop(base_url.rstrip("/").rsplit("/", 1)[-1], None)
