#!/usr/bin/python3
"""Checks of xlbctl --json against xlbctl's text listings (test_json.sh).

json_check.py CHECK JSON-FILE [ARGS...]; exit 0 when the check holds,
1 (with what differs on stderr) when it does not. The JSON is parsed by
the standard json module, strictly: duplicate keys, NaN/Infinity and
trailing garbage are errors.
"""
import collections
import json
import sys


def die(msg):
    sys.stderr.write("json_check: %s\n" % msg)
    sys.exit(1)


def strict_pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            die("duplicate key %r" % k)
        d[k] = v
    return d


def bad_const(c):
    die("non-JSON number %s" % c)


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")  # RFC 8259: UTF-8, no BOM
    except UnicodeDecodeError as e:
        die("not UTF-8: %s" % e)
    try:
        return json.loads(text, object_pairs_hook=strict_pairs, parse_constant=bad_const)
    except json.JSONDecodeError as e:
        die("not JSON: %s" % e)


def svc_key(proto, addrport):
    return "%s %s" % (proto, addrport)


def check_valid(doc, schema_path):
    import jsonschema
    with open(schema_path) as f:
        schema = json.load(f)
    v = jsonschema.Draft202012Validator(schema)
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    for e in errs[:10]:
        sys.stderr.write("schema: %s: %s\n" % ("/".join(map(str, e.path)), e.message))
    return not errs


def text_stats(path):
    """-L -n --stats --exact: {svc: [5]}, {(svc, rs): [5]}."""
    svcs, dests, cur = {}, {}, None
    for line in open(path):
        f = line.split()
        if len(f) == 7 and f[0] in ("TCP", "UDP"):
            cur = svc_key(f[0], f[1])
            svcs[cur] = [int(x) for x in f[2:]]
        elif len(f) == 7 and f[0] == "->" and cur:
            dests[(cur, f[1])] = [int(x) for x in f[2:]]
    return svcs, dests


STATS = ("conns", "inpkts", "outpkts", "inbytes", "outbytes")


def check_stats(doc, path):
    tsvc, tdest = text_stats(path)
    jsvc, jdest = {}, {}
    for s in doc["services"]:
        k = svc_key(s["proto"], s["addrport"])
        jsvc[k] = [s["stats"][n] for n in STATS]
        for d in s["servers"]:
            jdest[(k, d["addrport"])] = [d["stats"][n] for n in STATS]
    ok = True
    for name, t, j in (("service", tsvc, jsvc), ("server", tdest, jdest)):
        if not t:
            sys.stderr.write("no %s rows in the text\n" % name)
            ok = False
        if t != j:
            sys.stderr.write("%s stats differ:\n  text %s\n  json %s\n" % (name, t, j))
            ok = False
    print("    stats compared: %d services, %d servers, %d packets in" %
          (len(tsvc), len(tdest), sum(v[1] for v in tsvc.values())))
    return ok


def text_conns(path):
    rows = []
    for line in open(path):
        f = line.split()
        if len(f) == 6 and f[0] in ("TCP", "UDP") and ":" in f[1]:
            m, s = f[1].split(":")
            rows.append({"proto": f[0], "expire": int(m) * 60 + int(s), "state": f[2],
                         "client": f[3], "virtual": f[4], "destination": f[5]})
    return rows


def conn_key(c):
    return (c["proto"], c["state"], c["client"], c["virtual"], c["destination"])


def check_conns(doc, path, slack=3):
    """The same entries as -L -n -c (taken right after the JSON), expire
    within slack seconds; templates are the rows with source port 0 (the
    masked client's template, as ipvsadm shows it)."""
    text = text_conns(path)
    js = doc["connections"]
    # Entries about to expire may come or go between the two dumps.
    tset = collections.Counter(conn_key(c) for c in text if c["expire"] > slack)
    jset = collections.Counter(conn_key(c) for c in js if c["expire"] > slack)
    ok = True
    if tset != jset:
        sys.stderr.write("entries differ:\n  text-only %s\n  json-only %s\n" %
                         (list((tset - jset).elements()), list((jset - tset).elements())))
        ok = False
    texp = {}
    for c in text:
        texp.setdefault(conn_key(c), []).append(c["expire"])
    for c in js:
        if c["expire"] <= slack:
            continue
        near = [e for e in texp.get(conn_key(c), []) if 0 <= c["expire"] - e <= slack]
        if not near:
            sys.stderr.write("expire of %s: json %d, text %s\n" %
                             (conn_key(c), c["expire"], texp.get(conn_key(c))))
            ok = False
        want_tmpl = c["client"].endswith(":0")
        if c["template"] != want_tmpl:
            sys.stderr.write("template flag of %s: %s\n" % (conn_key(c), c["template"]))
            ok = False
    ntmpl = sum(1 for c in js if c["template"])
    if not ntmpl or ntmpl == len(js):
        sys.stderr.write("want templates and connections both: %d of %d\n" % (ntmpl, len(js)))
        ok = False
    print("    connections compared: %d in the text, %d in the JSON (%d templates)" %
          (len(text), len(js), ntmpl))
    return ok


