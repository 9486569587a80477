//! The relay's UDP sockets (the listener and every relayed socket),
//! registered with Tokio's reactor for **reads only**.
//!
//! `tokio::net::UdpSocket` registers for reads and writes, edge-triggered,
//! so every datagram the socket sends wakes the reactor once more when the
//! kernel frees its buffer (an `EPOLLOUT` edge): one extra `epoll_wait` per
//! send, which at relay rates doubled the wake-ups. Sends here are
//! nonblocking and never wait for writability: a UDP send buffer is only
//! full under overload, and then the datagram waits a moment and is dropped
//! ([`SEND_RETRIES`]), as a router drops what it cannot queue.
//!
//! Reads come in batches ([`RelayUdpSocket::read_batch`]); a batch that did
//! not fill up means the socket was drained, so readiness is cleared then
//! without paying for a read that finds nothing.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::mmsg::{Outgoing, RecvBatch};

/// A send finding the socket buffer full is tried again this many times, a
/// millisecond apart, then given up (the datagram is dropped).
pub const SEND_RETRIES: u32 = 3;
const RETRY_AFTER: Duration = Duration::from_millis(1);

/// Socket buffer size asked for (the kernel caps it at `net.core.rmem_max` /
/// `wmem_max`). The relay reads on one thread: the default (~208 KiB, 3 ms of
/// 500 Mbit/s) overflows, and drops datagrams, whenever that thread is
/// briefly not scheduled.
const SOCKET_BUFFER: libc::c_int = 4 * 1024 * 1024;

/// Asks for [`SOCKET_BUFFER`] bytes of receive and send buffer; a refusal
/// leaves the default (the relay works, it only drops sooner under load).
fn grow_buffers(socket: &std::net::UdpSocket) {
    use std::os::fd::AsRawFd as _;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: setsockopt on an open socket we own, with a pointer to an int and its size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&SOCKET_BUFFER as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(option, error = %io::Error::last_os_error(), "relay socket buffer not grown");
        }
    }
}

/// A nonblocking UDP socket registered for reads only.
#[derive(Debug)]
pub struct RelayUdpSocket {
    io: AsyncFd<std::net::UdpSocket>,
    local: SocketAddr,
}

impl RelayUdpSocket {
    /// Binds `addr`. Needs a Tokio runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        Self::new(std::net::UdpSocket::bind(addr)?)
    }

    /// Takes over `socket` (from now on only this registration reads it).
    pub fn from_tokio(socket: tokio::net::UdpSocket) -> io::Result<Self> {
        Self::new(socket.into_std()?)
    }

    fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        grow_buffers(&socket);
        let local = socket.local_addr()?;
        // SAFETY: a std UdpSocket owns its file descriptor, keeps it open and
        // answers the same one from `as_raw_fd` until it is dropped, which
        // happens only with (after) the AsyncFd.
        let io = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }?;
        Ok(Self { io, local })
    }

    /// The bound address (asked once, at bind).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits until datagrams are queued and reads them into `batch` (one `recvmmsg`).
    pub async fn read_batch(&self, batch: &mut RecvBatch) -> io::Result<()> {
        loop {
            let mut ready = self.io.readable().await?;
            match batch.recv(self.io.get_ref().as_fd()) {
                Ok(n) => {
                    if n < batch.slots() {
                        // Short: the queue was empty when the kernel returned. A datagram
                        // arriving since raised a new edge, which this does not clear.
                        ready.clear_ready();
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends `out` from `batch` (`sendmmsg`), waiting a little for room when the
    /// buffer is full; a datagram the kernel refuses is skipped. Calls `sent`
    /// for each datagram sent.
    pub async fn send_batch(&self, batch: &RecvBatch, out: &[Outgoing], mut sent: impl FnMut(&Outgoing)) {
        let fd = self.io.get_ref().as_fd();
        let mut rest = out;
        let mut retries = 0;
        while !rest.is_empty() {
            match batch.send(fd, rest) {
                Ok(n) => {
                    rest[..n].iter().for_each(&mut sent);
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && retries < SEND_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                Err(e) => {
                    tracing::debug!(to = %rest[0].to, error = %e, "relayed datagram not sent");
                    rest = &rest[1..];
                }
            }
        }
    }

    /// Sends one datagram, as [`RelayUdpSocket::send_batch`] does.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let mut retries = 0;
        loop {
            match self.io.get_ref().send_to(buf, target) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && retries < SEND_RETRIES => {
                    retries += 1;
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                other => return other,
            }
        }
    }
}
