#!/usr/bin/env python3
"""A deterministic benchmark corpus: the same N journal entries written three
ways, so that banwarden and tools that read log files (fail2ban) can be
measured on exactly the same events.

    benches/corpus.py --seed S --entries N --out DIR

writes

- DIR/corpus.export: `journalctl -o export` form (fields that are not
  printable UTF-8, such as multi-line or Latin-1 messages, in the binary
  form), with the ~25 fields journald records for each entry;
- DIR/corpus.jsonl: `journalctl -o json` form (non-UTF-8 values as arrays
  of bytes, as journalctl prints them);
- DIR/corpus.log: the syslog text rsyslog would write from the same
  entries (`Nov 21 12:00:00 web1 sshd[1234]: message`), one line per entry
  (a newline inside a message becomes `#012`, as rsyslog escapes it);
- DIR/corpus.json: the manifest: entries per kind, distinct attacker
  addresses, and the sshd truth (below). Printed on stderr too;
- with --journal, DIR/journal/: the export turned into a journal by
  `systemd-journal-remote --split-mode=none -o DIR/journal/corpus.journal -`
  (about 50 s for 1,000,000 entries). It rotates files of ~50 MB, so
  1,000,000 entries make 14 files: read them all with
  `banwarden replay --journal-dir DIR/journal` (`--journal-file
  DIR/journal/corpus.journal` alone is only the last one). Journal files
  carry random identifiers: only the other files are byte-identical.

The same seed and N give byte-identical files (benches/test_corpus.py
checks it): one seeded PRNG, no clock, no hash-ordered iteration.

What a busy Debian web, mail and SSH server logs, in rough proportions of
a thousand entries: 300 sshd (brute forces on real and invented users,
scanners that disconnect before authenticating, accepted logins; 30 % of
the connections logged by OpenSSH 9.8+'s `sshd-session` process), 210
nginx access lines (40 of them scanners), 20 nginx errors, 80 dovecot
(30 failures), 90 postfix smtpd (30 SASL failures), 200 systemd, cron and
logind lines, 40 kernel firewall lines, 60 php-fpm and application lines
(a few multi-line or not UTF-8). Attackers come from one pool of IPv4 and
IPv6 addresses drawn with a Zipf-like law (P(rank k) ~ 1/k): the most
active address makes ~9 % of the attacks, the most active 1 % of the
pool more than half; legitimate clients come from
documentation ranges.

sshd truth. Every sshd line is classified as fail2ban 1.0.2's stock
filter.d/sshd.conf (mode normal) classifies it, which the generator knows
because it wrote the line:
- failure: a line the filter counts as a failure ("Failed password ...",
  "Invalid user ...", "maximum authentication attempts exceeded ...");
- helper: a line one of its regexes matches with F-NOFAIL (address noted,
  no failure: "Accepted ...", "Connection closed by ... [preauth]",
  "pam_unix(sshd:auth): authentication failure; ...", "Received disconnect
  from ...: 11: ...", "Failed publickey for <existing user>");
- other: no regex matches.
Counted per identifier: fail2ban 1.0.2 only recognises `sshd[PID]:`, so
what it matches is the `sshd` column; a rule routed on the unit
(ssh.service) sees both. fail2ban remembers each connection (its PID) from
line to line and turns a helper line into a failure when one connection
tries several user names; every connection here uses one user name and its
own PID, so each line's class depends on the line alone.
"""

import argparse
import ipaddress
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time

