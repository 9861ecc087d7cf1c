"""The test suite's own guard: a connection to the internet fails at once and says why,
while this machine (loopback, Unix sockets) stays reachable for the local test servers."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest


def test_a_connection_to_a_public_address_is_refused_at_once():
    with pytest.raises(ConnectionRefusedError, match="tests never touch the internet"):
        socket.create_connection(("93.184.215.14", 80), timeout=5)
    with socket.socket() as sock:
        with pytest.raises(ConnectionRefusedError, match=r"2606:4700"):
            sock.connect(("2606:4700::1111", 443))
    with pytest.raises(OSError, match="tests never touch the internet"):
        urllib.request.urlopen("http://1.1.1.1/", timeout=5)


def test_loopback_stays_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
        thread.start()
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            thread.join(5)
        assert len(accepted) == 1
        accepted[0].close()
