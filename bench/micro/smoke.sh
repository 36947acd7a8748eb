#!/usr/bin/env bash
# bench/micro/smoke.sh — CTest smoke run of ringmta-micro: every benchmark runs
# for a moment (--benchmark_min_time) and none may report an error
# (SkipWithError: wrong reply, failed commit, handshake failure...). Google
# Benchmark exits 0 even then, so the JSON report is checked here. Timings are
# printed, never judged.
#
#   bench/micro/smoke.sh build/bench/ringmta-micro [extra benchmark flags]
set -euo pipefail
bin="$1"; shift
out="$(mktemp /tmp/ringmta-micro-smoke.XXXXXX.json)"
trap 'rm -f "$out"' EXIT
expected=$("$bin" --benchmark_list_tests=true "$@" | wc -l)
"$bin" --benchmark_min_time=0.002 --benchmark_out="$out" --benchmark_out_format=json "$@"
/usr/bin/python3 - "$out" "$expected" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
expected = int(sys.argv[2])
runs = report["benchmarks"]
errors = [f'{b["name"]}: {b.get("error_message", "")}' for b in runs if b.get("error_occurred")]
zero = [b["name"] for b in runs if not b.get("error_occurred") and b.get("iterations", 0) == 0]
if errors or zero or len(runs) != expected:
    print(f"smoke: {len(runs)}/{expected} benchmarks ran", file=sys.stderr)
    for e in errors: print("error:", e, file=sys.stderr)
    for z in zero: print("no iterations:", z, file=sys.stderr)
    sys.exit(1)
print(f"smoke: {len(runs)} benchmarks ran without errors")
PY
