//! A transfer survives a connection failure and the ICE restart that
//! brings the connection back (TOOL-5): two native peers inside a network
//! namespace of this test process alone; at about half of a 100 MB download
//! an nftables rule drops all UDP, the connection fails, the rule goes, the
//! first offerer restarts ICE, and the download completes with the right
//! SHA-256, the sender having sent again no more than one window.

#[path = "files_harness/mod.rs"]
mod harness;

use std::time::Duration;

use harness::common::private_netns::{self, run};
use harness::*;
use tandem_peer::files::transfer::SenderConfig;
use tandem_peer::link::LinkConfig;
use tandem_peer::session::{Command, Event};
use tandem_wire::channels::TransferId;

const MB: u64 = 1_000_000;

const DROP_UDP: &str = "table inet tandem_files_test {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    meta l4proto udp drop\n  }\n}\n";

#[test]
fn a_download_completes_across_a_failed_connection_and_an_ice_restart() {
    private_netns::enter();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async {
        let root = tempfile::tempdir().unwrap();
        let local = tempfile::tempdir().unwrap();
        let hash = seeded_file(&root.path().join("big.bin"), 100 * MB, 31);
        let into = local.path().join("in");
        std::fs::create_dir(&into).unwrap();
        // Short ICE timers so that the failure shows within seconds.
        let link = LinkConfig {
            ice_timeouts: Some((Duration::from_secs(1), Duration::from_secs(3))),
            ..LinkConfig::loopback()
        };
        let mut p = pair_configured(root.path(), |_| {}, Default::default(), link).await;
        p.open().await;
        let (csr, customer) = (&mut p.csr, &mut p.customer);

        let id = TransferId(1);
        csr.send(Command::FilesDownload { from: csr.other, id, path: at("big.bin"), into: into.clone() })
            .await;
        customer.answer_transfer(true).await;
        csr.half_confirmed(id).await;

        // Cut every UDP path (the signaling WebSocket is TCP and stays).
        run("nft", &["-f", "-"], Some(DROP_UDP));
        let other = csr.other;
        csr.wait_for("the connection to fail", |e| {
            matches!(e, Event::ConnectionFailed(id) if *id == other).then_some(())
        })
        .await;
        run("nft", &["delete", "table", "inet", "tandem_files_test"], None);

        let received = Pair::finished(csr, id).await;
        let sent = Pair::finished(customer, id).await;
        assert_eq!(received.total_bytes, 100 * MB);
        assert_eq!(sha256_of(&into.join("big.bin")), hash);
        let resent = sent.sent_bytes - 100 * MB;
        println!("across the ICE restart: {resent} bytes sent again");
        assert!(resent <= SenderConfig::default().window_bytes, "resent {resent} bytes");
    });
}
