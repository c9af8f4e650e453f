//! What `list` shows: every live ban, the store and the kernel side by
//! side, so that a ban missing from either shows; and what `list ADDRESS`
//! shows: the bans of one address or network and of the networks around it.
//!
//! The store is read whole (it is in memory: a million bans in about a
//! second). A kernel set is read only when that is cheap or asked for
//! ([`KernelRead`]): dumping an nftables set costs the kernel time
//! quadratic in its size (80 s for 1,000,000 elements), so a large set is
//! left unread and the listing says so ([`Inventory::unread`]) rather than
//! call its bans missing. One address is never found by a dump: each set
//! concerned is asked about it by one lookup ([`Kernel::lookup`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::Bans;
use crate::firewall::{FirewallError, Held};
use crate::store::{scan, Record, StoreError, Until};
use crate::vocab::{Backend, Network, Reason, SetRef};

/// One address or network in one set.
#[derive(Debug)]
pub struct Row {
    pub set: SetRef,
    pub ip: Network,
    /// From the store: when the ban ends (None: not in the store).
    pub until: Option<Until>,
    /// From the kernel: the time left, `Some(None)` without timeout, None:
    /// absent, or not read (see `checked`).
    pub left: Option<Option<Duration>>,
    /// Whether the kernel set was read: when not, `left` says nothing.
    pub checked: bool,
    /// The kernel set could not be read.
    pub kernel_error: Option<Arc<FirewallError>>,
    /// Why no restore can put this stored ban in its set (an address of the
    /// family the set does not hold).
    pub unrestorable: Option<String>,
    /// The network of the same set whose element holds this stored ban in
    /// the kernel (see `cover`): not a gap.
    pub covered_by: Option<Network>,
    /// Who decided the stored ban (see [`Record::by`]).
    pub by: Option<Arc<str>>,
    /// Why (see [`Record::why`]).
    pub why: Option<Arc<Reason>>,
}

pub struct Inventory {
    /// By backend, set, then address.
    pub rows: Vec<Row>,
    /// Sets that could not be read and hold no stored ban.
    pub unreadable: Vec<(SetRef, FirewallError)>,
    /// Sets not read, being large (see [`KernelRead`]), with their size as
    /// far as it is known: the kernel's count (ipset's header says it), or
    /// how many stored bans it holds.
    pub unread: Vec<(SetRef, Size)>,
}

/// How large a set left unread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Elements in the kernel set (ipset's header).
    Kernel(usize),
    /// Live stored bans of the set (an nftables set must be dumped to be counted).
    Stored(usize),
}

/// Which kernel sets [`Bans::inventory`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelRead {
    /// Every set, however large (`list --kernel`).
    All,
    /// The sets that are cheap to read: an ipset of up to [`CHEAP_IPSET`]
    /// elements (its header says how many), an nftables set of up to
    /// [`CHEAP_NFT`] stored bans (the kernel's count costs a dump: the
    /// store's is the guess; elements added by hand are not counted).
    Cheap,
}

/// Largest ipset read without being asked: ipset dumps in time linear in
/// the set's size.
pub const CHEAP_IPSET: usize = 200_000;
/// Largest nftables set (in stored bans) read without being asked: a dump
/// of 50,000 elements costs the kernel about 0.1 s, one of 1,000,000 80 s.
pub const CHEAP_NFT: usize = 50_000;

/// One set's answer about one address or network (`list ADDRESS`).
#[derive(Debug)]
pub struct Look {
    pub set: SetRef,
    /// The stored ban (the address or network asked about, or a network
    /// that holds it), or the kernel's element when nothing is stored.
    pub net: Network,
    /// From the store: when the ban of `net` ends (None: not stored).
    pub until: Option<Until>,
    /// Who decided the stored ban, and why.
    pub by: Option<Arc<str>>,
    pub why: Option<Arc<Reason>>,
    /// What the kernel's lookup of the address asked about says.
    pub kernel: Result<Held, Arc<FirewallError>>,
}

