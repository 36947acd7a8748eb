"""tests/adversarial/test_admin_api.py — hostile and slow clients of the admin
API (issue 15, item 8), on its loopback TCP endpoint with admin.token.

The protocol is one JSON request per line (admin/admin_server.h), so "the
body" is the request line: a client without the right token cannot make the
daemon read more than the first 4 KiB of a line (a longer line must begin
with {"token":...}); no request line may pass 8 MiB; and one client that
stalls mid-request does not keep any other from being served. Clients: raw
sockets, curl (telnet:// speaks raw TCP) and ringmtactl.
"""

import json
import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_port, ringmtactl_bin

TOKEN = "0123456789abcdef0123456789"
TIMEOUT = 15.0  # any single read in these tests


@pytest.fixture
def admin(daemon_factory):
    port = free_port()
    d = daemon_factory({"admin": {"listen": f"127.0.0.1:{port}", "token": TOKEN}, "metrics": {"listen": ""}})
    d.admin_port = port
    return d


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s):
    """One response line (JSON), read with a bounded wait."""
    buf = b""
    deadline = time.monotonic() + TIMEOUT
    while b"\n" not in buf:
        assert time.monotonic() < deadline, f"no response line; got {buf!r}"
        chunk = s.recv(65536)
        assert chunk, f"connection closed without a response; got {buf!r}"
        buf += chunk
    return json.loads(buf.split(b"\n", 1)[0])


