//! What `list` shows: every live ban, the store and the kernel side by
//! side, so that a ban missing from either shows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::Bans;
use crate::firewall::FirewallError;
use crate::store::{StoreError, Until};
use crate::vocab::{Backend, Network, SetRef};

/// One address or network in one set.
#[derive(Debug)]
pub struct Row {
    pub set: SetRef,
    pub ip: Network,
    /// From the store: when the ban ends (None: not in the store).
    pub until: Option<Until>,
    /// From the kernel: the time left, `Some(None)` without timeout, None: absent.
    pub left: Option<Option<Duration>>,
    /// The kernel set could not be read.
    pub kernel_error: Option<Arc<FirewallError>>,
    /// Why no restore can put this stored ban in its set (an address of the
    /// family the set does not hold).
    pub unrestorable: Option<String>,
    /// The network of the same set whose element holds this stored ban in
    /// the kernel (see `cover`): not a gap.
    pub covered_by: Option<Network>,
}

pub struct Inventory {
    /// By backend, set, then address.
    pub rows: Vec<Row>,
    /// Sets that could not be read and hold no stored ban.
    pub unreadable: Vec<(SetRef, FirewallError)>,
}

impl Bans {
    /// Every live stored ban and every element of the sets in `named` (the
    /// sets the rules use) or in the store.
    pub fn inventory(&mut self, named: &[SetRef], warn: &mut dyn FnMut(String)) -> Result<Inventory, StoreError> {
        let now = self.now_us();
        let mut inventory = Inventory { rows: Vec::new(), unreadable: Vec::new() };
        for backend in Backend::ALL {
            let records = match self.existing_store(backend, warn)? {
                Some(store) => store.live(now)?,
                None => Vec::new(),
            };
            let mut sets: BTreeSet<SetRef> = named.iter().filter(|s| s.backend() == backend).cloned().collect();
            sets.extend(records.iter().map(|r| r.set.clone()));
            let mut by_set: BTreeMap<SetRef, BTreeMap<Network, Row>> = BTreeMap::new();
            for r in records {
                let row = Row {
                    set: r.set.clone(),
                    ip: r.net,
                    until: Some(r.until),
                    left: None,
                    kernel_error: None,
                    unrestorable: None,
                    covered_by: None,
                };
                by_set.entry(r.set).or_default().insert(r.net, row);
            }
            for set in sets {
                let rows = by_set.entry(set.clone()).or_default();
                match self.kernel.list(&set) {
                    Ok(elements) => {
                        for (ip, left) in elements {
                            rows.entry(ip)
                                .or_insert(Row {
                                    set: set.clone(),
                                    ip,
                                    until: None,
                                    left: None,
                                    kernel_error: None,
                                    unrestorable: None,
                                    covered_by: None,
                                })
                                .left = Some(left);
                        }
                        mark_covered(rows);
                    }
                    Err(e) if rows.is_empty() => {
                        inventory.unreadable.push((set, e));
                        continue;
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        rows.values_mut().for_each(|row| row.kernel_error = Some(e.clone()));
                        continue;
                    }
                }
                // A stored ban of the family the set does not hold can never
                // be restored: say so, rather than that boot restores it.
                if let Ok(Some(shape)) = self.kernel.shape(&set) {
                    for row in rows.values_mut().filter(|r| r.until.is_some() && r.left.is_none()) {
                        if let Some(holds_ipv6) = shape.holds_ipv6.filter(|&v6| v6 != row.ip.is_ipv6()) {
                            let holds = if holds_ipv6 { "IPv6" } else { "IPv4" };
                            row.unrestorable = Some(format!("the set holds {holds} addresses"));
                        }
                    }
                }
            }
            inventory.rows.extend(by_set.into_values().flat_map(BTreeMap::into_values));
        }
        Ok(inventory)
    }
}

/// Marks the stored bans missing from the kernel that a network element of
/// the set holds. Rows are in order, so a network comes just before what
/// it holds.
fn mark_covered(rows: &mut BTreeMap<Network, Row>) {
    let mut outer: Option<Network> = None;
    for (net, row) in rows.iter_mut() {
        match outer {
            Some(o) if o.covers(net) => {
                if row.left.is_none() && row.until.is_some() {
                    row.covered_by = Some(o);
                }
            }
            _ => outer = (row.left.is_some() && !net.is_host()).then_some(*net),
        }
    }
}
