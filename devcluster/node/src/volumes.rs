//! Volumes as per-pod directories, and the remapping of mount paths.
//!
//! A process has no mount namespace, so a volume mounted at `/etc/machina` lives at
//! `<pod dir>/volumes/<volume>`; every env value, argument and working directory that starts
//! with a mount path (or holds it after `=`) is rewritten to the host directory. Services
//! read paths from their configuration, so they never notice.

use crate::podenv::{EnvError, Sources};
use crate::{Error, Result};
use k8s_openapi::api::core::v1::{Container, KeyToPath, Pod, Volume};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A mount path and the host directory standing in for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Path inside the container.
    pub mount_path: String,
    /// Directory on the host.
    pub host_path: PathBuf,
}

/// The host directory of a volume.
pub fn volume_dir(pod_dir: &Path, volume: &str) -> PathBuf {
    pod_dir.join("volumes").join(volume)
}

/// The mounts of `container`, longest mount path first (so nested mounts win).
pub fn mounts(pod_dir: &Path, container: &Container) -> Vec<Mount> {
    let mut mounts: Vec<Mount> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| {
            let mut host_path = volume_dir(pod_dir, &m.name);
            if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                host_path = host_path.join(sub.trim_start_matches('/'));
            }
            Mount {
                mount_path: m.mount_path.trim_end_matches('/').to_owned(),
                host_path,
            }
        })
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.mount_path.len()));
    mounts
}

/// `value` with a leading mount path (or one right after `=`) replaced by its host directory.
pub fn remap(value: &str, mounts: &[Mount]) -> String {
    let (head, path) = match value.split_once('=') {
        Some((k, v)) if v.starts_with('/') && !value.starts_with('/') => (format!("{k}="), v),
        _ => (String::new(), value),
    };
    for m in mounts {
        if m.mount_path.is_empty() {
            continue;
        }
        if let Some(rest) = path.strip_prefix(&m.mount_path)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{head}{}{rest}", m.host_path.display());
        }
    }
    value.to_owned()
}

/// Files (relative path → content) a Secret or ConfigMap volume holds; `None` for a
/// directory volume (emptyDir and kinds simplified to one).
pub fn volume_files(
    volume: &Volume,
    sources: &Sources,
) -> Result<Option<BTreeMap<String, String>>, EnvError> {
    let (kind, name, items, optional, data) = if let Some(s) = &volume.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let data = sources.secrets.get(&name);
        ("secret", name, &s.items, s.optional, data)
    } else if let Some(m) = &volume.config_map {
        let data = sources.config_maps.get(&m.name);
        ("configmap", m.name.clone(), &m.items, m.optional, data)
    } else {
        return Ok(None);
    };
    let Some(data) = data else {
        if optional == Some(true) {
            return Ok(Some(BTreeMap::new()));
        }
        return Err(EnvError::MissingObject {
            kind,
            name,
            var: format!("volume {}", volume.name),
        });
    };
    let files = match items {
        None => data.clone(),
        Some(items) => select_items(kind, &name, &volume.name, items, data, optional)?,
    };
    Ok(Some(files))
}

fn select_items(
    kind: &'static str,
    name: &str,
    volume: &str,
    items: &[KeyToPath],
    data: &BTreeMap<String, String>,
    optional: Option<bool>,
) -> Result<BTreeMap<String, String>, EnvError> {
    let mut files = BTreeMap::new();
    for item in items {
        match data.get(&item.key) {
            Some(v) => {
                files.insert(item.path.clone(), v.clone());
            }
            None if optional == Some(true) => {}
            None => {
                return Err(EnvError::MissingKey {
                    kind,
                    name: name.to_owned(),
                    key: item.key.clone(),
                    var: format!("volume {volume}"),
                });
            }
        }
    }
    Ok(files)
}

/// Creates every volume directory of `pod` under `pod_dir` and (re)writes the files of
/// Secret and ConfigMap volumes.
pub fn materialise(pod: &Pod, pod_dir: &Path, sources: &Sources) -> Result<Result<(), EnvError>> {
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = volume_dir(pod_dir, &volume.name);
        std::fs::create_dir_all(&dir).map_err(Error::io("create volume", &dir))?;
        let files = match volume_files(volume, sources) {
            Ok(files) => files,
            Err(e) => return Ok(Err(e)),
        };
        for (rel, content) in files.into_iter().flatten() {
            // Keys are validated by the API server; refuse escapes anyway.
            if rel.split('/').any(|part| part == "..") || rel.starts_with('/') {
                continue;
            }
            let path = dir.join(&rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(Error::io("create volume", parent))?;
            }
            std::fs::write(&path, content).map_err(Error::io("write volume file", &path))?;
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, VolumeMount};
    use pretty_assertions::assert_eq;

    fn mk_mounts() -> Vec<Mount> {
        let c = Container {
            volume_mounts: Some(vec![
                VolumeMount {
                    name: "tmp".into(),
                    mount_path: "/tmp".into(),
                    ..VolumeMount::default()
                },
                VolumeMount {
                    name: "definition".into(),
                    mount_path: "/etc/machina".into(),
                    ..VolumeMount::default()
                },
            ]),
            ..Container::default()
        };
        mounts(Path::new("/s/p"), &c)
    }

    #[test]
    fn remaps_prefixes_at_path_boundaries_and_after_equals() {
        let m = mk_mounts();
        assert_eq!(
            remap("/etc/machina/pipeline.yaml", &m),
            "/s/p/volumes/definition/pipeline.yaml"
        );
        assert_eq!(remap("/etc/machina", &m), "/s/p/volumes/definition");
        assert_eq!(remap("/etc/machinery", &m), "/etc/machinery");
        assert_eq!(remap("--dir=/tmp/x", &m), "--dir=/s/p/volumes/tmp/x");
        assert_eq!(remap("plain", &m), "plain");
    }

    #[test]
    fn config_map_items_select_keys_and_missing_ones_fail() {
        let sources = Sources {
            config_maps: BTreeMap::from([(
                "def".into(),
                BTreeMap::from([("pipeline.yaml".into(), "steps: []".into())]),
            )]),
            ..Sources::default()
        };
        let mut volume = Volume {
            name: "definition".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: "def".into(),
                items: Some(vec![KeyToPath {
                    key: "pipeline.yaml".into(),
                    path: "p.yaml".into(),
                    ..KeyToPath::default()
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        };
        let files = volume_files(&volume, &sources).expect("ok").expect("files");
        assert_eq!(files["p.yaml"], "steps: []");
        if let Some(cm) = volume.config_map.as_mut() {
            cm.name = "absent".into();
        }
        assert!(volume_files(&volume, &sources).is_err());
    }
}
