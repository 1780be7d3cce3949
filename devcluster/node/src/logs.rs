//! Container logs on disk, the contract with the API server's `pods/log`:
//! `<logdir>/<namespace>/<pod>/<container>.log` holds the current run (stdout and stderr
//! interleaved, as written), `<container>.previous.log` the run before (`--previous`).

use std::path::{Path, PathBuf};

/// The log file of a container's current (or, with `previous`, last) run.
pub fn path(
    log_dir: &Path,
    namespace: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> PathBuf {
    let file = if previous {
        format!("{container}.previous.log")
    } else {
        format!("{container}.log")
    };
    log_dir.join(namespace).join(pod).join(file)
}

/// Options of a log read, as `kubectl logs` sends them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The previous run's log.
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// At most N bytes (from the end).
    pub limit_bytes: Option<usize>,
}

/// Reads a container's log; `None` when there is none (the container never ran here).
pub fn read(
    log_dir: &Path,
    namespace: &str,
    pod: &str,
    container: &str,
    opts: ReadOptions,
) -> Option<String> {
    let bytes = std::fs::read(path(log_dir, namespace, pod, container, opts.previous)).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut out = match opts.tail_lines {
        Some(n) => {
            let lines: Vec<&str> = text.lines().collect();
            let kept = &lines[lines.len().saturating_sub(n)..];
            kept.iter().map(|l| format!("{l}\n")).collect()
        }
        None => text,
    };
    if let Some(limit) = opts.limit_bytes
        && out.len() > limit
    {
        let mut start = out.len() - limit;
        while !out.is_char_boundary(start) {
            start += 1;
        }
        out = out[start..].to_owned();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_tail() {
        let dir = std::env::temp_dir().join(format!("devnode-logs-{}", std::process::id()));
        let file = path(&dir, "ns", "p", "c", false);
        assert!(file.ends_with("ns/p/c.log"));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, "a\nb\nc\n").expect("write");
        let tail = ReadOptions {
            tail_lines: Some(2),
            ..ReadOptions::default()
        };
        assert_eq!(read(&dir, "ns", "p", "c", tail).as_deref(), Some("b\nc\n"));
        assert_eq!(
            read(
                &dir,
                "ns",
                "p",
                "c",
                ReadOptions {
                    previous: true,
                    ..tail
                }
            ),
            None
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
