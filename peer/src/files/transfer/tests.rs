//! The sender and receiver talking through an in-memory link that can lose
//! everything in flight, with in-memory files; every test counts bytes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sha2::{Digest, Sha256};
use tandem_wire::channels::remote_files::{
    ACK_INTERVAL_BYTES, EntryKind, ItemKind, MAX_CHUNK_BYTES, ManifestEntry, RelativePath, TransferErrorCode,
    TransferMessage,
};

use super::*;

const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// in-memory files

#[derive(Default)]
struct MemSource {
    files: BTreeMap<u32, Vec<u8>>,
    /// What `open` reports as the modification time (the manifest's unless changed).
    modified: BTreeMap<u32, Option<i64>>,
    bytes_read: u64,
}

impl FileSource for MemSource {
    fn open(&mut self, index: u32, entry: &ManifestEntry) -> Result<SourceMeta, AccessError> {
        let data =
            self.files.get(&index).ok_or_else(|| AccessError::new(TransferErrorCode::NotFound, "gone"))?;
        let modified = self.modified.get(&index).copied().unwrap_or(entry.modified);
        Ok(SourceMeta { size: data.len() as u64, modified })
    }

    fn read_at(&mut self, index: u32, offset: u64, buf: &mut [u8]) -> Result<usize, AccessError> {
        let data = &self.files[&index];
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        self.bytes_read += n as u64;
        Ok(n)
    }
}

#[derive(Default)]
struct MemSink {
    temps: BTreeMap<u32, Vec<u8>>,
    placed: BTreeMap<RelativePath, Vec<u8>>,
    dirs: BTreeSet<RelativePath>,
    /// What was there before the transfer.
    existing: BTreeMap<RelativePath, EntryKind>,
    discarded: u32,
}

impl FileSink for MemSink {
    fn existing(&mut self, path: &RelativePath) -> Result<Option<EntryKind>, AccessError> {
        Ok(self.existing.get(path).copied())
    }

    fn create_dir(&mut self, path: &RelativePath) -> Result<(), AccessError> {
        self.dirs.insert(path.clone());
        Ok(())
    }

    fn begin(&mut self, index: u32, _path: &RelativePath) -> Result<(), AccessError> {
        self.temps.insert(index, Vec::new());
        Ok(())
    }

    fn write_at(&mut self, index: u32, offset: u64, bytes: &[u8]) -> Result<(), AccessError> {
        let temp = self.temps.get_mut(&index).expect("written after begin");
        temp.truncate(offset as usize);
        assert_eq!(temp.len() as u64, offset, "writes are sequential");
        temp.extend_from_slice(bytes);
        Ok(())
    }

    fn commit(&mut self, index: u32, path: &RelativePath, overwrite: bool) -> Result<(), AccessError> {
        if !overwrite && (self.placed.contains_key(path) || self.existing.contains_key(path)) {
            return Err(AccessError::new(TransferErrorCode::Exists, "there"));
        }
        let bytes = self.temps.remove(&index).expect("committed after begin");
        self.placed.insert(path.clone(), bytes);
        Ok(())
    }

    fn discard(&mut self, index: u32) {
        if self.temps.remove(&index).is_some() {
            self.discarded += 1;
        }
    }
}

fn path(s: &str) -> RelativePath {
    RelativePath::parse(s).unwrap()
}

fn file(p: &str, size: usize) -> ManifestEntry {
    ManifestEntry {
        path: path(p),
        kind: ItemKind::File,
        size: size as u64,
        modified: Some(1_700_000_000_000),
    }
}

fn dir(p: &str) -> ManifestEntry {
    ManifestEntry { path: path(p), kind: ItemKind::Dir, size: 0, modified: None }
}

/// Bytes that differ at every offset, so a misplaced chunk shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect()
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

const NO_CAP: ReceiverConfig = ReceiverConfig { max_transfer_bytes: u64::MAX, overwrite: false };

fn pair(
    entries: Vec<ManifestEntry>,
    data: BTreeMap<u32, Vec<u8>>,
    cfg: SenderConfig,
    rcfg: ReceiverConfig,
) -> (Sender<MemSource>, Receiver<MemSink>) {
    let manifest = Manifest::new(entries, u64::MAX).unwrap();
    let sender = Sender::new(manifest, 0, MemSource { files: data, ..Default::default() }, cfg);
    (sender, Receiver::new(MemSink::default(), rcfg))
}

