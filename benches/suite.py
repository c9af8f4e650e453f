#!/usr/bin/env python3
"""banwarden's benchmark suite: `make bench`.

    benches/suite.py [--out doc/performance.md] [--only STEP ...] [--render-only]

Runs every benchmark, each figure a median of 5 runs with its spread
(benches/report.rs; benches/fail2ban.py), gathers their JSON lines in
target/bench/results.jsonl, then writes doc/performance.md from the
template benches/performance.md.in: `{{fig:ID}}` becomes "**median unit**
(min – max)", `{{val:ID}}` the median alone, `{{x:ID:KEY}}` a detail the benchmark
recorded beside it (`KEY` may be `a.b`), `{{machine}}`, `{{steps}}` and
`{{goals}}` tables of the run. A figure the template names and the run did
not produce is an error: the page never mixes runs.

Steps, in order (names for --only): corpus (benches/corpus.py, 1,000,000
entries and their journal, made once and reused), workflow, journal, live,
quiet (benches/live_quiet.rs: eight daemons side by side, each banning one
attacker after a quiet minute three times; about 4 minutes),
bans (cargo bench; with the reconciliation after a `flush ruleset` reload
of 10,000 and 100,000 bans, issue 13), fail2ban (benches/fail2ban.py, on 200,000 lines and
2,000 bans: fail2ban is slow enough that larger sizes alone would pass the
15-minute budget; benches/fail2ban/README.md), spray (benches/spray.rs:
10,000,000 distinct addresses through the daemon at 25,000 a second, one
run of about 7 minutes, so its figures are single runs), resp (benches/resp.rs:
`redis-cli --pipe` of 1,000,000 distinct TTL_DROP_INSERT into the daemon), rest
(benches/rest.rs: wrk over loopback TLS, 64 connections and one), fleet
(benches/fleet.rs: bans shared through a Redis stream between daemons in
network namespaces of their own, a Redis server of its own; about 3
minutes). Needs root: network namespaces and private journald instances
(nothing of the host's firewall or journal is touched). --render-only
rewrites the page from the last results.

--only STEP runs those steps alone: their figures replace the last full
run's, and the page, once rendered (--render-only), names them under the
steps table with their own date and commit.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_DIR = os.path.join(ROOT, "target", "bench")
RESULTS = os.path.join(BENCH_DIR, "results.jsonl")
STEPS_FILE = os.path.join(BENCH_DIR, "steps.json")
CORPUS_ENTRIES = 1_000_000
CORPUS = os.path.join(BENCH_DIR, f"corpus-{CORPUS_ENTRIES}")
TEMPLATE = os.path.join(HERE, "performance.md.in")

# The goals earlier issues set: (figure, comparison, threshold, issue, what[, statistic]). The
# statistic compared is the median unless a sixth field names another ("max": every run must meet it).
GOALS = [
    ("engine.realistic", ">=", 2_000_000, 2, "rule engine, realistic mix"),
    ("journal.ratio", "<=", 1.3, 3, "reading a journal: banwarden's time / libsystemd's for the same fields"),
    ("live.verdict.p99", "<", 20, 3, "live: journal to verdict, p99"),
    ("live.cpu.idle", "<", 0.5, 3, "CPU while the journal is idle"),
    # Issue 17: a lone attacker after a quiet minute, read from the journal
    # files' headers rather than on journald's late notification.
    ("live.quiet.kernel.p99", "<", 20, 17, "a quiet minute, then one attacker: journal to element in the kernel, p99 of all trials"),
    ("live.quiet.cpu", "<", 0.05, 17, "CPU of the daemon over a quiet minute (/proc/PID/stat)"),
    ("rss.entries", "<", 15, 3, "RSS of the daemon after a busy journal"),
    ("bans.stage", ">=", 300_000, 4, "ban stage alone (store + netlink)"),
    ("bans.flood.nft", ">=", 50_000, 4, "flood of distinct attackers through the daemon"),
    ("bans.boot.1m", "<", 3, 4, "boot of 1,000,000 stored bans"),
    ("bans.boot.1m.rss", "<", 100, 14, "peak RSS of the boot of 1,000,000 stored bans"),
    ("bans.list.1m", "<", 10, 14, "`list` of 1,000,000 bans"),
    ("bans.list.address", "<", 50, 14, "`list ADDRESS` with 1,000,000 bans in the store and the set"),
    ("bans.kernel.p99", "<", 20, 4, "one ban: journal to element in the kernel, p99"),
    ("bans.reconcile.100k", "<", 1000, 13, "100,000 bans back after a `flush ruleset` reload, slowest of 5", "max"),
    # The bound of the default counterMaxKeys: the daemon at start (~9.2 MB,
    # rss.idle) + 700,000 keys at 82 B + the text of a save of all of them
    # (47 B a key at most) = 99.5 MB; benches/spray.rs asserts it from the
    # RSS it measures at start.
    ("spray.rss", "<", 100, 14, "peak RSS while 10,000,000 addresses spray the counters"),
    ("spray.missed", "<=", 0, 14, "attackers reaching the threshold during the spray and not banned"),
    # Five times the lone ban's goal: on two cores shared with journald and
    # the sprayer, a ban may wait behind a backlog of the spray (100 ms of
    # it is 2,500 entries), never behind a save of the counters.
    ("spray.kernel.p99", "<", 100, 14, "an attacker's ban during the spray: journal to kernel, p99"),
    ("resp.pipe", ">=", 200_000, 15, "Redis protocol in bulk: redis-cli --pipe of 1,000,000 TTL_DROP_INSERT into kernel and store"),
    ("rest.c64.rate", ">=", 20_000, 15, "REST bans over TLS, 64 connections"),
    ("rest.c64.p99", "<", 10, 15, "REST ban acknowledged (stored and in the kernel), 64 connections, p99"),
    ("rest.c1.p99", "<", 2, 15, "a lone REST ban acknowledged, p99"),
    # CrowdSec's bouncers poll every 10 s by default.
    ("fleet.propagation.p99", "<", 50, 16, "fleet: a lone ban on one host in the kernel sets of two others, p99"),
    ("fleet.flood", ">=", 50_000, 16, "fleet: 100,000 bans of one host applied on each of two others"),
]


def say(text):
    print(text, file=sys.stderr, flush=True)


def run(cmd, env=None):
    say("$ " + " ".join(cmd))
    merged = dict(os.environ, **(env or {}))
    subprocess.run(cmd, cwd=ROOT, env=merged, check=True)


def corpus():
    manifest = os.path.join(CORPUS, "corpus.json")
    if os.path.exists(manifest) and os.path.isdir(os.path.join(CORPUS, "journal")):
        say(f"corpus: reusing {CORPUS}")
        return
    run(["python3", "benches/corpus.py", "--seed", "1", "--entries", str(CORPUS_ENTRIES), "--journal", "--out", CORPUS])


def cargo_bench(name, *parts):
    def step():
        run(["cargo", "bench", "--locked", "--bench", name] + (["--", *parts] if parts else []),
            env={"BANWARDEN_BENCH_OUT": RESULTS, "BANWARDEN_CORPUS": CORPUS})
    return step


def fail2ban():
    say("$ python3 benches/fail2ban.py --entries 200000 --bans 2000 --runs 5")
    out = subprocess.run(["python3", "benches/fail2ban.py", "--entries", "200000", "--bans", "2000", "--runs", "5"],
                         cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    with open(RESULTS, "a") as f:
        for line in out.splitlines():
            if line.startswith("{"):
                f.write(line + "\n")


STEPS = [
    ("corpus", "python3 benches/corpus.py --seed 1 --entries 1000000 --journal", corpus),
    ("workflow", "cargo bench --bench workflow", cargo_bench("workflow")),
    ("journal", "cargo bench --bench journal", cargo_bench("journal")),
    ("live", "cargo bench --bench live -- latency memory", cargo_bench("live", "latency", "memory")),
    ("quiet", "cargo bench --bench live -- quiet", cargo_bench("live", "quiet")),
    ("bans", "cargo bench --bench bans", cargo_bench("bans")),
    ("fail2ban", "python3 benches/fail2ban.py --entries 200000 --bans 2000", fail2ban),
    ("spray", "cargo bench --bench spray", cargo_bench("spray")),
    ("resp", "cargo bench --bench resp", cargo_bench("resp")),
    ("rest", "cargo bench --bench rest", cargo_bench("rest")),
    ("fleet", "cargo bench --bench fleet", cargo_bench("fleet")),
]


def machine():
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"\n ')
        except OSError:
            pass
        return "?"

    mem_kb = int(first("/proc/meminfo", "MemTotal").split()[0])
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": first("/etc/os-release", "PRETTY_NAME"),
        "kernel": platform.release(),
        "rustc": rustc,
        "commit": commit,
    }


def load_results():
    figures = {}
    with open(RESULTS) as f:
        for line in f:
            record = json.loads(line)
            figures[record["id"]] = record
    return figures


def number(x, unit):
    """A median or bound, written for its unit."""
    if unit.endswith("/s"):
        if x >= 1e6:
            return f"{x / 1e6:.2f} M"
        if x >= 1e4:
            return f"{x / 1e3:.0f}k"
        return f"{x:,.0f}"
    if unit == "x":
        return f"{x:.2f}" if x < 100 else f"{x:,.0f}"
    if unit.startswith("%"):
        return f"{x:.3f}"
    if unit in ("ms", "s", "MB"):
        return f"{x:.3f}" if x < 0.1 else f"{x:.2f}" if x < 10 else f"{x:.1f}"
    return f"{x:.3g}"


def unit_text(unit):
    return {"x": "x", "% of a core": "% of a core"}.get(unit, unit)


def fig(record):
    u = record["unit"]
    return (f"**{number(record['median'], u)} {unit_text(u)}** "
            f"({number(record['min'], u)} – {number(record['max'], u)})")


def detail(record, path):
    """A detail of a figure: `a.b` in the record, or in its "extra"."""
    value = record if path.split(".")[0] in record else record.get("extra", {})
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def goals_table(figures):
    rows = ["| issue | goal | measured (median of 5, lowest – highest) | met |", "|---|---|---|---|"]
    for fid, op, threshold, issue, what, *statistic in GOALS:
        record = figures[fid]
        m, u = record[statistic[0] if statistic else "median"], record["unit"]
        met = {">=": m >= threshold, "<=": m <= threshold, "<": m < threshold}[op]
        goal = f"{what} {op.replace('>=', '≥').replace('<=', '≤')} {number(threshold, u)} {unit_text(u)}"
        rows.append(f"| {issue} | {goal} | {fig(record)} | {'yes' if met else '**no**'} |")
    return "\n".join(rows)


def machine_table(facts):
    rows = ["| | |", "|---|---|"]
    for key in ["date", "cpu", "cores", "memory", "os", "kernel", "rustc", "commit"]:
        rows.append(f"| {key} | {facts[key]} |")
    return "\n".join(rows)


def steps_table(steps):
    rows = ["| step | command | time |", "|---|---|---|"]
    for name, command, seconds in steps:
        # A step under a second found its work done by an earlier run.
        rows.append(f"| {name} | `{command}` | {f'{seconds:.0f} s' if seconds >= 1 else 'reused'} |")
    total = sum(s for _, _, s in steps)
    rows.append(f"| all | `make bench` | **{total / 60:.1f} min** |")
    return "\n".join(rows)


def reruns_text(reruns):
    """The steps run alone (`--only`) since the full run, whose figures
    replaced its: said under the steps table, with when and at which commit."""
    if not reruns:
        return ""
    def load(r):
        # Recorded since the load average was kept for each step.
        return f", load average {r['load'][0]:.1f} at its start and {r['load'][1]:.1f} at its end" if "load" in r else ""
    items = [f"`{name}` on {r['date']} (commit {r['commit']}, {r['seconds']:.0f} s{load(r)})"
             for name, r in reruns.items()]
    return ("\n\nRun alone since, with `benches/suite.py --only`, their figures replacing the full run's: "
            + "; ".join(items) + ".")


def render(out_path):
    figures = load_results()
    with open(STEPS_FILE) as f:
        state = json.load(f)
    with open(TEMPLATE) as f:
        text = f.read()
    missing = []

    def substitute(match):
        kind, fid, path = match.group(1), match.group(2), match.group(3)
        if kind == "machine":
            return machine_table(state["machine"])
        if kind == "steps":
            return steps_table(state["steps"]) + reruns_text(state.get("reruns", {}))
        if kind == "goals":
            return goals_table(figures)
        record = figures.get(fid)
        if record is None or record.get("median") is None:
            missing.append(fid)
            return "?"
        if kind == "fig":
            return fig(record)
        if kind == "val":
            return f"{number(record['median'], record['unit'])}"
        if kind == "x":
            value = detail(record, path)
            if value is None:
                missing.append(f"{fid}:{path}")
                return "?"
            return f"{value:,}" if isinstance(value, int) else f"{value:.2f}" if isinstance(value, float) else str(value)
        raise ValueError(kind)

    text = re.sub(r"\{\{(machine|steps|goals|fig|val|x)(?::([A-Za-z0-9_.]+))?(?::([A-Za-z0-9_.]+))?\}\}", substitute, text)
    if missing:
        raise SystemExit(f"suite: figures missing from {RESULTS}: {', '.join(sorted(set(missing)))}")
    header = "<!-- Written by `make bench` (benches/suite.py) from benches/performance.md.in: edit those. -->\n"
    with open(out_path, "w") as f:
        f.write(header + text)
    say(f"wrote {out_path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "doc", "performance.md"))
    parser.add_argument("--only", nargs="*", help="run only these steps (the page is not rewritten)")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        if os.geteuid() != 0:
            raise SystemExit("suite: needs root (network namespaces, private journald instances)")
        os.makedirs(BENCH_DIR, exist_ok=True)
        if not args.only and os.path.exists(RESULTS):
            os.remove(RESULTS)
        steps = []
        loads = {}
        for name, command, step in STEPS:
            if args.only and name not in args.only:
                continue
            say(f"\n== {name} ==")
            started = time.monotonic()
            load = os.getloadavg()[0]
            step()
            steps.append((name, command, time.monotonic() - started))
            loads[name] = (load, os.getloadavg()[0])
        if args.only:
            # Later figures win when the page is rendered: note which.
            if os.path.exists(STEPS_FILE):
                with open(STEPS_FILE) as f:
                    state = json.load(f)
                facts = machine()
                for name, _, seconds in steps:
                    state.setdefault("reruns", {})[name] = {
                        "date": facts["date"], "commit": facts["commit"], "seconds": seconds, "load": loads[name]}
                with open(STEPS_FILE + ".new", "w") as f:
                    json.dump(state, f)
                os.replace(STEPS_FILE + ".new", STEPS_FILE)
            return
        with open(STEPS_FILE, "w") as f:
            json.dump({"machine": machine(), "steps": steps}, f)
    render(args.out)


if __name__ == "__main__":
    main()
