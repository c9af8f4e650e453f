//! One client's session: whether it has authenticated, who it is (the
//! origin its bans are stored with), the protocol version it asked for;
//! and the carrying out of its parsed commands in order. Consecutive
//! inserts go to the loop as ONE `Command::Ban` and are answered together
//! once the loop has stored them and the kernel has them: a pipeline of
//! thousands costs one store write and one netlink transaction, and the
//! connection reads on only after that (back-pressure through TCP).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::command::Request;
use super::reply::{encode, Out, REDIS_VERSION, SERVER};
use crate::api::{Live, Peer, Shared};
use crate::bans::{Lifted, Outcome};
use crate::config::api::{default_sets, ApiSettings, Target};
use crate::diag;
use crate::door::Command;
use crate::vocab::{BanRequest, Lifetime, Network, Origin, Until};

/// How long a failed `AUTH` holds its connection before the answer, so
/// guessing goes at one try a second per connection.
const AUTH_FAILURE_PAUSE: Duration = Duration::from_secs(1);

const BUSY: &str = "BUSY the daemon's queue is full, try again shortly";
const STOPPING: &str = "ERR the daemon is stopping: nothing was done";

pub struct Session {
    shared: Arc<Shared>,
    peer: Peer,
    authenticated: bool,
    /// The user recorded with each ban (`Origin::Api`).
    user: String,
    /// 2 or 3, as `HELLO` chose.
    protocol: u8,
    /// The commands of a `MULTI` waiting for `EXEC`.
    queued: Option<Vec<Request>>,
    /// A command of the `MULTI` was refused: `EXEC` carries out nothing.
    aborted: bool,
}

/// What a command leaves the connection to do.
#[derive(PartialEq, Eq)]
pub enum Next {
    Continue,
    Close,
}

impl Session {
    pub fn new(peer: Peer, shared: Arc<Shared>) -> Session {
        // A Unix socket is guarded by its file mode and group: its peers
        // need no password, and are known by their uid.
        let (authenticated, user) = match &peer {
            Peer::Unix { uid, .. } => (true, format!("redis:uid={uid}")),
            Peer::Tcp(_) => (false, "redis:default".to_string()),
        };
        Session { shared, peer, authenticated, user, protocol: 2, queued: None, aborted: false }
    }

    /// Carries out `requests` (parsed, or the error that parsing gave) in
    /// order, appending one reply each to `out`.
    pub async fn run(&mut self, requests: Vec<Result<Request, String>>, out: &mut BytesMut) -> Next {
        let mut replies = Vec::with_capacity(requests.len());
        let next = self.transact(requests, &mut replies).await;
        for reply in &replies {
            encode(reply, out);
        }
        next
    }

    /// `MULTI` ... `EXEC` around the rest: commands between them are
    /// answered `QUEUED` and carried out at `EXEC` (in one batch, like any
    /// pipeline: the loop is the only writer, so nothing can come between
    /// them that a transaction would have to keep out).
    async fn transact(&mut self, requests: Vec<Result<Request, String>>, replies: &mut Vec<Out>) -> Next {
        let mut plain = Vec::new();
        for request in requests {
            let transactional = matches!(request, Ok(Request::Multi | Request::Exec | Request::Discard));
            if self.queued.is_none() && !transactional {
                plain.push(request);
                continue;
            }
            if self.carry_out(std::mem::take(&mut plain), replies).await == Next::Close {
                return Next::Close;
            }
            let reply = match (self.queued.as_mut(), request) {
                (_, Ok(Request::Quit)) => {
                    replies.push(Out::Status("OK"));
                    return Next::Close;
                }
                (_, Ok(_)) if !self.authenticated => Out::Error("NOAUTH Authentication required.".into()),
                (None, Ok(Request::Multi)) => {
                    self.queued = Some(Vec::new());
                    self.aborted = false;
                    Out::Status("OK")
                }
                (None, _) => Out::Error("ERR EXEC or DISCARD without MULTI".into()),
                (Some(_), Ok(Request::Multi)) => Out::Error("ERR MULTI calls can not be nested".into()),
                (Some(_), Ok(Request::Discard)) => {
                    self.queued = None;
                    Out::Status("OK")
                }
                (Some(_), Ok(Request::Exec)) => {
                    let queued = self.queued.take().unwrap_or_default();
                    if self.aborted {
                        Out::Error("EXECABORT Transaction discarded because of previous errors.".into())
                    } else {
                        let mut inner = Vec::with_capacity(queued.len());
                        let next = self.carry_out(queued.into_iter().map(Ok).collect(), &mut inner).await;
                        replies.push(Out::Array(inner));
                        if next == Next::Close {
                            return Next::Close;
                        }
                        continue;
                    }
                }
                (Some(queue), Ok(request)) => {
                    queue.push(request);
                    Out::Status("QUEUED")
                }
                (Some(_), Err(e)) => {
                    self.aborted = true;
                    Out::Error(e)
                }
            };
            replies.push(reply);
        }
        self.carry_out(plain, replies).await
    }

