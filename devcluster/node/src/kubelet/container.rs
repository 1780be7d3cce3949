//! One container's supervisor: starts the process with its log file, runs its probes,
//! restarts it with exponential backoff per the restart policy, and stops it with SIGTERM,
//! the grace period, then SIGKILL. Independent of the API server, so it is tested alone.

use super::probe::{self, Target};
use super::state::{ContainerStatus, Exit, State};
use crate::backoff::Backoff;
use chrono::Utc;
use k8s_openapi::api::core::v1::Probe;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Everything needed to run one container.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Image (reported in the status).
    pub image: String,
    /// Local program.
    pub program: PathBuf,
    /// Arguments, fully resolved.
    pub args: Vec<String>,
    /// Environment, fully resolved (nothing is inherited from the node).
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Log file of the current run; the previous run's is kept beside it as `.previous.log`.
    pub log_path: PathBuf,
    /// Readiness probe.
    pub readiness: Option<Probe>,
    /// Liveness probe.
    pub liveness: Option<Probe>,
    /// Where probes go.
    pub target: Target,
    /// `Always`, `OnFailure` or `Never`.
    pub restart_policy: String,
    /// Restart delays.
    pub backoff: Backoff,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Sends `signal` to the process group led by `pid` (children started with their own group).
pub async fn signal_group(pid: u32, signal: &str) {
    // No signal API without `unsafe` in std; kill(1) is part of procps on every Debian.
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Stops `child`: SIGTERM to its group, then SIGKILL after `grace`. Returns its exit code.
pub async fn terminate(child: &mut Child, grace: Duration) -> i32 {
    if let Some(pid) = child.id() {
        signal_group(pid, "TERM").await;
        if let Ok(Ok(status)) = tokio::time::timeout(grace, child.wait()).await {
            return exit_code(status);
        }
        signal_group(pid, "KILL").await;
    }
    let _ = child.start_kill();
    child.wait().await.map_or(137, exit_code)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn open_log(spec: &ContainerSpec) -> std::io::Result<std::fs::File> {
    if let Some(dir) = spec.log_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if spec.log_path.exists() {
        std::fs::rename(&spec.log_path, spec.log_path.with_extension("previous.log"))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_path)
}

fn spawn(spec: &ContainerSpec) -> std::io::Result<Child> {
    let log = open_log(spec)?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.cwd {
        std::fs::create_dir_all(dir)?;
        cmd.current_dir(dir);
    }
    cmd.spawn()
}

/// Supervises the container until it is done for good or `stop` fires; publishes its status.
pub async fn supervise(
    spec: Arc<ContainerSpec>,
    status: watch::Sender<ContainerStatus>,
    stop: CancellationToken,
) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default();
    let mut crashes = 0u32;
    loop {
        let started_at = Utc::now();
        let started = Instant::now();
        let mut child = match spawn(&spec) {
            Ok(child) => child,
            Err(e) => {
                status.send_modify(|s| {
                    s.state = State::Waiting {
                        reason: "RunContainerError".into(),
                        message: format!("start {}: {e}", spec.program.display()),
                    };
                    s.pid = None;
                });
                crashes = spec.backoff.next_crashes(crashes, Duration::ZERO);
                if wait_or_stop(spec.backoff.delay(crashes), &stop).await {
                    return;
                }
                continue;
            }
        };
        tracing::info!(container = %spec.name, pid = child.id(), program = %spec.program.display(), "container started");
        status.send_modify(|s| {
            s.state = State::Running {
                started: started_at,
            };
            s.pid = child.id();
            s.ready = spec.readiness.is_none();
        });
        let run = CancellationToken::new();
        let readiness = spec.readiness.clone().map(|p| {
            tokio::spawn(readiness_loop(
                p,
                spec.target.clone(),
                http.clone(),
                status.clone(),
                run.clone(),
            ))
        });
        let liveness = liveness_loop(spec.liveness.clone(), spec.target.clone(), http.clone());
        let (code, reason, stopping) = tokio::select! {
            exit = child.wait() => {
                let code = exit.map_or(-1, exit_code);
                (code, if code == 0 { "Completed" } else { "Error" }, false)
            }
            () = liveness => {
                tracing::warn!(container = %spec.name, "liveness probe failed; restarting");
                (terminate(&mut child, spec.grace).await, "Error", false)
            }
            () = stop.cancelled() => (terminate(&mut child, spec.grace).await, "Completed", true),
        };
        run.cancel();
        if let Some(task) = readiness {
            let _ = task.await;
        }
        let exit = Exit {
            code,
            reason: reason.into(),
            started: started_at,
            finished: Utc::now(),
        };
        let restart = !stopping
            && match spec.restart_policy.as_str() {
                "Never" => false,
                "OnFailure" => code != 0,
                _ => true,
            };
        if !restart {
            status.send_modify(|s| {
                s.state = State::Terminated(exit);
                s.ready = false;
                s.pid = None;
                s.done = true;
            });
            return;
        }
        crashes = spec.backoff.next_crashes(crashes, started.elapsed());
        let delay = spec.backoff.delay(crashes);
        status.send_modify(|s| {
            s.state = State::Waiting {
                reason: "CrashLoopBackOff".into(),
                message: format!(
                    "back-off {}s restarting failed container={}",
                    delay.as_secs(),
                    spec.name
                ),
            };
            s.last = Some(exit);
            s.ready = false;
            s.pid = None;
        });
        if wait_or_stop(delay, &stop).await {
            return;
        }
        status.send_modify(|s| s.restart_count += 1);
    }
}

/// Sleeps `delay`; true if `stop` fired first.
async fn wait_or_stop(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stop.cancelled() => true,
    }
}

async fn readiness_loop(
    probe: Probe,
    target: Target,
    http: reqwest::Client,
    status: watch::Sender<ContainerStatus>,
    run: CancellationToken,
) {
    let t = probe::timing(&probe);
    if wait_or_stop(t.initial_delay, &run).await {
        return;
    }
    let (mut ok, mut failed) = (0u32, 0u32);
    loop {
        match probe::check(&probe, &target, &http).await {
            Ok(()) => {
                ok += 1;
                failed = 0;
                if ok >= t.success_threshold {
                    status.send_if_modified(|s| !std::mem::replace(&mut s.ready, true));
                }
            }
            Err(e) => {
                failed += 1;
                ok = 0;
                tracing::debug!(error = %e, "readiness probe failed");
                if failed >= t.failure_threshold {
                    status.send_if_modified(|s| std::mem::replace(&mut s.ready, false));
                }
            }
        }
        // Probe quickly until first ready, so a rollout does not wait a whole period.
        let ready = status.borrow().ready;
        let pause = if ready {
            t.period
        } else {
            t.period.min(Duration::from_secs(1))
        };
        if wait_or_stop(pause, &run).await {
            return;
        }
    }
}

/// Resolves when the liveness probe has failed `failureThreshold` times in a row; never
/// without a probe.
async fn liveness_loop(probe: Option<Probe>, target: Target, http: reqwest::Client) {
    let Some(probe) = probe else {
        return std::future::pending().await;
    };
    let t = probe::timing(&probe);
    tokio::time::sleep(t.initial_delay).await;
    let mut failed = 0;
    loop {
        tokio::time::sleep(t.period).await;
        match probe::check(&probe, &target, &http).await {
            Ok(()) => failed = 0,
            Err(e) => {
                failed += 1;
                tracing::debug!(error = %e, "liveness probe failed");
                if failed >= t.failure_threshold {
                    return;
                }
            }
        }
    }
}
