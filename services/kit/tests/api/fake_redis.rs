//! A tiny stand-in for Redis that speaks enough RESP for a client to connect
//! and `PING`; it can be stopped and restarted on the same port to simulate an
//! outage without depending on a Redis install.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// A running fake; dropping or [`FakeRedis::stop`]ping it closes every connection.
pub struct FakeRedis(JoinHandle<()>);

impl FakeRedis {
    /// Listens on `addr` (which must be free).
    pub async fn start(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind fake redis");
        Self(tokio::spawn(accept_loop(listener)))
    }

    /// Stops listening and drops every open connection.
    pub async fn stop(self) {
        self.0.abort();
        let _ = self.0.await;
    }
}

async fn accept_loop(listener: TcpListener) {
    // Aborting this task drops the set, which aborts every connection task.
    let mut connections = JoinSet::new();
    while let Ok((socket, _)) = listener.accept().await {
        connections.spawn(serve_connection(socket));
    }
}

async fn serve_connection(mut socket: TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(read) = socket.read(&mut chunk).await else {
            return;
        };
        if read == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..read]);
        while let Some((command, used)) = next_command(&buffer) {
            buffer.drain(..used);
            let reply: &[u8] = if command.eq_ignore_ascii_case("PING") {
                b"+PONG\r\n"
            } else {
                b"+OK\r\n"
            };
            if socket.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}

/// Parses one complete RESP array of bulk strings; returns its first element
/// (the command name) and the bytes consumed, or `None` if incomplete.
fn next_command(buffer: &[u8]) -> Option<(String, usize)> {
    let (count, mut pos) = read_line(buffer, 0, b'*')?;
    let mut name = String::new();
    for i in 0..count {
        let (len, start) = read_line(buffer, pos, b'$')?;
        let end = start + len;
        if buffer.len() < end + 2 {
            return None;
        }
        if i == 0 {
            name = String::from_utf8_lossy(&buffer[start..end]).into_owned();
        }
        pos = end + 2;
    }
    Some((name, pos))
}

/// Reads `<prefix><number>\r\n` at `pos`; returns the number and the next position.
fn read_line(buffer: &[u8], pos: usize, prefix: u8) -> Option<(usize, usize)> {
    if *buffer.get(pos)? != prefix {
        return None;
    }
    let end = pos + buffer[pos..].windows(2).position(|w| w == b"\r\n")?;
    let number = std::str::from_utf8(&buffer[pos + 1..end])
        .ok()?
        .parse()
        .ok()?;
    Some((number, end + 2))
}
