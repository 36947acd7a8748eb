"""bench/benchlib.py — small helpers shared by the bench scripts (loopback only)."""
import socket
import time


def free_port():
    """A loopback TCP port that is free right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
