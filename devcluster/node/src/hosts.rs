//! Cluster DNS as hosts files: one per namespace, so a short Service name resolves in the
//! namespace of the pod asking, as the `search` path of a pod's resolv.conf makes it.
//!
//! Format (`/etc/hosts`): `<clusterIP> <svc>.<ns>.svc.cluster.local <svc>.<ns>.svc <svc>.<ns> [<svc>]`.

use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A Service's name, namespace and cluster IP.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceAddress {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Cluster IP.
    pub ip: String,
}

/// The hosts file seen by pods of `namespace`.
pub fn render(services: &[ServiceAddress], namespace: &str) -> String {
    let mut out =
        String::from("# written by the devcluster node; pods read it via MACHINA_HOSTS_FILE\n");
    let mut sorted: Vec<&ServiceAddress> = services.iter().collect();
    sorted.sort();
    for s in sorted {
        let (n, ns) = (&s.name, &s.namespace);
        out.push_str(&format!(
            "{} {n}.{ns}.svc.cluster.local {n}.{ns}.svc {n}.{ns}",
            s.ip
        ));
        if ns == namespace {
            out.push_str(&format!(" {n}"));
        }
        out.push('\n');
    }
    out
}

/// Path of the hosts file of `namespace` under `dir`.
pub fn path(dir: &Path, namespace: &str) -> PathBuf {
    dir.join(format!("{namespace}.hosts"))
}

/// Rewrites the hosts files of `namespaces` (atomically: write then rename, so a reader never
/// sees half a file).
pub fn write_all(dir: &Path, services: &[ServiceAddress], namespaces: &[String]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io("create hosts dir", dir))?;
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    for ns in namespaces {
        files.insert(path(dir, ns), render(services, ns));
    }
    for (file, text) in files {
        let tmp = file.with_extension("hosts.tmp");
        std::fs::write(&tmp, text).map_err(Error::io("write hosts file", &tmp))?;
        std::fs::rename(&tmp, &file).map_err(Error::io("rename hosts file", &file))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_only_in_own_namespace() {
        let services = [
            ServiceAddress {
                namespace: "shop".into(),
                name: "redis".into(),
                ip: "127.20.0.2".into(),
            },
            ServiceAddress {
                namespace: "other".into(),
                name: "api".into(),
                ip: "127.20.0.3".into(),
            },
        ];
        let text = render(&services, "shop");
        assert!(
            text.contains(
                "127.20.0.2 redis.shop.svc.cluster.local redis.shop.svc redis.shop redis\n"
            )
        );
        assert!(text.contains("127.20.0.3 api.other.svc.cluster.local api.other.svc api.other\n"));
    }
}
