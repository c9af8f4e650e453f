#!/usr/bin/env python3
"""banwarden beside fail2ban 1.0.2 (Debian 12's), on the same work.

    benches/fail2ban.py [--corpus DIR | --entries N --seed S] [--runs R]
                        [--bans N] [--timeout S] [--only matching|restore]

1. Matching: `fail2ban-regex` with the stock filter.d/sshd.conf (mode
   normal) over DIR/corpus.log, against `banwarden replay` with
   benches/fail2ban/sshd-equivalent.json over DIR/corpus.jsonl: the same
   events (benches/corpus.py), timed as whole commands, lines/s = entries of
   the corpus / wall time, and banwarden/fail2ban within each run. Each
   run asserts that both found exactly the same sshd lines: fail2ban-regex's
   "Failregex: N total" = the replay's effects, its matched lines = the
   replay's bans, its ignored (F-NOFAIL) lines = the replay's logs, and all
   three = the generator's truth (DIR/corpus.json).
2. Restoring N bans at start: fail2ban-server with a database holding N
   live bans of the jail `sshd` (banaction nftables-multiport), timed from
   its start until all N addresses are in its nftables sets, against
   `banwarden boot` of the same N bans from its store into the sets of
   etc/nftables/banwarden.nft, timed until it exits (its own check that
   the set holds them included). Both run in a network namespace of their
   own; the host's firewall is never touched.

Every figure is printed on stdout as one JSON object per line (id, label,
unit, runs, samples, median, min, max, and details); progress and a summary go to stderr.
Needs root (namespaces) and installs fail2ban with apt-get if it is
missing, without letting the package start its service.
benches/fail2ban/README.md says what is compared and what is not.
"""

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import corpus  # noqa: E402  (benches/corpus.py, beside this file)

CONFIG = os.path.join(HERE, "fail2ban", "sshd-equivalent.json")
NFT_RULESET = os.path.join(ROOT, "etc", "nftables", "banwarden.nft")
F2B_FILTER = "/etc/fail2ban/filter.d/sshd.conf"
BAN_SECONDS = 7 * 86400
# The bans were made a minute before the restart.
BAN_AGE = 60


def say(text):
    print(text, file=sys.stderr, flush=True)


def figure(fid, label, unit, values, **extra):
    """One result line on stdout: the median of the runs and their spread,
    under the id benches/suite.py looks it up by (as benches/report.rs)."""
    record = {"id": fid, "label": label, "unit": unit, "runs": len(values), "samples": values,
              "median": statistics.median(values) if values else None,
              "min": min(values) if values else None,
              "max": max(values) if values else None}
    record.update(extra)
    print(json.dumps(record), flush=True)
    return record


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))} - {fmt(max(values))})"


# -- setup -------------------------------------------------------------------

def ensure_fail2ban():
    if shutil.which("fail2ban-regex") and shutil.which("fail2ban-server"):
        return
    say("fail2ban missing: apt-get install fail2ban (its service kept stopped)")
    # The package enables and starts fail2ban.service, which would ban into
    # the host's firewall: a policy-rc.d that refuses every start prevents
    # it during the install (unless the host already has one), and the unit
    # is disabled afterwards.
    policy = "/usr/sbin/policy-rc.d"
    ours = not os.path.exists(policy)
    if ours:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\n# benches/fail2ban.py: no service starts while it installs fail2ban\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "--no-install-recommends", "fail2ban"]
        if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            # Package lists too old to name the current version: refresh once.
            subprocess.run(["apt-get", "update"], env=env, check=True, stdout=subprocess.DEVNULL)
            subprocess.run(install, env=env, check=True, stdout=subprocess.DEVNULL)
    finally:
        if ours:
            os.unlink(policy)
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "disable", "--now", "fail2ban.service"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fail2ban_version():
    out = subprocess.run(["fail2ban-server", "-V"], capture_output=True, text=True).stdout.strip()
    return out.splitlines()[0] if out else "unknown"


class Namespaces:
    """Network namespaces made by this run, deleted whatever happens."""

    def __init__(self):
        self.made = []

    def new(self, tag):
        name = f"bwf2b-{os.getpid()}-{tag}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.made.append(name)
        return name

    def delete(self, name):
        if name in self.made:
            subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)
            self.made.remove(name)

    def delete_all(self):
        for name in list(self.made):
            self.delete(name)


def set_sizes(ns, family_table, sets):
    """How many elements the sets hold (0 for a set not made yet)."""
    total = 0
    for name in sets:
        out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "set", *family_table, name],
                             capture_output=True, text=True)
        if out.returncode != 0:
            continue
        for item in json.loads(out.stdout)["nftables"]:
            if "set" in item:
                total += len(item["set"].get("elem", []))
    return total


