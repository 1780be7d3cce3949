//! Readiness and liveness probes: httpGet, tcpSocket and exec, against the pod's IP.
//! Exec probes run on the host with the container's environment, after the image
//! mapping's `probeSubstitutions` (a pod's `localhost` is its pod IP here).

use k8s_openapi::api::core::v1::Probe;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Where and how a container is probed.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The pod IP.
    pub pod_ip: String,
    /// Named container ports.
    pub ports: BTreeMap<String, i32>,
    /// The container's environment (for exec probes).
    pub env: BTreeMap<String, String>,
    /// Text replacements for exec probe commands.
    pub substitutions: BTreeMap<String, String>,
    /// Working directory of exec probes.
    pub cwd: Option<PathBuf>,
}

/// Timing of a probe with Kubernetes' defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Before the first probe.
    pub initial_delay: Duration,
    /// Between probes.
    pub period: Duration,
    /// Per probe.
    pub timeout: Duration,
    /// Consecutive successes to pass.
    pub success_threshold: u32,
    /// Consecutive failures to fail.
    pub failure_threshold: u32,
}

/// The timing of `probe`.
pub fn timing(probe: &Probe) -> Timing {
    let secs = |v: Option<i32>, d: u64| {
        Duration::from_secs(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(d))
    };
    let count = |v: Option<i32>, d: u32| {
        v.and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(d)
    };
    Timing {
        initial_delay: secs(probe.initial_delay_seconds, 0),
        period: secs(probe.period_seconds, 10).max(Duration::from_secs(1)),
        timeout: secs(probe.timeout_seconds, 1).max(Duration::from_secs(1)),
        success_threshold: count(probe.success_threshold, 1),
        failure_threshold: count(probe.failure_threshold, 3),
    }
}

fn port(p: &IntOrString, target: &Target) -> Option<u16> {
    let n = match p {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => target
            .ports
            .get(name)
            .copied()
            .or_else(|| name.parse().ok())?,
    };
    u16::try_from(n).ok()
}

/// Runs one probe; `Err` carries the failure message (for the `Unhealthy` event).
pub async fn check(probe: &Probe, target: &Target, http: &reqwest::Client) -> Result<(), String> {
    let t = timing(probe);
    let outcome = tokio::time::timeout(t.timeout, check_inner(probe, target, http)).await;
    outcome.unwrap_or_else(|_| Err(format!("probe timed out after {:?}", t.timeout)))
}

async fn check_inner(probe: &Probe, target: &Target, http: &reqwest::Client) -> Result<(), String> {
    if let Some(get) = &probe.http_get {
        let p = port(&get.port, target).ok_or("httpGet: unknown port")?;
        let host = get.host.clone().unwrap_or_else(|| target.pod_ip.clone());
        let path = get.path.clone().unwrap_or_else(|| "/".into());
        let url = format!("http://{host}:{p}{path}");
        let mut req = http.get(&url);
        for h in get.http_headers.iter().flatten() {
            req = req.header(&h.name, &h.value);
        }
        let resp = req.send().await.map_err(|e| format!("Get {url:?}: {e}"))?;
        let code = resp.status().as_u16();
        return if (200..400).contains(&code) {
            Ok(())
        } else {
            Err(format!("HTTP probe failed with statuscode: {code}"))
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let p = port(&tcp.port, target).ok_or("tcpSocket: unknown port")?;
        let host = tcp.host.clone().unwrap_or_else(|| target.pod_ip.clone());
        return tokio::net::TcpStream::connect((host.as_str(), p))
            .await
            .map(drop)
            .map_err(|e| format!("dial tcp {host}:{p}: {e}"));
    }
    if let Some(exec) = &probe.exec {
        let argv: Vec<String> = exec
            .command
            .iter()
            .flatten()
            .map(|a| substitute(a, &target.substitutions))
            .collect();
        let (program, args) = argv.split_first().ok_or("exec: empty command")?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(&target.env)
            .kill_on_drop(true);
        cmd.env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        );
        if let Some(dir) = &target.cwd {
            cmd.current_dir(dir);
        }
        let out = cmd
            .output()
            .await
            .map_err(|e| format!("exec {program}: {e}"))?;
        return if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "command {argv:?} exited with {}: {}",
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).trim()
            ))
        };
    }
    if probe.grpc.is_some() {
        return Err("grpc probes are not supported by the devcluster kubelet".into());
    }
    Ok(())
}

/// `text` with every `from` replaced by `to`.
pub fn substitute(text: &str, subs: &BTreeMap<String, String>) -> String {
    subs.iter()
        .fold(text.to_owned(), |acc, (from, to)| acc.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::TCPSocketAction;

    #[test]
    fn defaults_follow_kubernetes() {
        let t = timing(&Probe::default());
        assert_eq!(t.period, Duration::from_secs(10));
        assert_eq!(t.timeout, Duration::from_secs(1));
        assert_eq!((t.success_threshold, t.failure_threshold), (1, 3));
    }

    #[tokio::test]
    async fn tcp_probe_passes_on_a_listener_and_fails_without() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let p = listener.local_addr().expect("addr").port();
        let target = Target {
            pod_ip: "127.0.0.1".into(),
            ports: BTreeMap::from([("redis".to_owned(), i32::from(p))]),
            ..Target::default()
        };
        let probe = Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("redis".into()),
                host: None,
            }),
            ..Probe::default()
        };
        let http = reqwest::Client::new();
        assert_eq!(check(&probe, &target, &http).await, Ok(()));
        drop(listener);
        assert!(check(&probe, &target, &http).await.is_err());
        assert_eq!(
            substitute(
                "redis-cli ping",
                &BTreeMap::from([("redis-cli".to_owned(), "redis-cli -h 1".to_owned())])
            ),
            "redis-cli -h 1 ping"
        );
    }
}
