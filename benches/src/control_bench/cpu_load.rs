//! Who used the CPU during a measurement: the whole machine (`/proc/stat`)
//! against this bench's process tree (this process with the server and the
//! peers, Xvfb, node and every Chromium process under it, from
//! `/proc/PID/stat`). What is left is other programs: engineers' builds on a
//! shared machine. A run is only quotable when that is about zero.

use std::collections::HashMap;
use std::time::Duration;

use crate::proc_cpu::{machine_cpu, tree_cpu};

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
