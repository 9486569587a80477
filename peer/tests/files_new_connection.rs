//! A transfer survives a new peer connection between the same two participants
//! (TOOL-5, `docs/file-transfer.md` §5): at about half of a 100 MB download and
//! of a 100 MB upload, the CSR replaces its peer connection to the customer by a
//! new one (`Command::Reconnect`, a new DTLS certificate and SCTP association; the
//! customer's side follows the new offer). What the customer allowed ends as on
//! any return: file access is recorded `gone`, and each transfer is asked again
//! with the same prompt. After a yes it completes from the receiver's place with
//! the right SHA-256, the sender having sent again no more than one window; after
//! a no it fails at the CSR and nothing partial is left on either disk.

#[path = "files_harness/mod.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::*;
use tandem_peer::files::transfer::SenderConfig;
use tandem_peer::session::{Command, Direction, Event, TransferSummary};
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::TransferErrorCode;

const MB: u64 = 1_000_000;

/// The sender's window (the default configuration's).
fn window() -> u64 {
    SenderConfig::default().window_bytes
}

/// At half of transfer `id`, the CSR makes a new peer connection to the customer;
/// returns the bytes confirmed then.
async fn reconnect_at_half(csr: &mut Side, id: TransferId) -> u64 {
    let confirmed = csr.half_confirmed(id).await;
    csr.send(Command::Reconnect { with: csr.other }).await;
    confirmed
}

/// On the customer's side: file access ends with the old connection.
async fn access_ended(customer: &mut Side) {
    customer
        .wait_for("the end of file access", |e| match e {
            Event::FilesAccess { open: false, .. } => Some(()),
            Event::TransferFailed { id, code, .. } => {
                panic!("transfer {} failed on the host: {code:?}", id.0)
            }
            _ => None,
        })
        .await;
}

/// What [`allowed_again_after_a_new_connection`] saw.
struct Resumed {
    /// The second prompt (the same as the first).
    asked: TransferSummary,
    /// Bytes the CSR had confirmed when it made the new connection.
    at_loss: u64,
    /// When it made it.
    replaced: Instant,
    /// From then to the second prompt.
    asked_after: Duration,
}

/// The customer allows transfer `id`; at half of it the CSR makes a new peer
/// connection; the customer's file access ends with the old one, and they are
/// asked again about the same transfer (a return asks again) and say yes.
async fn allowed_again_after_a_new_connection(
    csr: &mut Side,
    customer: &mut Side,
    id: TransferId,
) -> Resumed {
    let first = customer.answer_transfer(true).await;
    let at_loss = reconnect_at_half(csr, id).await;
    let replaced = Instant::now();
    access_ended(customer).await;
    let asked = customer.answer_transfer(true).await;
    let asked_after = replaced.elapsed();
    assert_eq!(asked, first, "the second prompt");
    Resumed { asked, at_loss, replaced, asked_after }
}

/// After the second yes and the transfer's end: no other prompt came (a leftover
/// of the old connection asks nothing), and the report has file access allowed
/// then gone, and the transfer completed.
async fn asked_no_more_and_reported(p: &mut Pair) {
    let prompts = p.customer.drain().into_iter().filter(|e| matches!(e, Event::FilesPrompt { .. })).count();
    assert_eq!(prompts, 0, "prompts after the second yes");
    let report = p
        .report_until(|r| {
            outcomes(r, "file_access").len() == 2 && outcomes(r, "files_transferred").len() == 1
        })
        .await;
    assert_eq!(outcomes(&report, "file_access"), ["allowed", "gone"], "{report:#}");
    assert_eq!(outcomes(&report, "files_transferred"), ["completed"], "{report:#}");
}

fn no_temp_files(dir: &Path) {
    let left = tree(dir);
    assert!(left.iter().all(|f| !f.contains(".tandem-")), "temporary files left: {left:?}");
}

