//! A small Internet in network namespaces, made by a test and removed when it
//! is dropped (also when the test fails):
//!
//! ```text
//!   peer A 10.1.0.2 ── router A (NAT) 203.0.113.11 ─┐
//!                                                  ├─ "public" bridge 203.0.113.1:
//!   peer B 10.2.0.2 ── router B (NAT) 203.0.113.12 ─┘   signaling server, STUN/TURN
//! ```
//!
//! The routers masquerade (a "cone" NAT keeps the port across destinations, a
//! symmetric one draws a random port per connection), and router A can drop
//! the UDP of its network (a locked-down office). Code runs inside a
//! namespace on a thread of its own ([`Topology::spawn_in`]): the sockets it
//! opens belong to that namespace. Processes start there with `ip netns exec`.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};

/// The public address of the servers.
pub const SERVER_IP: &str = "203.0.113.1";

/// Where code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The public segment: signaling server and relays.
    Public,
    /// Peer A, behind router A.
    A,
    /// Peer B, behind router B.
    B,
}

/// How a router maps its network's connections to its public address.
///
/// Either way, unsolicited UDP from outside is dropped before the router
/// remembers it: otherwise Linux would keep the early packet of a hole-punching
/// peer as a connection of its own and give the next outgoing mapping another
/// port, turning a cone NAT symmetric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Endpoint-independent mapping (Linux masquerade keeps the source port): hole punching works.
    Cone,
    /// A random public port per connection: the mapping the STUN server saw is useless to others.
    Symmetric,
}

/// What router A lets out of its network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    /// Everything.
    Open,
    /// No UDP at all; TCP to anywhere.
    NoUdp,
    /// No UDP, and TCP only to these public ports (e.g. signaling and TURN over TLS).
    TcpOnlyTo(&'static [u16]),
}

pub struct Topology {
    prefix: String,
    children: Vec<Child>,
    /// Dropping these ends the runtimes running inside the namespaces.
    runtimes: Vec<tokio::sync::oneshot::Sender<()>>,
}

