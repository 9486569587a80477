//! A slow, lossy, reordering path between UDP sockets of a private network
//! namespace ([`super::private_netns`]): a stand-in, in this process, for
//! `tc qdisc add dev … root netem delay 50ms loss 5% reorder 1%`, whose
//! kernel part (`CONFIG_NET_SCH_NETEM`) the machines this project runs its
//! tests on do not have (`tc` answers "Specified qdisc kind is unknown"), and
//! where no kernel module can be loaded.
//!
//! ```text
//!  socket ADDRESS:a ──▶ ip rule: from this host (iif lo), UDP to ADDRESS ──▶ table 77: dev tndlossy0
//!                                                                                   │ (a tun device)
//!                       this process reads each packet: drops `loss` of them, holds │
//!                       the rest `delay`, except `reorder` of them sent at once ◀───┘
//!                                                                                   │ written back
//!  socket ADDRESS:b ◀── delivered locally (accept_local) ◀── arrives on tndlossy0 ◀─┘
//! ```
//!
//! Every UDP packet between two sockets bound to [`ADDRESS`] crosses the
//! device exactly once, whichever way it goes: both directions are impaired
//! and the round trip is twice `delay`, as with netem on both ends of a veth
//! pair. Packets coming back from the device arrive on it, not from this
//! host, so the rule does not send them round again. TCP (the signaling
//! WebSocket on 127.0.0.1) and other addresses are not touched. The
//! decisions come from a seeded generator, like netem's per packet: loss
//! first, then, for a packet kept, reordering (netem's `reorder`: that share
//! of packets goes at once, overtaking the delayed ones). The counters show
//! what happened, so a test can check that its bytes really crossed the link.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::private_netns::run;

/// The address both peers bind to; what they send each other to it crosses the link.
pub const ADDRESS: &str = "10.77.0.1";
const DEVICE: &str = "tndlossy0";
const TABLE: &str = "77";

/// What the link does to each packet.
#[derive(Debug, Clone, Copy)]
pub struct Impairment {
    /// Time each packet is held (one way).
    pub delay: Duration,
    /// Share of packets dropped, 0..=1.
    pub loss: f64,
    /// Share of the packets kept that are sent at once, before those held.
    pub reorder: f64,
    /// Seed of the decisions.
    pub seed: u64,
    /// The device's MTU: 1500 is Ethernet's, 9000 a jumbo-frame LAN's.
    pub mtu: u32,
}

/// What the link did so far (IPv4 packets only; nothing else is forwarded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets that entered the link.
    pub packets: u64,
    /// Their bytes (IP headers included).
    pub bytes: u64,
    pub dropped: u64,
    /// Packets sent at once, overtaking the held ones.
    pub reordered: u64,
    /// Packets written back (delivered).
    pub delivered: u64,
}

/// The running link; dropping it stops its threads (the namespace keeps the routes).
pub struct LossyLink {
    counters: Arc<Shared>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    packets: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    reordered: AtomicU64,
    delivered: AtomicU64,
}

