//! Sending and counting 1,200-byte datagrams as fast as the kernel lets one
//! thread do it: `sendmmsg`/`recvmmsg` in batches of [`BATCH`], so that a
//! system call is not paid per packet and the client is not the bottleneck.
//!
//! Every payload starts with the run's id (4 bytes) and a sequence number
//! (8 bytes); packets of an earlier run still in flight are not counted.

use std::net::UdpSocket;
use std::os::fd::AsRawFd as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Datagrams per `sendmmsg`/`recvmmsg` call.
pub const BATCH: usize = 32;
/// The relayed payload: a typical video RTP packet with SRTP overhead.
pub const PAYLOAD: usize = 1200;
/// Room for a datagram of any size the benchmark sends.
const SLOT: usize = 2048;

/// What one sender thread did.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub packets: u64,
    pub elapsed: Duration,
    /// CPU time of the sending thread.
    pub cpu: Duration,
}

/// What one receiving thread counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Received {
    pub packets: u64,
    /// Payload bytes (ChannelData headers not included).
    pub bytes: u64,
    pub cpu: Duration,
}

/// How the packets are framed on the wire from this socket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Framing {
    /// Raw payload (the peer side).
    Raw,
    /// ChannelData on [`super::turn_client::CHANNEL`] (the client side).
    ChannelData,
}

impl Framing {
    fn header(self) -> usize {
        match self {
            Self::Raw => 0,
            Self::ChannelData => super::turn_client::CHANNEL_HEADER,
        }
    }
}

/// Sends `PAYLOAD`-byte packets of run `run` on the connected `socket` for
/// `length`, at `rate` packets a second (`None`: as fast as possible).
pub fn send(socket: &UdpSocket, framing: Framing, run: u32, rate: Option<f64>, length: Duration) -> Sent {
    let header = framing.header();
    let mut bufs = vec![[0u8; SLOT]; BATCH];
    for b in &mut bufs {
        if framing == Framing::ChannelData {
            b[..2].copy_from_slice(&super::turn_client::CHANNEL.to_be_bytes());
            b[2..4].copy_from_slice(&(PAYLOAD as u16).to_be_bytes());
        }
        b[header..header + 4].copy_from_slice(&run.to_be_bytes());
    }
    let mut iov: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: header + PAYLOAD })
        .collect();
    // The iovecs point into `bufs`, which outlives every call below.
    let mut msgs = mmsghdrs(&mut iov);
    let cpu0 = thread_cpu();
    let start = Instant::now();
    let mut seq = 0u64;
    loop {
        let elapsed = start.elapsed();
        if elapsed >= length {
            break;
        }
        let due = match rate {
            None => BATCH as u64,
            Some(r) => ((r * elapsed.as_secs_f64()) as u64).saturating_sub(seq).min(BATCH as u64),
        };
        if due == 0 {
            std::thread::sleep(Duration::from_micros(50));
            continue;
        }
        for (i, b) in bufs.iter_mut().take(due as usize).enumerate() {
            b[header + 4..header + 12].copy_from_slice(&(seq + i as u64).to_be_bytes());
        }
        // SAFETY: `msgs` holds `due` ≤ BATCH valid headers (see above).
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), due as u32, 0) };
        if n > 0 {
            seq += n as u64;
        }
        // Errors (ECONNREFUSED from an ICMP of an earlier run, ENOBUFS): the packet is lost, go on.
    }
    Sent { packets: seq, elapsed: start.elapsed(), cpu: thread_cpu() - cpu0 }
}

/// Counts packets of run `run` on `socket` until `stop` is set; `framing` is
/// what arrives (ChannelData at the client, raw at the peer).
pub fn receive(socket: &UdpSocket, framing: Framing, run: u32, stop: &AtomicBool) -> Received {
    let header = framing.header();
    let mut bufs = vec![[0u8; SLOT]; BATCH];
    let mut iov: Vec<libc::iovec> =
        bufs.iter_mut().map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: SLOT }).collect();
    // The kernel writes into `bufs` through the iovecs.
    let mut msgs = mmsghdrs(&mut iov);
    let cpu0 = thread_cpu();
    let mut got = Received::default();
    let tag = run.to_be_bytes();
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: as above; the socket has a receive timeout, so this returns to check `stop`.
        let n = unsafe {
            libc::recvmmsg(socket.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0, std::ptr::null_mut())
        };
        if n <= 0 {
            continue;
        }
        for (m, b) in msgs.iter().zip(&bufs).take(n as usize) {
            let len = m.msg_len as usize;
            if len == header + PAYLOAD && b[header..header + 4] == tag {
                got.packets += 1;
                got.bytes += PAYLOAD as u64;
            }
        }
    }
    got.cpu = thread_cpu() - cpu0;
    got
}

/// [`receive`] on its own thread.
pub struct Receiver {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Received>,
}

impl Receiver {
    pub fn spawn(socket: Arc<UdpSocket>, framing: Framing, run: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || receive(&socket, framing, run, &flag));
        Self { stop, handle }
    }

    /// Stops counting (within one receive timeout) and returns the counts.
    pub fn finish(self) -> Received {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// A UDP socket on 127.0.0.1 with large buffers (forced past `rmem_max` when
/// running as root) and a short receive timeout for [`receive`].
pub fn socket() -> std::io::Result<UdpSocket> {
    let s = UdpSocket::bind("127.0.0.1:0")?;
    tune(&s)?;
    Ok(s)
}

/// Large buffers and a 50 ms receive timeout on `s`.
pub fn tune(s: &UdpSocket) -> std::io::Result<()> {
    const BYTES: libc::c_int = 8 << 20;
    for (forced, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)]
    {
        if setsockopt(s, forced, BYTES).is_err() {
            setsockopt(s, plain, BYTES)?;
        }
    }
    s.set_read_timeout(Some(Duration::from_millis(50)))
}

fn setsockopt(s: &UdpSocket, opt: libc::c_int, value: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a c_int option value of the right size for SOL_SOCKET buffer options.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// CPU time of the calling thread.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec out-pointer; CLOCK_THREAD_CPUTIME_ID always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One message header per iovec, for `sendmmsg`/`recvmmsg`.
fn mmsghdrs(iov: &mut [libc::iovec]) -> Vec<libc::mmsghdr> {
    iov.iter_mut()
        .map(|v| {
            // SAFETY: a zeroed mmsghdr is valid (null name, no control data).
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect()
}
