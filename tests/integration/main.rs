//! banwarden's one integration-test binary: the real binary driven like a
//! user would (`cli`), the linking rules checked against an independent
//! reference walk (`linking`), the no-allocation promise (`alloc`), the
//! Redis-protocol server driven by redis-cli and redis-py (`api_resp`), and the
//! journal followed live and replayed from files (`follow`, on a private
//! journald: `journald`), a lone line banned after a quiet spell without
//! journald's notification (`quiet`), and bans in the real kernel, in network
//! namespaces of their own (`bans`), forged lines (a local user's, a
//! container's journal) banning nobody under every shipped configuration
//! (`forged`), `neverBanLocal` following the host's addresses as they
//! change (`localaddr`), bans put back after a firewall reload
//! while the daemon runs (`reconcile`), the store and boot whatever the
//! disk's state (`durability`), a flood of bans the kernel refuses
//! reported in a bounded number of lines (`flood`), mail and the daily
//! report with fake mailers (`outbox`), `fleet status` and bans shared by
//! hand through the fleet's spool, Redis ACL of doc/fleet.md (`fleet_cli`),
//! banwarden as a service: sd_notify,
//! reload, least privilege, the unit files (`service`), output into a pipe
//! closed early (`pipes`), the documentation against the code: every name
//! the configuration accepts documented, every example valid (`docs`),
//! drop-ins and comments read by `check` and by a reload (`dropins`), the
//! example configurations replayed over their sample journals, ban by ban
//! (`examples`), the man page, completions and Debian package (`package`,
//! whose dpkg half needs root and cargo-deb), bans shared by three daemons
//! through a Redis of the test's own, hostile stream entries refused
//! (`fleet_three`, on the harness of `fleet`), the fleet under faults: Redis
//! killed during a flood, a host stopped, the stream trimmed past it, a
//! replica promoted, TLS and an ACL user (`fleet_faults`), the API servers' sockets and sets with the real
//! daemon (`api_config`), `status` and the metrics of a running daemon
//! (`status`), and the architecture map of
//! src/lib.rs against the code's imports (`architecture`). Tests that need
//! root or a program skip without it, or fail under `CI=true`
//! (`util::require`).

mod alloc;
mod allow_sets;
mod api_config;
mod api_resp;
mod api_rest;
mod architecture;
mod bans;
mod cli;
mod docs;
mod dropins;
mod durability;
mod examples;
mod fleet;
mod fleet_cli;
mod fleet_faults;
mod fleet_three;
mod flood;
mod follow;
mod forged;
mod journald;
mod linking;
mod list;
mod localaddr;
mod log_bridge;
mod networks;
mod outbox;
mod package;
mod pipes;
mod quiet;
mod reconcile;
mod ruletest;
mod service;
mod status;
mod util;
mod why;
