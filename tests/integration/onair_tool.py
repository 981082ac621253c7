#!/usr/bin/env python3
"""Helpers of onair.sh (protocol.md §14), standard library only.

  listen URL OUT          an ICY client: GET URL with "Icy-MetaData: 1", append one line per
                          StreamTitle seen: "<wall ns> title <StreamTitle>", "<ns> connected
                          <metaint>" first, "<ns> closed <reason>" last; audio is read and dropped.
  check RPC ICECAST LISTEN_OUT [NOT_BEFORE_NS]
                          wait for the next instant (not before NOT_BEFORE_NS, e.g. the end of
                          the track checked last, so checks in a row see track changes)
                          >= 4.5 s after and >= 2 s before any track boundary of the
                          current and the next two slots (programme computed here from /params and /schedule/<n>,
                          independently of the C code), then print one JSON object: the
                          programme's title/artist there and what Icecast's /status-json.xsl
                          reports per mount and the listener's last StreamTitle.
  elapsed RPC SLOT KEY T_MS
                          the programme's elapsed ms of entry KEY ("slot:index:pass") at T_MS.
  midtrack RPC            wait until the current track has played >= 1 s and has >= 6 s left
  liqcmd SOCKET CMD       one command on Liquidsoap's server socket; prints the first line
  skew RPC LISTEN_OUT FIRST
                          for every title change the listener saw from slot FIRST to now: wall time
                          minus the anchored start of the track that began there; prints
                          "n p50_ms max_ms".
  same RPC ICECAST=WEB…   several stations (tests/e2e/station.sh): wait for the next instant
                          >= 4.5 s after / 2 s before any boundary (as check), then read every
                          Icecast's /status-json.xsl and every node's WEB/nowplaying.json at
                          once (one thread each); print one JSON object: the programme's entry
                          and per station ogg_title, ogg_artist, mp3_title, np_title, np_artist.
  skew2 LISTEN_A LISTEN_B for every title change both listeners saw (the same new title, each
                          after its first), B's time minus A's; prints "n p50_ms max_ms"
                          (max by absolute value).
"""
import json
import socket
import sys
import time
import urllib.parse
import urllib.request

# A check instant is >= 4.5 s after the track's start and >= 2 s before its end: the stream
# runs behind the programme (Liquidsoap on a loaded machine catches up by seconds), never ahead.
AFTER_NS = 4_500_000_000
BEFORE_NS = 2_000_000_000


def rpc_query(rpc, path):
    url = rpc + "/abci_query?path=%22" + urllib.parse.quote(path) + "%22"
    with urllib.request.urlopen(url, timeout=10) as r:
        resp = json.load(r)["result"]["response"]
    if resp.get("code", 0) != 0:
        return None
    import base64
    return json.loads(base64.b64decode(resp["value"]))


def programme(rpc, slots):
    """[(start_ns, end_ns, title, artist, slot, index, pass)] of the slots' entries."""
    entries = []
    for s in slots:
        sc = rpc_query(rpc, "/schedule/%d" % s)
        if sc is None or not sc["tracks"]:
            continue
        start, end, total = int(sc["start_ns"]), int(sc["end_ns"]), int(sc["total_ms"]) * 10**6
        k = 0
        while start + k * total < end:
            for t in sc["tracks"]:
                a = start + k * total + int(t["offset_ms"]) * 10**6
                if a >= end:
                    break
                b = min(a + int(t["duration_ms"]) * 10**6, end)
                entries.append((a, b, t.get("title", ""), t.get("artist", ""), s, int(t["index"]), k))
            k += 1
    return entries


def current_slot(rpc):
    p = rpc_query(rpc, "/params")
    return (time.time_ns() - int(p["epoch_ns"])) // (int(p["slot_seconds"]) * 10**9)


def icy_title(title, artist):
    return "%s - %s" % (artist, title) if artist else title


