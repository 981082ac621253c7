#!/usr/bin/env python3
"""flood-measure.py - one measurement window of `scripts/bench flood` (bench tool).

  flood-measure.py RPC_URL PROMETHEUS_URL SECONDS

Reads CometBFT's height and its Prometheus metrics, waits SECONDS, reads them again, then
prints one JSON object for the window:
  blocks, interval_p50_ms / interval_p99_ms / interval_max_ms  (block header times)
  commit_mean_ms, finalize_mean_ms  (CometBFT's own abci_connection_method_timing_seconds
      for commit / finalize_block, sum / count over the window: the same measure for any app)
  commit_p99_le_ms  (the histogram bucket bound that holds 99 % of the window's Commits)
  checktx_calls  (check_tx calls CometBFT made to the app in the window)
"""
import json
import sys
import time
import urllib.request
from datetime import datetime, timezone


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def height(rpc):
    return int(json.loads(get(rpc + "/status"))["result"]["sync_info"]["latest_block_height"])


def prom(url):
    """{(name, frozenset(labels)): value} for the abci timing histogram."""
    out = {}
    for line in get(url + "/metrics").splitlines():
        if not line.startswith("cometbft_abci_connection_method_timing_seconds"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        kv = {}
        for part in labels.rstrip("}").split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                kv[k] = v.strip('"')
        out[(name, frozenset(kv.items()))] = float(value)
    return out


def series(snap, suffix, method, typ, extra=None):
    res = {}
    for (name, labels), v in snap.items():
        d = dict(labels)
        if name.endswith(suffix) and d.get("method") == method and d.get("type") == typ:
            res[d.get(extra) if extra else ""] = v
    return res


def ns_of(t):
    # "2026-12-02T16:30:01.123456789Z": whole seconds + up to 9 fraction digits
    main, _, frac = t.rstrip("Z").partition(".")
    s = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(s.timestamp()) * 10**9 + int((frac + "000000000")[:9])


def block_times(rpc, lo, hi):
    times = {}
    h = lo
    while h <= hi:
        top = min(hi, h + 19)
        r = json.loads(get("%s/blockchain?minHeight=%d&maxHeight=%d" % (rpc, h, top)))
        for m in r["result"]["block_metas"]:
            times[int(m["header"]["height"])] = ns_of(m["header"]["time"])
        h = top + 1
    return [times[k] for k in sorted(times)]


def pct(xs, p):
    return xs[min(len(xs) - 1, (len(xs) * p) // 100)] if xs else 0


def mean_ms(a, b, method, typ):
    s = series(b, "_sum", method, typ).get("", 0) - series(a, "_sum", method, typ).get("", 0)
    n = series(b, "_count", method, typ).get("", 0) - series(a, "_count", method, typ).get("", 0)
    return (round(1000 * s / n, 3) if n else None), int(n)


def p99_le_ms(a, b, method, typ):
    ba, bb = series(a, "_bucket", method, typ, "le"), series(b, "_bucket", method, typ, "le")
    total = bb.get("+Inf", 0) - ba.get("+Inf", 0)
    if not total:
        return None
    for le in sorted((k for k in bb if k != "+Inf"), key=float):
        if bb[le] - ba.get(le, 0) >= 0.99 * total:
            return float(le) * 1000
    return None


def main():
    rpc, prom_url, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    h0, a = height(rpc), prom(prom_url)
    time.sleep(seconds)
    h1, b = height(rpc), prom(prom_url)
    ts = block_times(rpc, h0, h1)
    iv = sorted((y - x) // 10**6 for x, y in zip(ts, ts[1:]))
    commit, _ = mean_ms(a, b, "commit", "sync")
    fin, _ = mean_ms(a, b, "finalize_block", "sync")
    _, checks = mean_ms(a, b, "check_tx", "async")
    print(json.dumps({
        "blocks": h1 - h0, "interval_p50_ms": pct(iv, 50), "interval_p99_ms": pct(iv, 99),
        "interval_max_ms": iv[-1] if iv else 0, "commit_mean_ms": commit,
        "commit_p99_le_ms": p99_le_ms(a, b, "commit", "sync"), "finalize_mean_ms": fin,
        "checktx_calls": checks,
    }))


if __name__ == "__main__":
    main()
