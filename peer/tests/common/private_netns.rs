//! A network namespace of the calling thread alone, for tests that change the
//! network under two peers on one machine (`files_ice_restart.rs` drops all
//! UDP with nftables, `files_netem.rs` sends it through a lossy link).
//!
//! [`enter`] unshares the thread's network namespace: the new one has only
//! `lo`, nothing outside the test can reach it, and it disappears with the
//! last thread in it, so nothing is left behind when a test fails. Threads
//! and processes started from the thread afterwards (a tokio runtime, `ip`,
//! `nft`) inherit it; call it before starting any.

use std::process::{Command, Stdio};

/// Moves the calling thread into a new network namespace with `lo` up and a
/// multicast route on it (the peers' mDNS). Needs root.
pub fn enter() {
    // SAFETY: plain system call; this thread has no other users of its network
    // namespace yet. Threads and children started from here on inherit it.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET) needs root: {}", std::io::Error::last_os_error());
    run("ip", &["link", "set", "lo", "up"], None);
    run("ip", &["link", "set", "lo", "multicast", "on"], None);
    run("ip", &["route", "add", "224.0.0.0/4", "dev", "lo"], None);
}

/// Runs `program` (in the caller's namespace) with `stdin`; panics unless it succeeds.
pub fn run(program: &str, args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/debian-packages)"));
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// What `program` printed (it must succeed).
pub fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