# -- 1. matching -------------------------------------------------------------

def parse_fail2ban_regex(text):
    total = re.search(r"^Failregex: (\d+) total", text, re.M)
    lines = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", text, re.M)
    if not (total and lines):
        raise SystemExit(f"error: cannot read fail2ban-regex's summary:\n{text[-2000:]}")
    return {"failregex_total": int(total.group(1)), "lines": int(lines.group(1)),
            "ignored": int(lines.group(2)), "matched": int(lines.group(3)), "missed": int(lines.group(4))}


def parse_replay(text):
    summary = re.search(r"^replay: (\d+) entries read, (\d+) malformed skipped.*?; (\d+) effects(?: \(([^)]*)\))?",
                        text, re.M)
    if not summary:
        raise SystemExit(f"error: cannot read banwarden replay's summary:\n{text[-2000:]}")
    effects = {name: int(n) for n, name in re.findall(r"(\d+) (\w+)", summary.group(4) or "")}
    return {"entries": int(summary.group(1)), "malformed": int(summary.group(2)),
            "effects": int(summary.group(3)), "bans": effects.get("action_nftBan", 0),
            "logs": effects.get("action_log", 0)}


def replay(banwarden, input_file):
    """Times one `banwarden replay`; returns (seconds, its counts)."""
    t0 = time.perf_counter()
    out = subprocess.run([banwarden, "replay", "--config", CONFIG, "--input", input_file],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"error: banwarden replay failed:\n{out.stderr[-2000:]}")
    return seconds, parse_replay(out.stderr)