def listen(url, out):
    u = urllib.parse.urlsplit(url)
    f = open(out, "a", buffering=1)
    reason = "eof"
    try:
        s = socket.create_connection((u.hostname, u.port), timeout=30)
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\nIcy-MetaData: 1\r\nUser-Agent: sb-onair-test\r\n\r\n"
                   % (u.path, u.hostname)).encode())
        r = s.makefile("rb")
        metaint = None
        status = r.readline()
        if b" 200" not in status:
            raise RuntimeError("status " + status.decode(errors="replace").strip())
        while True:
            line = r.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode(errors="replace").partition(":")
            if k.strip().lower() == "icy-metaint":
                metaint = int(v.strip())
        if not metaint:
            raise RuntimeError("no icy-metaint header")
        f.write("%d connected %d\n" % (time.time_ns(), metaint))
        last = None
        while True:
            audio = r.read(metaint)
            if len(audio) < metaint:
                break
            n = r.read(1)
            if not n:
                break
            meta = r.read(n[0] * 16).rstrip(b"\0").decode("utf-8", errors="replace")
            if meta.startswith("StreamTitle='"):
                title = meta[len("StreamTitle='"):]
                title = title[:title.rfind("';")] if "';" in title else title
                if title != last:
                    f.write("%d title %s\n" % (time.time_ns(), title))
                    last = title
    except Exception as e:  # reported in the file, judged by the test
        reason = repr(e)
    f.write("%d closed %s\n" % (time.time_ns(), reason))


def last_title(out):
    t = None
    with open(out) as f:
        for line in f:
            p = line.rstrip("\n").split(" ", 2)
            if len(p) == 3 and p[1] == "title":
                t = p[2]
    return t


def wait_instant(rpc, within_s=60, not_before=0):
    """Sleep until the next instant, not before not_before (ns), >= AFTER_NS after and
    >= BEFORE_NS before every boundary of the current and the next two slots, within within_s
    of that; return the programme entry there, or None. Slots not finalized yet are asked
    again every second (with short slots the instant can lie in a slot that finalizes while
    we wait)."""
    end = max(time.time_ns(), not_before) + within_s * 10**9
    while time.time_ns() < end:
        cur = current_slot(rpc)
        entries = programme(rpc, [cur, cur + 1, cur + 2])
        bounds = sorted({e[0] for e in entries} | {e[1] for e in entries})
        t = max(time.time_ns(), not_before)
        horizon = min(end, max((e[1] for e in entries), default=t))
        while t < horizon:
            now = [e for e in entries if e[0] <= t < e[1]]
            near = [b for b in bounds if b - BEFORE_NS < t < b + AFTER_NS]
            if now and not near:
                time.sleep(max(0, (t - time.time_ns()) / 1e9))
                return now[0]
            t += 100_000_000
        time.sleep(1)
    return None


def mounts_of(icecast):
    with urllib.request.urlopen(icecast + "/status-json.xsl", timeout=10) as r:
        st = json.load(r)["icestats"]
    src = st.get("source", [])
    if isinstance(src, dict):
        src = [src]
    mounts = {s["listenurl"].rsplit("/", 1)[1]: s for s in src}
    return mounts.get("sleetbubble.ogg", {}), mounts.get("sleetbubble.mp3", {})


def want_of(e):
    return {"key": "%d:%d:%d" % (e[4], e[5], e[6]), "want_title": e[2], "want_artist": e[3],
            "want_icy": icy_title(e[2], e[3])}


def check(rpc, icecast, out, not_before=0):
    e = wait_instant(rpc, 60, not_before)
    if e is None:
        print(json.dumps({"error": "no instant 4.5 s after / 2 s before a boundary within 60 s"}))
        return
    ogg, mp3 = mounts_of(icecast)
    print(json.dumps(dict(want_of(e), **{
        "t_ns": str(time.time_ns()), "end_ns": str(e[1]),
        "ogg_title": ogg.get("title"), "ogg_artist": ogg.get("artist"),
        "mp3_title": mp3.get("title"), "icy": last_title(out),
    })))


