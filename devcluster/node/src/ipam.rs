//! Address allocation inside one `127.<n>.0.0/16` block of the loopback network (Linux routes
//! all of 127.0.0.0/8 to `lo`, so every address is bindable without configuration).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Allocator of addresses in `127.<block>.0.2` … `127.<block>.255.254`.
#[derive(Clone, Debug)]
pub struct Ipam {
    block: u8,
    used: BTreeSet<Ipv4Addr>,
    next: u16,
}

impl Ipam {
    /// An empty allocator over `127.<block>.0.0/16`.
    pub fn new(block: u8) -> Self {
        Self {
            block,
            used: BTreeSet::new(),
            next: 2,
        }
    }

    /// Whether `ip` is in this block.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let [a, b, ..] = ip.octets();
        a == 127 && b == self.block
    }

    /// Claims `ip` (an address kept from before a restart); false if foreign or taken.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && self.used.insert(ip)
    }

    /// A free address, or `None` when the block is full.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        for _ in 0..u16::MAX {
            let n = self.next;
            self.next = if n >= 0xfffe { 2 } else { n + 1 };
            let [hi, lo] = n.to_be_bytes();
            if lo == 0 || lo == 255 {
                continue;
            }
            let ip = Ipv4Addr::new(127, self.block, hi, lo);
            if self.used.insert(ip) {
                return Some(ip);
            }
        }
        None
    }

    /// Returns `ip` to the pool.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_distinct_addresses_and_honours_reservations() {
        let mut ipam = Ipam::new(10);
        assert!(ipam.reserve(Ipv4Addr::new(127, 10, 0, 3)));
        assert!(!ipam.reserve(Ipv4Addr::new(127, 10, 0, 3)));
        assert!(!ipam.reserve(Ipv4Addr::new(127, 11, 0, 9)));
        let a = ipam.allocate().expect("a");
        let b = ipam.allocate().expect("b");
        assert_eq!(a, Ipv4Addr::new(127, 10, 0, 2));
        assert_eq!(b, Ipv4Addr::new(127, 10, 0, 4));
        ipam.release(a);
        assert!(ipam.reserve(a));
    }
}
