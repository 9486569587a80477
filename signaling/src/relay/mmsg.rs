//! Batched datagram I/O on a nonblocking UDP socket: up to [`RecvBatch`]'s
//! slot count datagrams read with one `recvmmsg(2)`, and datagrams sent from
//! its slots with one `sendmmsg(2)`, without copying them.
//!
//! Each slot has `headroom` bytes in front of where the datagram lands, so a
//! header (ChannelData's 4 bytes) can be written before a received payload
//! and the two sent as one datagram.
//!
//! With the reactor registration in [`super::udp`], the only `unsafe` of the
//! relay: the two system calls and the socket address conversions they need.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::Range;
use std::os::fd::{AsRawFd as _, BorrowedFd};

/// The most datagrams one call moves.
pub const MAX_BATCH: usize = 32;

/// Datagrams received by one [`RecvBatch::recv`], each in its own slot.
pub struct RecvBatch {
    /// `slots` slots of `headroom + capacity` bytes, back to back.
    storage: Vec<u8>,
    headroom: usize,
    capacity: usize,
    received: Vec<Received>,
    names: Vec<libc::sockaddr_storage>,
}

/// One received datagram.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// The slot it is in.
    pub slot: usize,
    /// Bytes of it in the slot (after the headroom).
    pub len: usize,
    pub from: SocketAddr,
    /// It was longer than the slot and was cut to `len`.
    pub truncated: bool,
}

/// A datagram to send: `range` of slot `slot` (headroom included), to `to`.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub slot: usize,
    pub range: Range<usize>,
    pub to: SocketAddr,
}

impl RecvBatch {
    /// Room for `slots` (at most [`MAX_BATCH`]) datagrams of up to `capacity`
    /// bytes, each after `headroom` free bytes.
    pub fn new(slots: usize, headroom: usize, capacity: usize) -> Self {
        let slots = slots.clamp(1, MAX_BATCH);
        Self {
            storage: vec![0; slots * (headroom + capacity)],
            headroom,
            capacity,
            received: Vec::with_capacity(slots),
            // SAFETY: sockaddr_storage is plain integers, for which all zeroes is a valid value.
            names: vec![unsafe { std::mem::zeroed() }; slots],
        }
    }

    /// The datagrams of the last successful [`RecvBatch::recv`].
    pub fn received(&self) -> &[Received] {
        &self.received
    }

    /// The bytes of datagram `r` (without headroom).
    pub fn datagram(&self, r: &Received) -> &[u8] {
        let start = r.slot * self.stride() + self.headroom;
        &self.storage[start..start + r.len]
    }

    /// Slot `i`, headroom included.
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let stride = self.stride();
        &mut self.storage[i * stride..(i + 1) * stride]
    }

    /// How many datagrams one read can take.
    pub fn slots(&self) -> usize {
        self.names.len()
    }

    pub fn headroom(&self) -> usize {
        self.headroom
    }

    /// One `recvmmsg(MSG_DONTWAIT)` on `fd`: as many datagrams as are queued,
    /// up to the slot count, replacing those held. `WouldBlock` when none is.
    pub fn recv(&mut self, fd: BorrowedFd<'_>) -> io::Result<usize> {
        self.received.clear();
        let slots = self.names.len();
        let stride = self.stride();
        let mut iovecs = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX_BATCH];
        // SAFETY: mmsghdr is plain integers and pointers, for which all zeroes is valid (null pointers).
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..slots {
            let slot = &mut self.storage[i * stride + self.headroom..(i + 1) * stride];
            iovecs[i] = libc::iovec { iov_base: slot.as_mut_ptr().cast(), iov_len: slot.len() };
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut iovecs[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: the first `slots` headers point at live, exclusively borrowed
        // buffers (`iovecs`, `self.storage` slots, `self.names`) of the lengths
        // given, all of which outlive the call; the kernel writes no further.
        let n = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        for (slot, (m, name)) in msgs.iter().zip(&self.names).take(n as usize).enumerate() {
            // A datagram from an address family we cannot name is not ours to relay.
            let Some(from) = socket_addr(name) else { continue };
            self.received.push(Received {
                slot,
                len: (m.msg_len as usize).min(self.capacity),
                from,
                truncated: m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            });
        }
        Ok(self.received.len())
    }

    /// One `sendmmsg(MSG_DONTWAIT)` on `fd` of `out` (at most [`MAX_BATCH`]
    /// of it) from this batch's slots: how many were sent, from the first.
    /// An error only when the first could not be sent.
    pub fn send(&self, fd: BorrowedFd<'_>, out: &[Outgoing]) -> io::Result<usize> {
        let out = &out[..out.len().min(MAX_BATCH)];
        let stride = self.stride();
        let mut iovecs = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; MAX_BATCH];
        let mut names = [MaybeUninit::<libc::sockaddr_storage>::zeroed(); MAX_BATCH];
        // SAFETY: as in `recv`.
        let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
        for (i, o) in out.iter().enumerate() {
            // Panics on a range outside the slot: a bug of the caller, not network input.
            let bytes = &self.storage[o.slot * stride..(o.slot + 1) * stride][o.range.clone()];
            iovecs[i] = libc::iovec { iov_base: bytes.as_ptr().cast_mut().cast(), iov_len: bytes.len() };
            let len = write_socket_addr(o.to, &mut names[i]);
            let h = &mut msgs[i].msg_hdr;
            h.msg_name = names[i].as_mut_ptr().cast();
            h.msg_namelen = len;
            h.msg_iov = &mut iovecs[i];
            h.msg_iovlen = 1;
        }
        // SAFETY: the first `out.len()` headers point at live buffers of the
        // lengths given (slices of `self.storage`, which the kernel only
        // reads; `iovecs`; initialised `names`), all of which outlive the call.
        let n = unsafe {
            libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), out.len() as libc::c_uint, libc::MSG_DONTWAIT)
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn stride(&self) -> usize {
        self.headroom + self.capacity
    }
}

