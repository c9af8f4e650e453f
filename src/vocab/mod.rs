//! The words every layer of the ban path shares, and nothing else: an
//! address or network ([`Network`], [`parse_address`]), a firewall set
//! ([`SetRef`], with its [`Backend`]), how long and until when a ban lasts
//! ([`Lifetime`], [`Until`]), who asked for it ([`Origin`]) and why ([`Reason`]), and the one
//! request type that carries all of them ([`BanRequest`]); and the never-ban
//! list those requests are checked against ([`NeverBan`], [`refusal`]). It sits at the
//! bottom of the house: it imports no other module of the crate, so the
//! store, the firewall, the rules and the commands can all speak it without
//! importing each other. Values are checked when they are made (a set path
//! is parsed once) and never parsed again.

mod addr;
mod never_ban;
pub mod reason;
mod request;
mod set;

pub use addr::{any_contains, is_peer, normalize, parse_address, Network};
pub use never_ban::{refusal, NeverBan, Refusal};
pub use reason::{CounterValue, Reason};
pub use request::{BanRequest, Lifetime, Origin, Until, KERNEL_MAX_TIMEOUT};
pub use set::{ipset_name, Backend, Family, NftSet, SetRef, NFT_NAME_MAX};
