//! The real `kubectl` (1.32, `/usr/bin/kubectl`) against the devcluster.

use std::path::{Path, PathBuf};

/// The kubectl binary the tests use.
pub const KUBECTL: &str = "kubectl";

/// Runs kubectl with a kubeconfig, from the repository root.
#[derive(Debug, Clone)]
pub struct Kubectl {
    kubeconfig: PathBuf,
    root: PathBuf,
}

impl Kubectl {
    /// kubectl for the cluster of `kubeconfig`, run in `root`.
    pub fn new(kubeconfig: &Path, root: &Path) -> Self {
        Self {
            kubeconfig: kubeconfig.to_owned(),
            root: root.to_owned(),
        }
    }

    /// Runs `kubectl args…` with `stdin`; returns (success, stdout + stderr).
    pub async fn run_with_input(&self, args: &[&str], stdin: Option<&str>) -> (bool, String) {
        use tokio::io::AsyncWriteExt;
        let mut command = tokio::process::Command::new(KUBECTL);
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .current_dir(&self.root)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("running {KUBECTL} (install kubectl 1.32): {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .expect("kubectl stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().await.expect("kubectl output");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Runs `kubectl args…` and fails the test if it fails.
    pub async fn ok(&self, args: &[&str]) -> String {
        let (success, text) = self.run_with_input(args, None).await;
        assert!(success, "kubectl {} failed:\n{text}", args.join(" "));
        text
    }

    /// `kubectl apply --server-side -f -` of `manifest`.
    pub async fn apply(&self, namespace: &str, manifest: &str) -> String {
        let args = ["-n", namespace, "apply", "--server-side", "-f", "-"];
        let (success, text) = self.run_with_input(&args, Some(manifest)).await;
        // The manifest is not echoed: it may hold Secrets.
        assert!(success, "kubectl apply failed:\n{text}");
        text
    }
}
