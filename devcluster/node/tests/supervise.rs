//! The kubelet's process supervision without an API server: a Redis container built the way
//! the operator builds it runs as a local `redis-server`, passes its exec readiness probe,
//! is restarted with backoff after being killed, and is stopped on shutdown.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, ExecAction, Pod, PodSpec, Probe,
    SecretKeySelector, TCPSocketAction, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;
use machina_devcluster_node::backoff::Backoff;
use machina_devcluster_node::images::{ImageMap, TemplateVars};
use machina_devcluster_node::kubelet::container::{self, ContainerSpec};
use machina_devcluster_node::kubelet::state::{ContainerStatus, State};
use machina_devcluster_node::kubelet::worker;
use machina_devcluster_node::podenv::{self, Sources};
use machina_devcluster_node::{NodeConfig, logs};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "test-password";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn secret_env(name: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: "redis".into(),
                key: "password".into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// The Redis container as `operator/src/content_pipeline/redis.rs` builds it.
fn redis_container() -> Container {
    Container {
        name: "redis".into(),
        image: Some("docker.io/library/redis:7.2-alpine".into()),
        command: Some(vec!["redis-server".into()]),
        args: Some(
            [
                "--requirepass",
                "$(REDIS_PASSWORD)",
                "--maxmemory",
                "1048576",
                "--save",
                "",
            ]
            .map(String::from)
            .to_vec(),
        ),
        env: Some(vec![
            secret_env("REDIS_PASSWORD"),
            secret_env("REDISCLI_AUTH"),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("redis".into()),
            container_port: 6379,
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(Probe {
            exec: Some(ExecAction {
                command: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    "redis-cli ping | grep -q PONG".into(),
                ]),
            }),
            period_seconds: Some(1),
            timeout_seconds: Some(5),
            ..Probe::default()
        }),
        liveness_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::String("redis".into()),
                host: None,
            }),
            period_seconds: Some(5),
            ..Probe::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "data".into(),
            mount_path: "/data".into(),
            ..VolumeMount::default()
        }]),
        working_dir: Some("/data".into()),
        ..Container::default()
    }
}

fn pod_ip() -> Ipv4Addr {
    // Distinct per test process, so parallel runs never share an address.
    let pid = std::process::id();
    Ipv4Addr::new(
        127,
        99,
        u8::try_from((pid >> 8) & 0xff).unwrap_or(1),
        u8::try_from(pid & 0x7f).unwrap_or(1) + 2,
    )
}

fn spec(state_dir: &Path, ip: Ipv4Addr) -> ContainerSpec {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("images.example.yaml"))
            .expect("example mapping");
    let images = ImageMap::parse(&text).expect("example mapping parses");
    let mut config = NodeConfig::new(images.clone(), workspace(), state_dir.to_owned());
    config.backoff = Backoff {
        initial: Duration::from_millis(200),
        max: Duration::from_secs(2),
        reset_after: Duration::from_secs(600),
    };
    config.max_grace = Duration::from_secs(5);
    let pod = Pod {
        metadata: ObjectMeta {
            name: Some("cache-0".into()),
            namespace: Some("shop".into()),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![redis_container()],
            ..PodSpec::default()
        }),
        status: None,
    };
    let c = redis_container();
    let pod_dir = config.pods_dir().join("cache-0");
    let vars = TemplateVars {
        workspace: workspace(),
        target_dir: workspace().join("target"),
        pod_ip: ip.to_string(),
        pod_name: "cache-0".into(),
        pod_namespace: "shop".into(),
        pod_dir: pod_dir.clone(),
    };
    let launch = images.launch(&c, &vars).expect("redis maps");
    let sources = Sources {
        secrets: BTreeMap::from([(
            "redis".into(),
            BTreeMap::from([("password".into(), PASSWORD.into())]),
        )]),
        ..Sources::default()
    };
    let env = podenv::resolve(&pod, &c, &launch.env_defaults, &sources).expect("env");
    worker::container_spec(&config, &pod, &c, launch, env, ip, &pod_dir)
}

async fn wait_for(
    rx: &mut watch::Receiver<ContainerStatus>,
    what: &str,
    ok: impl Fn(&ContainerStatus) -> bool,
) -> ContainerStatus {
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if ok(&rx.borrow()) {
                return rx.borrow().clone();
            }
            if rx.changed().await.is_err() {
                return rx.borrow().clone();
            }
        }
    })
    .await;
    outcome.unwrap_or_else(|_| {
        panic!(
            "timed out waiting for {what}; last status: {:?}",
            rx.borrow()
        )
    })
}

async fn ping(ip: Ipv4Addr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect((ip, 6379)).await?;
    stream
        .write_all(format!("AUTH {PASSWORD}\r\nPING\r\n").as_bytes())
        .await?;
    let mut buf = vec![0u8; 64];
    let mut got = String::new();
    while !got.contains("PONG") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    Ok(got)
}

#[tokio::test]
async fn redis_runs_probes_restarts_and_stops() {
    assert!(
        Path::new("/usr/bin/redis-server").exists(),
        "redis-server is missing: run devenv/up.sh (it installs Debian's redis-server)"
    );
    let state_dir = std::env::temp_dir().join(format!("devnode-supervise-{}", std::process::id()));
    let ip = pod_ip();
    let spec = spec(&state_dir, ip);
    assert_eq!(spec.program, PathBuf::from("/usr/bin/redis-server"));
    assert!(
        spec.args.contains(&PASSWORD.to_owned()),
        "$(REDIS_PASSWORD) is expanded"
    );
    assert!(
        spec.cwd
            .as_ref()
            .is_some_and(|d| d.ends_with("volumes/data")),
        "workingDir /data is remapped: {:?}",
        spec.cwd
    );
    let (tx, mut rx) = watch::channel(ContainerStatus::waiting(
        "redis",
        "redis",
        "ContainerCreating",
        "",
    ));
    let stop = CancellationToken::new();
    let task = tokio::spawn(container::supervise(Arc::new(spec), tx, stop.clone()));

    let ready = wait_for(&mut rx, "ready", |s| s.ready).await;
    assert!(matches!(ready.state, State::Running { .. }));
    assert!(ping(ip).await.expect("ping").contains("+PONG"));

    // Kill it behind the supervisor's back: it comes back, counted and still ready-probed.
    let pid = ready.pid.expect("pid");
    container::signal_group(pid, "KILL").await;
    let restarted = wait_for(&mut rx, "restart", |s| s.restart_count == 1 && s.ready).await;
    let last = restarted.last.expect("last state");
    assert_eq!(last.code, 137, "killed by SIGKILL");
    assert!(
        ping(ip)
            .await
            .expect("ping after restart")
            .contains("+PONG")
    );
    let log = logs::read(
        &state_dir.join("logs"),
        "shop",
        "cache-0",
        "redis",
        logs::ReadOptions::default(),
    )
    .expect("log");
    assert!(log.contains("Ready to accept connections"), "{log}");
    let previous = logs::ReadOptions {
        previous: true,
        ..logs::ReadOptions::default()
    };
    assert!(
        logs::read(
            &state_dir.join("logs"),
            "shop",
            "cache-0",
            "redis",
            previous
        )
        .is_some()
    );

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops in time")
        .expect("join");
    assert!(
        ping(ip).await.is_err(),
        "the process is gone after shutdown"
    );
    let _ = std::fs::remove_dir_all(state_dir);
}
