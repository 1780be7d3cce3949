//! [`Partition`]: a TCP proxy in front of a real server that a test can cut and restore,
//! to prove a client survives an outage of the real thing (not of a fake speaking a
//! fraction of its protocol).
//!
//! While cut, the proxy closes every open connection and refuses new ones (the listening
//! port stays bound, so nothing else can take it); restored, it forwards again.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A cuttable TCP proxy to a real server; dropping it stops it.
#[derive(Debug)]
pub struct Partition {
    addr: SocketAddr,
    upstream: String,
    open: Arc<watch::Sender<bool>>,
    accept: JoinHandle<()>,
}

impl Partition {
    /// Starts forwarding `127.0.0.1:<free port>` to `upstream` (`host:port`).
    pub async fn start(upstream: impl Into<String>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let upstream = upstream.into();
        let (open, _) = watch::channel(true);
        let open = Arc::new(open);
        let accept = tokio::spawn(accept_loop(listener, upstream.clone(), open.clone()));
        Ok(Self {
            addr,
            upstream,
            open,
            accept,
        })
    }

    /// Starts a partition in front of the server a connection `url` names
    /// (`scheme://[user:password@]host:port[/path][?query]`) and returns it with `url`
    /// rerouted through it (credentials, path and query kept).
    pub async fn in_front_of(url: &str) -> std::io::Result<(Self, String)> {
        let invalid =
            || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a URL with a host");
        let authority_start = url.find("://").ok_or_else(invalid)? + 3;
        let rest = &url[authority_start..];
        let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        let host_start = authority.rfind('@').map_or(0, |at| at + 1);
        let host_port = &authority[host_start..];
        if host_port.is_empty() {
            return Err(invalid());
        }
        let partition = Self::start(host_port).await?;
        let rerouted = format!(
            "{}{}{}",
            &url[..authority_start + host_start],
            partition.addr(),
            &url[authority_start + authority_len..]
        );
        Ok((partition, rerouted))
    }

    /// Where clients connect instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server behind the proxy.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Closes every forwarded connection and refuses new ones until [`Partition::restore`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.open.send_replace(true);
    }

    /// Whether the proxy forwards.
    pub fn is_open(&self) -> bool {
        *self.open.borrow()
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, open: Arc<watch::Sender<bool>>) {
    while let Ok((client, _)) = listener.accept().await {
        if !*open.borrow() {
            // Refused: closed at once, as a dead server's port would.
            drop(client);
            continue;
        }
        tokio::spawn(forward(client, upstream.clone(), open.subscribe()));
    }
}

async fn forward(mut client: TcpStream, upstream: String, mut open: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = open.wait_for(|open| !*open) => {}
    }
    // Both sockets drop here: the client sees the connection reset or closed.
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn reroutes_a_connection_url_keeping_credentials_path_and_query() {
        let (partition, url) = Partition::in_front_of("redis://:pw@127.0.0.1:6380/2?x=1")
            .await
            .expect("proxy");
        assert_eq!(partition.upstream(), "127.0.0.1:6380");
        assert_eq!(url, format!("redis://:pw@{}/2?x=1", partition.addr()));
        let (partition, url) = Partition::in_front_of("amqp://127.0.0.1:5672")
            .await
            .expect("proxy");
        assert_eq!(url, format!("amqp://{}", partition.addr()));
        assert!(Partition::in_front_of("no-scheme").await.is_err());
    }

    #[tokio::test]
    async fn forwards_until_cut_and_again_after_restore() {
        let partition = Partition::start(echo_server().await.to_string())
            .await
            .expect("proxy");
        assert_eq!(round_trip(partition.addr()).await.expect("open"), b"ping");

        let mut held = TcpStream::connect(partition.addr()).await.expect("connect");
        held.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        held.read_exact(&mut buf).await.expect("echo");

        partition.cut();
        assert!(!partition.is_open());
        assert!(
            round_trip(partition.addr()).await.is_err(),
            "new connections refused"
        );
        let after_cut = held.read(&mut buf).await;
        assert!(
            matches!(after_cut, Ok(0) | Err(_)),
            "open connections closed: {after_cut:?}"
        );

        partition.restore();
        assert_eq!(
            round_trip(partition.addr()).await.expect("restored"),
            b"ping"
        );
    }
}
