//! CPU time from `/proc`: of this process (every thread), of a process tree
//! (this process with its children, or node and the Chromium it started), and
//! of the whole machine. Shared by the bench binaries (`#[path]` module).

#![allow(dead_code)] // each bench uses part of it

use std::collections::HashMap;
use std::time::Duration;

/// User + system CPU time of this process so far (`getrusage(RUSAGE_SELF)`).
pub fn process_cpu() -> Duration {
    // SAFETY: rusage is plain old data; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time so far of `root` and every process below it, by (pid, start time)
/// so that a reused pid is not mistaken for the same process.
pub fn tree_cpu(root: u32) -> HashMap<(u32, u64), Duration> {
    let all: HashMap<u32, Stat> =
        all_pids().into_iter().filter_map(|pid| stat(pid).map(|s| (pid, s))).collect();
    let mut out = HashMap::new();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        let Some(s) = all.get(&pid) else { continue };
        out.insert((pid, s.start), s.cpu);
        pending.extend(all.iter().filter(|(_, c)| c.parent == pid).map(|(&p, _)| p));
    }
    out
}

/// CPU the tree used between two [`tree_cpu`] readings (processes that ended meanwhile are not counted).
pub fn tree_cpu_between(
    before: &HashMap<(u32, u64), Duration>,
    after: &HashMap<(u32, u64), Duration>,
) -> Duration {
    after.iter().map(|(key, &cpu)| cpu.saturating_sub(before.get(key).copied().unwrap_or_default())).sum()
}

/// Every pid below `root`, `root` included.
pub fn tree_pids(root: u32) -> Vec<(u32, u64)> {
    tree_cpu(root).into_keys().collect()
}

/// The start time of `pid` (clock ticks since boot), to tell a reused pid apart.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).map(|s| s.start)
}

struct Stat {
    parent: u32,
    start: u64,
    cpu: Duration,
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text[text.rfind(')')? + 2..].split(' ').collect();
    // Fields from 3 (state) on: ppid is 4, utime 14, stime 15, starttime 22 (proc(5)).
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat { parent: field(4)? as u32, start: field(22)?, cpu: ticks(field(14)? + field(15)?) })
}

/// CPU time the whole machine used since boot (user + nice + system + steal from
/// `/proc/stat`; interrupts, where loopback delivery is often counted, are left out
/// as they belong to no process).
pub fn machine_cpu() -> Duration {
    machine_cpu_and_softirq().0
}

/// [`machine_cpu`] and, apart, the softirq time: loopback packet delivery runs
/// there, which the kernel may count rather than in the sending process.
pub fn machine_cpu_and_softirq() -> (Duration, Duration) {
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
    let busy = [0, 1, 2, 7].iter().filter_map(|&i| f.get(i)).sum();
    (ticks(busy), ticks(f.get(6).copied().unwrap_or(0)))
}

/// utime + stime of process `pid` (all its threads) so far; zero once it is gone.
pub fn pid_cpu(pid: u32) -> Duration {
    stat(pid).map_or(Duration::ZERO, |s| s.cpu)
}

fn ticks(n: u64) -> Duration {
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(n * 1_000_000_000 / hz)
}