def matching(corpus_dir, runs, banwarden):
    with open(os.path.join(corpus_dir, "corpus.json")) as f:
        manifest = json.load(f)
    n = manifest["entries"]
    truth = manifest["sshd"]["fail2ban_1.0.2"]
    log_file = os.path.join(corpus_dir, "corpus.log")
    jsonl = os.path.join(corpus_dir, "corpus.jsonl")
    export_file = os.path.join(corpus_dir, "corpus.export")
    say(f"matching: {n} entries, {runs} runs; fail2ban-regex {F2B_FILTER} vs banwarden replay")
    f2b_rates, bw_rates, export_rates, ratios, f2b_secs, bw_secs = [], [], [], [], [], []
    for run in range(runs):
        # The options leave out the listing of every missed and ignored line:
        # only the statistics are printed.
        t0 = time.perf_counter()
        out = subprocess.run(["fail2ban-regex", "--print-no-missed", "--print-no-ignored", log_file, F2B_FILTER],
                             capture_output=True, text=True)
        f2b_s = time.perf_counter() - t0
        if out.returncode != 0:
            raise SystemExit(f"error: fail2ban-regex failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        f2b = parse_fail2ban_regex(out.stdout)

        bw_s, bw = replay(banwarden, jsonl)
        # The same events in export form, beside: what reading JSON costs.
        export_s, export = replay(banwarden, export_file)
        if export != bw:
            raise SystemExit(f"error: banwarden found {bw} in corpus.jsonl but {export} in corpus.export")

        agree = {
            "lines read": (f2b["lines"], bw["entries"], n),
            "regex hits (Failregex total / effects / truth)": (f2b["failregex_total"], bw["effects"],
                                                               truth["failregex_total"]),
            "failures (matched / bans / truth)": (f2b["matched"], bw["bans"], truth["failures"]),
            "helper lines (ignored / logs / truth)": (f2b["ignored"], bw["logs"], truth["helpers"]),
        }
        wrong = {k: v for k, v in agree.items() if len(set(v)) != 1}
        if wrong or bw["malformed"]:
            raise SystemExit(f"error: fail2ban and banwarden disagree on {corpus_dir}: {wrong}, "
                             f"{bw['malformed']} malformed entries")
        f2b_secs.append(f2b_s)
        bw_secs.append(bw_s)
        f2b_rates.append(n / f2b_s)
        bw_rates.append(n / bw_s)
        export_rates.append(n / export_s)
        ratios.append(f2b_s / bw_s)
        say(f"  run {run + 1}: fail2ban-regex {f2b_s:.2f} s, banwarden replay {bw_s:.2f} s ({f2b_s / bw_s:.1f}x; "
            f"{export_s:.2f} s from corpus.export); both {f2b['matched']} failures, {f2b['ignored']} helper lines")

    matches = {"failregex_total": f2b["failregex_total"], "failures": f2b["matched"], "helper_lines": f2b["ignored"],
               "truth": truth, "sshd_session_failures_not_seen_by_fail2ban":
                   manifest["sshd"]["by_identifier"]["sshd-session"]["failure"]}
    common = {"lines": n, "seed": manifest["seed"]}
    figure("f2b.match.fail2ban", "fail2ban-regex, stock sshd filter (normal mode), corpus.log", "lines/s", f2b_rates,
           seconds={"median": statistics.median(f2b_secs), "min": min(f2b_secs), "max": max(f2b_secs)},
           version=fail2ban_version(), matches=matches, **common)
    figure("f2b.match.jsonl", "banwarden replay, sshd-equivalent.json, corpus.jsonl", "lines/s", bw_rates,
           seconds={"median": statistics.median(bw_secs), "min": min(bw_secs), "max": max(bw_secs)},
           matches={"effects": bw["effects"], "action_nftBan": bw["bans"], "action_log": bw["logs"]}, **common)
    figure("f2b.match.export", "banwarden replay, sshd-equivalent.json, corpus.export", "lines/s", export_rates, **common)
    figure("f2b.match.ratio", "sshd matching, banwarden replay (corpus.jsonl) / fail2ban-regex speed", "x", ratios, **common)
    say(f"matching: fail2ban-regex {spread(f2b_rates, lambda v: f'{v:,.0f}')} lines/s, "
        f"banwarden {spread(bw_rates, lambda v: f'{v:,.0f}')} lines/s, "
        f"ratio {spread(ratios, lambda v: f'{v:.1f}x')} (from corpus.export: "
        f"{spread(export_rates, lambda v: f'{v:,.0f}')} lines/s); "
        f"{f2b['matched']} failures and {f2b['ignored']} helper lines found by both, as the generator wrote them")


# -- 2. restoring bans at start ------------------------------------------------

F2B_LOCAL = """[Definition]
loglevel = INFO
logtarget = {tmp}/fail2ban.log
socket = {tmp}/fail2ban.sock
pidfile = {tmp}/fail2ban.pid
dbfile = {tmp}/fail2ban.sqlite3
# Bans older than this are purged at start; ours are a minute old.
dbpurgeage = 1d
"""

# Only the sshd jail, reading an empty file: all the work at start is the
# restore. `nftables-multiport` is the stock nftables action (the Debian
# default is iptables-multiport).
JAIL_LOCAL = """[DEFAULT]
banaction = nftables-multiport
banaction_allports = nftables-allports
bantime = {bantime}
findtime = 10m
maxretry = 5
backend = polling

[sshd]
enabled = true
port = ssh
logpath = {tmp}/auth.log
"""


class Fail2banServer:
    """A private fail2ban-server: its own configuration directory, socket,
    pidfile, database and log, in a network namespace."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "etc")
        self.db = os.path.join(tmp, "fail2ban.sqlite3")
        self.proc = None
        shutil.copytree("/etc/fail2ban", self.conf)
        # Debian enables the sshd jail here, on the system's log: ours replaces it.
        shutil.rmtree(os.path.join(self.conf, "jail.d"))
        os.mkdir(os.path.join(self.conf, "jail.d"))
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write(F2B_LOCAL.format(tmp=tmp))
        with open(os.path.join(self.conf, "jail.local"), "w") as f:
            f.write(JAIL_LOCAL.format(tmp=tmp, bantime=BAN_SECONDS))
        open(os.path.join(tmp, "auth.log"), "w").close()

    def start(self, ns):
        sock = os.path.join(self.tmp, "fail2ban.sock")
        # -f: in the foreground, so the process started is the server (ip
        # netns exec execs it) and can be stopped by its PID.
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "fail2ban-server", "-f", "-x", "-c", self.conf, "-s", sock,
             "-p", os.path.join(self.tmp, "fail2ban.pid")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "server.err"), "a"))

    def ping(self):
        out = subprocess.run(["fail2ban-client", "-c", self.conf, "-s", os.path.join(self.tmp, "fail2ban.sock"),
                              "status", "sshd"], capture_output=True, text=True)
        return out.returncode == 0

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def fill_fail2ban_db(db, addresses, now):
    """N live bans of the jail sshd, as fail2ban 1.0.2 writes them: a row in
    `bans` (the history) and one in `bips` (the current ban of each
    address, which is what it restores from), with the matches it keeps."""
    con = sqlite3.connect(db)
    try:
        timeofban = now - BAN_AGE
        rows = []
        for ip in addresses:
            matches = [f"Nov 21 12:00:0{i} web1 sshd[4242]: Failed password for root from {ip} port 4{i}222 ssh2"
                       for i in range(5)]
            rows.append((ip, timeofban, json.dumps({"matches": matches, "failures": 5})))
        con.executemany("INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) VALUES('sshd', ?, ?, "
                        f"{BAN_SECONDS}, 1, ?)", rows)
        con.executemany("INSERT OR REPLACE INTO bips(ip, jail, timeofban, bantime, bancount, data) "
                        f"VALUES(?, 'sshd', ?, {BAN_SECONDS}, 1, ?)", rows)
        con.commit()
        (count,) = con.execute("SELECT count(*) FROM bips WHERE jail = 'sshd'").fetchone()
        assert count == len(addresses), (count, len(addresses))
    finally:
        con.close()


class Fail2banRestore:
    """fail2ban's side: its database filled once, copied back before each run."""

    def __init__(self, tmp, namespaces, addresses):
        self.tmp, self.namespaces, self.n = tmp, namespaces, len(addresses)
        self.server = Fail2banServer(tmp)
        self.pristine = os.path.join(tmp, "bans.sqlite3")
        # fail2ban makes its database (schema and jail rows) at its first
        # start; the bans go in while it is stopped.
        ns = namespaces.new("f2b-init")
        try:
            self.server.start(ns)
            deadline = time.monotonic() + 60
            while not self.server.ping():
                if self.server.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"error: fail2ban-server did not start: {tmp}/fail2ban.log, server.err")
                time.sleep(0.2)
        finally:
            self.server.stop()
            namespaces.delete(ns)
        fill_fail2ban_db(self.server.db, addresses, int(time.time()))
        shutil.copy(self.server.db, self.pristine)

    def run(self, tag, timeout):
        """Seconds from the server's start until the N bans are in the
        kernel (or the time limit), and how many got there."""
        shutil.copy(self.pristine, self.server.db)
        ns = self.namespaces.new(tag)
        try:
            t0 = time.monotonic()
            self.server.start(ns)
            count = 0
            while count < self.n and time.monotonic() - t0 < timeout:
                time.sleep(0.2)
                count = set_sizes(ns, ["inet", "f2b-table"], ["addr-set-sshd", "addr6-set-sshd"])
                if self.server.proc.poll() is not None:
                    raise SystemExit(f"error: fail2ban-server exited; see {self.tmp}/fail2ban.log")
            return time.monotonic() - t0, count
        finally:
            self.server.stop()
            self.namespaces.delete(ns)


