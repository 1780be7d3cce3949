//! The processes under test: devcluster (with the simulated kubelet) and the operator, both
//! release binaries next to this example, and what `/proc` says about their memory.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A child process stopped with SIGTERM (then killed) by [`Proc::stop`], killed on drop.
pub struct Proc {
    child: Child,
    /// Process id, for `/proc/<pid>/status`.
    pub pid: u32,
}

impl Proc {
    fn spawn(mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let log =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let child = command
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("Failed to start a process under test")?;
        let pid = child.id().context("the process has no id")?;
        Ok(Self { child, pid })
    }

    /// SIGTERM, up to 20 s for a graceful exit, then SIGKILL.
    pub async fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// `VmRSS` and `VmHWM` (peak) in KiB, from `/proc/<pid>/status`.
    pub fn memory(&self) -> Memory {
        memory_of(self.pid)
    }
}

/// Resident memory of a process, KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Current resident set.
    pub rss_kib: u64,
    /// Peak resident set ("high water mark").
    pub hwm_kib: u64,
}

fn memory_of(pid: u32) -> Memory {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    }
}

/// The directory of the release binaries: this example is `<target>/release/examples/bench`.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected location of the bench executable")?
        .to_owned();
    for bin in ["devcluster", "machina-operator"] {
        if !dir.join(bin).exists() {
            bail!(
                "{} is missing: build with `cargo build --release -p machina-devcluster --bin devcluster -p machina-operator --bin machina-operator --example bench`",
                dir.join(bin).display()
            );
        }
    }
    Ok(dir)
}

/// Starts devcluster with the simulated kubelet; returns it once its kubeconfig is written.
pub async fn start_devcluster(bin: &Path, root: &Path, work: &Path) -> anyhow::Result<Proc> {
    let kubeconfig = work.join("kubeconfig");
    let mut command = Command::new(bin.join("devcluster"));
    command
        .current_dir(root)
        .args(["--listen", "127.0.0.1:0", "--kubelet", "simulated"])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--state-dir")
        .arg(work.join("node"))
        .env("RUST_LOG", "warn");
    let proc = Proc::spawn(command, &work.join("devcluster.log"))?;
    for _ in 0..200 {
        if std::fs::metadata(&kubeconfig).is_ok_and(|m| m.len() > 0) {
            return Ok(proc);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "devcluster wrote no kubeconfig; see {}",
        work.join("devcluster.log").display()
    )
}

/// Starts the operator on `namespace`, JSON logs with the per-object provisioning events,
/// and waits until `/readyz` answers 200.
pub async fn start_operator(
    operator: &Path,
    work: &Path,
    namespace: &str,
    http_port: u16,
) -> anyhow::Result<Proc> {
    let mut command = Command::new(operator);
    command
        .env("KUBECONFIG", work.join("kubeconfig"))
        .env("MACHINA_WATCH_NAMESPACES", namespace)
        .env("MACHINA_HTTP_ADDR", format!("127.0.0.1:{http_port}"))
        .env("MACHINA_LOG_FORMAT", "json")
        .env(
            "RUST_LOG",
            "info,kube=warn,machina_operator::controllers::content_pipeline::converge=debug",
        );
    let proc = Proc::spawn(command, &work.join("operator.log"))?;
    let url = format!("http://127.0.0.1:{http_port}/readyz");
    for _ in 0..300 {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(proc);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the operator did not become ready; see {}",
        work.join("operator.log").display()
    )
}

/// A free loopback port (bound then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
