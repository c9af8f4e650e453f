//! banwarden's one integration-test binary: the real binary driven like a
//! user would (`cli`), the linking rules checked against an independent
//! reference walk (`linking`), the no-allocation promise (`alloc`), and the
//! journal followed live and replayed from files (`follow`, on a private
//! journald: `journald`), and bans in the real kernel, in network
//! namespaces of their own (`bans`), mail and the daily report with fake
//! mailers (`outbox`), banwarden as a service: sd_notify, reload, least
//! privilege, the unit files (`service`), the documentation against the
//! code: every name the configuration accepts documented, every example
//! valid (`docs`), and the example configurations replayed over their
//! sample journals, ban by ban (`examples`).

mod alloc;
mod bans;
mod cli;
mod docs;
mod examples;
mod follow;
mod journald;
mod linking;
mod outbox;
mod service;
mod util;
