"""bench/benchlib.py — small helpers shared by the bench scripts (loopback only)."""
import socket
import time


# Every port handed out stays bound by a socket this script holds until it
# exits, so no later bind(0) (here or in another process) gets the same number:
# a "dead" relayhost port that turned out to be a daemon's own listen port
# once made a daemon relay to itself. See tests/integration/conftest.py.
_HELD = []


def _hold(reusable):
    s = socket.socket()
    if reusable:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    _HELD.append(s)
    return s.getsockname()[1]


def free_port():
    """A loopback TCP port for a server of this script to bind (ringmta, the
    bench sink: both set SO_REUSEADDR/SO_REUSEPORT, so the held, never
    listening socket does not stop them)."""
    return _hold(reusable=True)


def dead_port():
    """A loopback TCP port where nothing listens or can listen: connects are refused."""
    return _hold(reusable=False)


def wait_port(port, seconds):
    """Until 127.0.0.1:port accepts, at most `seconds`; exits the script otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")