    /// Carries out requests outside a transaction, in order: runs of
    /// inserts together, the rest one by one.
    async fn carry_out(&mut self, requests: Vec<Result<Request, String>>, replies: &mut Vec<Out>) -> Next {
        let mut rest = requests.as_slice();
        while let Some(first) = rest.first() {
            // A run of inserts, with the parse errors among them (a bad
            // line in a `--pipe` load must not cut the batch in pieces).
            let run =
                rest.iter().take_while(|r| self.authenticated && r.as_ref().map_or(true, Request::is_insert)).count();
            if run > 0 {
                self.inserts(&rest[..run], replies).await;
                rest = &rest[run..];
                continue;
            }
            rest = &rest[1..];
            let reply = match first {
                Err(e) => Out::Error(e.clone()),
                Ok(request) if !self.authenticated && !request.before_auth() => {
                    Out::Error("NOAUTH Authentication required.".into())
                }
                Ok(Request::Quit) => {
                    replies.push(Out::Status("OK"));
                    return Next::Close;
                }
                Ok(request) => self.one(request).await,
            };
            replies.push(reply);
        }
        Next::Continue
    }

    async fn one(&mut self, request: &Request) -> Out {
        match request {
            Request::Insert { .. } => unreachable!("inserts go in runs"),
            Request::Delete { target, net } => self.delete(*target, *net).await,
            Request::Ping(None) => Out::Status("PONG"),
            Request::Ping(Some(message)) | Request::Echo(message) => Out::Bulk(Bytes::copy_from_slice(message)),
            Request::Auth { user, password } => match self.auth(user.as_deref(), password).await {
                true => Out::Status("OK"),
                false => Out::Error("WRONGPASS invalid username-password pair or user is disabled.".into()),
            },
            Request::Hello { protocol, auth } => {
                if let Some((user, password)) = auth {
                    if !self.auth(Some(user), password).await {
                        return Out::Error("WRONGPASS invalid username-password pair or user is disabled.".into());
                    }
                }
                if !self.authenticated {
                    return Out::Error(
                        "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
                         HELLO <proto> AUTH <user> <pass> option can be used"
                            .into(),
                    );
                }
                self.protocol = protocol.unwrap_or(self.protocol);
                Out::Hello { protocol: self.protocol }
            }
            Request::Quit => Out::Status("OK"),
            Request::Select | Request::Client => Out::Status("OK"),
            Request::Command => Out::EmptyArray,
            Request::Info => Out::Bulk(self.info().into()),
            Request::Multi | Request::Exec | Request::Discard => unreachable!("transactions are handled in transact"),
        }
    }

    /// Checks a password against `resp.password`. On a Unix socket (no
    /// password needed) an `AUTH` is still checked when a password is
    /// configured, so that a wrong one is said wrong, and taken when none is.
    async fn auth(&mut self, user: Option<&str>, password: &[u8]) -> bool {
        let live = self.shared.live();
        let good = match (&live.resp_password, &self.peer) {
            (Some(hash), _) => hash.check(password).await,
            (None, Peer::Unix { .. }) => true,
            (None, Peer::Tcp(_)) => false,
        };
        if !good {
            let who = match &self.peer {
                Peer::Tcp(addr) => addr.to_string(),
                Peer::Unix { uid, pid } => format!("uid {uid} (pid {pid}) on a Unix socket"),
            };
            diag!(Warning, "redis protocol: failed AUTH from {who}");
            tokio::time::sleep(AUTH_FAILURE_PAUSE).await;
            return false;
        }
        if let Peer::Tcp(_) = self.peer {
            self.authenticated = true;
            self.user = format!("redis:{}", user.unwrap_or("default"));
        }
        true
    }

    fn origin(&self) -> Origin {
        Origin::Api { user: self.user.clone() }
    }

    /// A run of inserts (and parse errors): the inserts go to the loop in
    /// one command; the replies keep the order of the requests.
    async fn inserts(&mut self, run: &[Result<Request, String>], replies: &mut Vec<Out>) {
        let live = self.shared.live();
        let defaults;
        let api = match &live.api {
            Some(api) => api,
            None => {
                defaults = ApiSettings { sets: default_sets(), ..ApiSettings::default() };
                &defaults
            }
        };
        // Each request's reply: ready now (an error), or the outcome of
        // the ban at that index, and whether it was permanent already.
        let mut slots: Vec<Result<(usize, Network, bool), Out>> = Vec::with_capacity(run.len());
        let mut bans = Vec::new();
        let (listing, now) = (&self.shared.context.listing, self.shared.context.clock.now_us());
        for request in run {
            slots.push(match request {
                Err(e) => Err(Out::Error(e.clone())),
                Ok(Request::Insert { target, net, lifetime }) => match api.set_for(*target, "input", None, *net) {
                    Ok(set) => {
                        // The ban service answers a permanent ban asked
                        // again as made (its end is the one asked for); the
                        // listing tells that it was so already: 0.
                        let already = *lifetime == Lifetime::Forever
                            && listing.get(set, *net, now).is_some_and(|held| held.until == Until::Forever);
                        bans.push(
                            BanRequest::new(*net, set.clone(), *lifetime, self.origin())
                                .with_reason(self.peer.reason()),
                        );
                        Ok((bans.len() - 1, *net, already))
                    }
                    Err(e) => Err(Out::Error(format!("ERR {e}"))),
                },
                Ok(_) => unreachable!("a run holds inserts and errors only"),
            });
        }
        drop(live);
        let outcomes = match bans.is_empty() {
            true => Ok(Vec::new()),
            false => self.ban(bans).await,
        };
        for slot in slots {
            let reply = match (slot, &outcomes) {
                (Err(out), _) => out,
                (Ok((i, net, already)), Ok(outcomes)) => match outcomes.get(i) {
                    Some(Outcome::Banned(Until::Forever)) if already => Out::Int(0),
                    Some(outcome) => reply_of(net, outcome),
                    None => Out::Error(STOPPING.into()),
                },
                (Ok(_), Err(out)) => out.clone(),
            };
            replies.push(reply);
        }
    }

