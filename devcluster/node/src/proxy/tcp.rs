//! The userspace TCP proxy of one Service port: accepts on the cluster (or load-balancer)
//! address and forwards each connection to a ready endpoint, round robin, read from the
//! EndpointSlices as kube-proxy does.

use crate::controllers::endpointslice::SERVICE_NAME_LABEL;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Which Service port a listener serves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortKey {
    /// Namespace of the Service.
    pub namespace: String,
    /// Service name.
    pub service: String,
    /// Port name (may be empty when the Service has a single port).
    pub port_name: String,
}

/// Ready `ip:port` endpoints of a Service port in `slices`.
pub fn ready_endpoints(slices: &[Arc<EndpointSlice>], key: &PortKey) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for slice in slices {
        let meta = &slice.metadata;
        if meta.namespace.as_deref() != Some(key.namespace.as_str())
            || meta.labels.as_ref().and_then(|l| l.get(SERVICE_NAME_LABEL)) != Some(&key.service)
        {
            continue;
        }
        let port = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().unwrap_or("") == key.port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else { continue };
        for e in slice.endpoints.iter().flatten() {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if !ready {
                continue;
            }
            out.extend(
                e.addresses
                    .iter()
                    .filter_map(|a| a.parse().ok())
                    .map(|ip| SocketAddr::new(ip, port)),
            );
        }
    }
    out.sort();
    out
}

/// Accepts on `listener` until `stop`, forwarding to the endpoints of `key`.
pub async fn serve(
    listener: TcpListener,
    key: PortKey,
    slices: Store<EndpointSlice>,
    stop: CancellationToken,
) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let Ok((inbound, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let endpoints = ready_endpoints(&slices.state(), &key);
        let start = next.fetch_add(1, Ordering::Relaxed);
        let stop = stop.clone();
        let key = key.clone();
        tokio::spawn(async move {
            for i in 0..endpoints.len() {
                let target = endpoints[(start + i) % endpoints.len()];
                let connect =
                    tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(target)).await;
                if let Ok(Ok(outbound)) = connect {
                    pipe(inbound, outbound, stop).await;
                    return;
                }
            }
            tracing::debug!(service = %key.service, namespace = %key.namespace, "no ready endpoint; connection closed");
        });
    }
}

async fn pipe(mut a: TcpStream, mut b: TcpStream, stop: CancellationToken) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
        () = stop.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
    use kube::api::ObjectMeta;
    use std::collections::BTreeMap;

    fn endpoint(ip: &str, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![ip.into()],
            conditions: Some(EndpointConditions {
                ready: Some(ready),
                ..EndpointConditions::default()
            }),
            ..Endpoint::default()
        }
    }

    #[test]
    fn only_ready_endpoints_of_the_named_port_and_service() {
        let slice = Arc::new(EndpointSlice {
            metadata: ObjectMeta {
                namespace: Some("shop".into()),
                labels: Some(BTreeMap::from([(
                    SERVICE_NAME_LABEL.to_owned(),
                    "redis".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            address_type: "IPv4".into(),
            endpoints: Some(vec![
                endpoint("127.10.0.3", true),
                endpoint("127.10.0.2", true),
                endpoint("127.10.0.4", false),
            ]),
            ports: Some(vec![EndpointPort {
                name: Some("redis".into()),
                port: Some(6379),
                ..EndpointPort::default()
            }]),
        });
        let key = PortKey {
            namespace: "shop".into(),
            service: "redis".into(),
            port_name: "redis".into(),
        };
        let got = ready_endpoints(std::slice::from_ref(&slice), &key);
        let want: Vec<SocketAddr> = vec![
            "127.10.0.2:6379".parse().expect("a"),
            "127.10.0.3:6379".parse().expect("b"),
        ];
        assert_eq!(got, want);
        let other = PortKey {
            service: "web".into(),
            ..key
        };
        assert!(ready_endpoints(&[slice], &other).is_empty());
    }
}