impl Bans {
    /// Every live stored ban and every element of the sets in `named` (the
    /// sets the rules use) or in the store.
    /// `read` says which sets are read from the kernel.
    pub fn inventory(
        &mut self,
        named: &[SetRef],
        read: KernelRead,
        warn: &mut dyn FnMut(String),
    ) -> Result<Inventory, StoreError> {
        let now = self.now_us();
        let mut inventory = Inventory { rows: Vec::new(), unreadable: Vec::new(), unread: Vec::new() };
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
                    checked: false,
                    kernel_error: None,
                    unrestorable: None,
                    covered_by: None,
                    by: r.by.clone(),
                    why: r.why.clone(),
                };
                by_set.entry(r.set).or_default().insert(r.net, row);
            }
            for set in sets {
                let rows = by_set.entry(set.clone()).or_default();
                if let Some(size) = self.too_large(&set, rows.len(), read) {
                    mark_covered_in_store(rows);
                    inventory.unread.push((set, size));
                    continue;
                }
                rows.values_mut().for_each(|row| row.checked = true);
                match self.kernel.list(&set) {
                    Ok(elements) => {
                        for (ip, left) in elements {
                            rows.entry(ip)
                                .or_insert(Row {
                                    set: set.clone(),
                                    ip,
                                    until: None,
                                    left: None,
                                    checked: true,
                                    kernel_error: None,
                                    unrestorable: None,
                                    covered_by: None,
                                    by: None,
                                    why: None,
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

impl Bans {
    /// The size of `set` when [`KernelRead`] says not to read it.
    fn too_large(&mut self, set: &SetRef, stored: usize, read: KernelRead) -> Option<Size> {
        if read == KernelRead::All {
            return None;
        }
        match set.backend() {
            Backend::Nft => (stored > CHEAP_NFT).then_some(Size::Stored(stored)),
            // A set that cannot be counted is read: the error shows then.
            Backend::Ipset => match self.kernel.count(set) {
                Ok(Some(n)) if n > CHEAP_IPSET => Some(Size::Kernel(n)),
                _ => None,
            },
        }
    }

    /// The bans of `net` and of the networks that hold it, in the store and
    /// in the kernel: each set concerned (those of the stored bans, and the
    /// sets in `named` of its family, for elements added by hand) is asked
    /// once, by a lookup. Stored bans first, by set; then what only the
    /// kernel holds.
    pub fn inspect(
        &mut self,
        net: Network,
        named: &[SetRef],
        warn: &mut dyn FnMut(String),
    ) -> Result<Vec<Look>, StoreError> {
        let now = self.now_us();
        let mut stored: Vec<Record> = Vec::new();
        for backend in Backend::ALL {
            // Searched in the files, unless already open or not plain
            // (`store::scan`): opening a large store costs seconds.
            let scanned = match self.stores.contains_key(&backend) {
                true => None,
                false => scan::records_of(&self.storage, backend, net)?,
            };
            let records = match scanned {
                Some(records) => records,
                None => match self.existing_store(backend, warn)? {
                    Some(store) => {
                        let mut own: Vec<Record> = store.records_of(net, now)?;
                        own.extend(store.covering(net, now)?);
                        own
                    }
                    None => Vec::new(),
                },
            };
            stored.extend(records.into_iter().filter(|r| r.until.is_live(now)));
        }
        stored.sort_by(|a, b| (&a.set, a.net).cmp(&(&b.set, b.net)));
        let mut sets: BTreeSet<SetRef> = stored.iter().map(|r| r.set.clone()).collect();
        let kernel_only: BTreeSet<SetRef> = named.iter().filter(|s| !sets.contains(*s)).cloned().collect();
        sets.extend(kernel_only.iter().cloned());
        let mut answers: BTreeMap<SetRef, Result<Held, Arc<FirewallError>>> = BTreeMap::new();
        for set in sets {
            let answer = self.kernel.lookup(&set, net).map_err(Arc::new);
            answers.insert(set, answer);
        }
        let mut looks: Vec<Look> = stored
            .into_iter()
            .map(|r| Look {
                kernel: answers[&r.set].clone(),
                set: r.set,
                net: r.net,
                until: Some(r.until),
                by: r.by,
                why: r.why,
            })
            .collect();
        for set in kernel_only {
            let element = match &answers[&set] {
                Ok(Held::By { element, .. }) => *element,
                Ok(Held::Matched) => net,
                // Not held, or the set cannot be read: not a ban of it.
                _ => continue,
            };
            looks.push(Look { kernel: answers[&set].clone(), set, net: element, until: None, by: None, why: None });
        }
        Ok(looks)
    }
}

/// [`mark_covered`] for a set whose kernel side is not read: a stored ban
/// inside a stored network of the set is held by that network's element
/// (see `cover`).
fn mark_covered_in_store(rows: &mut BTreeMap<Network, Row>) {
    let mut outer: Option<Network> = None;
    for (net, row) in rows.iter_mut() {
        match outer {
            Some(o) if o.covers(net) => row.covered_by = Some(o),
            _ => outer = (!net.is_host()).then_some(*net),
        }
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
