//! A node driver (playwright-core and Chromium) that speaks one JSON object a
//! line: commands on its stdin, answers on its stdout. Shared by the bench
//! binaries (`#[path]` module).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// Starts `node <driver> <args>` in the repository at `root`. Each JSON line it
/// prints goes to `deliver` (until that returns `false`); any other line is
/// printed as the driver's (`name`). `skip` names the flag that leaves the
/// driver out, for the message when playwright-core is not installed.
pub fn spawn(
    root: &Path,
    driver: &str,
    args: &[String],
    name: &'static str,
    skip: &str,
    mut deliver: impl FnMut(Value) -> bool + Send + 'static,
) -> anyhow::Result<(Child, Option<ChildStdin>)> {
    if !root.join("node_modules/playwright-core").is_dir() {
        bail!("node_modules/playwright-core is missing: run `npm ci` in {} (or pass {skip})", root.display());
    }
    let mut child = Command::new("node")
        .arg(root.join(driver))
        .args(args)
        .current_dir(root)
        // Headless Chromium needs no X server; it must not open anything on a measured one.
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting node (apt-get install nodejs)")?;
    let stdout = child.stdout.take().context("piped stdout")?;
    std::thread::Builder::new().name(format!("{name} driver")).spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if !deliver(v) {
                        break;
                    }
                }
                Err(_) => eprintln!("{name} driver: {line}"),
            }
        }
    })?;
    let stdin = child.stdin.take();
    Ok((child, stdin))
}
