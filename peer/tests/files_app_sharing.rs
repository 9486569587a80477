//! Advanced file transfer is unavailable while the CSR views or controls one
//! of the customer's applications (TOOL-5, the spec's rule): an open file
//! transfer is closed with `application_sharing_active` as soon as the
//! customer allows an application view, and a new `open` or a download is
//! refused with the same code, without asking the customer and without
//! creating anything.

#[path = "files_harness/mod.rs"]
mod harness;

use harness::common::video_feed;
use harness::*;
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::{Command, Event};
use tandem_peer::video::VideoSource;
use tandem_peer::video::WindowId;
use tandem_peer::video::screen_selector::{ScreenSelector, ScreenTarget};
use tandem_peer::video::test_pattern::TestPattern;
use tandem_wire::channels::remote_files::TransferErrorCode;
use tandem_wire::channels::{Capability, TransferId};

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn file_transfer_is_refused_while_an_application_is_viewed() {
    let root = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    seeded_file(&root.path().join("a.bin"), 100_000, 9);

    // The customer's screen can show one window (a selector), so an application view can be allowed.
    let selector = ScreenSelector::new(ScreenTarget::Nothing);
    let (screen, _pipeline) = video_feed(
        MediaKind::Screen,
        Box::new(|| Ok(Box::new(TestPattern::new(320, 240)) as Box<dyn VideoSource>)),
    );
    screen.attach_selector(selector.clone());
    let media = Media { feeds: vec![screen], video_sinks: None, audio_sinks: None };
    let mut p = pair_with_media(root.path(), |_| {}, media).await;
    p.open().await;
    let (csr, customer) = (&mut p.csr, &mut p.customer);

    // The customer lets the CSR see one window: file transfer closes.
    csr.send(Command::RequestConsent { to: csr.other, capability: Capability::ViewApplication }).await;
    let (from, request_id) = customer
        .wait_for("the application prompt", |e| match e {
            Event::ConsentPrompt { from, request_id, capability: Capability::ViewApplication, .. } => {
                Some((*from, *request_id))
            }
            _ => None,
        })
        .await;
    let window = Some(WindowId(7));
    customer.send(Command::Decide { from, request_id, allowed: true, window }).await;
    let code = csr
        .wait_for("file transfer closed", |e| match e {
            Event::FilesClosed { code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::ApplicationSharingActive);
    assert_eq!(selector.get(), ScreenTarget::Window(WindowId(7)), "the window is what is shown");

    // Asking again is refused at once, the customer is not asked.
    csr.send(Command::FilesOpen { to: csr.other }).await;
    let code = csr
        .wait_for("open refused", |e| match e {
            Event::FilesClosed { code, .. } => Some(*code),
            Event::FilesOpened { .. } => panic!("file transfer opened during application viewing"),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::ApplicationSharingActive);

    // A transfer is refused too; nothing is created.
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();
    let id = TransferId(1);
    csr.send(Command::FilesDownload { from: csr.other, id, path: at("a.bin"), into: into.clone() }).await;
    let code = csr
        .wait_for("the download refused", |e| match e {
            Event::TransferFailed { id: i, code, .. } if *i == id => Some(*code),
            Event::TransferFinished { .. } => panic!("a file moved during application viewing"),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::ApplicationSharingActive);
    assert_eq!(tree(&into), Vec::<String>::new());
    let prompts = customer.drain().into_iter().filter(|e| matches!(e, Event::FilesPrompt { .. })).count();
    assert_eq!(prompts, 0, "the customer was asked about file transfer during application viewing");
}