/// Outcomes of one kind of record in the session report, in order.
fn outcomes(report: &serde_json::Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .map(|a| a.iter().map(|r| r["outcome"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_new_peer_connection_at_half_of_a_download_resumes_after_a_second_yes() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let hash = seeded_file(&root.path().join("down.bin"), 100 * MB, 41);
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();

    let mut p = pair(root.path(), |_| {}).await;
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    let id = TransferId(9);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("down.bin"), into: into.clone() }).await;
    let Resumed { asked, at_loss, replaced, asked_after } =
        allowed_again_after_a_new_connection(csr, customer, id).await;
    assert_eq!(
        (asked.direction, asked.item.as_str(), asked.bytes),
        (Direction::Download, "down.bin", 100 * MB)
    );
    let received = Pair::finished(csr, id).await;
    let sent = Pair::finished(customer, id).await;
    let finished_after = replaced.elapsed();
    assert_eq!(received.total_bytes, 100 * MB);
    assert_eq!(sha256_of(&into.join("down.bin")), hash);
    // The host's sender lived through the new connection: it counts every byte it sent.
    let resent = sent.sent_bytes - 100 * MB;
    println!(
        "download: new peer connection with {at_loss} bytes confirmed; asked again after {asked_after:?}, \
         finished {finished_after:?} after it; {resent} bytes sent again"
    );
    assert!(resent <= window(), "download resent {resent} bytes, more than one window ({})", window());
    no_temp_files(root.path());
    no_temp_files(&into);
    asked_no_more_and_reported(&mut p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_new_peer_connection_at_half_of_an_upload_resumes_after_a_second_yes() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let hash = seeded_file(&local.path().join("up.bin"), 100 * MB, 42);

    let mut p = pair(root.path(), |_| {}).await;
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    let id = TransferId(10);
    let local_file = local.path().join("up.bin");
    csr.send(Command::FilesUpload { to: csr.other, id, local: local_file, folder: at(""), overwrite: false })
        .await;
    let Resumed { asked, at_loss, replaced, asked_after } =
        allowed_again_after_a_new_connection(csr, customer, id).await;
    assert_eq!((asked.direction, asked.item.as_str(), asked.bytes), (Direction::Upload, "up.bin", 100 * MB));
    let sent = Pair::finished(csr, id).await;
    Pair::finished(customer, id).await;
    let finished_after = replaced.elapsed();
    assert_eq!(sha256_of(&root.path().join("up.bin")), hash);
    let resent = sent.sent_bytes - 100 * MB;
    println!(
        "upload: new peer connection with {at_loss} bytes confirmed; asked again after {asked_after:?}, \
         finished {finished_after:?} after it; {resent} bytes sent again"
    );
    assert!(resent <= window(), "upload resent {resent} bytes, more than one window ({})", window());
    no_temp_files(root.path());
    asked_no_more_and_reported(&mut p).await;
}

/// The second prompt answered no, for a download and then (file transfer opened
/// again, a second new connection) an upload: each fails at the CSR with `denied`,
/// and nothing partial is left on either side.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_no_to_the_second_prompt_ends_the_transfer_and_leaves_nothing_partial() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    seeded_file(&root.path().join("down.bin"), 100 * MB, 43);
    seeded_file(&local.path().join("up.bin"), 100 * MB, 44);
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();
    let root_before = tree(root.path());

    let mut p = pair(root.path(), |_| {}).await;
    p.open().await;

    // Download, denied the second time.
    let (csr, customer) = (&mut p.csr, &mut p.customer);
    let id = TransferId(11);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("down.bin"), into: into.clone() }).await;
    customer.answer_transfer(true).await;
    reconnect_at_half(csr, id).await;
    access_ended(customer).await;
    customer.answer_transfer(false).await;
    assert_eq!(csr.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(customer.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(tree(&into), Vec::<String>::new(), "nothing of the download on the CSR's disk");
    assert_eq!(tree(root.path()), root_before);

    // Upload, after file transfer was allowed again, denied the second time.
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);
    let id = TransferId(12);
    let local_file = local.path().join("up.bin");
    csr.send(Command::FilesUpload { to: csr.other, id, local: local_file, folder: at(""), overwrite: false })
        .await;
    customer.answer_transfer(true).await;
    reconnect_at_half(csr, id).await;
    access_ended(customer).await;
    customer.answer_transfer(false).await;
    assert_eq!(csr.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(customer.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(tree(root.path()), root_before, "nothing of the upload on the customer's disk");
    assert_eq!(tree(&into), Vec::<String>::new());

    let report = p
        .report_until(|r| {
            outcomes(r, "file_access").len() == 4 && outcomes(r, "files_transferred").len() == 2
        })
        .await;
    assert_eq!(outcomes(&report, "file_access"), ["allowed", "gone", "allowed", "gone"], "{report:#}");
    assert_eq!(outcomes(&report, "files_transferred"), ["denied", "denied"], "{report:#}");
}
