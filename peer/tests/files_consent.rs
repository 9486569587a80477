//! Nothing moves without the customer's yes (TOOL-5, TOOL-7): file transfer
//! refused → nothing listed; a download or an upload refused → nothing
//! transferred, nothing created on either disk; system information arrives
//! only after the customer allows it, and a no is a no; "End file
//! transfer" on the customer's side ends it.

#[path = "files_harness/mod.rs"]
mod harness;

use harness::*;
use tandem_peer::session::{Command, Event, FilesAsk};
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::{ListId, TransferErrorCode};
use tandem_wire::channels::system_info::{InfoRefusal, InfoRequestId};

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn refusals_move_nothing_and_system_information_waits_for_the_yes() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    seeded_file(&root.path().join("secret.bin"), 2_000_000, 5);
    std::fs::create_dir(root.path().join("docs")).unwrap();
    seeded_file(&local.path().join("up.bin"), 1_000_000, 6);
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();
    let root_before = tree(root.path());

    let mut p = pair(root.path(), |_| {}).await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    // Before any yes: no listing.
    csr.send(Command::FilesList { to: csr.other, list_id: ListId(1), path: at("") }).await;
    let code = csr
        .wait_for("the refused listing", |e| match e {
            Event::FilesListFailed { list_id: ListId(1), code, .. } => Some(*code),
            Event::FilesListing { .. } => panic!("listed before file transfer was allowed"),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::NotOpen);

    // File transfer refused.
    csr.send(Command::FilesOpen { to: csr.other }).await;
    let asked = customer.answer(false).await;
    assert!(
        matches!(&asked, FilesAsk::Open { roots } if roots == &[root.path().display().to_string()]),
        "{asked:?}"
    );
    let code = csr
        .wait_for("file transfer refused", |e| match e {
            Event::FilesClosed { code, .. } => Some(*code),
            Event::FilesOpened { .. } => panic!("opened after a no"),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::Denied);

    // Allowed; then a download refused: nothing arrives, nothing is created.
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);
    let id = TransferId(1);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("secret.bin"), into: into.clone() })
        .await;
    let asked = customer.answer_transfer(false).await;
    assert_eq!((asked.item.as_str(), asked.bytes), ("secret.bin", 2_000_000));
    assert_eq!(csr.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(tree(&into), Vec::<String>::new(), "nothing created on the CSR's side");

    // An upload refused: nothing lands in the customer's folder.
    let id = TransferId(2);
    csr.send(Command::FilesUpload {
        to: csr.other,
        id,
        local: local.path().join("up.bin"),
        folder: at("docs"),
        overwrite: false,
    })
    .await;
    let asked = customer.answer_transfer(false).await;
    assert_eq!((asked.item.as_str(), asked.bytes), ("up.bin", 1_000_000));
    assert!(asked.place.ends_with("/docs"), "{asked:?}");
    assert_eq!(csr.failed(id).await, TransferErrorCode::Denied);
    assert_eq!(tree(root.path()), root_before, "nothing created on the customer's side");

    // System information: nothing before the yes; a no is a no.
    csr.send(Command::RequestSystemInfo { to: csr.other, request_id: InfoRequestId(1) }).await;
    let (from, request_id) = customer
        .wait_for("the system information prompt", |e| match e {
            Event::FilesPrompt { from, request_id, ask: FilesAsk::SystemInfo, .. } => {
                Some((*from, *request_id))
            }
            _ => None,
        })
        .await;
    assert!(
        !csr.drain().iter().any(|e| matches!(e, Event::SystemInfo { .. })),
        "a report arrived while the customer was still asked"
    );
    customer.send(Command::Decide { from, request_id, allowed: false, window: None }).await;
    let reason = csr
        .wait_for("the refusal", |e| match e {
            Event::SystemInfoRefused { reason, .. } => Some(*reason),
            Event::SystemInfo { .. } => panic!("a report after a no"),
            _ => None,
        })
        .await;
    assert_eq!(reason, InfoRefusal::Denied);

    csr.send(Command::RequestSystemInfo { to: csr.other, request_id: InfoRequestId(2) }).await;
    assert_eq!(customer.answer(true).await, FilesAsk::SystemInfo);
    let report = csr
        .wait_for("the report", |e| match e {
            Event::SystemInfo { report, .. } => Some(report.clone()),
            _ => None,
        })
        .await;
    assert!(report.memory.total_bytes > 0, "{report:?}");
    assert!(report.cpu.as_ref().is_some_and(|c| c.logical_cores > 0), "{report:?}");
    assert!(report.interfaces.items().iter().any(|i| i.name.as_str() == "lo"), "{report:?}");
    assert!(
        report.interfaces.items().iter().all(|i| i.mac.is_none()),
        "no MAC address without the customer's agreement"
    );

    // The customer ends file transfer: the CSR is told, and may list nothing more.
    customer.send(Command::FilesClose { with: customer.other }).await;
    let code = csr
        .wait_for("file transfer ended", |e| match e {
            Event::FilesClosed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::Ended);
    csr.send(Command::FilesList { to: csr.other, list_id: ListId(2), path: at("") }).await;
    let code = csr
        .wait_for("the refused listing", |e| match e {
            Event::FilesListFailed { list_id: ListId(2), code, .. } => Some(*code),
            Event::FilesListing { list_id: ListId(2), .. } => panic!("listed after file transfer ended"),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::NotOpen);

    // The customer's peer recorded all of it in the session report (ADM-2): who, what, how it went.
    let stored = p
        .report_until(|r| {
            r["file_access"].as_array().is_some_and(|a| a.len() == 3)
                && r["system_info"].as_array().is_some_and(|a| a.len() == 2)
        })
        .await;
    let outcomes = |key: &str| -> Vec<String> {
        stored[key].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(outcomes("file_access"), ["denied", "allowed", "revoked"], "{stored:#}");
    let transfers = stored["files_transferred"].as_array().unwrap();
    let summary: Vec<(&str, &str, u64, &str)> = transfers
        .iter()
        .map(|t| {
            (
                t["item"].as_str().unwrap(),
                t["direction"].as_str().unwrap(),
                t["bytes"].as_u64().unwrap(),
                t["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("secret.bin", "download", 2_000_000, "denied"), ("up.bin", "upload", 1_000_000, "denied")],
        "{stored:#}"
    );
    assert!(transfers.iter().all(|t| t["from_name"] == "Ines" && t["with_name"] == "carla"), "{stored:#}");
    let info = stored["system_info"].as_array().unwrap();
    assert_eq!(outcomes("system_info"), ["denied", "allowed"], "{stored:#}");
    assert!(info[0]["report"].is_null(), "nothing collected after a no: {stored:#}");
    // The very report the CSR received.
    assert_eq!(info[1]["report"], serde_json::to_value(&report).unwrap(), "{stored:#}");
}
