//! Cluster DNS names from a hosts file, for clusters without DNS (devcluster).
//!
//! When `MACHINA_HOSTS_FILE` names a file in `/etc/hosts` format, the kit's connection
//! helpers resolve names through it first: [`rewrite_url`] for the Redis URL, and
//! [`apply`] installs [`HostsResolver`] on HTTP clients (names not in the file go to the
//! system resolver). Unset — as on a real cluster — everything here is a no-op. The file is
//! re-read on each lookup, so Services created later resolve without a restart.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The variable naming the hosts file.
pub const HOSTS_FILE_VAR: &str = "MACHINA_HOSTS_FILE";

/// The address `host` has in hosts-file `text` (first match; names compare case-insensitively).
pub fn find(text: &str, host: &str) -> Option<IpAddr> {
    let host = host.trim_end_matches('.');
    text.lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            let ip: IpAddr = fields.next()?.parse().ok()?;
            fields
                .any(|name| name.eq_ignore_ascii_case(host))
                .then_some(ip)
        })
}

/// The address of `host` in the file named by `MACHINA_HOSTS_FILE`, if set and listed.
pub fn lookup(host: &str) -> Option<IpAddr> {
    let path = std::env::var_os(HOSTS_FILE_VAR)?;
    let text = std::fs::read_to_string(path).ok()?;
    find(&text, host)
}

/// `url` with its host replaced by the address from the hosts file (`text`), when listed.
/// Userinfo, port, path and query are kept; an IPv6 literal host is left alone.
pub fn rewrite_with(url: &str, resolve: impl Fn(&str) -> Option<IpAddr>) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    if hostport.starts_with('[') {
        return url.to_owned();
    }
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    };
    let Some(ip) = resolve(host) else {
        return url.to_owned();
    };
    let ip = match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    format!("{scheme}://{userinfo}{ip}{port}{tail}")
}

/// `url` with its host resolved through `MACHINA_HOSTS_FILE` (unchanged when unset or unlisted).
pub fn rewrite_url(url: &str) -> String {
    if std::env::var_os(HOSTS_FILE_VAR).is_none() {
        return url.to_owned();
    }
    rewrite_with(url, lookup)
}

/// A reqwest resolver: the hosts file first, then the system resolver.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostsResolver;

impl reqwest::dns::Resolve for HostsResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if let Some(ip) = lookup(&host) {
                let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::new(ip, 0)));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// `builder` resolving through the hosts file when `MACHINA_HOSTS_FILE` is set.
pub fn apply(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    if std::env::var_os(HOSTS_FILE_VAR).is_some() {
        builder.dns_resolver(Arc::new(HostsResolver))
    } else {
        builder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "# comment\n127.20.0.2 redis.shop.svc.cluster.local redis.shop.svc redis\n127.20.0.3 api.shop.svc # trailing\n";

    #[test]
    fn finds_names_and_ignores_comments() {
        assert_eq!(find(HOSTS, "redis.shop.svc"), "127.20.0.2".parse().ok());
        assert_eq!(find(HOSTS, "API.shop.svc."), "127.20.0.3".parse().ok());
        assert_eq!(find(HOSTS, "trailing"), None);
        assert_eq!(find(HOSTS, "other"), None);
    }

    #[test]
    fn rewrites_only_the_host() {
        let resolve = |h: &str| find(HOSTS, h);
        assert_eq!(
            rewrite_with("redis://:pw@redis.shop.svc:6379/0", resolve),
            "redis://:pw@127.20.0.2:6379/0"
        );
        assert_eq!(rewrite_with("redis://redis", resolve), "redis://127.20.0.2");
        assert_eq!(
            rewrite_with("redis://elsewhere:6379", resolve),
            "redis://elsewhere:6379"
        );
        assert_eq!(rewrite_with("not a url", resolve), "not a url");
    }
}