    /// Sends bans through the door and waits until they are durable.
    async fn ban(&self, requests: Vec<BanRequest>) -> Result<Vec<Outcome>, Out> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let reply = Box::new(move |outcomes| {
            let _ = tx.send(outcomes);
        });
        if self.shared.context.door.send(Command::Ban { requests, reply }).is_err() {
            return Err(Out::Error(BUSY.into()));
        }
        rx.await.map_err(|_| Out::Error(STOPPING.into()))
    }

    async fn delete(&self, target: Target, net: Network) -> Out {
        let live = self.shared.live();
        let set = match set_of(&live, target, net) {
            Ok(set) => set,
            Err(e) => return Out::Error(format!("ERR {e}")),
        };
        drop(live);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let reply = Box::new(move |lifted| {
            let _ = tx.send(lifted);
        });
        let command = Command::Unban { net, sets: vec![set], origin: self.origin(), reply };
        if self.shared.context.door.send(command).is_err() {
            return Out::Error(BUSY.into());
        }
        match rx.await {
            Err(_) => Out::Error(STOPPING.into()),
            Ok(Err(e)) => Out::Error(format!("ERR {net}: {e}")),
            Ok(Ok(lifted)) => deleted(net, &lifted),
        }
    }

    /// `INFO`: a few lines in Redis's `key:value` form, with the live
    /// entries of each set the commands write.
    fn info(&self) -> String {
        let live = self.shared.live();
        let now = self.shared.context.clock.now_us();
        let mut text = format!(
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nserver_name:{SERVER}\r\nbanwarden_version:{}\r\nredis_mode:standalone\r\n\r\n# Sets\r\n",
            env!("CARGO_PKG_VERSION")
        );
        let defaults = default_sets();
        let sets = live.api.as_ref().map_or(&defaults, |api| &api.sets);
        for entry in sets.iter().filter(|s| s.chain == "input" && s.interface.is_none()) {
            let target = match entry.target {
                Target::Drop => "drop",
                Target::Accept => "accept",
            };
            for (set, _, _) in entry.sets() {
                let count = self.shared.context.listing.count(set, now);
                text.push_str(&format!("{target}:{set}={count}\r\n"));
            }
        }
        text
    }
}

fn set_of(live: &Live, target: Target, net: Network) -> Result<crate::vocab::SetRef, String> {
    match &live.api {
        Some(api) => api.set_for(target, "input", None, net).cloned(),
        None => {
            ApiSettings { sets: default_sets(), ..ApiSettings::default() }.set_for(target, "input", None, net).cloned()
        }
    }
}

/// The reply to one insert: 1 banned (or accepted, or extended), 0 a ban
/// in place already ends later; an error for the rest.
pub fn reply_of(net: Network, outcome: &Outcome) -> Out {
    match outcome {
        Outcome::Banned(_) => Out::Int(1),
        Outcome::Kept(_) => Out::Int(0),
        Outcome::Refused(why) => Out::Error(format!("ERR refused: {net} {why}")),
        Outcome::NotStored(e) => {
            Out::Error(format!("ERR {net} is in the kernel but the store could not record it (lost at reboot): {e}"))
        }
        Outcome::KernelFailed(e) => Out::Error(format!("ERR {net} is stored but the kernel refused it: {e}")),
        Outcome::Failed { store, kernel } => {
            Out::Error(format!("ERR {net} was not banned: the store failed ({store}) and the kernel too ({kernel})"))
        }
    }
}

/// The reply to a delete: 1 when something was lifted, 0 when there was
/// nothing to lift; an error when the kernel refused the removal.
pub fn deleted(net: Network, lifted: &[Lifted]) -> Out {
    if let Some(e) = lifted.iter().find_map(|l| l.kernel.as_ref().err()) {
        return Out::Error(format!("ERR {net} was forgotten by the store but the kernel refused its removal: {e}"));
    }
    Out::Int(lifted.iter().any(|l| l.was_stored).into())
}