def text_counters(path):
    out = []
    for line in open(path):
        g, n, v = line.split(" ")
        out.append((g, n, int(v)))
    return out


def check_counters(doc, before, after):
    """The same counters in the same order as --counters. A counter that
    --counters printed the same just before and just after the JSON must
    have exactly that value in it; one that moved in between (the
    director's interfaces keep counting probes and ARP; some are gauges,
    e.g. fastpath sync_us_last) can only be checked for being there, and
    those must be few."""
    b, a = text_counters(before), text_counters(after)
    j = [(g, n, v) for g, names in doc["counters"].items() for n, v in names.items()]
    if [x[:2] for x in b] != [x[:2] for x in j] or [x[:2] for x in a] != [x[:2] for x in j]:
        sys.stderr.write("counter names or order differ: text %s, json %s\n" %
                         ([x[:2] for x in b], [x[:2] for x in j]))
        return False
    ok, same, nonzero, live = True, 0, 0, []
    for (g, n, vb), (_, _, va), (_, _, vj) in zip(b, a, j):
        if vb != va:
            live.append("%s %s" % (g, n))
        elif vj != vb:
            sys.stderr.write("%s %s: json %d, text %d\n" % (g, n, vj, vb))
            ok = False
        else:
            same += 1
            nonzero += vj != 0
    print("    counters compared: %d equal (%d nonzero), %d moving: %s" %
          (same, nonzero, len(live), " ".join(live)))
    if len(live) * 10 > len(j):
        sys.stderr.write("too many counters moving to compare\n")
        ok = False
    return ok


def check_health(doc, path):
    text, cur = {}, None
    # The text has the daemon's bytes as they are; the JSON turns a byte
    # that is not UTF-8 into U+FFFD, as this decoding does.
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.split(None, 6)
        if f and f[0] in ("TCP", "UDP"):
            cur = svc_key(f[0], f[1])
        elif f and f[0] == "->" and cur and len(f) == 7:
            err = f[6].rstrip("\n")
            if err == "(not checked)":
                text[(cur, f[1])] = ("up", False, None, None, None)
            else:
                text[(cur, f[1])] = (f[2], True, None if f[3] == "-" else f[3],
                                     None if f[5] == "-" else f[5], None if err == "-" else err)
    js = {}
    for s in doc["services"]:
        for d in s["servers"]:
            h = d["health"]
            js[(svc_key(s["proto"], s["addrport"]), d["addrport"])] = (
                h["state"], h["checked"], h["since_utc"], h["last"], h["error"])
    if not text or text != js:
        sys.stderr.write("health differs:\n  text %s\n  json %s\n" % (text, js))
        return False
    print("    health compared: %d servers (%d down)" %
          (len(js), sum(1 for v in js.values() if v[0] == "down")))
    return True


def check_timeouts(doc, path):
    f = open(path).read().split()
    want = {"tcp": int(f[-3]), "tcp_fin": int(f[-2]), "udp": int(f[-1])}
    if doc["timeouts"] != want:
        sys.stderr.write("timeouts: text %s, json %s\n" % (want, doc["timeouts"]))
        return False
    return True


def check_sections(doc, keys):
    want = set(keys.split(","))
    if set(doc) != want:
        sys.stderr.write("sections: %s, want %s\n" % (sorted(doc), sorted(want)))
        return False
    return True


def main():
    what, path = sys.argv[1], sys.argv[2]
    doc = load(path)
    args = sys.argv[3:]
    if what == "get":
        # get PATH.TO.VALUE: print it (as JSON), e.g. services.0.check.expect
        v = doc
        for p in args[0].split("."):
            v = v[int(p)] if isinstance(v, list) else v[p]
        print(json.dumps(v, ensure_ascii=False))
        return True
    return {"valid": check_valid, "stats": check_stats, "conns": check_conns,
            "counters": check_counters, "health": check_health,
            "timeouts": check_timeouts, "sections": check_sections}[what](doc, *args)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