class BanwardenRestore:
    """banwarden's side: the store's snapshot written once, copied back
    before each run."""

    def __init__(self, tmp, namespaces, addresses, banwarden):
        self.namespaces, self.n, self.banwarden = namespaces, len(addresses), banwarden
        self.storage = os.path.join(tmp, "banwarden")
        os.mkdir(self.storage)
        self.config = os.path.join(tmp, "banwarden.json")
        with open(self.config, "w") as f:
            json.dump({"storage": self.storage, "actions": {"Discard": [{"action": "action_noop"}]}}, f)
        # Pyruse's format (doc/bans.md): a JSON list, one record per line,
        # `timestamp` the Unix time the ban ends.
        end = time.time() - BAN_AGE + BAN_SECONDS
        self.pristine = os.path.join(tmp, "action_nftBan.json.pristine")
        with open(self.pristine, "w") as f:
            f.write("[\n")
            f.write(",\n".join(json.dumps({"IP": ip, "nfSet": "inet banwarden " + ("ssh_ban6" if ":" in ip else "ssh_ban4"),
                                           "timestamp": end}) for ip in addresses))
            f.write("\n]\n")

    def run(self, tag):
        """Seconds `banwarden boot` takes, into the empty sets of a fresh
        namespace; fails unless the sets then hold the N bans."""
        for name in os.listdir(self.storage):
            os.unlink(os.path.join(self.storage, name))
        shutil.copy(self.pristine, os.path.join(self.storage, "action_nftBan.json"))
        ns = self.namespaces.new(tag)
        try:
            subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", NFT_RULESET], check=True)
            t0 = time.monotonic()
            out = subprocess.run(["ip", "netns", "exec", ns, self.banwarden, "boot", "--config", self.config],
                                 capture_output=True, text=True)
            elapsed = time.monotonic() - t0
            if out.returncode != 0:
                raise SystemExit(f"error: banwarden boot failed:\n{out.stdout}{out.stderr}")
            count = set_sizes(ns, ["inet", "banwarden"], ["ssh_ban4", "ssh_ban6"])
        finally:
            self.namespaces.delete(ns)
        if count != self.n:
            raise SystemExit(f"error: banwarden boot left {count} bans in the kernel, not {self.n}")
        return elapsed


