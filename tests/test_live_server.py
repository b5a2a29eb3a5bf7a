"""The browser tests' server: a response's body is closed even when the browser drops the
connection before the server has finished with it (otherwise the file behind a static
response is left to the garbage collector, and its ResourceWarning fails whichever test is
running at that moment)."""
import gc
import socket
import struct
import threading
import time

from tests.drills import wait_for


def _request_threads():
    return [thread for thread in threading.enumerate()
            if "process_request" in thread.name]


def test_a_static_file_is_closed_when_the_browser_resets_the_connection(live_server):
    with socket.create_connection(("127.0.0.1", int(live_server.url.rsplit(":", 1)[1]))) as sock:
        # Bytes after the request keep the server reading the socket once it has answered
        # (its drain), so the reset below lands in that read, where werkzeug skips close().
        sock.sendall(b"GET /static/favicon.svg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nmore")
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    wait_for(lambda: not _request_threads(), 10, "the server to finish with the dropped request")
    time.sleep(0.05)
    # An unclosed file would warn here (the suite turns warnings into errors).
    gc.collect()
