//! A transfer survives the loss of its channel (TOOL-5, `docs/file-transfer.md`
//! §5): at about half of a 100 MB download and of a 100 MB upload between two
//! native peers, the CSR drops the transfer's channel as a lost connection
//! would and carries on over a new one (`resume`); each file completes with
//! the right SHA-256, and the sender sent again no more than one window.

#[path = "files_harness/mod.rs"]
mod harness;

use harness::*;
use tandem_peer::files::transfer::SenderConfig;
use tandem_peer::session::Command;
use tandem_wire::channels::TransferId;

const MB: u64 = 1_000_000;
/// The sender's window (the default configuration's).
fn window() -> u64 {
    SenderConfig::default().window_bytes
}

/// At half of transfer `id`, the CSR drops its channel; returns the bytes confirmed then.
async fn interrupt_at_half(csr: &mut Side, id: TransferId) -> u64 {
    let confirmed = csr.half_confirmed(id).await;
    csr.send(Command::FilesInterrupt { with: csr.other, id }).await;
    confirmed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_lost_channel_at_half_resumes_and_resends_at_most_one_window() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let down_hash = seeded_file(&root.path().join("down.bin"), 100 * MB, 21);
    let up_hash = seeded_file(&local.path().join("up.bin"), 100 * MB, 22);
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();

    let mut p = pair(root.path(), |_| {}).await;
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    // Download: the host sends.
    let id = TransferId(7);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("down.bin"), into: into.clone() }).await;
    customer.answer_transfer(true).await;
    let at_loss = interrupt_at_half(csr, id).await;
    let received = Pair::finished(csr, id).await;
    let sent = Pair::finished(customer, id).await;
    assert_eq!(received.total_bytes, 100 * MB);
    assert_eq!(sha256_of(&into.join("down.bin")), down_hash);
    let resent = sent.sent_bytes - 100 * MB;
    println!("download: channel dropped with {at_loss} bytes confirmed; {resent} bytes sent again");
    assert!(resent <= window(), "download resent {resent} bytes, more than one window ({})", window());

    // Upload: the CSR sends.
    let id = TransferId(8);
    csr.send(Command::FilesUpload {
        to: csr.other,
        id,
        local: local.path().join("up.bin"),
        folder: at(""),
        overwrite: false,
    })
    .await;
    customer.answer_transfer(true).await;
    let at_loss = interrupt_at_half(csr, id).await;
    let sent = Pair::finished(csr, id).await;
    Pair::finished(customer, id).await;
    assert_eq!(sha256_of(&root.path().join("up.bin")), up_hash);
    let resent = sent.sent_bytes - 100 * MB;
    println!("upload: channel dropped with {at_loss} bytes confirmed; {resent} bytes sent again");
    assert!(resent <= window(), "upload resent {resent} bytes, more than one window ({})", window());
    assert!(tree(root.path()).iter().all(|p| !p.contains(".tandem-")), "{:?}", tree(root.path()));
}
