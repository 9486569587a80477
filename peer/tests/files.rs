//! Advanced file transfer between two native peers through the real server
//! (TOOL-5, `docs/file-transfer.md`): the CSR opens file transfer (the
//! customer allows it), browses the granted folder, downloads a 200 MB file,
//! uploads a 100 MB one and downloads a folder with its tree; every transfer
//! is allowed by the customer, and the SHA-256 of each file on both disks is
//! the same.

#[path = "files_harness/mod.rs"]
mod harness;

use harness::*;
use tandem_peer::session::{Command, Direction, Event};
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::{EntryKind, ListId};

const MB: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn browse_download_upload_and_a_folder_keep_every_byte() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    let big_hash = seeded_file(&root.path().join("big.bin"), 200 * MB, 7);
    std::fs::create_dir_all(root.path().join("tree/sub/deeper")).unwrap();
    std::fs::create_dir_all(root.path().join("tree/empty")).unwrap();
    let a_hash = seeded_file(&root.path().join("tree/a.txt"), 3, 1);
    let b_hash = seeded_file(&root.path().join("tree/sub/b.bin"), 300_000, 2);
    let c_hash = seeded_file(&root.path().join("tree/sub/deeper/c.bin"), 0, 3);
    let up_hash = seeded_file(&local.path().join("up.bin"), 100 * MB, 11);

    let mut p = pair(root.path(), |_| {}).await;
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    // Browse: the root's entries with kinds and sizes.
    csr.send(Command::FilesList { to: csr.other, list_id: ListId(1), path: at("") }).await;
    let entries = csr
        .wait_for("the listing", |e| match e {
            Event::FilesListing { list_id: ListId(1), entries, last: true, .. } => Some(entries.clone()),
            _ => None,
        })
        .await;
    let shown: Vec<(String, EntryKind, u64)> =
        entries.iter().map(|e| (e.name.as_str().to_owned(), e.kind, e.size)).collect();
    assert_eq!(
        shown,
        [("big.bin".to_owned(), EntryKind::File, 200 * MB), ("tree".to_owned(), EntryKind::Dir, 0)]
    );
    assert!(entries[0].modified.is_some(), "a file's modification time is shown");

    // Download 200 MB.
    let into = local.path().join("downloads");
    std::fs::create_dir(&into).unwrap();
    let id = TransferId(1);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("big.bin"), into: into.clone() }).await;
    let asked = customer.answer_transfer(true).await;
    let started = std::time::Instant::now();
    assert_eq!(
        (asked.direction, asked.item.as_str(), asked.bytes, asked.files),
        (Direction::Download, "big.bin", 200 * MB, 1)
    );
    let hash = csr
        .wait_for("the downloaded file's hash", |e| match e {
            Event::TransferFile { id: i, sha256, .. } if *i == id => Some(sha256.as_str().to_owned()),
            Event::TransferFailed { id: i, code, .. } if *i == id => panic!("download failed: {code:?}"),
            _ => None,
        })
        .await;
    let progress = Pair::finished(csr, id).await;
    // A figure for the log (debug build, loopback, both ends hashing), not a check.
    let took = started.elapsed();
    println!("200 MB download: {took:?}, {:.0} MB/s", 200.0 / took.as_secs_f64());
    assert_eq!(progress.total_bytes, 200 * MB);
    assert_eq!(hash, big_hash, "the hash the host sent");
    assert_eq!(sha256_of(&into.join("big.bin")), big_hash, "the bytes on the CSR's disk");
    let sent = Pair::finished(customer, id).await;
    assert_eq!(sent.sent_bytes, 200 * MB, "nothing sent twice without a loss");

    // Upload 100 MB into the root.
    let id = TransferId(2);
    csr.send(Command::FilesUpload {
        to: csr.other,
        id,
        local: local.path().join("up.bin"),
        folder: at(""),
        overwrite: false,
    })
    .await;
    let asked = customer.answer_transfer(true).await;
    assert_eq!((asked.direction, asked.item.as_str(), asked.bytes), (Direction::Upload, "up.bin", 100 * MB));
    Pair::finished(csr, id).await;
    Pair::finished(customer, id).await;
    assert_eq!(sha256_of(&root.path().join("up.bin")), up_hash, "the bytes on the customer's disk");

    // A folder keeps its tree, the empty folder included.
    let id = TransferId(3);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("tree"), into: into.clone() }).await;
    let asked = customer.answer_transfer(true).await;
    assert_eq!((asked.item.as_str(), asked.files, asked.bytes), ("tree", 3, 300_003));
    Pair::finished(csr, id).await;
    assert_eq!(
        tree(&into.join("tree")),
        ["a.txt", "empty/", "sub/", "sub/b.bin", "sub/deeper/", "sub/deeper/c.bin"]
    );
    assert_eq!(sha256_of(&into.join("tree/a.txt")), a_hash);
    assert_eq!(sha256_of(&into.join("tree/sub/b.bin")), b_hash);
    assert_eq!(sha256_of(&into.join("tree/sub/deeper/c.bin")), c_hash);
    // No temporary file left anywhere.
    assert!(tree(local.path()).iter().all(|p| !p.contains(".tandem-")), "{:?}", tree(local.path()));
    assert!(tree(root.path()).iter().all(|p| !p.contains(".tandem-")), "{:?}", tree(root.path()));
}
