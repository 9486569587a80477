//! Who used the CPU during a measurement: the whole machine (`/proc/stat`)
//! against this bench's process tree (this process with the server and the
//! peers, Xvfb, node and every Chromium process under it, from
//! `/proc/PID/stat`). What is left is other programs: engineers' builds on a
//! shared machine. A run is only quotable when that is about zero.

use std::collections::HashMap;
use std::time::Duration;

/// A reading to subtract a later one from.
#[derive(Debug, Clone)]
pub struct Reading {
    /// CPU time used since boot (user + nice + system + steal; interrupts, where loopback
    /// delivery is often counted, are left out as they belong to no process).
    machine: Duration,
    /// CPU time of each process of the bench's tree, by (pid, start time).
    tree: HashMap<(u32, u64), Duration>,
}

/// CPU used between two readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub wall: Duration,
    /// By the bench's process tree.
    pub ours: Duration,
    /// By everything else.
    pub other: Duration,
}

impl Usage {
    /// Other programs' CPU, in % of one core.
    pub fn other_percent(&self) -> f64 {
        100.0 * self.other.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }

    pub fn ours_percent(&self) -> f64 {
        100.0 * self.ours.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

impl Reading {
    pub fn now() -> Self {
        Self { machine: machine_cpu(), tree: tree_cpu(std::process::id()) }
    }

    /// What was used from `self` to `later`, over `wall` time. A process of the tree that
    /// started in between counts from zero; one that ended in between is lost (less "ours",
    /// more "other": the error goes the safe way).
    pub fn until(&self, later: &Reading, wall: Duration) -> Usage {
        let ours: Duration = later
            .tree
            .iter()
            .map(|(key, &t)| t.saturating_sub(self.tree.get(key).copied().unwrap_or_default()))
            .sum();
        let machine = later.machine.saturating_sub(self.machine);
        Usage { wall, ours, other: machine.saturating_sub(ours) }
    }
}

/// Every process under `root` (itself included), as (pid, start time in clock ticks).
pub fn descendants(root: u32) -> Vec<(u32, u64)> {
    let procs = all_processes();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, p) in &procs {
        children.entry(p.ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Some(p) = procs.get(&pid) {
            out.push((pid, p.start));
        }
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    out
}

/// The start time of `pid` now (to check a remembered process is still the same one).
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.start)
}

struct ProcStat {
    ppid: u32,
    cpu_ticks: u64,
    start: u64,
}

fn tree_cpu(root: u32) -> HashMap<(u32, u64), Duration> {
    let procs = all_processes();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, p) in &procs {
        children.entry(p.ppid).or_default().push(pid);
    }
    let mut out = HashMap::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if let Some(p) = procs.get(&pid) {
            out.insert((pid, p.start), ticks(p.cpu_ticks));
        }
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    out
}

fn all_processes() -> HashMap<u32, ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return HashMap::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .collect()
}

fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // state(0) ppid(1) … utime(11) stime(12) … starttime(19)
    Some(ProcStat { ppid: n(1)? as u32, cpu_ticks: n(11)? + n(12)?, start: n(19)? })
}

fn machine_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    ticks([0, 1, 2, 7].iter().filter_map(|&i| f.get(i)).sum())
}

fn ticks(n: u64) -> Duration {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Duration::from_secs_f64(n as f64 / if hz > 0 { hz as f64 } else { 100.0 })
}
