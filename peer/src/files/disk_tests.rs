//! Transfers between real folders: a granted root on the customer's side, a
//! download folder on the other, and an `outside/` that must stay untouched.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tandem_wire::channels::remote_files::{RootId, TransferMessage};

use super::*;
use crate::files::sandbox::Resolver;
use crate::files::transfer::{Event, Receiver, ReceiverConfig, Sender, SenderConfig, Transmit};

struct World {
    _tmp: tempfile::TempDir,
    host: PathBuf,
    csr: PathBuf,
    outside: PathBuf,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        let (host, csr, outside) = (base.join("host"), base.join("csr"), base.join("outside"));
        for d in [&host, &csr, &outside] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(outside.join("secret.txt"), b"SECRET").unwrap();
        Self { host: host.clone(), csr, outside, _tmp: tmp }
    }

    fn roots(&self, dir: &Path) -> Roots {
        Roots::grant(&[dir.to_path_buf()], Resolver::detect()).unwrap()
    }

    fn sink(&self, dir: &Path) -> DiskSink {
        let roots = self.roots(dir);
        DiskSink::new(roots.path(&remote("")).unwrap().open_dir().unwrap())
    }

    fn outside_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn remote(p: &str) -> RemotePath {
    RemotePath { root: RootId(0), path: RelativePath::parse(p).unwrap() }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + i / 251) as u8) ^ seed).collect()
}

/// Every file below `dir` with its SHA-256, by relative path (folders end in `/`).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn visit(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                out.insert(format!("{rel}/"), String::new());
                visit(base, &p, out);
            } else if meta.is_file() {
                let digest = Sha256::digest(std::fs::read(&p).unwrap());
                out.insert(rel, digest.iter().map(|b| format!("{b:02x}")).collect());
            } else {
                out.insert(rel, "special".into());
            }
        }
    }
    visit(dir, dir, &mut out);
    out
}

#[derive(Default)]
struct Link {
    to_receiver: VecDeque<Transmit>,
    to_sender: VecDeque<TransferMessage>,
    lost: u64,
}

impl Link {
    fn queued(&self) -> usize {
        self.to_receiver.iter().map(|t| if let Transmit::Chunk(c) = t { c.len() } else { 0 }).sum()
    }

    fn kill(&mut self) {
        for t in self.to_receiver.drain(..) {
            if let Transmit::Chunk(c) = t {
                self.lost += c.len() as u64;
            }
        }
        self.to_sender.clear();
    }
}

/// One round; returns the receiver's events.
fn step<S: FileSource, K: FileSink>(
    s: &mut Sender<S>,
    r: &mut Receiver<K>,
    link: &mut Link,
    deliver: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(t) = s.poll_transmit(link.queued()) {
        link.to_receiver.push_back(t);
    }
    for _ in 0..deliver {
        let Some(t) = link.to_receiver.pop_front() else { break };
        match t {
            Transmit::Text(m) => r.on_message(m),
            Transmit::Chunk(c) => r.on_chunk(&c),
        }
        while let Some(e) = r.poll_event() {
            if e == Event::ManifestReady {
                match r.preflight() {
                    Ok(()) => r.start(),
                    Err(code) => r.refuse(code),
                }
            }
            events.push(e);
        }
    }
    while let Some(Transmit::Text(m)) = r.poll_transmit() {
        link.to_sender.push_back(m);
    }
    while let Some(m) = link.to_sender.pop_front() {
        s.on_message(m);
    }
    events
}

fn run<S: FileSource, K: FileSink>(s: &mut Sender<S>, r: &mut Receiver<K>, link: &mut Link) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..1_000_000 {
        if s.is_over() && r.is_over() && link.to_receiver.is_empty() {
            return events;
        }
        events.extend(step(s, r, link, 16));
    }
    panic!("did not settle: {events:?}");
}

const CAP: ReceiverConfig = ReceiverConfig { max_transfer_bytes: 1 << 40, overwrite: false };

