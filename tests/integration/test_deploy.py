"""tests/integration/test_deploy.py — the files in deploy/ are checked with the
tools operators would use: promtool (alert rules, their unit tests, the
scrape config), systemd-analyze verify (the unit; skipped where systemd's
tools are missing), `ringmta --check-config` (the production config and the
Kubernetes ConfigMap), a YAML parse and structural checks of the
Kubernetes manifests (kubeconform is not available here), and the Grafana
dashboard: it parses, and every metric it queries exists in a real scrape.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, ringmta_bin
from metrics_checks import families, promtool, scrape

DEPLOY = REPO / "deploy"


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, timeout=120, **kw)


def test_alert_rules_check_and_unit_tests():
    cp = run([promtool(), "check", "rules", DEPLOY / "prometheus" / "ringmta-alerts.yml"])
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()
    cp = run([promtool(), "test", "rules", "ringmta-alerts.test.yml"], cwd=DEPLOY / "prometheus")
    assert cp.returncode == 0 and b"SUCCESS" in cp.stdout, cp.stdout.decode() + cp.stderr.decode()


def test_alert_rules_cover_the_operating_risks():
    import yaml
    rules = yaml.safe_load((DEPLOY / "prometheus" / "ringmta-alerts.yml").read_text())
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert "ringmta_queue_messages" in exprs["RingmtaQueueGrowing"]
    assert "ringmta_queue_oldest_age_seconds > 3600" in exprs["RingmtaOldestMessageOverOneHour"]
    assert "ringmta_recipients_bounced_total" in exprs["RingmtaHighBounceRate"]
    assert 'result="failure"' in exprs["RingmtaTlsHandshakeFailures"]
    assert "node_filesystem_avail_bytes" in exprs["RingmtaQueueDiskSpaceLow"]


def test_prometheus_scrape_config():
    cp = run([promtool(), "check", "config", "prometheus.yml"], cwd=DEPLOY / "prometheus")
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed")
    text = (DEPLOY / "systemd" / "ringmta.service").read_text()
    for key in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ringmta",
                "User=ringmta", "AmbientCapabilities=CAP_NET_BIND_SERVICE"):
        assert f"\n{key}\n" in text, key
    # verify wants the ExecStart binary to exist: point it at the build.
    unit = tmp_path / "ringmta.service"
    unit.write_text(text.replace("/usr/local/bin/ringmta", str(ringmta_bin())))
    cp = run([analyze, "verify", unit])
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert cp.returncode == 0 and not out.strip(), out   # unknown keys only warn: no output allowed
    # The check itself is live: a misspelt key is reported.
    bad = tmp_path / "bad.service"
    bad.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    assert "Unknown key" in run([analyze, "verify", bad]).stderr.decode()


def test_production_config_checks():
    cp = run([ringmta_bin(), "--config", DEPLOY / "ringmta-production.toml", "--check-config"])
    assert cp.returncode == 0, cp.stderr.decode()
    text = (DEPLOY / "ringmta-production.toml").read_text()
    for port in ("0.0.0.0:25", "0.0.0.0:587", "0.0.0.0:465"):
        assert f'address = "{port}"' in text, port
    # Every key of the reference appears in the production file (commented or set).
    ref = (DEPLOY / "ringmta.toml").read_text()
    sections = re.split(r"^\[+([a-z0-9_.]+)\]+\s*$", ref, flags=re.M)
    for name, body in zip(sections[1::2], sections[2::2]):
        keys = re.findall(r"^#?([a-z_]+) = ", body, flags=re.M)
        if name in ("delivery.routes", "delivery.tls_policy", "tls.sni"):
            continue
        for key in keys:
            assert re.search(rf"^#?{key} = ", text, flags=re.M), f"[{name}] {key} missing in ringmta-production.toml"


def test_kubernetes_manifests(tmp_path):
    import yaml
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "ringmta.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ConfigMap", "Service", "StatefulSet", "PodMonitor"}
    sts = kinds["StatefulSet"]
    pod = sts["spec"]["template"]
    [container] = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"smtp": 25, "submission": 587, "submissions": 465, "metrics": 9587}
    assert container["readinessProbe"]["tcpSocket"]["port"] in ports
    assert container["livenessProbe"]["httpGet"]["port"] in ports
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])
    [claim] = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/ringmta"
    volumes = {v["name"] for v in pod["spec"]["volumes"]} | {claim["metadata"]["name"]}
    assert set(mounts) <= volumes
    selector = sts["spec"]["selector"]["matchLabels"]
    assert all(pod["metadata"]["labels"].get(k) == v for k, v in selector.items())
    services = [d for d in docs if d["kind"] == "Service"]
    assert any(s["spec"].get("clusterIP") == "None" and s["metadata"]["name"] == sts["spec"]["serviceName"]
               for s in services)
    for s in services:
        assert s["spec"]["selector"] == selector
        for p in s["spec"]["ports"]:
            assert p["targetPort"] in ports, p
    assert kinds["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    # The ConfigMap, as the container's wrapper turns it into the config file, is valid.
    cm = kinds["ConfigMap"]["data"]["ringmta.toml"]
    assert "shutdown_timeout = \"30s\"" in cm and grace > 30
    config = '[server]\nhostname = "ringmta-0.example.com"\n' + re.sub(r"^\[server\]\n", "", cm, flags=re.M)
    path = tmp_path / "k8s.toml"
    path.write_text(config)
    cp = run([ringmta_bin(), "--config", path, "--check-config"])
    assert cp.returncode == 0, cp.stderr.decode()


def test_dockerfile_is_debian12_and_builds_the_daemon():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:12 AS build$", text, flags=re.M)
    assert re.search(r"^FROM debian:12-slim$", text, flags=re.M)
    assert "--target ringmta ringmtactl" in text
    # The runtime packages are the ones that provide what the binary links
    # directly (its NEEDED entries; apt brings their own dependencies).
    runtime = text.split("FROM debian:12-slim", 1)[1]
    direct = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                            run(["readelf", "-d", ringmta_bin()]).stdout.decode()))
    assert direct, "readelf found no NEEDED entries"
    needed = set()
    for line in run(["ldd", ringmta_bin()]).stdout.decode().splitlines():
        m = re.search(r"^\s*(\S+) => (/\S+)", line)
        if not m or m.group(1) not in direct:
            continue
        m = re.search(r"=> (/\S+)", line)
        owner = run(["dpkg", "-S", Path(m.group(1)).resolve()])
        if owner.returncode != 0:
            owner = run(["dpkg", "-S", m.group(1)])
        if owner.returncode == 0:
            needed.add(owner.stdout.decode().split(":")[0])
    base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libbz2-1.0", "liblz4-1", "libzstd1", "libsnappy1v5",
            "libgflags2.2"}   # in the base image or pulled in by librocksdb7.8
    for pkg in sorted(needed - base):
        assert re.search(rf"\b{re.escape(pkg)}\b", runtime), f"{pkg} missing from the runtime stage"


def test_dashboard_names_real_metrics(daemon_factory):
    dash = json.loads((DEPLOY / "grafana" / "ringmta-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    used = {m for e in exprs for m in re.findall(r"\bringmta_[a-z_]+", e)}
    d = daemon_factory()
    exported = families(scrape(d))
    for name in sorted(used):
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in exported else name
        assert family in exported, f"dashboard uses {name}, not in a scrape"
    # ... and covers the main ones.
    for must in ("ringmta_queue_messages", "ringmta_destination_queue_messages", "ringmta_delivery_duration_seconds",
                 "ringmta_tls_handshakes_total"):
        assert any(u.startswith(must) for u in used), must
