//! The operator as a separate process, so a test can kill it mid-way and start it again.

use std::path::Path;
use std::process::Stdio;

/// A running `machina-operator` process; killed when dropped.
#[derive(Debug)]
pub struct Operator {
    child: tokio::process::Child,
}

impl Operator {
    /// Starts the operator binary of `bin_dir` against the cluster of `kubeconfig`,
    /// watching `namespace`, resolving cluster names through `hosts_file`, logging to `log`.
    pub fn start(
        bin_dir: &Path,
        kubeconfig: &Path,
        namespace: &str,
        hosts_file: &Path,
        log: &Path,
    ) -> Self {
        let program = bin_dir.join("machina-operator");
        assert!(
            program.exists(),
            "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
            program.display()
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("operator log file");
        let child = tokio::process::Command::new(program)
            .env("KUBECONFIG", kubeconfig)
            .env("MACHINA_WATCH_NAMESPACES", namespace)
            // It runs outside the cluster: cluster DNS names (the template service) resolve
            // through the node's hosts file, as they do for pods.
            .env("MACHINA_HOSTS_FILE", hosts_file)
            .env("MACHINA_HTTP_ADDR", "127.0.0.1:0")
            .env("MACHINA_LOG_FORMAT", "text")
            .env("RUST_LOG", "info,machina_operator=debug")
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start machina-operator");
        Self { child }
    }

    /// Kills the process (SIGKILL: the crash a restart must recover from) and reaps it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
