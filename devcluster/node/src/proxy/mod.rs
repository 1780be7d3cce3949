//! kube-proxy and cluster DNS for processes:
//!
//! - every Service (not headless) gets a cluster IP from `127.<service_block>.0.0/16`,
//!   written to `spec.clusterIP` when the API server left it empty;
//! - a [`tcp`] listener per Service port on `<clusterIP>:<port>` forwards to ready endpoints;
//! - [`crate::hosts`] files per namespace map the Service DNS names to cluster IPs;
//! - a LoadBalancer Service also gets its own address from `127.<lb_block>.0.0/16`,
//!   listening on each Service port, published in `status.loadBalancer.ingress`.

pub mod tcp;

use crate::NodeConfig;
use crate::hosts::{self, ServiceAddress};
use crate::ipam::Ipam;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tcp::PortKey;
use tokio_util::sync::CancellationToken;

/// Least time between two syncs (kube-proxy's `--min-sync-period` defaults to 1 s).
const MIN_SYNC_PERIOD: std::time::Duration = std::time::Duration::from_millis(250);

struct Listener {
    stop: CancellationToken,
}

struct Proxy {
    client: Client,
    config: NodeConfig,
    cluster_ips: Ipam,
    lb_ips: Ipam,
    /// Service key → address its listeners use.
    local: HashMap<String, Ipv4Addr>,
    /// Service key → load-balancer address.
    lb: HashMap<String, Ipv4Addr>,
    listeners: HashMap<(SocketAddr, PortKey), Listener>,
    namespaces: BTreeSet<String>,
    slices: Store<EndpointSlice>,
}

fn key(s: &Service) -> String {
    format!(
        "{}/{}",
        s.metadata.namespace.as_deref().unwrap_or(""),
        s.metadata.name.as_deref().unwrap_or("")
    )
}

/// Runs the proxy until `stop`, then closes every listener.
pub async fn run(client: Client, config: NodeConfig, stop: CancellationToken) {
    let (slices, writer) = reflector::store();
    let slice_watch = reflector::reflector(
        writer,
        watcher(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .for_each(|_| async {});
    let slice_stop = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = slice_watch => {}
            () = slice_stop.cancelled() => {}
        }
    });
    let (services, writer) = reflector::store();
    let mut events = reflector::reflector(
        writer,
        watcher(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .boxed();
    let mut proxy = Proxy {
        client,
        cluster_ips: Ipam::new(config.service_block),
        lb_ips: Ipam::new(config.load_balancer_block),
        config,
        local: HashMap::new(),
        lb: HashMap::new(),
        listeners: HashMap::new(),
        namespaces: BTreeSet::new(),
        slices,
    };
    let now = tokio::time::Instant::now();
    let mut last_sync = now.checked_sub(MIN_SYNC_PERIOD).unwrap_or(now);
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            e = events.next() => e,
        };
        match event {
            None => break,
            Some(Err(e)) => tracing::warn!(error = %e, "service watch failed; retrying"),
            Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => {}
            Some(Ok(_)) => {
                // A sync covers every Service: like kube-proxy's `minSyncPeriod`, changes
                // within the period after the last sync wait for one sync, instead of one
                // full sync per event (thousands of Services created over a minute).
                let due = last_sync + MIN_SYNC_PERIOD;
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep_until(due) => {}
                }
                while let Some(Some(next)) = events.next().now_or_never() {
                    if let Err(e) = next {
                        tracing::warn!(error = %e, "service watch failed; retrying");
                    }
                }
                proxy.sync(&services.state()).await;
                last_sync = tokio::time::Instant::now();
            }
        }
    }
    for l in proxy.listeners.values() {
        l.stop.cancel();
    }
}