def same(rpc, stations):
    import threading
    e = wait_instant(rpc, 90)
    if e is None:
        print(json.dumps({"error": "no instant 4.5 s after / 2 s before a boundary within 90 s"}))
        return
    res = [{} for _ in stations]

    def read(i, ice, web):
        try:
            ogg, mp3 = mounts_of(ice)
            with urllib.request.urlopen(web + "/nowplaying.json", timeout=10) as r:
                np = json.load(r).get("now_playing") or {}
            res[i].update({"ogg_title": ogg.get("title"), "ogg_artist": ogg.get("artist"),
                           "mp3_title": mp3.get("title"), "np_title": np.get("title"),
                           "np_artist": np.get("artist")})
        except Exception as ex:  # reported, judged by the test
            res[i]["error"] = repr(ex)
        res[i]["t_ns"] = str(time.time_ns())

    th = [threading.Thread(target=read, args=(i, *s.split("=", 1))) for i, s in enumerate(stations)]
    t0 = time.time_ns()
    for x in th:
        x.start()
    for x in th:
        x.join()
    print(json.dumps(dict(want_of(e), t0_ns=str(t0), stations=res)))


def elapsed(rpc, slot, key, t_ms):
    for e in programme(rpc, [slot]):
        if "%d:%d:%d" % (e[4], e[5], e[6]) == key:
            print((t_ms * 10**6 - e[0]) // 10**6)
            return
    print("none")


def skew(rpc, out, first):
    entries = programme(rpc, range(first, current_slot(rpc) + 1))
    lo, hi = min(e[0] for e in entries), max(e[1] for e in entries)
    res = []
    with open(out) as f:
        for line in f:
            p = line.rstrip("\n").split(" ", 2)
            if len(p) < 3 or p[1] != "title":
                continue
            t = int(p[0])
            if not lo + 10**9 <= t <= hi:
                continue
            starts = [e[0] for e in entries if icy_title(e[2], e[3]) == p[2]]
            if starts:
                res.append(min((t - a for a in starts), key=abs) // 10**6)
    res.sort()
    if not res:
        print("0 - -")
    else:
        print(len(res), res[len(res) // 2], max(res, key=abs))


def title_changes(out):
    """[(wall ns, title)] of a listen file, without the first title (seen on connecting)."""
    res = []
    with open(out) as f:
        for line in f:
            p = line.rstrip("\n").split(" ", 2)
            if len(p) == 3 and p[1] == "title":
                res.append((int(p[0]), p[2]))
    return res[1:]


def skew2(out_a, out_b):
    a, b = title_changes(out_a), title_changes(out_b)
    res = []
    for ta, title in a:
        tb = [t for t, x in b if x == title and abs(t - ta) < 5 * 10**9]
        if tb:
            res.append(min((t - ta for t in tb), key=abs) // 10**6)
    if not res:
        print("0 - -")
        return
    s = sorted(res)
    print(len(res), s[len(s) // 2], max(res, key=abs))


def midtrack(rpc):
    deadline = time.time_ns() + 90 * 10**9
    while time.time_ns() < deadline:
        cur = current_slot(rpc)
        now = time.time_ns()
        for a, b, *_ in programme(rpc, [cur, cur + 1]):
            if a + 10**9 <= now and now + 6 * 10**9 <= b:
                return
        time.sleep(0.2)
    sys.exit("no track with 6 s left within 90 s")


def liqcmd(path, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.sendall((cmd + "\n").encode())
    b = b""
    while not b.endswith(b"END\r\n"):
        d = s.recv(4096)
        if not d:
            break
        b += d
    s.sendall(b"quit\n")
    print(b.decode(errors="replace").split("\r\n")[0])


def main():
    a = sys.argv[1:]
    if a[0] == "listen":
        listen(a[1], a[2])
    elif a[0] == "check":
        check(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 0)
    elif a[0] == "elapsed":
        elapsed(a[1], int(a[2]), a[3], int(a[4]))
    elif a[0] == "midtrack":
        midtrack(a[1])
    elif a[0] == "liqcmd":
        liqcmd(a[1], a[2])
    elif a[0] == "skew":
        skew(a[1], a[2], int(a[3]))
    elif a[0] == "same":
        same(a[1], a[2:])
    elif a[0] == "skew2":
        skew2(a[1], a[2])
    else:
        sys.exit("unknown mode " + a[0])


if __name__ == "__main__":
    main()
