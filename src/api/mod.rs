//! The servers through which other programs ban and allow addresses:
//! rfw's REST interface and banwarden's `/v1` JSON API (over HTTP, HTTPS
//! or a Unix socket), and RedisPushIptables' commands over the Redis
//! protocol. They run in a tokio runtime on a thread of their own, started
//! after the daemon has dropped its privileges, with the daemon's signals
//! blocked there; they never touch the store or the kernel: every change
//! goes to the event loop through its [`Door`] (the one ban path), and
//! reads come from the [`Listing`] the loop publishes.

use std::sync::Arc;

use crate::door::{Door, Listing};
use crate::time::Clock;

/// What every server shares: the door to the loop, the published bans,
/// and the clock.
#[derive(Clone)]
pub struct Context {
    pub door: Arc<Door>,
    pub listing: Arc<Listing>,
    pub clock: Arc<dyn Clock>,
}
