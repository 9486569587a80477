//! `tandem-peer`: the native peer. Media and joining come with the native peer issue.

use clap::Parser;

/// Tandem native peer (not functional yet: it only reports its protocol version).
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!(
        "tandem-peer speaks Tandem signaling protocol v{}; joining sessions is not implemented yet.",
        tandem_peer::PROTOCOL_VERSION
    );
    std::process::exit(2);
}