/// Tests of one process (`cargo test` runs them as threads) get topologies of their own.
static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn run(args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let (program, rest) = args.split_first().expect("a command");
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/debian-packages/turn.txt)"));
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Removes namespaces left by test processes that died without cleaning up.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("tnd") else { continue };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl Topology {
    pub fn new(nat_a: Nat, nat_b: Nat, firewall_a: Firewall) -> Self {
        sweep_stale();
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let topology = Topology {
            prefix: format!("tnd{}x{n}", std::process::id()),
            children: Vec::new(),
            runtimes: Vec::new(),
        };
        let [public, ra, rb, a, b] = ["pub", "ra", "rb", "a", "b"].map(|n| format!("{}{n}", topology.prefix));
        for ns in [&public, &ra, &rb, &a, &b] {
            run(&["ip", "netns", "add", ns], None);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"], None);
        }
        run(&["ip", "-n", &public, "link", "add", "br0", "type", "bridge"], None);
        run(&["ip", "-n", &public, "addr", "add", &format!("{SERVER_IP}/24"), "dev", "br0"], None);
        run(&["ip", "-n", &public, "link", "set", "br0", "up"], None);
        for (router, peer, port, wan_ip, lan, nat, firewall) in [
            (&ra, &a, "pa", "203.0.113.11", "10.1.0", nat_a, firewall_a),
            (&rb, &b, "pb", "203.0.113.12", "10.2.0", nat_b, Firewall::Open),
        ] {
            run(
                &[
                    "ip", "-n", &public, "link", "add", port, "type", "veth", "peer", "name", "wan", "netns",
                    router,
                ],
                None,
            );
            run(&["ip", "-n", &public, "link", "set", port, "master", "br0", "up"], None);
            run(&["ip", "-n", router, "addr", "add", &format!("{wan_ip}/24"), "dev", "wan"], None);
            run(&["ip", "-n", router, "link", "set", "wan", "up"], None);
            run(
                &[
                    "ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0",
                    "netns", peer,
                ],
                None,
            );
            run(&["ip", "-n", router, "addr", "add", &format!("{lan}.1/24"), "dev", "lan"], None);
            run(&["ip", "-n", router, "link", "set", "lan", "up"], None);
            run(&["ip", "-n", peer, "addr", "add", &format!("{lan}.2/24"), "dev", "eth0"], None);
            run(&["ip", "-n", peer, "link", "set", "eth0", "up"], None);
            run(&["ip", "-n", peer, "route", "add", "default", "via", &format!("{lan}.1")], None);
            run(&["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], None);
            let mapping = match nat {
                Nat::Cone => "masquerade",
                Nat::Symmetric => "masquerade random,fully-random",
            };
            let filter = match firewall {
                Firewall::Open => String::new(),
                Firewall::NoUdp => "    iifname \"lan\" meta l4proto udp drop\n".to_owned(),
                Firewall::TcpOnlyTo(ports) => {
                    let ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
                    format!(
                        "    iifname \"lan\" meta l4proto udp drop\n    iifname \"lan\" tcp dport != {{ {ports} }} reject with tcp reset\n"
                    )
                }
            };
            let rules = format!(
                "table ip tandem_nat {{\n  chain post {{\n    type nat hook postrouting priority 100; policy accept;\n    oifname \"wan\" {mapping}\n  }}\n}}\n\
                 table inet tandem_filter {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n    iifname \"wan\" meta l4proto udp ct state new drop\n  }}\n  chain forward {{\n    type filter hook forward priority 0; policy accept;\n{filter}  }}\n}}\n"
            );
            run(&["ip", "netns", "exec", router, "nft", "-f", "-"], Some(&rules));
        }
        topology
    }

    /// The namespace's name (for `ip netns exec`).
    pub fn ns(&self, host: Host) -> String {
        let tag = match host {
            Host::Public => "pub",
            Host::A => "a",
            Host::B => "b",
        };
        format!("{}{tag}", self.prefix)
    }

    pub fn server_ip(&self) -> IpAddr {
        SERVER_IP.parse().unwrap()
    }

    /// Starts `command` inside `host`'s namespace; it is killed when the topology is dropped.
    pub fn spawn(&mut self, host: Host, program: &str, args: &[&str]) -> &mut Child {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(host), program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        self.children.push(child);
        self.children.last_mut().unwrap()
    }

    /// A runtime on a thread of its own inside `host`'s namespace: what its
    /// tasks open (sockets, threads) lives there. It stops with the topology.
    pub fn runtime(&mut self, host: Host) -> tokio::runtime::Handle {
        let path = format!("/run/netns/{}", self.ns(host));
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            enter(&path);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            handle_tx.send(runtime.handle().clone()).unwrap();
            let _ = runtime.block_on(stop_rx);
        });
        self.runtimes.push(stop_tx);
        handle_rx.recv().expect("the namespace thread started")
    }
}

/// Moves the calling thread into the namespace at `path` (threads it starts follow).
fn enter(path: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // SAFETY: plain system call on a file descriptor we own; it changes only this thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}

impl Drop for Topology {
    fn drop(&mut self) {
        self.runtimes.clear();
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for tag in ["a", "b", "ra", "rb", "pub"] {
            let _ = Command::new("ip").args(["netns", "del", &format!("{}{tag}", self.prefix)]).status();
        }
    }
}

/// Kills every process inside namespace `ns` (by the ids `ip netns pids`
/// lists) and waits until none is left. A browser started by a test's driver
/// script, and its helper processes, would otherwise outlive the killed driver.
pub fn kill_processes_in(ns: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = Command::new("ip").args(["netns", "pids", ns]).output();
        let pids: Vec<i32> = out
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
            })
            .unwrap_or_default();
        let pids: Vec<i32> = pids.into_iter().filter(|&pid| pid != std::process::id() as i32).collect();
        if pids.is_empty() {
            return;
        }
        if std::time::Instant::now() > deadline {
            eprintln!("processes {pids:?} still in namespace {ns}");
            return;
        }
        for pid in pids {
            // SAFETY: plain system call; the process is one the test started inside its own namespace.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