impl Proxy {
    async fn sync(&mut self, services: &[Arc<Service>]) {
        let mut wanted: HashMap<(SocketAddr, PortKey), ()> = HashMap::new();
        let mut addresses = Vec::new();
        let live: BTreeSet<String> = services.iter().map(|s| key(s)).collect();
        for (k, ip) in self.local.clone() {
            if !live.contains(&k) {
                self.local.remove(&k);
                self.cluster_ips.release(ip);
            }
        }
        for (k, ip) in self.lb.clone() {
            if !live.contains(&k) {
                self.lb.remove(&k);
                self.lb_ips.release(ip);
            }
        }
        for s in services {
            if s.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(spec) = &s.spec else { continue };
            let ns = s.metadata.namespace.clone().unwrap_or_default();
            self.namespaces.insert(ns.clone());
            if spec.cluster_ip.as_deref() == Some("None")
                || spec.type_.as_deref() == Some("ExternalName")
            {
                continue;
            }
            let Some(ip) = self.cluster_ip(s).await else {
                continue;
            };
            addresses.push(ServiceAddress {
                namespace: ns.clone(),
                name: s.metadata.name.clone().unwrap_or_default(),
                ip: ip.to_string(),
            });
            let lb_ip = if spec.type_.as_deref() == Some("LoadBalancer") {
                self.lb_ip(s).await
            } else {
                None
            };
            for p in spec.ports.iter().flatten() {
                if p.protocol.as_deref().is_some_and(|proto| proto != "TCP") {
                    continue;
                }
                let Ok(port) = u16::try_from(p.port) else {
                    continue;
                };
                let port_key = PortKey {
                    namespace: ns.clone(),
                    service: s.metadata.name.clone().unwrap_or_default(),
                    port_name: p.name.clone().unwrap_or_default(),
                };
                wanted.insert((SocketAddr::from((ip, port)), port_key.clone()), ());
                if let Some(lb) = lb_ip {
                    wanted.insert((SocketAddr::from((lb, port)), port_key.clone()), ());
                }
                if let Some(node_port) = p.node_port.and_then(|n| u16::try_from(n).ok()) {
                    wanted.insert(
                        (SocketAddr::from((Ipv4Addr::LOCALHOST, node_port)), port_key),
                        (),
                    );
                }
            }
        }
        self.listeners.retain(|k, l| {
            let keep = wanted.contains_key(k);
            if !keep {
                l.stop.cancel();
            }
            keep
        });
        for (addr, port_key) in wanted.into_keys() {
            if self.listeners.contains_key(&(addr, port_key.clone())) {
                continue;
            }
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    let stop = CancellationToken::new();
                    tokio::spawn(tcp::serve(
                        listener,
                        port_key.clone(),
                        self.slices.clone(),
                        stop.clone(),
                    ));
                    tracing::info!(%addr, service = %port_key.service, namespace = %port_key.namespace, "service port published");
                    self.listeners.insert((addr, port_key), Listener { stop });
                }
                Err(e) => tracing::warn!(%addr, error = %e, "cannot listen for service"),
            }
        }
        let namespaces: Vec<String> = self.namespaces.iter().cloned().collect();
        if let Err(e) = hosts::write_all(&self.config.hosts_dir(), &addresses, &namespaces) {
            tracing::warn!(error = %e, "cannot write hosts files");
        }
    }

    /// The address the Service's listeners use: its `spec.clusterIP` when that is in our
    /// block; one allocated (and written to the spec) when empty; a private one otherwise.
    async fn cluster_ip(&mut self, s: &Service) -> Option<Ipv4Addr> {
        let k = key(s);
        if let Some(ip) = self.local.get(&k) {
            return Some(*ip);
        }
        let spec_ip: Option<Ipv4Addr> = s
            .spec
            .as_ref()?
            .cluster_ip
            .as_deref()
            .and_then(|ip| ip.parse().ok());
        let ip = match spec_ip {
            Some(ip) if self.cluster_ips.contains(ip) => {
                self.cluster_ips.reserve(ip);
                ip
            }
            Some(_) => self.cluster_ips.allocate()?,
            None => {
                let ip = self.cluster_ips.allocate()?;
                let patch =
                    json!({"spec": {"clusterIP": ip.to_string(), "clusterIPs": [ip.to_string()]}});
                let api: Api<Service> = Api::namespaced(
                    self.client.clone(),
                    s.metadata.namespace.as_deref().unwrap_or(""),
                );
                if let Err(e) = api
                    .patch(
                        s.metadata.name.as_deref().unwrap_or(""),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await
                {
                    tracing::warn!(error = %e, service = %k, "cannot record cluster IP");
                }
                ip
            }
        };
        self.local.insert(k, ip);
        Some(ip)
    }

    async fn lb_ip(&mut self, s: &Service) -> Option<Ipv4Addr> {
        let k = key(s);
        let ip = match self.lb.get(&k) {
            Some(ip) => *ip,
            None => {
                let previous: Option<Ipv4Addr> = s
                    .status
                    .as_ref()
                    .and_then(|st| st.load_balancer.as_ref())
                    .and_then(|lb| lb.ingress.as_ref())
                    .and_then(|i| i.first())
                    .and_then(|i| i.ip.as_deref())
                    .and_then(|ip| ip.parse().ok());
                let ip = match previous {
                    Some(ip) if self.lb_ips.reserve(ip) => ip,
                    _ => self.lb_ips.allocate()?,
                };
                self.lb.insert(k.clone(), ip);
                ip
            }
        };
        let published = s
            .status
            .as_ref()
            .and_then(|st| st.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .and_then(|i| i.first())
            .and_then(|i| i.ip.clone());
        if published.as_deref() != Some(ip.to_string().as_str()) {
            let status = json!({"status": {"loadBalancer": {"ingress": [{"ip": ip.to_string(), "ipMode": "VIP"}]}}});
            let api: Api<Service> = Api::namespaced(
                self.client.clone(),
                s.metadata.namespace.as_deref().unwrap_or(""),
            );
            if let Err(e) = api
                .patch_status(
                    s.metadata.name.as_deref().unwrap_or(""),
                    &PatchParams::default(),
                    &Patch::Merge(&status),
                )
                .await
            {
                tracing::warn!(error = %e, service = %k, "cannot publish load balancer status");
            }
        }
        Some(ip)
    }
}
