//! Publishing: the spool's lines, in order, to the stream and the
//! snapshot, in one Lua script per batch so that the stream entry and the
//! snapshot never disagree (Redis runs a script atomically, and replicates
//! its effects). The snapshot is never shortened: a ban that ends sooner
//! than the one it holds leaves it as it is, as on every host.
//!
//! A batch counts as published when the script returned (and, with
//! `fleet.replicas`, when `WAIT` says that many replicas have it): only
//! then are its lines let go. A batch that failed is sent again whole,
//! which may write an entry twice: applying an entry twice changes nothing.
//! Expired bans leave the snapshot about once a minute.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, watch, RwLock};

use super::link::{self, Shared, Side};
use super::spool::{Line, Spool};
use crate::config::fleet::FleetSettings;
use crate::diag;

/// The end the snapshot's sorted set gives a permanent ban (the year 9999).
pub const FOREVER_SCORE: u64 = super::wire::END_MAX;
/// Lines per script call.
pub const BATCH: usize = 1024;
/// How often expired bans are pruned from the snapshot.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often the spool is looked at for lines others wrote (`ban --fleet`).
const SPOOL_EVERY: Duration = Duration::from_secs(1);

/// KEYS: stream, live hash, ends zset. ARGV: maxLen, host, then five per
/// line: op, set, net, end, by. Returns the last entry's ID.
const PUBLISH: &str = r#"
local stream, live, ends = KEYS[1], KEYS[2], KEYS[3]
local maxlen, host = ARGV[1], ARGV[2]
local last = false
for i = 3, #ARGV, 5 do
  local op, set, net, e, by = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local member = set .. ' ' .. net
  if op == 'ban' then
    last = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
      'v', '1', 'op', 'ban', 'host', host, 'set', set, 'net', net, 'end', e, 'by', by)
    local score = tonumber(e)
    if score == 0 then score = tonumber(ARGV_FOREVER) end
    -- GT: an end in place is only ever moved later (never shortened).
    if redis.call('ZADD', ends, 'GT', 'CH', score, member) == 1 then
      redis.call('HSET', live, member, e .. ' ' .. host .. ' ' .. by)
    end
  else
    last = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
      'v', '1', 'op', 'unban', 'host', host, 'set', set, 'net', net, 'by', by)
    redis.call('ZREM', ends, member)
    redis.call('HDEL', live, member)
  end
end
return last
"#;