HOST = "web1"
BOOT_ID = "5e1f0c6a9b2d4e3f8a7b6c5d4e3f2a1b"
MACHINE_ID = "0d1c2b3a495867768594a3b2c1d0e0f1"
SEQNUM_ID = "7c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f"
SERVER_IP = "192.0.2.1"
# 2025-11-21 12:00:00 UTC; the host booted 3 days before.
T0 = 1_763_726_400_000_000
BOOT_US = T0 - 3 * 86_400_000_000
# Mean gap between entries: 1,000,000 entries span about 5.5 hours.
MEAN_GAP_US = 20_000
PID_MAX = 4_194_304  # /proc/sys/kernel/pid_max on a 64-bit kernel
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Source:
    """A program as journald describes it: the fields that do not change from
    one of its entries to the next, already written in both output forms."""

    def __init__(self, ident, comm, exe, cmdline, unit, transport="syslog", facility=3, uid=0, pid=None):
        self.ident = ident
        self.fixed_pid = pid
        self.syslog = transport == "syslog"
        self.kernel = transport == "kernel"
        head = [("_BOOT_ID", BOOT_ID), ("_TRANSPORT", transport)]
        middle = [("SYSLOG_FACILITY", str(facility)), ("SYSLOG_IDENTIFIER", ident)]
        tail = []
        if not self.kernel:
            tail += [("_UID", str(uid)), ("_GID", str(uid)), ("_COMM", comm), ("_EXE", exe), ("_CMDLINE", cmdline),
                     ("_CAP_EFFECTIVE", "1ffffffffff" if uid == 0 else "0")]
        if unit:
            slice_ = "system.slice"
            tail += [("_SYSTEMD_CGROUP", f"/{slice_}/{unit}"), ("_SYSTEMD_UNIT", unit), ("_SYSTEMD_SLICE", slice_),
                     ("_SYSTEMD_INVOCATION_ID", f"{abs(hash_text(unit)):032x}"[:32])]
        tail += [("_MACHINE_ID", MACHINE_ID), ("_HOSTNAME", HOST), ("_RUNTIME_SCOPE", "system")]
        self.e_head, self.j_head = export_fields(head), json_fields(head)
        self.e_middle, self.j_middle = export_fields(middle), json_fields(middle)
        self.e_tail, self.j_tail = export_fields(tail), json_fields(tail)
        # rsyslog's tag: "sshd[1234]:", "kernel:".
        self.tag = ident if self.kernel else ident + "[{}]"


def hash_text(text):
    """A stable hash (Python's own is salted per process)."""
    h = 1469598103934665603
    for c in text.encode():
        h = ((h ^ c) * 1099511628211) & (2**128 - 1)
    return h


def export_fields(pairs):
    return "".join(f"{k}={v}\n" for k, v in pairs)


