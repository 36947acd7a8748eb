"""tests/integration/metrics_checks.py — scraping a daemon's /metrics.

scrape(daemon) fetches http://<metrics.listen>/metrics with curl (the client
operators and probes use); parse() turns the Prometheus text format into
{(name, frozenset(labels)): value}; value() reads one sample; promtool_check()
runs `promtool check metrics` (Debian package prometheus, see scripts/setup.sh).
"""

import re
import shutil
import subprocess

import pytest

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics_url(daemon):
    return f"http://{daemon.settings['metrics']['listen']}/metrics"


def scrape(daemon, timeout=20):
    """The /metrics text (curl; fails the test on any HTTP or connection error)."""
    cp = subprocess.run(["curl", "-sS", "--fail", "--max-time", str(timeout), metrics_url(daemon)],
                        capture_output=True, timeout=timeout + 5)
    assert cp.returncode == 0, f"curl {metrics_url(daemon)}: {cp.stderr.decode(errors='replace')}"
    return cp.stdout.decode()


def parse(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"unparsable metrics line {line!r}"
        labels = frozenset(LABEL_RE.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The sample with exactly these labels (0.0 if absent: counters start there)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def families(text):
    """Metric family names from the # TYPE lines."""
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.skip("promtool not installed (Debian package prometheus; scripts/setup.sh installs it)")
    return path


def promtool_check(text):
    """`promtool check metrics` on a scrape: exit 0 and no lint complaints."""
    cp = subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert cp.returncode == 0 and not out.strip(), f"promtool check metrics: rc={cp.returncode}\n{out}"
