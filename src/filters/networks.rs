//! `filter_inNetworks`: the field is an IP address inside one of the networks.
//!
//! The networks are parsed once, at load ([`Network`]); an IPv4-mapped IPv6
//! address is judged as the IPv4 address it stands for (see [`crate::vocab`]).

use super::FilterError;
use crate::entry::Entry;
use crate::fields::FieldId;
use crate::vocab::{parse_address, Network};

#[derive(Debug)]
pub struct InNetworks {
    field: FieldId,
    nets: Vec<Network>,
}

impl InNetworks {
    /// The field this filter reads.
    pub fn field(&self) -> FieldId {
        self.field
    }

    pub fn new(field: FieldId, nets: Vec<Network>) -> InNetworks {
        InNetworks { field, nets }
    }

    pub fn test(&self, entry: &Entry) -> Result<bool, FilterError> {
        let Some(text) = entry.get(self.field) else { return Ok(false) };
        let ip = parse_address(text).ok_or_else(|| FilterError::NotAnAddress(text.to_owned()))?;
        Ok(self.nets.iter().any(|n| n.contains(ip)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().map(|n| Network::parse(n).unwrap()).collect()
    }

    #[test]
    fn filter_on_entries() {
        let mut fields = FieldTable::new();
        let f = fields.intern("thatIP");
        let filter = InNetworks::new(f, nets(&["127.0.0.0/8", "::1", "10.0.0.0/8"]));
        let mut e = Entry::new(&fields);
        assert!(!filter.test(&e).unwrap(), "absent field fails");
        e.set(f, "10.1.2.3");
        assert!(filter.test(&e).unwrap());
        e.set(f, "::1");
        assert!(filter.test(&e).unwrap());
        e.set(f, "203.0.113.5");
        assert!(!filter.test(&e).unwrap());
        e.set(f, "not-an-ip");
        assert!(matches!(filter.test(&e), Err(FilterError::NotAnAddress(_))));
    }
}
