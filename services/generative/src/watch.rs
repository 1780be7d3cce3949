//! Reloading the definition when its file changes.
//!
//! A ConfigMap volume is updated by swapping a symlink, which file-event APIs report
//! unreliably, so the file is polled: every interval it is read and, when its checksum
//! changed and the new definition's graph is valid, published on a `watch` channel. An
//! invalid or unreadable file keeps the current definition and is logged.

use crate::definition::{Definition, DefinitionError};
use crate::graph::Graph;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The current definition, kept up to date by a polling task.
#[derive(Debug)]
pub struct DefinitionWatcher {
    receiver: watch::Receiver<Arc<Definition>>,
    task: JoinHandle<()>,
}

impl DefinitionWatcher {
    /// Loads the definition at `path` and polls it every `interval`.
    pub fn start(path: impl Into<PathBuf>, interval: Duration) -> Result<Self, DefinitionError> {
        let path = path.into();
        let initial = Arc::new(Definition::load(&path)?);
        let (sender, receiver) = watch::channel(initial);
        let task = tokio::spawn(poll(path, interval, sender));
        Ok(Self { receiver, task })
    }

    /// The definition in force.
    pub fn current(&self) -> Arc<Definition> {
        self.receiver.borrow().clone()
    }

    /// A receiver that is notified when the definition changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Definition>> {
        self.receiver.clone()
    }
}

impl Drop for DefinitionWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn poll(path: PathBuf, interval: Duration, sender: watch::Sender<Arc<Definition>>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = sender.closed() => return,
        }
        let next = match Definition::load(&path) {
            Ok(next) => next,
            Err(err) => {
                tracing::error!(error = %err, "keeping the current pipeline definition");
                continue;
            }
        };
        if next.checksum == sender.borrow().checksum {
            continue;
        }
        let spec = &next.spec;
        if let Err(err) = Graph::build(&spec.components, spec.output.as_deref()) {
            tracing::error!(error = %err, "the new pipeline definition is invalid; keeping the current one");
            continue;
        }
        tracing::info!(checksum = %next.checksum, "pipeline definition reloaded");
        sender.send_replace(Arc::new(next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(expression: &str) -> String {
        format!(
            "platformRef: {{name: acme}}\ncomponents:\n  - {{name: a, type: TransformJson, transformJson: {{expression: \"{expression}\"}}}}\n"
        )
    }

    #[tokio::test]
    async fn reloads_a_changed_file_and_keeps_the_last_good_one() {
        let dir = std::env::temp_dir().join(format!("machina-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("pipeline.yaml");
        std::fs::write(&path, spec("a")).expect("write");
        let watcher = DefinitionWatcher::start(&path, Duration::from_millis(20)).expect("loads");
        let mut changes = watcher.subscribe();
        let first = watcher.current().checksum.clone();

        std::fs::write(&path, "components: [").expect("write broken");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            watcher.current().checksum,
            first,
            "a broken file is ignored"
        );

        std::fs::write(&path, spec("b")).expect("write new");
        tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .expect("reloaded in time")
            .expect("watcher alive");
        let current = watcher.current();
        assert_ne!(current.checksum, first);
        let expression = current.spec.components[0]
            .transform_json
            .as_ref()
            .map(|t| t.expression.as_str());
        assert_eq!(expression, Some("b"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
