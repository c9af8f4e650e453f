"""The journal of a made-up server: processes as journald describes them
(with the trusted fields it adds), and a host's entries written out in
`journalctl -o json` form with the cursors and sequence numbers journald
would give. The scenarios of the other modules here use it; see
../make-service-attacks.py."""

import calendar
import datetime
import hashlib
import json

SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR


def utc(year, month, day, hour=0, minute=0, second=0):
    """Microseconds since the epoch."""
    return calendar.timegm((year, month, day, hour, minute, second)) * SEC


def hexid(*parts, length=32):
    return hashlib.md5("/".join(map(str, parts)).encode()).hexdigest()[:length]


class Proc:
    """A process, as journald describes it in the trusted fields it adds."""

    def __init__(self, pid, comm, exe, cmdline, unit=None, uid=0, gid=None, caps="0", session=None):
        self.pid, self.comm, self.exe, self.cmdline = pid, comm, exe, cmdline
        self.unit, self.uid, self.gid, self.caps, self.session = unit, uid, uid if gid is None else gid, caps, session

    def at(self, pid, cmdline=None):
        """The same program in another process (another connection)."""
        return Proc(pid, self.comm, self.exe, cmdline or self.cmdline, self.unit, self.uid, self.gid, self.caps, self.session)

    def fields(self, host, boot_id):
        f = {
            "_PID": str(self.pid),
            "_UID": str(self.uid),
            "_GID": str(self.gid),
            "_COMM": self.comm,
            "_EXE": self.exe,
            "_CMDLINE": self.cmdline,
            "_CAP_EFFECTIVE": self.caps,
        }
        if self.session is not None:
            user_slice = f"user-{self.uid}.slice"
            f.update({
                "_AUDIT_SESSION": str(self.session),
                "_AUDIT_LOGINUID": str(self.uid),
                "_SYSTEMD_CGROUP": f"/user.slice/{user_slice}/session-{self.session}.scope",
                "_SYSTEMD_SESSION": str(self.session),
                "_SYSTEMD_OWNER_UID": str(self.uid),
                "_SYSTEMD_UNIT": f"session-{self.session}.scope",
                "_SYSTEMD_SLICE": user_slice,
            })
        elif self.unit == "init.scope":
            f.update({"_SYSTEMD_CGROUP": "/init.scope", "_SYSTEMD_UNIT": "init.scope", "_SYSTEMD_SLICE": "-.slice"})
        else:
            f.update({
                "_SYSTEMD_CGROUP": f"/system.slice/{self.unit}",
                "_SYSTEMD_UNIT": self.unit,
                "_SYSTEMD_SLICE": "system.slice",
                "_SYSTEMD_INVOCATION_ID": hexid("invocation", host, boot_id, self.unit),
            })
        return f


def session_proc(session, uid, pid, comm="logger", exe="/usr/bin/logger", cmdline="logger"):
    """A command a logged-in user ran: it lands in the user's session scope."""
    return Proc(pid, comm, exe, cmdline, uid=uid, session=session)


BANWARDEN = Proc(611, "banwarden", "/usr/bin/banwarden", "/usr/bin/banwarden run", "banwarden.service", caps="1000")
SYSTEMD = Proc(1, "systemd", "/usr/lib/systemd/systemd", "/sbin/init", "init.scope", caps="1ffffffffff")
LOGIND = Proc(402, "systemd-logind", "/usr/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind",
              "systemd-logind.service", caps="24420204cf")
CRON = Proc(0, "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "cron.service", caps="1ffffffffff")


class Host:
    """One machine's journal: entries are added in any order, written in
    time order with the cursors and sequence numbers journald would give."""

    def __init__(self, name, boots):
        self.name = name
        self.machine_id = hexid("machine", name)
        self.seqnum_id = hexid("seqnum", name)
        self.boots = [(start, hexid("boot", name, start)) for start in boots]
        self.entries = []

    def _add(self, t, proc, head, message, extra=None):
        self.entries.append((t, len(self.entries), proc, head, message, extra or {}))

    def syslog(self, t, proc, ident, message, priority=6, facility=1, with_pid=True):
        """A line sent to /dev/log (syslog(3), logger)."""
        stamp = datetime.datetime.fromtimestamp(t // SEC, datetime.timezone.utc)
        head = {"_TRANSPORT": "syslog", "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
                "SYSLOG_IDENTIFIER": ident}
        if with_pid:
            head["SYSLOG_PID"] = str(proc.pid)
        head["SYSLOG_TIMESTAMP"] = f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S} "
        self._add(t, proc, head, message)

    def journal(self, t, proc, ident, message, priority=6, facility=None, extra=None):
        """A line sent with the journal's native protocol (sd_journal_send,
        `logger --journald`, banwarden's action_log)."""
        head = {"_TRANSPORT": "journal", "PRIORITY": str(priority)}
        if facility is not None:
            head["SYSLOG_FACILITY"] = str(facility)
        head["SYSLOG_IDENTIFIER"] = ident
        self._add(t, proc, head, message, extra)

    def banwarden(self, t, message, priority=5):
        """What banwarden's action_log wrote: MESSAGE, PRIORITY and
        SYSLOG_IDENTIFIER, and the trusted fields journald adds."""
        self.journal(t, BANWARDEN, "banwarden", message, priority)

    def systemd(self, t, unit, message, message_id):
        self.journal(t, SYSTEMD, "systemd", message, facility=3,
                     extra={"MESSAGE_ID": message_id, "UNIT": unit, "CODE_FILE": "src/core/job.c"})

    def new_session(self, t, session, user, uid):
        self.journal(t, LOGIND, "systemd-logind", f"New session {session} of user {user}.", facility=4,
                     extra={"MESSAGE_ID": "8d45620c1a4348dbb17410da57c60c66", "SESSION_ID": str(session),
                            "USER_ID": user, "LEADER": str(3000 + session)})

    def cron(self, t, pid, command):
        proc = CRON.at(pid)
        self.syslog(t, proc, "CRON", "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)",
                    facility=10)
        self.syslog(t + 2000, proc, "CRON", f"(root) CMD ({command})", facility=9)
        self.syslog(t + 41000, proc, "CRON", "pam_unix(cron:session): session closed for user root", facility=10)

    def write(self, path):
        self.entries.sort(key=lambda e: (e[0], e[1]))
        lines = []
        for seq, (t, _, proc, head, message, extra) in enumerate(self.entries, start=1):
            start, boot_id = max(b for b in self.boots if b[0] <= t)
            monotonic = t - start + 4_812_331
            record = {
                "__CURSOR": f"s={self.seqnum_id};i={seq:x};b={boot_id};m={monotonic:x};t={t:x};"
                            f"x={hexid(self.name, seq, t, length=16)}",
                "__REALTIME_TIMESTAMP": str(t),
                "__MONOTONIC_TIMESTAMP": str(monotonic),
                "__SEQNUM": str(seq),
                "__SEQNUM_ID": self.seqnum_id,
                "_BOOT_ID": boot_id,
            }
            record.update(head)
            record.update(extra)
            record.update(proc.fields(self.name, boot_id))
            record.update({
                "_MACHINE_ID": self.machine_id,
                "_HOSTNAME": self.name,
                "_RUNTIME_SCOPE": "system",
                "_SOURCE_REALTIME_TIMESTAMP": str(t - 37),
                "MESSAGE": message,
            })
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        return len(lines)


def spaced(t, count, gap):
    """`count` times from `t`, `gap` apart."""
    return [t + i * gap for i in range(count)]