/// Writes `addr` as a `sockaddr_in`/`sockaddr_in6` into `out`; its length.
fn write_socket_addr(addr: SocketAddr, out: &mut MaybeUninit<libc::sockaddr_storage>) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than, and aligned for, every sockaddr type.
            unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above.
            unsafe { out.as_mut_ptr().cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// The address the kernel wrote into `s`, if it is IPv4 or IPv6.
fn socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in; storage is aligned for it.
            let sin = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsFd as _;

    use super::*;

    fn pair(ip: &str) -> (UdpSocket, UdpSocket) {
        let a = UdpSocket::bind((ip, 0)).unwrap();
        let b = UdpSocket::bind((ip, 0)).unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    /// Receives into `batch` until `n` datagrams are held (they may trickle in on loopback).
    fn recv_n(batch: &mut RecvBatch, sock: &UdpSocket, n: usize) -> Vec<(Vec<u8>, SocketAddr, bool)> {
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < n {
            assert!(std::time::Instant::now() < deadline, "only {} of {n} datagrams arrived", got.len());
            match batch.recv(sock.as_fd()) {
                Ok(_) => {
                    for r in batch.received() {
                        got.push((batch.datagram(r).to_vec(), r.from, r.truncated));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("recvmmsg: {e}"),
            }
        }
        got
    }

    #[test]
    fn a_batch_receives_several_datagrams_with_their_sources_and_marks_truncation() {
        let (a, b) = pair("127.0.0.1");
        let mut batch = RecvBatch::new(8, 4, 16);
        assert_eq!(batch.recv(b.as_fd()).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        for d in [&b"one"[..], b"two", &[7u8; 20]] {
            a.send_to(d, b.local_addr().unwrap()).unwrap();
        }
        let got = recv_n(&mut batch, &b, 3);
        let from = a.local_addr().unwrap();
        assert_eq!(got[0], (b"one".to_vec(), from, false));
        assert_eq!(got[1], (b"two".to_vec(), from, false));
        assert_eq!(got[2], (vec![7u8; 16], from, true), "cut to the slot's 16 bytes");
    }

    #[test]
    fn a_batch_sends_from_its_slots_with_the_headroom_written_in_front() {
        for ip in ["127.0.0.1", "::1"] {
            let (a, b) = pair(ip);
            let (c, d) = pair(ip);
            let mut batch = RecvBatch::new(4, 4, 100);
            a.send_to(b"payload", b.local_addr().unwrap()).unwrap();
            a.send_to(b"second", b.local_addr().unwrap()).unwrap();
            recv_n(&mut batch, &b, 2);
            batch.slot_mut(0)[..4].copy_from_slice(b"HEAD");
            let out = [
                Outgoing { slot: 0, range: 0..4 + 7, to: d.local_addr().unwrap() },
                Outgoing { slot: 1, range: 4..4 + 6, to: d.local_addr().unwrap() },
            ];
            assert_eq!(batch.send(c.as_fd(), &out).unwrap(), 2);
            let mut back = RecvBatch::new(4, 0, 100);
            let got = recv_n(&mut back, &d, 2);
            assert_eq!(got[0].0, b"HEADpayload");
            assert_eq!(got[1].0, b"second");
            assert_eq!(got[0].1, c.local_addr().unwrap(), "{ip}");
        }
    }
}
