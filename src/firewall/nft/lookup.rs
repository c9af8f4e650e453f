//! Looking one key up in a set (`nft get element`): GETSETELEM of one
//! key, not a dump, so a hash or tree lookup in the kernel whatever the
//! set's size. What `list ADDRESS` asks of nftables.

use std::net::IpAddr;

use super::client::{errno_error, intervals, io_err, parse_elems, DumpedElem, NftClient};
use super::message::{self as m, Writer};
use super::{Network, NftError, NftSet};

impl NftClient {
    /// The element of the set that holds `ip`, with its time left in ms
    /// (None: no timeout), found by looking the key up (GETSETELEM without
    /// NLM_F_DUMP: a hash or tree lookup, whatever the set's size); `None`
    /// when no element holds it. In an interval set the kernel answers with
    /// the start of the interval that holds the key, and, asked again with
    /// `NFT_SET_ELEM_INTERVAL_END`, with its end (the first address after
    /// it): the element is the network of that range that holds `ip`
    /// (kernel_tests.rs `one_key_is_looked_up`).
    pub fn get(&mut self, set: &NftSet, ip: IpAddr) -> Result<Option<(Network, Option<u64>)>, NftError> {
        // Also tells a missing set (ENOENT too) from a missing element.
        let info = self.set_info(set)?;
        if !info.key.holds(&Network::host(ip)) {
            return Ok(None); // the other family: the kernel would only say EINVAL
        }
        let Some((start, _, left)) = self.get_one(set, ip, 0)? else { return Ok(None) };
        if !info.interval {
            return Ok(Some((Network::host(start), left)));
        }
        let mut dumped = vec![(start, false, left)];
        if let Some((end, _, _)) = self.get_one(set, ip, m::NFT_SET_ELEM_INTERVAL_END)? {
            dumped.push((end, true, None));
        }
        Ok(intervals(dumped).into_iter().find(|(net, _)| net.contains(ip)))
    }

    fn get_one(&mut self, set: &NftSet, ip: IpAddr, flags: u32) -> Result<Option<DumpedElem>, NftError> {
        let seq = self.next_seq();
        let mut w = Writer::default();
        w.getsetelem(seq, set.family.nfproto(), &set.table, &set.name, ip, flags);
        self.sock.send(&w.buf).map_err(io_err("sendmsg GETSETELEM"))?;
        let mut out: Vec<DumpedElem> = Vec::new();
        let (errno, message) = self
            .sock
            .replies(seq, |msg| {
                if msg.ty == m::nft_type(m::NFT_MSG_NEWSETELEM) {
                    parse_elems(msg, &mut out);
                }
            })
            .map_err(io_err("reading GETSETELEM reply"))?;
        match errno {
            0 => Ok(out.pop()),
            libc::ENOENT => Ok(None),
            _ => Err(errno_error(set, "get", errno, message)),
        }
    }
}