def closed(s):
    """True once the server closes the connection (bounded wait)."""
    s.settimeout(TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


def ids_request(n, token=None):
    """A list request for n (well-formed, absent) queue IDs: about 19 bytes each."""
    ids = ",".join(f'"{i:016X}"' for i in range(n))
    head = f'{{"token":"{token}",' if token is not None else "{"
    return f'{head}"cmd":"list","ids":[{ids}]}}\n'.encode()


@pytest.mark.parametrize("token", [None, "wrong-token-wrong-token!!"], ids=["missing", "wrong"])
def test_long_request_without_the_token_is_refused_before_the_rest_is_read(admin, token):
    s = connect(admin.admin_port)
    with s:
        # The start of a "huge" request: 64 KiB of a line that would go on for
        # a gigabyte. The rest is never sent: the answer must come without it.
        start = (f'{{"token":"{token}",' if token else "{") + '"cmd":"list","ids":["' + "A" * 65536
        s.sendall(start.encode())
        r = read_response(s)
        assert r["ok"] is False and r["error"].startswith("permission denied: admin.token missing or wrong"), r
        assert "must begin with" in r["error"]
        assert closed(s)
    admin.wait_log("admin API: request refused: permission denied")


def test_token_elsewhere_in_a_long_request_is_refused(admin):
    # The right token, but not first: a long line is judged by its start.
    line = ids_request(400).replace(b"{", b'{"pad":"x",', 1)[:-2] + f',"token":"{TOKEN}"}}\n'.encode()
    assert len(line) > 4096
    with connect(admin.admin_port) as s:
        s.sendall(line)
        r = read_response(s)
        assert r["ok"] is False and "permission denied" in r["error"], r


def test_long_request_with_the_token_first_is_served(admin):
    line = ids_request(1000, TOKEN)
    assert len(line) > 4096
    with connect(admin.admin_port) as s:
        s.sendall(line)
        r = read_response(s)
        assert r == {"ok": True, "messages": []}, r
        # A short request without the token on the same connection: refused, as always.
        s.sendall(b'{"cmd":"ping"}\n')
        r = read_response(s)
        assert r["ok"] is False and "permission denied" in r["error"], r


def test_ringmtactl_sends_the_token_first(admin):
    # 400 IDs make a request well over 4 KiB: it must still get past the token check.
    ids = [f"{i:016X}" for i in range(400)]
    cp = subprocess.run([str(ringmtactl_bin()), "--config", str(admin.config_path), "queue", "hold", *ids],
                        capture_output=True, text=True, timeout=60)
    assert "permission denied" not in cp.stderr, cp.stderr
    assert cp.returncode == 1 and f"no message with queue ID {ids[0]}" in cp.stderr, (cp.returncode, cp.stderr)


def test_oversize_request_is_refused(admin):
    with connect(admin.admin_port) as s:
        s.sendall(f'{{"token":"{TOKEN}","cmd":"list","ids":["'.encode())
        chunk = b"A" * (1 << 20)
        sent = 0
        s.settimeout(TIMEOUT)
        # Up to 10 MiB, in 1 MiB pieces; the refusal comes once 8 MiB are in.
        for _ in range(10):
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        response = read_response(s)
        assert response["ok"] is False, response
        assert response["error"].startswith("request too large"), response
        assert "8388608 bytes" in response["error"]
        assert sent >= 8 << 20, sent  # it took the full 8 MiB before refusing
    admin.wait_log("admin API: request refused: request too large")


def test_a_stalled_client_does_not_block_another(admin):
    # Client A sends half a request and stalls (the old server read one client
    # at a time: B would have waited for A's 60 s idle timeout).
    a = connect(admin.admin_port)
    b = connect(admin.admin_port)
    with a, b:
        a.sendall(f'{{"token":"{TOKEN}","cmd":'.encode())
        b.sendall(f'{{"token":"{TOKEN}","cmd":"ping"}}\n'.encode())
        r = read_response(b)
        assert r["ok"] is True and "shards" in r, r
        b.sendall(f'{{"token":"{TOKEN}","cmd":"summary"}}\n'.encode())
        assert read_response(b)["ok"] is True
        # A finishes its request and is answered as well.
        a.sendall(b'"ping"}\n')
        assert read_response(a)["ok"] is True
    # And ringmtactl works while another client holds a connection open mid-request.
    with connect(admin.admin_port) as c:
        c.sendall(b'{"token":')
        cp = subprocess.run([str(ringmtactl_bin()), "--config", str(admin.config_path), "queue", "summary", "--json"],
                            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0 and json.loads(cp.stdout)["ok"], cp.stderr


def test_clients_beyond_the_limit_are_told_to_retry(admin):
    held = []
    try:
        for _ in range(8):
            s = connect(admin.admin_port)
            s.sendall(b"{")  # each holds a client slot mid-request
            held.append(s)
        # The slots are taken once the daemon has accepted them; a ping on a
        # 9th connection is then refused with a clear message.
        extra = connect(admin.admin_port)
        with extra:
            extra.sendall(f'{{"token":"{TOKEN}","cmd":"ping"}}\n'.encode())
            r = read_response(extra)
            assert r == {"ok": False, "error": "too many admin clients at once (8); try again"}, r
        # One leaves: a new client is served again.
        held.pop().close()
        for _ in range(50):  # bounded: the daemon reaps the ended client at its next accept
            with connect(admin.admin_port) as s:
                s.sendall(f'{{"token":"{TOKEN}","cmd":"ping"}}\n'.encode())
                r = read_response(s)
            if r["ok"]:
                break
            time.sleep(0.1)
        assert r["ok"] is True, r
    finally:
        for s in held:
            s.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_raw_tcp_without_token_is_refused(admin, tmp_path):
    # curl's telnet:// sends its input as raw bytes: 1 MiB of a request line
    # without the token. curl ends when the daemon closes after its answer.
    body = tmp_path / "req"
    body.write_bytes(b'{"cmd":"list","ids":["' + b"A" * (1 << 20))
    with open(body, "rb") as f:
        cp = subprocess.run(["curl", "-sS", "--max-time", "20", f"telnet://127.0.0.1:{admin.admin_port}"],
                            stdin=f, capture_output=True, timeout=60)
    first = cp.stdout.split(b"\n", 1)[0]
    r = json.loads(first)
    assert r["ok"] is False and "permission denied" in r["error"], (cp.returncode, cp.stdout[:300], cp.stderr)
