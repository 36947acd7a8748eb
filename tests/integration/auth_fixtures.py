"""tests/integration/auth_fixtures.py — daemons with SMTP AUTH for the auth
and limits tests: a users file made with `ringmtactl user add` (so the
tool is exercised too), listener flags, and an onward relayhost on a dead
loopback port so relayed test mail never leaves the machine.
"""

import subprocess

from conftest import free_port, render_toml, ringmtactl_bin

USERS = {"alice": "s3cret-Alice", "bob@client.test": "B0b pass"}
DEAD_RELAYHOST = "[127.0.0.1]:9"  # discard port, nothing listens: delivery just defers


def ctl_user(*args, password=None, users_file=None, config=None):
    """ringmtactl user ...; the password (if any) is one line on stdin."""
    cmd = [str(ringmtactl_bin()), "user", *args]
    if users_file is not None:
        cmd += ["--users-file", str(users_file)]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run(cmd, input=(password + "\n").encode() if password is not None else b"",
                          capture_output=True, timeout=60)


def make_users_file(path, users=USERS):
    for name, pw in users.items():
        cp = ctl_user("add", name, password=pw, users_file=path)
        assert cp.returncode == 0, cp.stderr
    return path


def auth_daemon(daemon_factory, tmp_path, plaintext=True, listener_extra=None, extra_listeners=(),
                auth=None, limits=None, start=True):
    """A daemon with auth.users_file; its first listener allows plaintext AUTH
    unless plaintext=False. extra_listeners: dicts of kind/flags, each given a
    free port (returned in d.extra_ports)."""
    users = make_users_file(tmp_path / "users")
    overrides = {"auth": {"users_file": str(users), "failure_delay": "0", **(auth or {})},
                 "delivery": {"relayhost": DEAD_RELAYHOST}}
    if limits:
        overrides["limits"] = limits
    d = daemon_factory(overrides, start=False)
    d.users_file = users
    first = d.settings["listener"][0]
    first["allow_plaintext_auth"] = plaintext
    first.update(listener_extra or {})
    d.extra_ports = []
    for extra in extra_listeners:
        port = free_port()
        d.settings["listener"].append({"address": f"127.0.0.1:{port}", **extra})
        d.extra_ports.append(port)
    d.config_path.write_text(render_toml(d.settings))
    if start:
        d.start()
    return d