def json_fields(pairs):
    return "".join(f",{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in pairs)


SOURCES = {
    "sshd": Source("sshd", "sshd", "/usr/sbin/sshd", "sshd: unknown [priv]", "ssh.service", facility=4),
    # OpenSSH 9.8+ runs each connection in a separate binary, logging under
    # its own name, in the same unit.
    "sshd-session": Source("sshd-session", "sshd-session", "/usr/lib/openssh/sshd-session",
                           "sshd-session: unknown [priv]", "ssh.service", facility=4),
    "nginx": Source("nginx", "nginx", "/usr/sbin/nginx", "nginx: worker process", "nginx.service", facility=23,
                    uid=33, pid=1187),
    "dovecot": Source("dovecot", "dovecot", "/usr/sbin/dovecot", "/usr/sbin/dovecot -F", "dovecot.service",
                      facility=2, pid=944),
    "postfix": Source("postfix/smtpd", "smtpd", "/usr/lib/postfix/sbin/smtpd", "smtpd -n smtp -t inet -u -c",
                      "postfix@-.service", facility=2, uid=109),
    "cron": Source("CRON", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron.service", facility=9),
    "systemd": Source("systemd", "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "init.scope",
                      transport="journal", facility=3, pid=1),
    "logind": Source("systemd-logind", "systemd-logind", "/usr/lib/systemd/systemd-logind",
                     "/lib/systemd/systemd-logind", "systemd-logind.service", transport="journal", facility=4,
                     pid=611),
    "kernel": Source("kernel", "", "", "", None, transport="kernel", facility=0),
    "php-fpm": Source("php-fpm", "php-fpm8.2", "/usr/sbin/php-fpm8.2",
                      "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", "php8.2-fpm.service",
                      transport="journal", pid=702),
    "app": Source("shop-api", "python3", "/usr/bin/python3.11", "/usr/bin/python3 -m shop.api", "shop-api.service",
                  transport="stdout", uid=1001, pid=1530),
    "backup": Source("backup", "rsync", "/usr/bin/rsync", "rsync -a /srv/ backup:/srv/", "backup.service",
                     transport="stdout", pid=None),
}

INVALID_USERS = ("admin", "test", "user", "ubuntu", "oracle", "postgres", "git", "ftpuser", "guest", "pi",
                 "support", "hadoop", "dev", "deployer", "minecraft", "steam", "jenkins", "debian", "ec2-user",
                 "ts3", "user1", "solana", "sol", "mysql", "es", "nagios", "zabbix", "1234", "admin1", "", "a")
REAL_USERS = ("root",) * 8 + ("deploy", "alice")
METHODS = ("password",) * 18 + ("keyboard-interactive/pam", "none")
WEB_PATHS = ("/", "/articles/{}", "/static/app.{}.js", "/img/{}.webp", "/feed.xml", "/api/items?page={}")
SCAN_PATHS = ("/wp-login.php", "/.env", "/phpmyadmin/index.php", "/.git/config", "/cgi-bin/luci/;stok=/locale",
              "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/boaform/admin/formLogin", "/xmlrpc.php")
AGENTS = ('"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"',
          '"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"',
          '"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"')
SCAN_AGENTS = ('"zgrab/0.x"', '"Mozilla/5.0 zgrab/0.x"', '"python-requests/2.31.0"', '"-"', '"curl/8.5.0"')


class Corpus:
    def __init__(self, seed, entries):
        self.rng = random.Random(seed)
        self.n = entries
        self.next_pid = 2000
        self.attackers = address_pool(self.rng, max(1000, entries // 20))
        self.clients = address_pool(self.rng, max(200, entries // 200))
        self.legit = [f"198.51.100.{i}" for i in range(10, 30)] + [f"2001:db8:feed::{i:x}" for i in range(1, 6)]
        self.open = []  # sshd connections under way: [source, pid, lines, next index]
        self.kinds = {}
        self.attacker_seen = set()
        self.sshd = {ident: {"failure": 0, "helper": 0, "other": 0} for ident in ("sshd", "sshd-session")}
        self.failure_addresses = {"sshd": set(), "sshd-session": set()}

    # -- addresses ---------------------------------------------------------

    def attacker(self):
        # Rank k with probability ~ 1/k: the first few are the heavy hitters.
        address = self.attackers[int(len(self.attackers) ** self.rng.random()) - 1]
        self.attacker_seen.add(address)
        return address

    def pid(self):
        pid = self.next_pid
        self.next_pid += self.rng.randint(1, 7)
        if self.next_pid >= PID_MAX:
            self.next_pid = 2000
        return pid

    # -- sshd --------------------------------------------------------------

    def sshd_connection(self):
        """The lines of one SSH connection, each (message, class, priority);
        class f = failure, h = helper, o = other (see the module doc)."""
        rng = self.rng
        port = rng.randint(1024, 65535)
        r = rng.random()
        if r < 0.12:
            return self.sshd_accepted(rng.choice(self.legit), port)
        a = self.attacker()
        if r < 0.42:
            user = rng.choice(REAL_USERS)
            k = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 6))
            lines = [(f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={a}  user={user}", "h", 5)]
            lines += [(f"Failed password for {user} from {a} port {port} ssh2", "f", 6)] * k
            if k == 6:
                lines += [(f"error: maximum authentication attempts exceeded for {user} from {a} port {port} ssh2 [preauth]", "f", 3),
                          (f"Disconnecting authenticating user {user} {a} port {port}: Too many authentication failures [preauth]", "o", 6),
                          (f"PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={a}  user={user}", "o", 5),
                          ("PAM service(sshd) ignoring max retries; 6 > 3", "o", 5)]
                return lines
            if k > 1:
                lines.append((f"PAM {k - 1} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={a}  user={user}", "o", 5))
            return lines + self.sshd_end(a, port, f"authenticating user {user}")
        if r < 0.77:
            user = rng.choice(INVALID_USERS)
            lines = [(f"Invalid user {user} from {a} port {port}", "f", 6),
                     ("pam_unix(sshd:auth): check pass; user unknown", "o", 5),
                     (f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={a}", "h", 5)]
            for _ in range(rng.choice((1, 1, 1, 2, 3))):
                lines.append((f"Failed {rng.choice(METHODS)} for invalid user {user} from {a} port {port} ssh2", "f", 6))
            return lines + self.sshd_end(a, port, f"invalid user {user}")
        if r < 0.97:
            s = rng.random()
            if s < 0.35:
                return [(f"Connection closed by {a} port {port} [preauth]", "h", 6)]
            if s < 0.50:
                return [(f"Connection reset by {a} port {port} [preauth]", "h", 6)]
            if s < 0.62:
                return [(f"banner exchange: Connection from {a} port {port}: invalid format", "o", 6)]
            if s < 0.77:
                return [("error: kex_exchange_identification: Connection closed by remote host", "o", 3),
                        (f"Connection closed by {a} port {port}", "h", 6)]
            if s < 0.90:
                return [(f"Unable to negotiate with {a} port {port}: no matching key exchange method found. "
                         "Their offer: diffie-hellman-group14-sha1,diffie-hellman-group1-sha1 [preauth]", "o", 3)]
            return [(f"Received disconnect from {a} port {port}:11: Bye Bye [preauth]", "h", 6),
                    (f"Disconnected from {a} port {port} [preauth]", "h", 6)]
        # A key refused for an existing user: a helper line only (fail2ban's
        # `publickey = nofail`). "Failed publickey for invalid user ..." is
        # left out: two of the filter's regexes match it, a failure one and
        # a NOFAIL one; the daemon stops at the first and counts a failure,
        # fail2ban-regex tries them all and reports the line as ignored, so
        # its statistics would not count what the daemon counts.
        fp = f"SHA256:{rng.getrandbits(128):032x}"
        user = rng.choice(REAL_USERS)
        return [(f"Failed publickey for {user} from {a} port {port} ssh2: RSA {fp}", "h", 6)] + \
            self.sshd_end(a, port, f"authenticating user {user}")

    def sshd_end(self, a, port, who):
        if self.rng.random() < 0.6:
            return [(f"Connection closed by {who} {a} port {port} [preauth]", "h", 6)]
        return [(f"Received disconnect from {a} port {port}:11: Bye Bye [preauth]", "h", 6),
                (f"Disconnected from {who} {a} port {port} [preauth]", "h", 6)]

    def sshd_accepted(self, a, port):
        rng = self.rng
        if rng.random() < 0.7:
            user, uid = "deploy", 1000
            lines = [(f"Accepted publickey for deploy from {a} port {port} ssh2: ED25519 SHA256:{rng.getrandbits(128):032x}", "h", 6)]
        else:
            user, uid = "alice", 1001
            # A mistyped password first, now and then: a failure all the same.
            lines = [(f"Failed password for alice from {a} port {port} ssh2", "f", 6)] if rng.random() < 0.3 else []
            lines.append((f"Accepted password for alice from {a} port {port} ssh2", "h", 6))
        return lines + [(f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)", "o", 6),
                        (f"Received disconnect from {a} port {port}:11: disconnected by user", "h", 6),
                        (f"Disconnected from user {user} {a} port {port}", "o", 6),
                        (f"pam_unix(sshd:session): session closed for user {user}", "o", 6)]

    def sshd_line(self):
        """The next line of some connection under way, or the first of a new one."""
        rng, open_ = self.rng, self.open
        if not open_ or (len(open_) < 64 and rng.random() < 0.3):
            source = "sshd-session" if rng.random() < 0.3 else "sshd"
            conn = [source, self.pid(), self.sshd_connection(), 0]
            open_.append(conn)
        else:
            conn = open_[rng.randrange(len(open_))]
        source, pid, lines, i = conn
        msg, cls, prio = lines[i]
        conn[3] = i + 1
        if i + 1 == len(lines):
            open_.remove(conn)
        truth = self.sshd[source]
        if cls == "f":
            truth["failure"] += 1
            self.failure_addresses[source].add(failure_address(msg))
        elif cls == "h":
            truth["helper"] += 1
        else:
            truth["other"] += 1
        return source, pid, prio, msg

    # -- the other services --------------------------------------------------

    def entry(self, stamp):
        """One entry: (kind, source, pid, priority, message as str or bytes)."""
        rng = self.rng
        r = rng.random()
        if r < 0.300:
            source, pid, prio, msg = self.sshd_line()
            return source, source, pid, prio, msg
        if r < 0.470:
            c = rng.choice(self.clients)
            path = rng.choice(WEB_PATHS).format(rng.randint(1, 5000))
            return "nginx access", "nginx", None, 6, (
                f'{c} - - [{stamp}] "GET {path} HTTP/2.0" {rng.choice((200, 200, 200, 200, 304, 301))} '
                f'{rng.randint(200, 90000)} "https://example.org/" {rng.choice(AGENTS)}')
        if r < 0.510:
            a = self.attacker()
            return "nginx scan", "nginx", None, 6, (
                f'{a} - - [{stamp}] "GET {rng.choice(SCAN_PATHS)} HTTP/1.1" {rng.choice((404, 404, 403, 400))} '
                f'{rng.randint(150, 600)} "-" {rng.choice(SCAN_AGENTS)}')
        if r < 0.530:
            a = self.attacker()
            path = rng.choice(SCAN_PATHS)
            return "nginx error", "nginx", None, 3, (
                f'{stamp_nginx_error(stamp)} [error] 1187#1187: *{rng.randint(1, 10**6)} open() "/var/www/html{path.split("?")[0]}" '
                f'failed (2: No such file or directory), client: {a}, server: example.org, request: "GET {path} HTTP/1.1", host: "example.org"')
        if r < 0.580:
            c = rng.choice(self.legit)
            return "dovecot login", "dovecot", None, 6, (
                f"imap-login: Login: user=<{rng.choice(('alice', 'bob', 'carol'))}@example.org>, method=PLAIN, rip={c}, "
                f"lip={SERVER_IP}, mpid={rng.randint(3000, 90000)}, TLS, session=<{rng.getrandbits(64):016x}>")
        if r < 0.610:
            a = self.attacker()
            user = rng.choice(("admin", "info", "test", "sales", "webmaster"))
            if rng.random() < 0.5:
                return "dovecot auth failure", "dovecot", None, 5, (
                    f"auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser={user} rhost={a}")
            return "dovecot auth failure", "dovecot", None, 6, (
                f"imap-login: Disconnected: Connection closed (auth failed, 3 attempts in 15 secs): user=<{user}>, "
                f"method=PLAIN, rip={a}, lip={SERVER_IP}, TLS, session=<{rng.getrandbits(64):016x}>")
        if r < 0.670:
            c = rng.choice(self.clients)
            s = rng.random()
            if s < 0.5:
                msg = f"connect from unknown[{c}]"
            elif s < 0.9:
                msg = f"disconnect from unknown[{c}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
            else:
                msg = (f"NOQUEUE: reject: RCPT from unknown[{c}]: 554 5.7.1 <x@example.net>: Relay access denied; "
                       f"from=<> to=<x@example.net> proto=ESMTP helo=<[{c}]>")
            return "postfix smtpd", "postfix", self.pid(), 6, msg
        if r < 0.700:
            a = self.attacker()
            if rng.random() < 0.7:
                return "postfix sasl failure", "postfix", self.pid(), 4, (
                    f"warning: unknown[{a}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")
            return "postfix sasl failure", "postfix", self.pid(), 6, f"lost connection after AUTH from unknown[{a}]"
        if r < 0.820:
            s = rng.random()
            if s < 0.34:
                msg = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
            elif s < 0.67:
                msg = "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
            else:
                msg = "pam_unix(cron:session): session closed for user root"
            return "cron", "cron", self.pid(), 6, msg
        if r < 0.900:
            n = rng.randint(100, 9999)
            s = rng.random()
            if s < 0.4:
                return "systemd", "systemd", None, 6, f"Started session-{n}.scope - Session {n} of User deploy."
            if s < 0.6:
                return "systemd", "systemd", None, 6, "logrotate.service: Deactivated successfully."
            if s < 0.8:
                return "systemd", "logind", None, 6, f"New session {n} of user deploy."
            return "systemd", "logind", None, 6, f"Removed session {n}."
        if r < 0.940:
            a = self.attacker()
            proto = "PROTO=TCP SPT={} DPT={} WINDOW=1024 RES=0x00 SYN URGP=0".format(
                rng.randint(1024, 65535), rng.choice((23, 445, 3389, 5900, 8080, 6379)))
            if ":" in a:
                return "kernel firewall", "kernel", None, 4, (
                    f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd SRC={a} DST=2001:db8::1 "
                    f"LEN=80 TC=0 HOPLIMIT=52 FLOWLBL=0 {proto}")
            return "kernel firewall", "kernel", None, 4, (
                f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={a} DST={SERVER_IP} "
                f"LEN=44 TOS=0x00 PREC=0x00 TTL=242 ID={rng.randint(1, 65535)} {proto}")
        s = rng.random()
        if s < 0.004:
            # A traceback on stdout: one entry, several lines (binary in the
            # export form).
            return "app multi-line", "app", None, 3, (
                "Traceback (most recent call last):\n"
                '  File "/srv/shop/api.py", line 88, in handle\n'
                "    order = orders[request.id]\n"
                f"KeyError: {rng.randint(1, 99999)}")
        if s < 0.008:
            # A file name in Latin-1: not UTF-8, so an array of bytes in JSON.
            return "app non-UTF-8", "backup", self.pid(), 6, (
                b"copied /srv/partage/caf\xe9-cr\xe8me-" + str(rng.randint(1, 999)).encode() + b".txt")
        if s < 0.6:
            return "php-fpm", "php-fpm", None, 5, f"[pool www] child {rng.randint(3000, 90000)} started"
        return "app", "app", None, 6, (
            f"GET /api/items/{rng.randint(1, 99999)} 200 {rng.randint(1, 400) / 10} ms")


def address_pool(rng, size):
    """`size` distinct public addresses, 80 % IPv4, written as sshd and
    inet_ntop write them (IPv6 compressed, lower case)."""
    pool, seen = [], set()
    reserved = {0, 10, 100, 127, 169, 172, 192, 198, 203}
    while len(pool) < size:
        if rng.random() < 0.8:
            a = rng.randint(1, 223)
            if a in reserved:
                continue
            text = f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        else:
            # 2000::/3 minus the documentation prefix; hosts often have a
            # small interface identifier, which compresses ("::1a").
            hi = rng.getrandbits(61) | (1 << 61)
            lo = rng.getrandbits(64) if rng.random() < 0.6 else rng.randint(1, 0xFFFF)
            text = str(ipaddress.IPv6Address(hi << 64 | lo))
            if text.startswith("2001:db8:"):
                continue
        if text not in seen:
            seen.add(text)
            pool.append(text)
    return pool


def failure_address(msg):
    """The address of a failure line (the word after " from ")."""
    return msg.split(" from ", 1)[1].split(" ", 1)[0]


def stamp_nginx_error(access_stamp):
    # "21/Nov/2025:12:00:00 +0000" -> "2025/11/21 12:00:00"
    d, mon, rest = access_stamp.split("/", 2)
    year, clock = rest.split(":", 1)
    return f"{year}/{MONTHS.index(mon) + 1:02d}/{d} {clock[:8]}"


def binary_field(name, value):
    """`NAME\\n<le64 size><bytes>\\n`, held in a str through surrogateescape so
    that the whole chunk is encoded at once."""
    raw = struct.pack("<Q", len(value)) + value + b"\n"
    return f"{name}\n" + raw.decode("utf-8", "surrogateescape")


def generate(seed, entries, out):
    os.makedirs(out, exist_ok=True)
    corpus = Corpus(seed, entries)
    rng = corpus.rng
    f_export = open(os.path.join(out, "corpus.export"), "wb")
    f_json = open(os.path.join(out, "corpus.jsonl"), "wb")
    f_log = open(os.path.join(out, "corpus.log"), "wb")
    e_buf, j_buf, l_buf = [], [], []
    t = T0
    second = None
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    try:
        for i in range(entries):
            t += 1 + int(rng.random() * 2 * MEAN_GAP_US)
            if t // 1_000_000 != second:
                second = t // 1_000_000
                tm = time.gmtime(second)
                syslog_ts = f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
                access_stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", tm)
            kind, name, pid, prio, msg = corpus.entry(access_stamp)
            corpus.kinds[kind] = corpus.kinds.get(kind, 0) + 1
            src = SOURCES[name]
            if pid is None:
                pid = src.fixed_pid if src.fixed_pid is not None else corpus.pid()
            mono = t - BOOT_US
            cursor = f"s={SEQNUM_ID};i={i + 1:x};b={BOOT_ID};m={mono:x};t={t:x};x={hash_text(str(i)) & (2**64 - 1):016x}"
            # journald's receive time is a little after the sender's.
            source_t = t - 23 - (i % 50)

            if isinstance(msg, bytes):
                e_msg = binary_field("MESSAGE", msg)
                j_msg = json.dumps(list(msg))
                l_msg = msg.decode("utf-8", "surrogateescape")
            elif "\n" in msg:
                e_msg = binary_field("MESSAGE", msg.encode())
                j_msg = dumps(msg)
                l_msg = msg.replace("\n", "#012")
            else:
                e_msg = f"MESSAGE={msg}\n"
                j_msg = dumps(msg)
                l_msg = msg

            if src.kernel:
                e_var = f"PRIORITY={prio}\n{src.e_middle}_SOURCE_MONOTONIC_TIMESTAMP={mono - 41}\n{src.e_tail}"
                j_var = f',"PRIORITY":"{prio}"{src.j_middle},"_SOURCE_MONOTONIC_TIMESTAMP":"{mono - 41}"{src.j_tail}'
                tag = src.tag
            elif src.syslog:
                e_var = (f"PRIORITY={prio}\n{src.e_middle}SYSLOG_PID={pid}\nSYSLOG_TIMESTAMP={syslog_ts} \n"
                         f"_PID={pid}\n{src.e_tail}_SOURCE_REALTIME_TIMESTAMP={source_t}\n")
                j_var = (f',"PRIORITY":"{prio}"{src.j_middle},"SYSLOG_PID":"{pid}","SYSLOG_TIMESTAMP":"{syslog_ts} "'
                         f',"_PID":"{pid}"{src.j_tail},"_SOURCE_REALTIME_TIMESTAMP":"{source_t}"')
                tag = src.tag.format(pid)
            else:
                e_var = f"PRIORITY={prio}\n{src.e_middle}_PID={pid}\n{src.e_tail}_SOURCE_REALTIME_TIMESTAMP={source_t}\n"
                j_var = (f',"PRIORITY":"{prio}"{src.j_middle},"_PID":"{pid}"{src.j_tail}'
                         f',"_SOURCE_REALTIME_TIMESTAMP":"{source_t}"')
                tag = src.tag.format(pid)

            e_buf.append(f"__CURSOR={cursor}\n__REALTIME_TIMESTAMP={t}\n__MONOTONIC_TIMESTAMP={mono}\n"
                         f"{src.e_head}{e_var}{e_msg}\n")
            j_buf.append(f'{{"__CURSOR":"{cursor}","__REALTIME_TIMESTAMP":"{t}","__MONOTONIC_TIMESTAMP":"{mono}"'
                         f'{src.j_head}{j_var},"MESSAGE":{j_msg}}}\n')
            l_buf.append(f"{syslog_ts} {HOST} {tag}: {l_msg}\n")
            if len(e_buf) == 4096:
                flush(e_buf, f_export), flush(j_buf, f_json), flush(l_buf, f_log)
        flush(e_buf, f_export), flush(j_buf, f_json), flush(l_buf, f_log)
    finally:
        f_export.close(), f_json.close(), f_log.close()

    manifest = {
        "seed": seed,
        "entries": entries,
        "files": ["corpus.export", "corpus.jsonl", "corpus.log"],
        "kinds": dict(sorted(corpus.kinds.items())),
        "attacker_addresses": {
            "distinct": len(corpus.attacker_seen),
            "ipv6": sum(1 for a in corpus.attacker_seen if ":" in a),
        },
        "sshd": {
            "by_identifier": corpus.sshd,
            "failure_lines": sum(v["failure"] for v in corpus.sshd.values()),
            "failure_addresses": len(corpus.failure_addresses["sshd"] | corpus.failure_addresses["sshd-session"]),
            "fail2ban_1.0.2": {
                "note": "the stock filter recognises the identifier sshd only, not OpenSSH 9.8+'s sshd-session",
                "failures": corpus.sshd["sshd"]["failure"],
                "helpers": corpus.sshd["sshd"]["helper"],
                "failregex_total": corpus.sshd["sshd"]["failure"] + corpus.sshd["sshd"]["helper"],
                "failure_addresses": len(corpus.failure_addresses["sshd"]),
            },
        },
    }
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


def write_journal(out):
    journal = os.path.join(out, "journal")
    shutil.rmtree(journal, ignore_errors=True)
    os.mkdir(journal)
    with open(os.path.join(out, "corpus.export"), "rb") as export:
        # It says "rotating" at each new file: not worth showing.
        subprocess.run([JOURNAL_REMOTE, "--split-mode=none", "-o", os.path.join(journal, "corpus.journal"), "-"],
                       stdin=export, stderr=subprocess.DEVNULL, check=True)
    return sorted(os.listdir(journal))


def flush(buf, f):
    f.write("".join(buf).encode("utf-8", "surrogateescape"))
    buf.clear()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--journal", action="store_true", help="also write DIR/journal/ with systemd-journal-remote")
    args = parser.parse_args()
    started = time.monotonic()
    manifest = generate(args.seed, args.entries, args.out)
    json.dump(manifest, sys.stderr, indent=2)
    print(f"\ncorpus: {args.entries} entries in {args.out} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if args.journal:
        started = time.monotonic()
        files = write_journal(args.out)
        print(f"corpus: {len(files)} journal files in {args.out}/journal in {time.monotonic() - started:.1f} s",
              file=sys.stderr)


if __name__ == "__main__":
    main()
