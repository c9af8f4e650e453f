//! Settling the ends of a batch of bans from the ends in place: the part
//! of [`BanStore::settle`](super::BanStore::settle) that touches no file,
//! so that the ban service can settle a batch the same way when the store
//! cannot be written (the bans still go to the kernel).

use std::collections::HashMap;
use std::sync::Arc;

use super::{Record, Until};
use crate::vocab::{Network, Reason, SetRef};

/// The ends `decide` settles for `asked` in order, each from the current
/// end of its address and set (first `stored`, then what an earlier request
/// settled), and the records whose end differs from the stored one (their
/// start: `now_us`, when their new end was decided).
pub fn settle_ends(
    asked: &[Record],
    now_us: u64,
    decide: &mut dyn FnMut(Option<Until>, usize) -> Until,
    stored: impl Fn(Network, &SetRef) -> Option<Until>,
) -> (Vec<Until>, Vec<Record>) {
    // Per address and set: the stored end, the current end, its start, the
    // first request's index, who asked for the current end and why.
    type Slot = (Option<Until>, Option<Until>, u64, usize, Option<Arc<str>>, Option<Arc<Reason>>);
    let mut current: HashMap<(Network, &SetRef), Slot> = HashMap::new();
    let mut ends = Vec::with_capacity(asked.len());
    for (i, r) in asked.iter().enumerate() {
        let slot = current.entry((r.net, &r.set)).or_insert_with(|| {
            let end = stored(r.net, &r.set);
            (end, end, 0, i, None, None)
        });
        let end = decide(slot.1, i);
        if slot.1 != Some(end) {
            // The request whose end this is says when it was decided.
            slot.2 = if end == r.until && r.start > 0 { r.start } else { now_us };
            // And who asked for it (the end is that request's).
            (slot.4, slot.5) = if end == r.until { (r.by.clone(), r.why.clone()) } else { (None, None) };
        }
        slot.1 = Some(end);
        ends.push(end);
    }
    let mut changed: Vec<(usize, Record)> = current
        .into_iter()
        .filter(|(_, (stored, now, ..))| stored != now)
        .map(|((ip, set), (_, end, start, first, by, why))| {
            (first, Record { net: ip, set: set.clone(), until: end.expect("settled"), start, by, why })
        })
        .collect();
    changed.sort_unstable_by_key(|(first, _)| *first);
    (ends, changed.into_iter().map(|(_, r)| r).collect())
}