/// KEYS: live hash, ends zset. ARGV: now (seconds). Removes up to 1,000
/// ended bans; returns how many.
const PRUNE: &str = r#"
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 1000)
for _, member in ipairs(gone) do
  redis.call('HDEL', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return #gone
"#;

/// The snapshot's two keys beside the stream.
pub fn snapshot_keys(stream: &str) -> (String, String) {
    (format!("{stream}:live"), format!("{stream}:ends"))
}

fn publish_script() -> redis::Script {
    redis::Script::new(&PUBLISH.replace("ARGV_FOREVER", &format!("'{FOREVER_SCORE}'")))
}

/// Publishes `lines` as `host`; the last entry's ID.
pub async fn publish(
    con: &mut MultiplexedConnection,
    url: &str,
    fleet: &FleetSettings,
    lines: &[Line],
) -> Result<String, String> {
    let (live, ends) = snapshot_keys(&fleet.stream);
    let script = publish_script();
    let mut invocation = script.key(&fleet.stream);
    invocation.key(&live).key(&ends).arg(fleet.max_len).arg(&fleet.host);
    for l in lines {
        let end = if l.op == "ban" { l.end.to_string() } else { String::new() };
        invocation.arg(&l.op).arg(&l.set).arg(&l.net).arg(end).arg(&l.by);
    }
    let doing = "publishing (the fleet's script: XADD, ZADD, HSET...)";
    let id: Option<String> = invocation.invoke_async(con).await.map_err(|e| link::failure(url, doing, &e))?;
    if fleet.replicas > 0 {
        let timeout_ms = fleet.timeout_secs * 1000;
        let acked: u64 =
            redis::cmd("WAIT").arg(fleet.replicas).arg(timeout_ms).query_async(con).await.map_err(|e| e.to_string())?;
        if acked < u64::from(fleet.replicas) {
            return Err(format!("only {acked} of {} replicas have the entries (WAIT)", fleet.replicas));
        }
    }
    Ok(id.unwrap_or_default())
}

/// Removes ended bans from the snapshot.
pub async fn prune(con: &mut MultiplexedConnection, url: &str, stream: &str, now_secs: u64) -> Result<u64, String> {
    let (live, ends) = snapshot_keys(stream);
    let script = redis::Script::new(PRUNE);
    let doing = "pruning the snapshot (a script: ZRANGEBYSCORE, HDEL, ZREM)";
    script.key(live).key(ends).arg(now_secs).invoke_async(con).await.map_err(|e| link::failure(url, doing, &e))
}

/// The publisher: lines from the loop (through `decisions`) and from the
/// spool, published in order until `stop`.
pub async fn run(
    fleet: Arc<RwLock<FleetSettings>>,
    mut spool: Spool,
    mut decisions: mpsc::UnboundedReceiver<Vec<Line>>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pending: std::collections::VecDeque<Line> = std::collections::VecDeque::new();
    let mut con: Option<(MultiplexedConnection, String)> = None;
    let mut backoff = Duration::ZERO;
    let mut retry_at = tokio::time::Instant::now();
    let mut pruned_at = tokio::time::Instant::now();
    let mut spool_tick = tokio::time::interval(SPOOL_EVERY);
    spool_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warn = |w: String| diag!(Warning, "fleet: {w}");
    // What an earlier run left unpublished goes first.
    read_spool(&mut spool, &mut pending, &mut warn);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            batch = decisions.recv() => {
                let Some(mut lines) = batch else { return };
                while let Ok(more) = decisions.try_recv() {
                    lines.extend(more);
                }
                match spool.append_owned(&lines) {
                    Ok(true) => pending.extend(lines),
                    // Read back after the lines before them.
                    Ok(false) => {}
                    Err(e) => {
                        diag!(Err, "fleet: cannot write {}: {e}; these decisions are published but would be lost by a crash before", spool.path().display());
                        pending.extend(lines);
                    }
                }
            }
            _ = spool_tick.tick() => {}
            _ = tokio::time::sleep_until(retry_at), if !pending.is_empty() && con.is_none() => {}
        }
        read_spool(&mut spool, &mut pending, &mut warn);
        shared.update(|s| s.pending = pending.len() as u64);
        if con.is_none()
            && tokio::time::Instant::now() >= retry_at
            && (!pending.is_empty() || pruned_at.elapsed() >= PRUNE_EVERY)
        {
            let settings = fleet.read().await.clone();
            match link::connect(&settings, Duration::ZERO).await {
                // Up once a command has worked (see `Shared::up`).
                Ok(connected) => con = Some(connected),
                Err(e) => {
                    shared.down(Side::Publish, &format!("cannot reach Redis: {e}"));
                    backoff = link::next_backoff(backoff);
                    retry_at = tokio::time::Instant::now() + backoff;
                    continue;
                }
            }
        }
        let Some((c, url)) = con.as_mut() else { continue };
        let settings = fleet.read().await.clone();
        let mut failed = None;
        while !pending.is_empty() {
            let n = pending.len().min(BATCH);
            let batch: Vec<Line> = pending.iter().take(n).cloned().collect();
            match publish(c, url, &settings, &batch).await {
                Ok(_) => {
                    shared.up(Side::Publish, url);
                    backoff = Duration::ZERO;
                    pending.drain(..n);
                    shared.update(|s| {
                        s.published += n as u64;
                        s.pending = pending.len() as u64;
                    });
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if failed.is_none() && pending.is_empty() {
            if let Err(e) = spool.clear_if_read() {
                diag!(Err, "fleet: cannot empty {}: {e}", spool.path().display());
            }
        }
        if failed.is_none() && pruned_at.elapsed() >= PRUNE_EVERY {
            pruned_at = tokio::time::Instant::now();
            match prune(c, url, &settings.stream, shared.now_secs()).await {
                Ok(_) => shared.up(Side::Publish, url),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            shared.down(Side::Publish, &e);
            con = None;
            backoff = link::next_backoff(backoff);
            retry_at = tokio::time::Instant::now() + backoff;
        }
    }
}

fn read_spool(spool: &mut Spool, pending: &mut std::collections::VecDeque<Line>, warn: &mut dyn FnMut(String)) {
    match spool.read_new(warn) {
        Ok(lines) => pending.extend(lines),
        Err(e) => diag!(Err, "fleet: cannot read {}: {e}", spool.path().display()),
    }
}
