"""The development web server `hotline run` uses: werkzeug's, without its version or colours."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hotline.logs import escape_controls

SERVER_NAME = "hotline"
log = logging.getLogger("werkzeug")


class RequestHandler(WSGIRequestHandler):
    """Announces `Server: hotline` (not werkzeug's and Python's versions); logs plain lines."""

    # A malformed request line is answered by http.server itself: one plain line, no HTML page.
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"

    def version_string(self) -> str:
        return SERVER_NAME

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Werkzeug's own version colours the line; our log formatter would print the escapes.
        # The request line is escaped here too, for a deployment's own log formatter.
        line = escape_controls(self.requestline)
        log.info('%s "%s" %s %s', self.address_string(), line, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        getattr(log, type, log.info)("%s " + message, self.address_string(), *args)


def serve(app: Flask, host: str, port: int) -> None:
    """Serve `app` on host:port with a thread per request until interrupted."""
    server = make_dev_server(app, host, port)
    # run_simple's own start-up lines are coloured; this one reads the same in any log.
    log.info("development server (not for production) on http://%s:%s", host, server.port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def make_dev_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """The same server, not yet serving (tests run it in a thread)."""
    return make_server(host, port, app, threaded=True, request_handler=RequestHandler)