def restore(n, runs, timeout, seed, banwarden):
    import random
    addresses = corpus.address_pool(random.Random(seed), n)
    v6 = sum(1 for a in addresses if ":" in a)
    say(f"restore: {n} bans ({v6} IPv6), {runs} runs, fail2ban time limit {timeout:.0f} s")
    namespaces = Namespaces()
    tmp = tempfile.mkdtemp(prefix="banwarden-f2b-")
    f2b_times, reached, bw_times = [], [], []
    try:
        f2b = Fail2banRestore(tmp, namespaces, addresses)
        bw = BanwardenRestore(tmp, namespaces, addresses, banwarden)
        for run in range(runs):
            # One after the other in each run, so that each ratio compares
            # the two under the same load.
            elapsed, count = f2b.run(f"f2b{run}", timeout)
            reached.append(count)
            if count < n:
                say(f"  run {run + 1}: fail2ban did not finish: {count} of {n} bans in the kernel after "
                    f"{elapsed:.0f} s")
                # Another run would take as long again: stop here.
                break
            f2b_times.append(elapsed)
            bw_times.append(bw.run(f"bw{run}"))
            say(f"  run {run + 1}: fail2ban {elapsed:.2f} s, banwarden {bw_times[-1]:.3f} s "
                f"({elapsed / bw_times[-1]:.0f}x)")
        # banwarden's runs all the same, if fail2ban stopped short.
        while len(bw_times) < runs:
            bw_times.append(bw.run(f"bw{len(bw_times)}"))
    finally:
        namespaces.delete_all()
        shutil.rmtree(tmp, ignore_errors=True)

    common = {"bans": n, "ipv6": v6}
    finished = len(f2b_times) == len(reached)
    figure("f2b.restore.fail2ban", "fail2ban-server start, restoring bans from its database into nftables", "s", f2b_times,
           finished=finished, reached=reached, time_limit_s=timeout, version=fail2ban_version(),
           banaction="nftables-multiport", **common)
    figure("f2b.restore.banwarden", "banwarden boot, restoring bans from its store into nftables", "s", bw_times, **common)
    if finished:
        ratios = [f / b for f, b in zip(f2b_times, bw_times)]
        figure("f2b.restore.ratio", "restoring bans, fail2ban / banwarden time", "x", ratios, **common)
        say(f"restore of {n} bans: fail2ban {spread(f2b_times, lambda v: f'{v:.2f} s')}, "
            f"banwarden {spread(bw_times, lambda v: f'{v:.3f} s')}, ratio {spread(ratios, lambda v: f'{v:.0f}x')}")
    else:
        say(f"restore of {n} bans: fail2ban did not finish within {timeout:.0f} s ({reached[-1]} of {n}); "
            f"banwarden {spread(bw_times, lambda v: f'{v:.3f} s')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="a directory written by benches/corpus.py (default: make one)")
    parser.add_argument("--entries", type=int, default=200_000,
                        help="entries of the corpus made when --corpus is not given")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    # 10,000 bans take fail2ban about 150 s per run on the reference
    # machine (one `nft add element` process per ban): 2,000 keep the five
    # runs within the suite's budget, at the same rate per ban.
    parser.add_argument("--bans", type=int, default=2_000, help="bans to restore")
    parser.add_argument("--timeout", type=float, default=300, help="seconds fail2ban gets to restore them")
    parser.add_argument("--banwarden", default=os.path.join(ROOT, "target", "release", "banwarden"))
    parser.add_argument("--only", choices=["matching", "restore"])
    args = parser.parse_args()
    # A runner that gives up on the suite sends SIGTERM: exit through the
    # `finally` clauses, which delete the namespaces and stop fail2ban.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0 and args.only != "matching":
        raise SystemExit("error: needs root (network namespaces); --only matching does not")
    if not os.access(args.banwarden, os.X_OK):
        raise SystemExit(f"error: no {args.banwarden}: cargo build --release first")
    ensure_fail2ban()
    started = time.monotonic()
    if args.only in (None, "matching"):
        made = None
        try:
            corpus_dir = args.corpus
            if corpus_dir is None:
                made = corpus_dir = tempfile.mkdtemp(prefix="banwarden-corpus-")
                say(f"corpus: {args.entries} entries, seed {args.seed}")
                corpus.generate(args.seed, args.entries, corpus_dir)
            matching(corpus_dir, args.runs, args.banwarden)
        finally:
            if made:
                shutil.rmtree(made, ignore_errors=True)
    if args.only in (None, "restore"):
        restore(args.bans, args.runs, args.timeout, args.seed, args.banwarden)
    say(f"fail2ban.py: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
