#!/usr/bin/env python3
"""Writes examples/banwarden.d/SERVICE.json, the drop-in of each example
but sshd (whose rules are the default /etc/banwarden/banwarden.json).

A drop-in holds the example's chains, without its catch-all ("Discard
everything else", which the main file has) and placed before it; the route
of banwarden's own ban messages gets the service's name, since every
example has one and a drop-in's labels must be new. An own ban message
that one service's recidive chain does not match falls through to the next
route, so each recidive still sees its own.

tests/integration/examples.rs checks that the drop-ins are what this script
writes, and that each bans, beside the default rules, as its example does.
Run it after changing an example: python3 examples/make-dropins.py
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATCH_ALL = "Discard everything else"
OWN = "Route banwarden's own ban messages"
SERVICES = ["dovecot", "exim", "nextcloud", "nginx", "postfix", "prosody"]


def dropin(service):
    with open(os.path.join(HERE, service, "banwarden.json")) as f:
        example = json.load(f)
    chains = {}
    for label, steps in example["actions"].items():
        if label == CATCH_ALL:
            continue
        if label == OWN:
            label = f"{OWN} ({service})"
        chains[label] = steps
    return {"before": CATCH_ALL, "actions": chains}


def text(service):
    return json.dumps(dropin(service), indent=2, ensure_ascii=False) + "\n"


def main():
    out = os.path.join(HERE, "banwarden.d")
    os.makedirs(out, exist_ok=True)
    check = "--check" in sys.argv[1:]
    stale = []
    for service in SERVICES:
        path = os.path.join(out, f"{service}.json")
        want = text(service)
        if check:
            try:
                with open(path) as f:
                    if f.read() != want:
                        stale.append(path)
            except FileNotFoundError:
                stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(want)
    if stale:
        print("out of date (run python3 examples/make-dropins.py):", *stale, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