impl LossyLink {
    /// Creates the device and the routes in the calling thread's namespace
    /// (a private one: [`super::private_netns::enter`]) and starts forwarding.
    pub fn start(impairment: Impairment) -> Self {
        let device = Arc::new(open_tun(DEVICE));
        run("ip", &["addr", "add", &format!("{ADDRESS}/32"), "dev", "lo"], None);
        run("ip", &["link", "set", DEVICE, "mtu", &impairment.mtu.to_string(), "up"], None);
        // Packets from a local address arriving on a device are dropped as spoofed unless accepted.
        for setting in [
            "all.rp_filter=0".to_owned(),
            format!("{DEVICE}.rp_filter=0"),
            format!("{DEVICE}.accept_local=1"),
        ] {
            run("sysctl", &["-qw", &format!("net.ipv4.conf.{setting}")], None);
        }
        run("ip", &["route", "add", "default", "dev", DEVICE, "table", TABLE], None);
        // The local table is looked up first (preference 0): move it behind the link's rule.
        run(
            "ip",
            &["rule", "add", "pref", "10", "iif", "lo", "to", ADDRESS, "ipproto", "udp", "lookup", TABLE],
            None,
        );
        run("ip", &["rule", "add", "pref", "100", "lookup", "local"], None);
        run("ip", &["rule", "del", "pref", "0"], None);

        let counters = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (held_tx, held_rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let reader = {
            let (device, counters, stop) = (device.clone(), counters.clone(), stop.clone());
            std::thread::Builder::new()
                .name("lossy-link-in".into())
                .spawn(move || take_in(&device, impairment, &counters, &stop, &held_tx))
                .unwrap()
        };
        let writer = {
            let (counters, stop) = (counters.clone(), stop.clone());
            std::thread::Builder::new()
                .name("lossy-link-out".into())
                .spawn(move || give_out(&device, &counters, &stop, &held_rx))
                .unwrap()
        };
        Self { counters, stop, threads: vec![reader, writer] }
    }

    pub fn counters(&self) -> Counters {
        let c = &self.counters;
        Counters {
            packets: c.packets.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            reordered: c.reordered.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
        }
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Counters {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Counters) -> Counters {
        Counters {
            packets: self.packets - earlier.packets,
            bytes: self.bytes - earlier.bytes,
            dropped: self.dropped - earlier.dropped,
            reordered: self.reordered - earlier.reordered,
            delivered: self.delivered - earlier.delivered,
        }
    }
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let share = |n: u64| 100.0 * n as f64 / self.packets.max(1) as f64;
        write!(
            f,
            "{} packets ({:.1} MB) in, {} dropped ({:.2} %), {} reordered ({:.2} %), {} delivered",
            self.packets,
            self.bytes as f64 / 1e6,
            self.dropped,
            share(self.dropped),
            self.reordered,
            share(self.reordered),
            self.delivered
        )
    }
}

/// A tun device (IP packets, no extra header) named `name`, held open by this process.
fn open_tun(name: &str) -> File {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .unwrap_or_else(|e| panic!("/dev/net/tun: {e} (root and CONFIG_TUN are needed)"));
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    assert!(name.len() < request.ifr_name.len(), "device name too long");
    for (to, from) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *to = from as libc::c_char;
    }
    request.ifr_ifru.ifru_flags = (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes an ifreq, which `request` is; the descriptor is ours.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut request as *mut libc::ifreq) };
    assert_eq!(rc, 0, "TUNSETIFF {name}: {}", std::io::Error::last_os_error());
    file
}

/// Reads what the host sends into the link: drops, sends at once, or hands to [`give_out`] to hold.
fn take_in(
    device: &File,
    impairment: Impairment,
    counters: &Shared,
    stop: &AtomicBool,
    held: &std::sync::mpsc::Sender<(Instant, Vec<u8>)>,
) {
    let mut random = XorShift(impairment.seed | 1);
    let mut buffer = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        if !readable(device, Duration::from_millis(100)) {
            continue;
        }
        let n = match (&*device).read(&mut buffer) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading {DEVICE}: {e}"),
        };
        let packet = &buffer[..n];
        if packet.first().map(|b| b >> 4) != Some(4) {
            continue; // IPv6 housekeeping of the device itself: not ours to carry
        }
        counters.packets.fetch_add(1, Ordering::Relaxed);
        counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if random.unit() < impairment.loss {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
        } else if random.unit() < impairment.reorder {
            counters.reordered.fetch_add(1, Ordering::Relaxed);
            deliver(device, packet, counters);
        } else if held.send((Instant::now() + impairment.delay, packet.to_vec())).is_err() {
            return;
        }
    }
}

/// Writes held packets back when their time comes (the delay is the same for all: first in, first out).
fn give_out(
    device: &File,
    counters: &Shared,
    stop: &AtomicBool,
    held: &std::sync::mpsc::Receiver<(Instant, Vec<u8>)>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok((due, packet)) = held.recv_timeout(Duration::from_millis(100)) else { continue };
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        deliver(device, &packet, counters);
    }
}

fn deliver(device: &File, packet: &[u8], counters: &Shared) {
    // A packet the kernel refuses (none should be) is as good as lost; the counters tell.
    if (&*device).write(packet).is_ok() {
        counters.delivered.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether `device` has a packet to read within `wait`.
fn readable(device: &File, wait: Duration) -> bool {
    let mut poll = libc::pollfd { fd: device.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for a descriptor we hold open.
    let rc = unsafe { libc::poll(&mut poll, 1, wait.as_millis() as libc::c_int) };
    rc > 0 && poll.revents & libc::POLLIN != 0
}

/// xorshift64*: reproducible decisions from a seed.
struct XorShift(u64);

impl XorShift {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}
