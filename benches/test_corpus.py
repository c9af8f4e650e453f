#!/usr/bin/env python3
"""Tests of benches/corpus.py: the same seed gives the same bytes, and the
three forms hold the same entries.

    python3 benches/test_corpus.py      (about 10 s)

The journal round trip needs systemd-journal-remote and journalctl, the
replay check target/release/banwarden (or $BANWARDEN_BIN), the fail2ban check fail2ban-regex;
each is skipped when its tool is missing.
"""

import filecmp
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import corpus  # noqa: E402

# The binary to replay with: $BANWARDEN_BIN (the tests give theirs), or the release build.
BANWARDEN = os.environ.get("BANWARDEN_BIN", os.path.join(ROOT, "target", "release", "banwarden"))
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
FILES = ("corpus.export", "corpus.jsonl", "corpus.log", "corpus.json")
N = 5000


def read_export(path):
    """Entries of a journal export stream, values as bytes."""
    entries, entry = [], {}
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if not line:
            entries.append(entry)
            entry = {}
            i = nl + 1
        elif b"=" in line:
            name, value = line.split(b"=", 1)
            entry[name.decode()] = value
            i = nl + 1
        else:
            # Binary form: NAME\n, little-endian 64-bit size, the bytes, \n.
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            entry[line.decode()] = data[nl + 9:nl + 9 + size]
            assert data[nl + 9 + size:nl + 10 + size] == b"\n"
            i = nl + 10 + size
    assert not entry, "the stream ends inside an entry"
    return entries


def json_value(value):
    """journalctl -o json's value as bytes (an array for non-UTF-8 data)."""
    return bytes(value) if isinstance(value, list) else value.encode()


class CorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="corpus-test-")
        cls.a = os.path.join(cls.tmp, "a")
        cls.manifest = corpus.generate(7, N, cls.a)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def path(self, name):
        return os.path.join(self.a, name)

    def test_same_seed_same_bytes(self):
        b = os.path.join(self.tmp, "b")
        corpus.generate(7, N, b)
        for name in FILES:
            self.assertTrue(filecmp.cmp(self.path(name), os.path.join(b, name), shallow=False), name)
        c = os.path.join(self.tmp, "c")
        corpus.generate(8, N, c)
        self.assertFalse(filecmp.cmp(self.path("corpus.export"), os.path.join(c, "corpus.export"), shallow=False))

    def test_three_forms_hold_the_same_entries(self):
        exported = read_export(self.path("corpus.export"))
        with open(self.path("corpus.jsonl"), "rb") as f:
            as_json = [json.loads(line) for line in f]
        with open(self.path("corpus.log"), "rb") as f:
            logged = f.read().split(b"\n")
        self.assertEqual(logged.pop(), b"")
        self.assertEqual((len(exported), len(as_json), len(logged)), (N, N, N))
        binary = 0
        for e, j, line in zip(exported, as_json, logged):
            self.assertEqual(list(e), list(j), "same fields in the same order")
            self.assertEqual(e, {k: json_value(v) for k, v in j.items()})
            binary += isinstance(j["MESSAGE"], list) or b"\n" in e["MESSAGE"]
            # "Nov 21 12:00:00 web1 sshd[1234]: message"; the kernel has no PID.
            tag = e["SYSLOG_IDENTIFIER"] + (b"[" + e["_PID"] + b"]" if "_PID" in e else b"")
            self.assertEqual(line[15:], b" web1 " + tag + b": " + e["MESSAGE"].replace(b"\n", b"#012"))
        self.assertGreater(binary, 0, "some values in the binary form")

    def test_manifest(self):
        m = self.manifest
        self.assertEqual(sum(m["kinds"].values()), N)
        sshd = m["sshd"]["by_identifier"]
        self.assertEqual(sum(sshd["sshd"].values()), m["kinds"]["sshd"])
        self.assertEqual(sum(sshd["sshd-session"].values()), m["kinds"]["sshd-session"])
        self.assertGreater(m["attacker_addresses"]["ipv6"], 0)
        with open(self.path("corpus.json")) as f:
            self.assertEqual(json.load(f), m)

    @unittest.skipUnless(os.access(JOURNAL_REMOTE, os.X_OK) and shutil.which("journalctl"),
                         "needs systemd-journal-remote")
    def test_journal_round_trip(self):
        journal = os.path.join(self.tmp, "journal")
        os.mkdir(journal)
        with open(self.path("corpus.export"), "rb") as f:
            subprocess.run([JOURNAL_REMOTE, "--split-mode=none", "-o", os.path.join(journal, "corpus.journal"), "-"],
                           stdin=f, check=True, stderr=subprocess.DEVNULL)
        out = subprocess.run(["journalctl", "--directory", journal, "-o", "json", "--no-pager"],
                             capture_output=True, check=True).stdout
        with open(self.path("corpus.jsonl"), "rb") as f:
            ours = [json.loads(line) for line in f]
        theirs = [json.loads(line) for line in out.splitlines()]
        for entry in ours + theirs:
            del entry["__CURSOR"]  # journald writes its own
        self.assertEqual(theirs, ours)
        if os.access(BANWARDEN, os.X_OK):
            config = os.path.join(HERE, "fail2ban", "sshd-equivalent.json")
            summaries = []
            for source in (["--input", self.path("corpus.jsonl")], ["--input", self.path("corpus.export")],
                           ["--journal-dir", journal]):
                run = subprocess.run([BANWARDEN, "replay", "--config", config, *source],
                                     capture_output=True, text=True, check=True)
                summaries.append(run.stderr.split("; ")[:-1])  # without the timing
            self.assertEqual(summaries[0], summaries[1])
            self.assertEqual(summaries[0], summaries[2])

    @unittest.skipUnless(shutil.which("fail2ban-regex"), "needs fail2ban")
    def test_truth_is_what_fail2ban_finds(self):
        out = subprocess.run(["fail2ban-regex", "--print-no-missed", "--print-no-ignored", self.path("corpus.log"),
                              "/etc/fail2ban/filter.d/sshd.conf"], capture_output=True, text=True, check=True).stdout
        truth = self.manifest["sshd"]["fail2ban_1.0.2"]
        self.assertIn(f"Failregex: {truth['failregex_total']} total", out)
        self.assertIn(f"{truth['helpers']} ignored, {truth['failures']} matched", out)


if __name__ == "__main__":
    unittest.main()