// ---------------------------------------------------------------------------
// an in-memory link

#[derive(Default)]
struct Link {
    to_receiver: VecDeque<Transmit>,
    to_sender: VecDeque<TransferMessage>,
    /// File bytes thrown away by `kill` while in flight.
    lost_chunk_bytes: u64,
    /// Most file bytes queued towards the receiver at any time.
    peak_queued: u64,
}

impl Link {
    fn queued_bytes(&self) -> usize {
        self.to_receiver.iter().map(|t| if let Transmit::Chunk(c) = t { c.len() } else { 0 }).sum()
    }

    /// The connection dies: everything in flight is lost.
    fn kill(&mut self) {
        for t in self.to_receiver.drain(..) {
            if let Transmit::Chunk(c) = t {
                self.lost_chunk_bytes += c.len() as u64;
            }
        }
        self.to_sender.clear();
    }
}

/// One round: the sender sends what it may, the receiver takes up to
/// `deliver` messages, its answers reach the sender. Returns whether anything moved.
fn step(s: &mut Sender<MemSource>, r: &mut Receiver<MemSink>, link: &mut Link, deliver: usize) -> bool {
    let mut moved = false;
    while let Some(t) = s.poll_transmit(link.queued_bytes()) {
        link.to_receiver.push_back(t);
        moved = true;
    }
    link.peak_queued = link.peak_queued.max(link.queued_bytes() as u64);
    for _ in 0..deliver {
        let Some(t) = link.to_receiver.pop_front() else { break };
        moved = true;
        match t {
            Transmit::Text(m) => r.on_message(m),
            Transmit::Chunk(c) => r.on_chunk(&c),
        }
        while let Some(e) = r.poll_event() {
            if e == Event::ManifestReady {
                r.preflight().unwrap();
                r.start();
            } else {
                r_events_push(e);
            }
        }
    }
    while let Some(Transmit::Text(m)) = r.poll_transmit() {
        link.to_sender.push_back(m);
    }
    while let Some(m) = link.to_sender.pop_front() {
        s.on_message(m);
        moved = true;
    }
    moved
}

thread_local! {
    static R_EVENTS: std::cell::RefCell<Vec<Event>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn r_events_push(e: Event) {
    R_EVENTS.with(|v| v.borrow_mut().push(e));
}

fn take_r_events() -> Vec<Event> {
    R_EVENTS.with(|v| std::mem::take(&mut *v.borrow_mut()))
}

fn s_events(s: &mut Sender<MemSource>) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Runs until both ends are over or nothing moves; panics after too many rounds.
fn run(s: &mut Sender<MemSource>, r: &mut Receiver<MemSink>, link: &mut Link, deliver: usize) {
    for _ in 0..1_000_000 {
        if s.is_over() && r.is_over() && link.to_receiver.is_empty() {
            return;
        }
        if !step(s, r, link, deliver) {
            return;
        }
    }
    panic!("the transfer did not settle");
}

// ---------------------------------------------------------------------------
// tests

#[test]
fn files_of_every_awkward_size_arrive_byte_exact() {
    take_r_events();
    let sizes = [0, 1, 16 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * MAX_CHUNK_BYTES + 17, (MIB + 3) as usize];
    let entries: Vec<ManifestEntry> =
        sizes.iter().enumerate().map(|(i, &n)| file(&format!("f{i}"), n)).collect();
    let data: BTreeMap<u32, Vec<u8>> =
        sizes.iter().enumerate().map(|(i, &n)| (i as u32, pattern(n, i as u8))).collect();
    let (mut s, mut r) = pair(entries, data.clone(), SenderConfig::default(), NO_CAP);
    let mut link = Link::default();
    run(&mut s, &mut r, &mut link, 4);
    assert_eq!(s_events(&mut s), [Event::Finished]);
    let events = take_r_events();
    assert_eq!(events.last(), Some(&Event::Finished));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::FileDone { .. })).count(), sizes.len());
    for (i, bytes) in &data {
        let placed = &r.sink().placed[&path(&format!("f{i}"))];
        assert_eq!(sha(placed), sha(bytes), "file {i}");
        assert_eq!(placed.len(), bytes.len());
    }
    let total: u64 = sizes.iter().map(|&n| n as u64).sum();
    assert_eq!(s.progress().sent_bytes, total, "nothing sent twice");
    assert_eq!(r.progress().confirmed_bytes, total);
    assert!(r.sink().temps.is_empty());
}