#[test]
fn a_folder_download_keeps_its_tree_and_skips_what_cannot_travel() {
    let w = World::new();
    let photos = w.host.join("photos");
    std::fs::create_dir_all(photos.join("2024/summer")).unwrap();
    std::fs::create_dir_all(photos.join("empty")).unwrap();
    std::fs::write(photos.join("a.jpg"), pattern(200_000, 1)).unwrap();
    std::fs::write(photos.join("2024/b.jpg"), pattern(70_000, 2)).unwrap();
    std::fs::write(photos.join("2024/summer/c.jpg"), b"").unwrap();
    symlink(&w.outside, photos.join("escape")).unwrap();
    symlink("a.jpg", photos.join("inside-link")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        photos.join("fifo").as_path(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();

    let roots = w.roots(&w.host);
    let plan = plan_download(&roots, &remote("photos"), 1 << 40).unwrap();
    assert_eq!(plan.skipped, 3, "two links and a FIFO");
    assert_eq!(plan.manifest.entries()[0].path.as_str(), "photos");
    assert_eq!(plan.manifest.total_bytes(), 270_000);
    let mut s = Sender::new(plan.manifest, plan.skipped, plan.source, SenderConfig::default());
    let mut r = Receiver::new(w.sink(&w.csr), CAP);
    let events = run(&mut s, &mut r, &mut Link::default());
    assert_eq!(events.last(), Some(&Event::Finished), "{events:?}");
    assert_eq!(r.skipped(), 3);

    let mut expected = tree(&photos);
    expected.retain(|k, _| !["escape", "inside-link", "fifo"].contains(&k.as_str()));
    let got = tree(&w.csr.join("photos"));
    assert_eq!(got, expected, "same tree, same bytes (the empty folder included)");
    assert!(got.contains_key("empty/"));
    assert_eq!(w.outside_files(), ["secret.txt"]);
}

#[test]
fn a_single_file_downloads_under_its_name_and_a_special_file_does_not() {
    let w = World::new();
    std::fs::create_dir(w.host.join("docs")).unwrap();
    std::fs::write(w.host.join("docs/report.pdf"), pattern(100_000, 7)).unwrap();
    let roots = w.roots(&w.host);
    let plan = plan_download(&roots, &remote("docs/report.pdf"), 1 << 40).unwrap();
    assert_eq!(plan.manifest.entries()[0].path.as_str(), "report.pdf");
    let mut s = Sender::new(plan.manifest, 0, plan.source, SenderConfig::default());
    let mut r = Receiver::new(w.sink(&w.csr), CAP);
    run(&mut s, &mut r, &mut Link::default());
    assert_eq!(std::fs::read(w.csr.join("report.pdf")).unwrap(), pattern(100_000, 7));

    let too_small_cap = plan_download(&roots, &remote("docs"), 99_999).unwrap_err();
    assert_eq!(too_small_cap.code, TransferErrorCode::TooLarge);
    symlink(&w.outside, w.host.join("out")).unwrap();
    assert_eq!(
        plan_download(&roots, &remote("out"), 1 << 40).unwrap_err().code,
        TransferErrorCode::OutsideRoots
    );
    assert_eq!(
        plan_download(&roots, &remote("nope"), 1 << 40).unwrap_err().code,
        TransferErrorCode::NotFound
    );
    let listing = list(&roots, &remote("docs")).unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].size, 100_000);
}

#[test]
fn an_upload_killed_at_half_resumes_into_the_same_temporary_file() {
    let w = World::new();
    let size = 8 * 1024 * 1024 + 5;
    std::fs::write(w.csr.join("big.bin"), pattern(size, 3)).unwrap();
    let csr_roots = w.roots(&w.csr);
    let plan = plan_download(&csr_roots, &remote("big.bin"), 1 << 40).unwrap();
    let cfg = SenderConfig { window_bytes: 1024 * 1024, ..SenderConfig::default() };
    let mut s = Sender::new(plan.manifest, 0, plan.source, cfg);
    let mut r = Receiver::new(w.sink(&w.host), CAP);
    let mut link = Link::default();
    while r.progress().confirmed_bytes < size as u64 / 2 {
        step(&mut s, &mut r, &mut link, 3);
    }
    // One temporary file holds the first half, hidden, beside where the file will be.
    let temps: Vec<String> =
        std::fs::read_dir(&w.host).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(temps.len(), 1);
    assert!(temps[0].starts_with(".tandem-") && temps[0].ends_with(".part"), "{temps:?}");
    link.kill();
    s.suspend();
    r.suspend();
    s.resume().unwrap();
    r.resume().unwrap();
    let events = run(&mut s, &mut r, &mut link);
    assert_eq!(events.last(), Some(&Event::Finished));
    assert_eq!(std::fs::read(w.host.join("big.bin")).unwrap(), pattern(size, 3));
    let resent = s.progress().sent_bytes - size as u64;
    assert_eq!(resent, link.lost);
    assert!(resent <= cfg.window_bytes, "resent {resent}");
    assert_eq!(tree(&w.host).len(), 1, "no temporary file left");
}

