"""bench/benchlib.py — small helpers shared by the bench scripts (loopback only)."""
import json
import os
import signal
import socket
import subprocess
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


def status_kb(pid, key):
    """A /proc/PID/status value in KiB ("VmRSS", "VmHWM"); 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def send_run(bench, port, args):
    """One `ringmta-bench send` of args.messages 4 KiB messages over args.sessions
    sessions to 127.0.0.1:port; returns (msgs/s, end-of-data p99 ms, accepted)."""
    cmd = [bench, "send", "--target", f"127.0.0.1:{port}", "--sessions", str(args.sessions),
           "--messages", str(args.messages), "--size", "4096", "--json", "--no-progress",
           "--time-limit", str(args.time_limit)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.time_limit + 30)
    if out.returncode != 0:
        raise SystemExit(f"ringmta-bench send failed: {out.stderr[-500:]}")
    r = json.loads(out.stdout)
    return r["msgs_per_s"], r["latency_ms"]["end_of_data"]["p99"], r["messages_accepted"]


def start_ringmta(ringmta, work, port, toml, procs, seconds=20, name="ringmta"):
    """Write `toml` to WORK/NAME.toml, start ringmta on it with stderr in
    WORK/NAME.log, add it to `procs` (ended by the caller, by PID) and wait
    until 127.0.0.1:port accepts. Returns the Popen."""
    conf = os.path.join(work, f"{name}.toml")
    with open(conf, "w") as f:
        f.write(toml)
    log = open(os.path.join(work, f"{name}.log"), "w")
    server = subprocess.Popen([ringmta, "--config", conf], stderr=log)
    procs.append(server)
    wait_port(port, seconds)
    return server


def smtp_head(hostname, data_dir, port, trusted="127.0.0.0/8"):
    """The [server], one smtp [[listener]] and [relay] part every bench
    config starts with; the caller appends its own tables."""
    return f"""[server]
hostname = "{hostname}"
data_dir = "{data_dir}"
[[listener]]
address = "127.0.0.1:{port}"
kind = "smtp"
[relay]
trusted_networks = ["{trusted}"]
"""


def stop_all(procs, seconds=30):
    """SIGTERM every process this script started (newest first), by PID; a
    process still running after `seconds` is killed."""
    for pr in reversed(procs):
        if pr.poll() is None:
            pr.send_signal(signal.SIGTERM)
            try:
                pr.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