#[test]
fn a_folder_keeps_its_tree_and_a_long_manifest_travels_in_pages() {
    take_r_events();
    let mut entries = vec![dir("photos"), dir("photos/2024"), dir("photos/empty")];
    let mut data = BTreeMap::new();
    for i in 0..2500u32 {
        data.insert(entries.len() as u32, pattern((i % 7) as usize * 1000, i as u8));
        entries.push(file(&format!("photos/2024/img-{i:04}.jpg"), (i % 7) as usize * 1000));
    }
    let (mut s, mut r) = pair(entries.clone(), data.clone(), SenderConfig::default(), NO_CAP);
    let mut link = Link::default();
    // The manifest alone takes several messages.
    let mut pages = 0;
    while let Some(Transmit::Text(TransferMessage::Manifest { entries, last, .. })) = s.poll_transmit(0) {
        pages += 1;
        r.on_message(TransferMessage::Manifest {
            entries: tandem_wire::channels::remote_files::ManifestPage::new(entries.into_items()).unwrap(),
            last,
            skipped: 0,
        });
        if last {
            break;
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(r.poll_event(), Some(Event::ManifestReady));
    r.preflight().unwrap();
    r.start();
    run(&mut s, &mut r, &mut link, 8);
    assert_eq!(s_events(&mut s), [Event::Finished]);
    let sink = r.sink();
    assert_eq!(sink.dirs, [path("photos"), path("photos/2024"), path("photos/empty")].into_iter().collect());
    assert_eq!(sink.placed.len(), 2500);
    for (index, bytes) in &data {
        assert_eq!(&sink.placed[&entries[*index as usize].path], bytes);
    }
}

#[test]
fn killed_at_half_it_resumes_and_resends_at_most_one_window() {
    take_r_events();
    let size = 12 * MIB as usize + 12_345;
    let bytes = pattern(size, 9);
    let cfg =
        SenderConfig { chunk_bytes: MAX_CHUNK_BYTES, window_bytes: MIB, high_water_bytes: 4 * MIB as usize };
    let (mut s, mut r) = pair(vec![file("big.iso", size)], [(0, bytes.clone())].into(), cfg, NO_CAP);
    let mut link = Link::default();
    // Deliver slowly so that a window's worth is always in flight.
    while r.progress().confirmed_bytes < size as u64 / 2 {
        assert!(step(&mut s, &mut r, &mut link, 3), "stalled before half way");
    }
    let in_flight_at_kill = link.queued_bytes() as u64;
    assert!(in_flight_at_kill > 0, "something was in flight");
    link.kill();
    s.suspend();
    r.suspend();
    // A new connection: the sender waits for the receiver's start.
    s.resume().unwrap();
    r.resume().unwrap();
    let Some(Transmit::Text(start)) = r.poll_transmit() else { panic!("the receiver says where to start") };
    let TransferMessage::Start { index: 0, offset, prefix_sha256: Some(_) } = start else {
        panic!("{start:?}")
    };
    assert!(offset >= size as u64 / 2, "it starts where the receiver is, not at 0");
    s.on_message(start);
    run(&mut s, &mut r, &mut link, 3);

    assert_eq!(s_events(&mut s), [Event::Finished]);
    assert_eq!(sha(&r.sink().placed[&path("big.iso")]), sha(&bytes));
    let resent = s.progress().sent_bytes - size as u64;
    println!(
        "killed at {offset} of {size} bytes: {in_flight_at_kill} in flight, {resent} resent, window {}",
        cfg.window_bytes
    );
    assert_eq!(resent, link.lost_chunk_bytes, "only what was lost in flight is sent again");
    assert!(resent <= cfg.window_bytes, "resent {resent} > one window");
    assert!(link.peak_queued <= cfg.window_bytes, "never more than a window in flight");
    // The sender re-read at most one window to check the prefix (from its last checkpoint).
    assert!(s.source().bytes_read <= size as u64 + 2 * cfg.window_bytes, "read {}", s.source().bytes_read);
}

#[test]
fn several_kills_in_a_row_still_end_byte_exact() {
    take_r_events();
    let size = 6 * MIB as usize;
    let bytes = pattern(size, 3);
    let cfg = SenderConfig { window_bytes: 512 * 1024, ..SenderConfig::default() };
    let (mut s, mut r) = pair(
        vec![file("a", 100), file("b", size)],
        [(0, pattern(100, 1)), (1, bytes.clone())].into(),
        cfg,
        NO_CAP,
    );
    let mut link = Link::default();
    let mut kills = 0;
    for round in 0..100_000 {
        if s.is_over() && r.is_over() {
            break;
        }
        step(&mut s, &mut r, &mut link, 1);
        if round % 12 == 11 && !r.is_over() {
            kills += 1;
            link.kill();
            s.suspend();
            r.suspend();
            s.resume().unwrap();
            r.resume().unwrap();
        }
    }
    assert!(kills >= 5, "{kills} kills");
    assert_eq!(sha(&r.sink().placed[&path("b")]), sha(&bytes));
    assert_eq!(s.progress().sent_bytes - (size as u64 + 100), link.lost_chunk_bytes);
}

#[test]
fn a_prefix_that_is_not_the_senders_restarts_that_file_from_zero() {
    take_r_events();
    let size = 2 * MIB as usize;
    let bytes = pattern(size, 5);
    let (mut s, mut r) =
        pair(vec![file("x", size)], [(0, bytes.clone())].into(), SenderConfig::default(), NO_CAP);
    let mut link = Link::default();
    while r.progress().confirmed_bytes < MIB {
        step(&mut s, &mut r, &mut link, 2);
    }
    link.kill();
    s.suspend();
    r.suspend();
    // The partial file on the receiver's side is damaged (in its temporary file and its hash).
    r.hasher.update(b"damage");
    s.resume().unwrap();
    r.resume().unwrap();
    run(&mut s, &mut r, &mut link, 4);
    assert_eq!(s_events(&mut s), [Event::Finished]);
    assert_eq!(sha(&r.sink().placed[&path("x")]), sha(&bytes), "restarted from zero, right in the end");
    assert!(s.progress().sent_bytes >= size as u64 + MIB, "the first megabyte was sent again");
}

#[test]
fn a_hash_mismatch_puts_nothing_in_place() {
    take_r_events();
    let size = 300_000;
    let (mut s, mut r) = pair(
        vec![file("ok", 20_000), file("bad", size)],
        [(0, pattern(20_000, 1)), (1, pattern(size, 2))].into(),
        SenderConfig::default(),
        NO_CAP,
    );
    let mut link = Link::default();
    let mut flipped = false;
    for _ in 0..10_000 {
        if s.is_over() && r.is_over() {
            break;
        }
        while let Some(t) = s.poll_transmit(0) {
            link.to_receiver.push_back(t);
        }
        // One bit of the second file flips on the way (something SCTP never does: a bug or an attack).
        if !flipped
            && r.progress().confirmed_bytes >= 20_000
            && let Some(Transmit::Chunk(c)) =
                link.to_receiver.iter_mut().find(|t| matches!(t, Transmit::Chunk(_)))
        {
            c[100] ^= 1;
            flipped = true;
        }
        step(&mut s, &mut r, &mut link, 1);
    }
    assert!(flipped);
    assert_eq!(take_r_events().last(), Some(&Event::Failed(TransferErrorCode::HashMismatch)));
    assert_eq!(s_events(&mut s), [Event::Failed(TransferErrorCode::HashMismatch)], "the sender is told");
    let sink = r.sink();
    assert!(!sink.placed.contains_key(&path("bad")), "nothing renamed into place");
    assert!(sink.temps.is_empty(), "the temporary file was removed");
    assert_eq!(sink.discarded, 1);
    assert!(sink.placed.contains_key(&path("ok")), "the file checked before stays");
}

#[test]
fn nothing_is_overwritten_without_a_yes() {
    take_r_events();
    let entries = vec![dir("d"), file("d/report.pdf", 10)];
    let data: BTreeMap<u32, Vec<u8>> = [(1, vec![b'n'; 10])].into();
    let mut sink = MemSink::default();
    sink.existing.insert(path("d"), EntryKind::Dir);
    sink.existing.insert(path("d/report.pdf"), EntryKind::File);
    let manifest = Manifest::new(entries.clone(), u64::MAX).unwrap();
    let mut r = Receiver::new(sink, NO_CAP);
    feed_manifest(&mut r, &manifest);
    assert_eq!(r.preflight(), Err(TransferErrorCode::Exists));
    r.refuse(TransferErrorCode::Exists);
    assert_eq!(
        r.poll_transmit(),
        Some(Transmit::Text(TransferMessage::Error { code: TransferErrorCode::Exists }))
    );
    assert!(r.sink().placed.is_empty());

    // A folder where a file should go (and the other way round) is never allowed.
    let mut sink = MemSink::default();
    sink.existing.insert(path("d"), EntryKind::File);
    let mut r = Receiver::new(sink, ReceiverConfig { overwrite: true, ..NO_CAP });
    feed_manifest(&mut r, &manifest);
    assert_eq!(r.preflight(), Err(TransferErrorCode::Exists));

    // With the customer's yes it is replaced.
    let (mut s, mut r) =
        pair(entries, data, SenderConfig::default(), ReceiverConfig { overwrite: true, ..NO_CAP });
    r.sink.existing.insert(path("d/report.pdf"), EntryKind::File);
    run(&mut s, &mut r, &mut Link::default(), 4);
    assert_eq!(r.sink().placed[&path("d/report.pdf")], vec![b'n'; 10]);
}

#[test]
fn a_file_that_appears_during_the_transfer_is_not_overwritten_either() {
    take_r_events();
    let (mut s, mut r) =
        pair(vec![file("a", 10)], [(0, vec![1; 10])].into(), SenderConfig::default(), NO_CAP);
    let mut link = Link::default();
    step(&mut s, &mut r, &mut link, 1); // manifest in, preflight passed, start sent
    r.sink.existing.insert(path("a"), EntryKind::File); // created by someone else meanwhile
    run(&mut s, &mut r, &mut link, 4);
    assert_eq!(take_r_events(), [Event::Failed(TransferErrorCode::Exists)]);
    assert_eq!(s_events(&mut s), [Event::Failed(TransferErrorCode::Exists)]);
    assert!(r.sink().placed.is_empty() && r.sink().temps.is_empty());
}

fn feed_manifest(r: &mut Receiver<MemSink>, m: &Manifest) {
    r.on_message(TransferMessage::Manifest {
        entries: tandem_wire::channels::remote_files::ManifestPage::new(m.entries().to_vec()).unwrap(),
        last: true,
        skipped: 0,
    });
    assert_eq!(r.poll_event(), Some(Event::ManifestReady));
}

#[test]
fn the_size_cap_and_the_manifest_rules_are_enforced_before_any_byte() {
    let big = vec![file("a", 600), file("b", 600)];
    let mut r =
        Receiver::new(MemSink::default(), ReceiverConfig { max_transfer_bytes: 1000, overwrite: false });
    r.on_message(TransferMessage::Manifest {
        entries: tandem_wire::channels::remote_files::ManifestPage::new(big).unwrap(),
        last: false,
        skipped: 0,
    });
    assert_eq!(r.poll_event(), Some(Event::Failed(TransferErrorCode::TooLarge)));
    assert_eq!(
        r.poll_transmit(),
        Some(Transmit::Text(TransferMessage::Error { code: TransferErrorCode::TooLarge }))
    );

    for (bad, why) in [
        (vec![file("a/b", 1)], "a file whose folder did not come first"),
        (vec![file("a", 1), file("a", 1)], "a duplicate"),
        (vec![ManifestEntry { size: 5, ..dir("d") }], "a folder with a size"),
        (vec![dir("d"), file("d", 1)], "a file named like a folder"),
        (vec![file("a", u64::MAX as usize), file("b", 1)], "sizes that overflow"),
    ] {
        let got = Manifest::new(bad, u64::MAX);
        assert!(got.is_err(), "{why}: {got:?}");
    }
    let mut builder = ManifestBuilder::new(u64::MAX);
    let many: Vec<ManifestEntry> = (0..=tandem_wire::channels::remote_files::MAX_MANIFEST_ENTRIES)
        .map(|i| file(&format!("f{i}"), 0))
        .collect();
    assert_eq!(builder.add(many), Err(TransferErrorCode::TooLarge));
}

#[test]
fn protocol_violations_fail_the_transfer_and_leave_nothing() {
    let entries = vec![file("a", 100_000)];
    type Case = (&'static str, fn(&mut Receiver<MemSink>));
    let cases: [Case; 8] = [
        ("a chunk before file_begin", |r| r.on_chunk(&[0; 20_000])),
        ("file_begin for another file", |r| r.on_message(TransferMessage::FileBegin { index: 1, offset: 0 })),
        ("file_begin at an offset never held", |r| {
            r.on_message(TransferMessage::FileBegin { index: 0, offset: 5 })
        }),
        ("a chunk over 64 KiB", |r| {
            r.on_message(TransferMessage::FileBegin { index: 0, offset: 0 });
            r.on_chunk(&vec![0; MAX_CHUNK_BYTES + 1]);
        }),
        ("a short chunk in the middle", |r| {
            r.on_message(TransferMessage::FileBegin { index: 0, offset: 0 });
            r.on_chunk(&[0; 100]);
        }),
        ("more bytes than the size", |r| {
            r.on_message(TransferMessage::FileBegin { index: 0, offset: 0 });
            r.on_chunk(&[0; 60_000]);
            r.on_chunk(&[0; 60_000]);
        }),
        ("file_end before every byte", |r| {
            r.on_message(TransferMessage::FileBegin { index: 0, offset: 0 });
            r.on_chunk(&[0; 60_000]);
            r.on_message(TransferMessage::FileEnd {
                index: 0,
                sha256: Sha256Hex::parse("0".repeat(64)).unwrap(),
            });
        }),
        ("a message only a receiver sends", |r| r.on_message(TransferMessage::Ack { index: 0, offset: 0 })),
    ];
    for (what, act) in cases {
        let mut r = Receiver::new(MemSink::default(), NO_CAP);
        feed_manifest(&mut r, &Manifest::new(entries.clone(), u64::MAX).unwrap());
        r.start();
        let _ = r.poll_transmit();
        act(&mut r);
        assert_eq!(r.poll_event(), Some(Event::Failed(TransferErrorCode::BadMessage)), "{what}");
        assert!(r.sink().placed.is_empty() && r.sink().temps.is_empty(), "{what}");
        assert!(r.is_over());
    }

    // The sender's side: an ack beyond what was sent, a start without the prefix hash.
    let sender_cases: [(&str, TransferMessage); 4] = [
        ("an ack past what was sent", TransferMessage::Ack { index: 0, offset: 99_999 }),
        ("a start past the end", TransferMessage::Start { index: 2, offset: 0, prefix_sha256: None }),
        (
            "a resume point without its hash",
            TransferMessage::Start { index: 0, offset: 5, prefix_sha256: None },
        ),
        ("a message only a sender sends", TransferMessage::FileBegin { index: 0, offset: 0 }),
    ];
    for (what, msg) in sender_cases {
        let (mut s, _) =
            pair(entries.clone(), [(0, vec![0; 100_000])].into(), SenderConfig::default(), NO_CAP);
        while s.poll_transmit(0).is_some() {}
        if matches!(msg, TransferMessage::Ack { .. }) {
            s.on_message(TransferMessage::Start { index: 0, offset: 0, prefix_sha256: None });
        }
        s.on_message(msg);
        assert_eq!(s_events(&mut s), [Event::Failed(TransferErrorCode::BadMessage)], "{what}");
    }
}

#[test]
fn the_sender_keeps_to_its_window_and_to_the_channels_buffer() {
    let size = 8 * MIB as usize;
    let cfg = SenderConfig { chunk_bytes: 32 * 1024, window_bytes: MIB, high_water_bytes: 16 * MIB as usize };
    let (mut s, _) = pair(vec![file("a", size)], [(0, pattern(size, 0))].into(), cfg, NO_CAP);
    while s.poll_transmit(0).is_some() {}
    s.on_message(TransferMessage::Start { index: 0, offset: 0, prefix_sha256: None });
    // No ack: it stops at exactly one window.
    let mut chunk_bytes = 0;
    while let Some(t) = s.poll_transmit(0) {
        if let Transmit::Chunk(c) = t {
            assert_eq!(c.len(), 32 * 1024);
            chunk_bytes += c.len() as u64;
        }
    }
    assert_eq!(chunk_bytes, MIB);
    // An ack opens the window by what it confirms.
    s.on_message(TransferMessage::Ack { index: 0, offset: ACK_INTERVAL_BYTES });
    let more: u64 = std::iter::from_fn(|| s.poll_transmit(0))
        .map(|t| if let Transmit::Chunk(c) = t { c.len() as u64 } else { 0 })
        .sum();
    assert_eq!(more, ACK_INTERVAL_BYTES);
    s.on_message(TransferMessage::Ack { index: 0, offset: 2 * ACK_INTERVAL_BYTES });
    // A full channel buffer holds it back whatever the window says.
    assert_eq!(s.poll_transmit(16 * MIB as usize + 1), None);
    assert!(matches!(s.poll_transmit(0), Some(Transmit::Chunk(_))));
}

#[test]
fn cancelling_mid_file_removes_the_partial_file_and_keeps_finished_ones() {
    take_r_events();
    let (mut s, mut r) = pair(
        vec![file("first", 1000), file("second", 4 * MIB as usize)],
        [(0, vec![1; 1000]), (1, pattern(4 * MIB as usize, 4))].into(),
        SenderConfig::default(),
        NO_CAP,
    );
    let mut link = Link::default();
    while r.progress().confirmed_bytes < MIB {
        step(&mut s, &mut r, &mut link, 2);
    }
    r.cancel();
    run(&mut s, &mut r, &mut link, 4);
    assert_eq!(s_events(&mut s), [Event::Cancelled]);
    assert!(r.sink().temps.is_empty());
    assert_eq!(r.sink().placed.keys().collect::<Vec<_>>(), [&path("first")]);
    assert!(s.progress().sent_bytes < 3 * MIB, "the sender stopped reading");
}

#[test]
fn a_file_changed_since_the_manifest_is_not_resumed() {
    take_r_events();
    let size = 2 * MIB as usize;
    let (mut s, mut r) =
        pair(vec![file("log", size)], [(0, pattern(size, 6))].into(), SenderConfig::default(), NO_CAP);
    let mut link = Link::default();
    while r.progress().confirmed_bytes < MIB {
        step(&mut s, &mut r, &mut link, 2);
    }
    link.kill();
    s.suspend();
    r.suspend();
    s.source.modified.insert(0, Some(1_800_000_000_000));
    s.resume().unwrap();
    r.resume().unwrap();
    run(&mut s, &mut r, &mut link, 4);
    assert_eq!(s_events(&mut s), [Event::Failed(TransferErrorCode::Changed)]);
    assert_eq!(take_r_events(), [Event::Failed(TransferErrorCode::Changed)]);
    assert!(r.sink().placed.is_empty() && r.sink().temps.is_empty());
}

#[test]
fn several_transfers_run_at_once_and_a_lost_one_waits_then_expires() {
    let start = Instant::now();
    let mut senders = Transfers::new(3);
    let mut receivers = Transfers::new(3);
    let sizes = [3 * MIB as usize, 1_000_000, 5 * MIB as usize];
    for (i, &size) in sizes.iter().enumerate() {
        let id = TransferId(i as u32 + 1);
        let manifest = Manifest::new(vec![file(&format!("t{i}"), size)], u64::MAX).unwrap();
        let source = MemSource { files: [(0, pattern(size, i as u8))].into(), ..Default::default() };
        let sender = Sender::new(
            manifest,
            0,
            Box::new(source) as Box<dyn FileSource + Send + Sync>,
            SenderConfig::default(),
        );
        senders.insert(id, Transfer::Send(sender)).unwrap();
        let sink = Box::new(MemSink::default()) as Box<dyn FileSink + Send + Sync>;
        receivers.insert(id, Transfer::Receive(Receiver::new(sink, NO_CAP))).unwrap();
    }
    // The limit: a fourth is busy.
    let extra = Receiver::new(Box::new(MemSink::default()) as Box<dyn FileSink + Send + Sync>, NO_CAP);
    assert_eq!(receivers.insert(TransferId(9), Transfer::Receive(extra)), Err(TransferErrorCode::Busy));

    // Round robin, one message per transfer per turn, so that they interleave.
    let mut finished = BTreeSet::new();
    let mut interleaved = false;
    for _ in 0..100_000 {
        let mut moved = false;
        for id in senders.ids() {
            if let Some(t) = senders.poll_transmit(id, 0) {
                moved = true;
                match t {
                    Transmit::Text(m) => receivers.on_message(id, m),
                    Transmit::Chunk(c) => receivers.on_chunk(id, &c),
                }
            }
        }
        let active = receivers
            .ids()
            .iter()
            .filter(|id| receivers.progress(**id).is_some_and(|p| p.confirmed_bytes > 0))
            .count();
        interleaved |= active == 3;
        while let Some((id, e)) = receivers.poll_event() {
            match e {
                Event::ManifestReady => {
                    let Some(Transfer::Receive(r)) = receivers.get_mut(id) else { panic!() };
                    r.preflight().unwrap();
                    r.start();
                }
                Event::Finished => {
                    finished.insert(id);
                }
                Event::FileDone { .. } => {}
                other => panic!("{id:?}: {other:?}"),
            }
        }
        for id in receivers.ids() {
            while let Some(Transmit::Text(m)) = receivers.poll_transmit(id, 0) {
                moved = true;
                senders.on_message(id, m);
            }
        }
        if !moved {
            break;
        }
    }
    assert!(interleaved, "all three were under way at the same time");
    assert_eq!(finished.len(), 3);
    assert!(receivers.is_empty(), "finished transfers are dropped");
    let sender_events: Vec<_> = std::iter::from_fn(|| senders.poll_event()).collect();
    assert_eq!(sender_events.iter().filter(|(_, e)| *e == Event::Finished).count(), 3);
    while senders.ids().iter().any(|id| senders.poll_transmit(*id, 0).is_some()) {}
    assert!(senders.is_empty());

    // A transfer whose channel closes waits for a resume, then expires; its partial file goes.
    let manifest = Manifest::new(vec![file("lost", 2 * MIB as usize)], u64::MAX).unwrap();
    let mut r = Receiver::new(Box::new(MemSink::default()) as Box<dyn FileSink + Send + Sync>, NO_CAP);
    r.on_message(TransferMessage::Manifest {
        entries: tandem_wire::channels::remote_files::ManifestPage::new(manifest.entries().to_vec()).unwrap(),
        last: true,
        skipped: 0,
    });
    r.start();
    r.on_message(TransferMessage::FileBegin { index: 0, offset: 0 });
    r.on_chunk(&[5; 65536]);
    let id = TransferId(42);
    receivers.insert(id, Transfer::Receive(r)).unwrap();
    receivers.channel_closed(id, start);
    assert_eq!(receivers.poll_transmit(id, 0), None, "a suspended transfer sends nothing");
    receivers.expire(start + RESUME_TIMEOUT - Duration::from_secs(1));
    assert_eq!(receivers.len(), 1, "still waiting");
    receivers.resume(id).unwrap();
    let Some(Transmit::Text(TransferMessage::Start { offset: 65536, prefix_sha256: Some(_), .. })) =
        receivers.poll_transmit(id, 0)
    else {
        panic!("a resumed receiver says where it is")
    };
    receivers.channel_closed(id, start + Duration::from_secs(5));
    receivers.expire(start + Duration::from_secs(5) + RESUME_TIMEOUT);
    assert!(receivers.is_empty());
    assert_eq!(std::iter::from_fn(|| receivers.poll_event()).last(), Some((id, Event::Expired)));
    assert_eq!(receivers.resume(id), Err(TransferErrorCode::UnknownTransfer));
}

#[test]
fn an_unreadable_message_fails_either_end_with_bad_message() {
    let mut set = Transfers::new(4);
    let manifest = Manifest::new(vec![file("a", 100_000)], u64::MAX).unwrap();
    let source = MemSource { files: [(0, pattern(100_000, 1))].into(), ..Default::default() };
    let sender = Sender::new(
        manifest,
        0,
        Box::new(source) as Box<dyn FileSource + Send + Sync>,
        SenderConfig::default(),
    );
    set.insert(TransferId(1), Transfer::Send(sender)).unwrap();
    let sink = Box::new(MemSink::default()) as Box<dyn FileSink + Send + Sync>;
    set.insert(TransferId(2), Transfer::Receive(Receiver::new(sink, NO_CAP))).unwrap();
    for id in [TransferId(1), TransferId(2)] {
        // The sender's manifest goes out first; then the failure.
        while let Some(Transmit::Text(TransferMessage::Manifest { .. })) = set.poll_transmit(id, 0) {}
        set.fail(id, TransferErrorCode::BadMessage);
        assert_eq!(
            set.poll_transmit(id, 0),
            Some(Transmit::Text(TransferMessage::Error { code: TransferErrorCode::BadMessage })),
            "{id:?}"
        );
        assert_eq!(set.poll_transmit(id, 0), None);
    }
    let events: Vec<_> = std::iter::from_fn(|| set.poll_event()).collect();
    assert_eq!(
        events,
        [
            (TransferId(1), Event::Failed(TransferErrorCode::BadMessage)),
            (TransferId(2), Event::Failed(TransferErrorCode::BadMessage))
        ]
    );
    assert!(set.is_empty(), "both dropped once their error went out");
}
