//! Paths that lead outside the customer's granted folder are refused through
//! a real session (TOOL-5, `docs/file-transfer.md` §8): links out of the root
//! (to `/`, to a file beside the root, to a device), a FIFO, a root that was
//! not granted, a name that is not there. Listing, downloading and uploading
//! through them fail with their code before the customer is asked, nothing
//! arrives and nothing is written outside the root. Paths with `..`,
//! absolute paths, NUL, drive letters and backslashes cannot even be decoded
//! (`RelativePath`, unit tests in `wire/src/channels/remote_files.rs`).

#[path = "files_harness/mod.rs"]
mod harness;

use harness::*;
use tandem_peer::session::{Command, Event};
use tandem_wire::channels::TransferId;
use tandem_wire::channels::remote_files::{ListId, RelativePath, RemotePath, RootId, TransferErrorCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn paths_out_of_the_root_are_refused_and_nothing_leaves_or_lands_outside() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("granted");
    let beside = base.path().join("beside");
    std::fs::create_dir_all(root.join("inside")).unwrap();
    std::fs::create_dir_all(&beside).unwrap();
    seeded_file(&beside.join("secret.bin"), 1000, 1);
    seeded_file(&root.join("inside/ok.bin"), 1000, 2);
    std::os::unix::fs::symlink("/", root.join("to-root")).unwrap();
    std::os::unix::fs::symlink(&beside, root.join("to-beside")).unwrap();
    std::os::unix::fs::symlink("../beside/secret.bin", root.join("secret-link")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
    let fifo = root.join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a plain mkfifo(3) on a path this test owns.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let local = tempfile::tempdir().unwrap();
    seeded_file(&local.path().join("up.bin"), 1000, 3);
    let into = local.path().join("in");
    std::fs::create_dir(&into).unwrap();
    let beside_before = tree(&beside);

    let mut p = pair(&root, |_| {}).await;
    p.open().await;
    let csr = &mut p.csr;
    let path = |s: &str| RemotePath { root: RootId(0), path: RelativePath::parse(s).unwrap() };

    let listings = [
        ("to-root", TransferErrorCode::OutsideRoots),
        ("to-beside", TransferErrorCode::OutsideRoots),
        ("missing", TransferErrorCode::NotFound),
        ("inside/ok.bin", TransferErrorCode::NotADirectory),
    ];
    for (n, (p_, want)) in listings.iter().enumerate() {
        let list_id = ListId(n as u32);
        csr.send(Command::FilesList { to: csr.other, list_id, path: path(p_) }).await;
        let code = csr
            .wait_for("a refused listing", |e| match e {
                Event::FilesListFailed { list_id: l, code, .. } if *l == list_id => Some(*code),
                Event::FilesListing { list_id: l, .. } if *l == list_id => panic!("{p_} was listed"),
                _ => None,
            })
            .await;
        assert_eq!(code, *want, "listing {p_}");
    }
    let other_root = RemotePath { root: RootId(3), path: RelativePath::root() };
    csr.send(Command::FilesList { to: csr.other, list_id: ListId(99), path: other_root.clone() }).await;
    let code = csr
        .wait_for("a refused listing", |e| match e {
            Event::FilesListFailed { list_id: ListId(99), code, .. } => Some(*code),
            _ => None,
        })
        .await;
    assert_eq!(code, TransferErrorCode::OutsideRoots, "a root that was not granted");

    let downloads = [
        ("to-root/etc/passwd", TransferErrorCode::OutsideRoots),
        ("to-beside/secret.bin", TransferErrorCode::OutsideRoots),
        ("secret-link", TransferErrorCode::OutsideRoots),
        ("zero", TransferErrorCode::OutsideRoots),
        ("fifo", TransferErrorCode::UnsupportedKind),
        ("missing", TransferErrorCode::NotFound),
    ];
    for (n, (p_, want)) in downloads.iter().enumerate() {
        let id = TransferId(n as u32 + 1);
        csr.send(Command::FilesDownload { from: csr.other, id, path: path(p_), into: into.clone() }).await;
        let code = csr
            .wait_for("a refused download", |e| match e {
                Event::TransferFailed { id: i, code, .. } if *i == id => Some(*code),
                Event::TransferFinished { id: i, .. } if *i == id => panic!("{p_} was downloaded"),
                _ => None,
            })
            .await;
        assert_eq!(code, *want, "downloading {p_}");
    }
    let uploads = [
        ("to-root/tmp", TransferErrorCode::OutsideRoots),
        ("to-beside", TransferErrorCode::OutsideRoots),
        ("inside/ok.bin", TransferErrorCode::NotADirectory),
    ];
    for (n, (folder, want)) in uploads.iter().enumerate() {
        let id = TransferId(n as u32 + 100);
        let local = local.path().join("up.bin");
        csr.send(Command::FilesUpload { to: csr.other, id, local, folder: path(folder), overwrite: false })
            .await;
        let code = csr
            .wait_for("a refused upload", |e| match e {
                Event::TransferFailed { id: i, code, .. } if *i == id => Some(*code),
                Event::TransferFinished { id: i, .. } if *i == id => panic!("uploaded into {folder}"),
                _ => None,
            })
            .await;
        assert_eq!(code, *want, "uploading into {folder} (refused before the customer is asked)");
    }
    assert_eq!(tree(&into), Vec::<String>::new(), "nothing arrived");
    assert_eq!(tree(&beside), beside_before, "nothing written beside the root");
}
