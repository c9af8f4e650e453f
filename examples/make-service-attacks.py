#!/usr/bin/env python3
"""Writes examples/<service>/attack.jsonl: sample journals for the example
configurations, one JSON object per line as `journalctl -o json` prints them.

Each sample is the journal of one made-up server over a few days: the
service's attackers (some over the threshold, some under it, IPv4 and
IPv6), the administrators' own mistakes from private networks, ordinary
traffic, other units, lines that local users forged with `logger` to get
an innocent address banned, and, as the real journal holds them, the lines
banwarden itself wrote when it banned (`_SYSTEMD_UNIT=banwarden.service`,
`_TRANSPORT=journal`), which the recidive chains count. Every address comes
from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24, 2001:db8::/32) or from private ones.

The fields are the ones journald records, trusted ones included: which
unit a process runs in (`_SYSTEMD_UNIT`), its PID, UID, command, and how
the line came in (`_TRANSPORT`). tests/integration/examples.rs replays each
file through its configuration and checks every ban; the expected bans are
listed at the head of each scenario, in samples/ (ssh.py, web.py, mail.py,
chat.py; sample_journal.py makes the entries).

The output is deterministic. Run it again after editing a scenario:

    python3 examples/make-service-attacks.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "samples"))
sys.dont_write_bytecode = True  # no __pycache__ left in examples/

from chat import prosody_sample  # noqa: E402 (the path above first)
from mail import dovecot_sample, exim_sample, postfix_sample  # noqa: E402
from ssh import sshd_sample  # noqa: E402
from web import nextcloud_sample, nginx_sample  # noqa: E402

SAMPLES = {
    "sshd": sshd_sample,
    "nginx": nginx_sample,
    "dovecot": dovecot_sample,
    "postfix": postfix_sample,
    "exim": exim_sample,
    "nextcloud": nextcloud_sample,
    "prosody": prosody_sample,
}


def main():
    for service, sample in SAMPLES.items():
        path = os.path.join(HERE, service, "attack.jsonl")
        count = sample().write(path)
        print(f"{os.path.relpath(path)}: {count} entries")


if __name__ == "__main__":
    main()