#[test]
fn a_hash_mismatch_on_disk_leaves_no_file_and_no_temporary_file() {
    let w = World::new();
    std::fs::write(w.csr.join("x.bin"), pattern(300_000, 4)).unwrap();
    let csr_roots = w.roots(&w.csr);
    let plan = plan_download(&csr_roots, &remote("x.bin"), 1 << 40).unwrap();
    let mut s = Sender::new(plan.manifest, 0, plan.source, SenderConfig::default());
    let mut r = Receiver::new(w.sink(&w.host), CAP);
    let mut link = Link::default();
    let mut events = Vec::new();
    let mut flipped = false;
    for _ in 0..1000 {
        while let Some(t) = s.poll_transmit(0) {
            link.to_receiver.push_back(t);
        }
        if !flipped
            && let Some(Transmit::Chunk(c)) =
                link.to_receiver.iter_mut().rev().find(|t| matches!(t, Transmit::Chunk(_)))
        {
            c[0] ^= 0x80;
            flipped = true;
        }
        events.extend(step(&mut s, &mut r, &mut link, 1));
        if r.is_over() && s.is_over() {
            break;
        }
    }
    assert_eq!(events.last(), Some(&Event::Failed(TransferErrorCode::HashMismatch)));
    assert!(tree(&w.host).is_empty(), "nothing renamed into place, no temporary file: {:?}", tree(&w.host));
}

#[test]
fn existing_files_are_kept_unless_the_customer_said_yes() {
    let w = World::new();
    std::fs::write(w.csr.join("notes.txt"), b"new").unwrap();
    std::fs::write(w.host.join("notes.txt"), b"old").unwrap();
    let csr_roots = w.roots(&w.csr);
    for overwrite in [false, true] {
        let plan = plan_download(&csr_roots, &remote("notes.txt"), 1 << 40).unwrap();
        let mut s = Sender::new(plan.manifest, 0, plan.source, SenderConfig::default());
        let mut r = Receiver::new(w.sink(&w.host), ReceiverConfig { overwrite, ..CAP });
        let events = run(&mut s, &mut r, &mut Link::default());
        if overwrite {
            assert_eq!(events.last(), Some(&Event::Finished));
            assert_eq!(std::fs::read(w.host.join("notes.txt")).unwrap(), b"new");
        } else {
            assert_eq!(events.last(), Some(&Event::Failed(TransferErrorCode::Exists)));
            assert_eq!(std::fs::read(w.host.join("notes.txt")).unwrap(), b"old");
        }
    }
    assert_eq!(tree(&w.host).len(), 1);
}

#[test]
fn a_folder_swapped_for_a_link_between_files_stops_the_upload_outside_stays_untouched() {
    let w = World::new();
    let src = w.csr.join("up");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("sub/a.bin"), pattern(100_000, 1)).unwrap();
    std::fs::write(src.join("sub/b.bin"), pattern(100_000, 2)).unwrap();
    let csr_roots = w.roots(&w.csr);
    let plan = plan_download(&csr_roots, &remote("up"), 1 << 40).unwrap();
    let mut s = Sender::new(plan.manifest, 0, plan.source, SenderConfig::default());
    let mut r = Receiver::new(w.sink(&w.host), CAP);
    let mut link = Link::default();
    let mut events = Vec::new();
    let mut swapped = false;
    for _ in 0..10_000 {
        events.extend(step(&mut s, &mut r, &mut link, 1));
        if !swapped && events.contains(&Event::FileDone { index: 2 }) {
            // a.bin is in place; now up/sub becomes a link to outside/.
            std::fs::rename(w.host.join("up/sub"), w.host.join("up/sub-moved")).unwrap();
            symlink(&w.outside, w.host.join("up/sub")).unwrap();
            swapped = true;
        }
        if r.is_over() && s.is_over() {
            break;
        }
    }
    assert!(swapped);
    assert_eq!(events.last(), Some(&Event::Failed(TransferErrorCode::OutsideRoots)), "{events:?}");
    assert_eq!(w.outside_files(), ["secret.txt"], "nothing written through the link");
    assert!(w.host.join("up/sub-moved/a.bin").exists());
}

#[test]
fn a_dropped_sink_removes_its_temporary_files() {
    let w = World::new();
    let mut sink = w.sink(&w.host);
    sink.begin(0, &RelativePath::parse("a").unwrap()).unwrap();
    sink.write_at(0, 0, b"partial").unwrap();
    assert_eq!(tree(&w.host).len(), 1);
    drop(sink);
    assert!(tree(&w.host).is_empty());
}
