//! [`ClusterIps`]: the Service cluster IPs in use, so that creating a Service finds a free
//! address without reading every Service (a scan per creation made creating thousands of
//! Services quadratic). [`crate::store::State`] keeps it current on every write.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::store::{Key, ObjectIndex};

/// Where cluster IPs are allocated: `10.96.0.0/16` (kube-apiserver's default range).
const RANGE: [u8; 2] = [10, 96];
/// Host numbers handed out in the range (`.0.0`, `.0.1` and `.255.255` are reserved).
const FIRST: u32 = 2;
const LAST: u32 = 65_534;

/// Host numbers of the range in use, with how many Services claim each.
#[derive(Debug, Default)]
pub struct ClusterIps {
    used: BTreeMap<u32, usize>,
}

/// The host number of a Service's cluster IP, when it lies in the range.
fn host(obj: Option<&Value>) -> Option<u32> {
    let ip: Ipv4Addr = obj?["spec"]["clusterIP"].as_str()?.parse().ok()?;
    let [a, b, c, d] = ip.octets();
    ([a, b] == RANGE).then_some(u32::from(c) << 8 | u32::from(d))
}

impl ClusterIps {
    /// The lowest free address of the range, when one is left.
    pub fn free(&self) -> Option<Ipv4Addr> {
        let mut candidate = FIRST;
        for &n in self.used.range(FIRST..=LAST).map(|(n, _)| n) {
            if n != candidate {
                break;
            }
            candidate += 1;
        }
        (candidate <= LAST).then(|| {
            let [_, _, c, d] = candidate.to_be_bytes();
            Ipv4Addr::new(RANGE[0], RANGE[1], c, d)
        })
    }
}

impl ObjectIndex for ClusterIps {
    fn change(&mut self, key: &Key, before: Option<&Value>, after: Option<&Value>) {
        if !(key.group.is_empty() && key.plural == "services") {
            return;
        }
        let (old, new) = (host(before), host(after));
        if old == new {
            return;
        }
        if let Some(n) = old
            && let Some(count) = self.used.get_mut(&n)
        {
            *count -= 1;
            if *count == 0 {
                self.used.remove(&n);
            }
        }
        if let Some(n) = new {
            *self.used.entry(n).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(plural: &str, name: &str) -> Key {
        Key {
            group: String::new(),
            plural: plural.into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    fn service(ip: &str) -> Value {
        json!({"spec": {"clusterIP": ip}})
    }

    #[test]
    fn the_lowest_free_address_is_handed_out() {
        let mut ips = ClusterIps::default();
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 2)));
        ips.change(&key("services", "a"), None, Some(&service("10.96.0.2")));
        ips.change(&key("services", "b"), None, Some(&service("10.96.0.3")));
        ips.change(&key("services", "c"), None, Some(&service("10.96.1.0")));
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 4)));
        // A released address is reused first.
        ips.change(&key("services", "a"), Some(&service("10.96.0.2")), None);
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 2)));
    }

    #[test]
    fn addresses_outside_the_range_headless_services_and_other_kinds_are_ignored() {
        let mut ips = ClusterIps::default();
        ips.change(&key("services", "a"), None, Some(&service("127.1.0.2")));
        ips.change(&key("services", "b"), None, Some(&service("None")));
        ips.change(&key("configmaps", "c"), None, Some(&service("10.96.0.2")));
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 2)));
        assert!(ips.used.is_empty());
    }

    #[test]
    fn an_address_claimed_twice_stays_used_until_both_release_it() {
        let mut ips = ClusterIps::default();
        ips.change(&key("services", "a"), None, Some(&service("10.96.0.2")));
        ips.change(&key("services", "b"), None, Some(&service("10.96.0.2")));
        ips.change(&key("services", "a"), Some(&service("10.96.0.2")), None);
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 3)));
        ips.change(&key("services", "b"), Some(&service("10.96.0.2")), None);
        assert_eq!(ips.free(), Some(Ipv4Addr::new(10, 96, 0, 2)));
    }

    #[test]
    fn a_full_range_has_no_free_address() {
        let ips = ClusterIps {
            used: (FIRST..=LAST).map(|n| (n, 1)).collect(),
        };
        assert_eq!(ips.free(), None);
    }
}
