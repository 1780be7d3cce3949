//! [`DevCluster`]: start the server on a listener, write the kubeconfig, hand out a
//! ready `kube::Client`, shut down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::store::{EventType, Key, State};
use crate::{http, kubeconfig, persist};

/// The shared server state.
#[derive(Debug)]
pub struct Cluster {
    state: Mutex<State>,
    /// The bearer token clients must present.
    pub token: String,
    /// `host:port`, for `/api`'s serverAddressByClientCIDRs.
    pub server_address: String,
    /// How often watches with `allowWatchBookmarks` get a bookmark.
    pub bookmark_interval: Duration,
}

impl Cluster {
    /// Locks the state. A panic while holding the lock is a bug; the state is still
    /// consistent per operation, so a poisoned lock is recovered rather than spread.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How to start a devcluster.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Bearer token; a random one when `None`.
    pub token: Option<String>,
    /// Where to write the kubeconfig; a file in the temp dir when `None`.
    pub kubeconfig_path: Option<PathBuf>,
    /// Snapshot directory (`--data-dir`); in memory only when `None`.
    pub data_dir: Option<PathBuf>,
    /// Events kept for watches; older resourceVersions get 410 Gone.
    pub watch_history: usize,
    /// Interval between watch bookmarks.
    pub bookmark_interval: Duration,
    /// Delete scheduled Pods gracefully: `deletionTimestamp` first, removal when the
    /// kubelet deletes again with `gracePeriodSeconds=0` (needs a kubelet that does).
    pub graceful_pod_deletion: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            kubeconfig_path: None,
            data_dir: None,
            watch_history: 10_000,
            bookmark_interval: Duration::from_secs(15),
            graceful_pod_deletion: false,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Binding the listener failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the kubeconfig failed.
    #[error("writing kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Loading the snapshot failed.
    #[error(transparent)]
    Persist(#[from] persist::PersistError),
    /// Requests without a token are served, so only loopback addresses are allowed.
    #[error("{0} is not a loopback address; devcluster only listens on loopback")]
    NotLoopback(SocketAddr),
    /// Building the kube client failed.
    #[error("building the kube client: {0}")]
    Client(String),
}

/// A running devcluster.
pub struct DevCluster {
    cluster: Arc<Cluster>,
    addr: SocketAddr,
    kubeconfig_path: PathBuf,
    /// The kubeconfig is ours (a temp file, not a configured path): removed on drop.
    temp_kubeconfig: bool,
    client: kube::Client,
    data_dir: Option<PathBuf>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    persister: Option<JoinHandle<()>>,
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn seed_namespaces(st: &mut State) {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let key = Key {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: ns.into(),
        };
        if st.objects.contains_key(&key) {
            continue;
        }
        let obj = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(),
                         "creationTimestamp": crate::patch::fields::now(),
                         "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        st.put(key, obj, EventType::Added);
    }
}

impl std::fmt::Debug for DevCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCluster")
            .field("addr", &self.addr)
            .field("kubeconfig", &self.kubeconfig_path)
            .finish_non_exhaustive()
    }
}

impl DevCluster {
    /// Binds, loads the snapshot, writes the kubeconfig, serves, and connects a client.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        // kube's rustls needs a process-wide crypto provider even for http:// URLs;
        // an already-installed one (another component's choice) is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if !config.bind.ip().is_loopback() {
            return Err(StartError::NotLoopback(config.bind));
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        tokio::task::spawn_blocking(crate::builtin_schema::warm);
        let mut state = State::new(config.watch_history);
        if let Some(dir) = &config.data_dir {
            persist::load(dir, &mut state)?;
        }
        seed_namespaces(&mut state);
        state.graceful_pods = config.graceful_pod_deletion;
        let token = config.token.clone().unwrap_or_else(random_token);
        let cluster = Arc::new(Cluster {
            state: Mutex::new(state),
            token: token.clone(),
            server_address: addr.to_string(),
            bookmark_interval: config.bookmark_interval,
        });
        let server_url = format!("http://{addr}");
        let kubeconfig_path = config.kubeconfig_path.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "devcluster-{}-{}.kubeconfig",
                std::process::id(),
                addr.port()
            ))
        });
        kubeconfig::write(&kubeconfig_path, &server_url, &token).map_err(|source| {
            StartError::Kubeconfig {
                path: kubeconfig_path.clone(),
                source,
            }
        })?;

        let app = axum::Router::new()
            .fallback(http::handle)
            .with_state(cluster.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "devcluster server stopped");
            }
        });
        let persister = config
            .data_dir
            .clone()
            .map(|dir| tokio::spawn(persist::run(cluster.clone(), dir)));

        let kc = Kubeconfig::read_from(&kubeconfig_path)
            .map_err(|e| StartError::Client(e.to_string()))?;
        let kconf = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| StartError::Client(e.to_string()))?;
        let client =
            kube::Client::try_from(kconf).map_err(|e| StartError::Client(e.to_string()))?;
        tracing::info!(%server_url, kubeconfig = %kubeconfig_path.display(), "devcluster serving");
        Ok(Self {
            cluster,
            addr,
            temp_kubeconfig: config.kubeconfig_path.is_none(),
            kubeconfig_path,
            client,
            data_dir: config.data_dir,
            shutdown: Some(tx),
            server: Some(server),
            persister,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The kubeconfig file (for kubectl and other processes).
    pub fn kubeconfig_path(&self) -> &std::path::Path {
        &self.kubeconfig_path
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.cluster.token
    }

    /// A client connected to this server.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The shared state (for in-process components and tests).
    pub fn cluster(&self) -> Arc<Cluster> {
        self.cluster.clone()
    }

    /// Waits until the server stops (it stops only through [`Self::shutdown`]).
    pub async fn wait(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
    }

    /// Stops serving (open watches end), writes a final snapshot.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(p) = self.persister.take() {
            p.abort();
        }
        if let Some(dir) = &self.data_dir
            && let Err(e) = persist::flush(&self.cluster, dir)
        {
            tracing::error!(error = %e, "final devcluster snapshot failed");
        }
        if let Some(s) = self.server.take() {
            // Long-running watches would hold graceful shutdown open; don't wait forever.
            let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
        }
    }
}

impl Drop for DevCluster {
    /// A generated kubeconfig goes with the cluster (test runs would otherwise leave one
    /// file per cluster in the temp directory).
    fn drop(&mut self) {
        if self.temp_kubeconfig {
            let _ = std::fs::remove_file(&self.kubeconfig_path);
        }
    }
}
