"""What the fake AWS endpoints share: AWS's JSON 1.1 protocol over local HTTP (a POST whose
``X-Amz-Target`` names the operation, a JSON body each way, errors as ``{"__type",
"message"}`` with AWS's status codes), SigV4's credential scope read from the Authorization
header (which key, which region: a fake keeps accounts per access key), and a threaded
server on a free port."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Credential=AKID/20261124/eu-west-1/cloudtrail/aws4_request
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class Handler(BaseHTTPRequestHandler):
    """One JSON 1.1 request: ``target``, ``body`` and the signer's ``key`` / ``region`` are
    read before ``do_POST`` runs the operation (see ``operation``)."""

    protocol_version = "HTTP/1.1"
    # per request, set by do_POST
    target = ""
    body: Any = None
    key = ""
    region = ""

    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        self.target = self.headers.get("X-Amz-Target", "")
        m = _SCOPE.search(self.headers.get("Authorization", ""))
        self.key, self.region = (m.group(1), m.group(2)) if m else ("", "")
        self.body = json.loads(raw or b"{}")
        self.operation()

    def operation(self) -> None:  # pragma: no cover - each fake has its own
        raise NotImplementedError

    def account(self, keys: dict[str, str]) -> str | None:
        """The account of the request's access key; None after answering as AWS does for a
        request with no signature or an unknown key."""
        if not self.key:
            self.send(403, error("MissingAuthenticationTokenException", "no auth"))
            return None
        account = keys.get(self.key)
        if account is None:
            self.send(
                400,
                error(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                ),
            )
        return account

    def send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake")
        self.end_headers()
        self.wfile.write(data)


def error(kind: str, message: str) -> dict[str, Any]:
    return {"__type": kind, "message": message}


def serve(handler: type[Handler]) -> tuple[ThreadingHTTPServer, str]:
    """The server (daemon threads) on a free local port, and its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def shut(server: ThreadingHTTPServer | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
