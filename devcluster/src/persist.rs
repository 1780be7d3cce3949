//! The optional on-disk store (`--data-dir`): the state is written as one JSON
//! snapshot (atomically: temp file + rename) shortly after each change, and loaded
//! at start. Watch history is not kept: watches from before a restart get 410 Gone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Cluster;
use crate::store::{Key, State};

/// How often the snapshot is refreshed when something changed.
const FLUSH_EVERY: Duration = Duration::from_millis(300);

fn file(dir: &Path) -> PathBuf {
    dir.join("state.json")
}

/// Errors reading or writing the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// File system failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot is not what this version writes.
    #[error("snapshot {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Loads the snapshot in `dir` into `st`, if there is one.
pub fn load(dir: &Path, st: &mut State) -> Result<(), PersistError> {
    let path = file(dir);
    let raw = match std::fs::read(&path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PersistError::Io {
                action: "reading",
                path,
                source,
            });
        }
    };
    let corrupt = |reason: String| PersistError::Corrupt {
        path: path.clone(),
        reason,
    };
    let doc: Value = serde_json::from_slice(&raw).map_err(|e| corrupt(e.to_string()))?;
    let rv = doc["resourceVersion"]
        .as_u64()
        .ok_or_else(|| corrupt("no resourceVersion".into()))?;
    let mut objects = Vec::new();
    for entry in doc["objects"].as_array().into_iter().flatten() {
        let k = &entry["key"];
        let key = Key {
            group: k[0].as_str().unwrap_or_default().to_owned(),
            plural: k[1].as_str().unwrap_or_default().to_owned(),
            namespace: k[2].as_str().unwrap_or_default().to_owned(),
            name: k[3].as_str().unwrap_or_default().to_owned(),
        };
        objects.push((key, entry["object"].clone()));
    }
    st.restore(rv, objects);
    crate::crd::register_all(st);
    Ok(())
}

fn snapshot(st: &State) -> Value {
    let objects: Vec<Value> = st
        .objects
        .iter()
        .map(|(k, o)| json!({"key": [k.group, k.plural, k.namespace, k.name], "object": o}))
        .collect();
    json!({"resourceVersion": st.rv, "objects": objects})
}

/// Writes the snapshot now if the state changed since the last one.
pub fn flush(cluster: &Cluster, dir: &Path) -> Result<(), PersistError> {
    let doc = {
        let mut st = cluster.lock();
        if !st.dirty {
            return Ok(());
        }
        st.dirty = false;
        snapshot(&st)
    };
    let path = file(dir);
    let tmp = dir.join("state.json.tmp");
    let io = |action, source| PersistError::Io {
        action,
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io("creating directory for", e))?;
    std::fs::write(&tmp, doc.to_string()).map_err(|e| io("writing", e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io("replacing", e))?;
    Ok(())
}

/// Flushes periodically until the cluster shuts down.
pub async fn run(cluster: Arc<Cluster>, dir: PathBuf) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = flush(&cluster, &dir) {
            tracing::error!(error = %e, "devcluster snapshot failed");
        }
    }
}
