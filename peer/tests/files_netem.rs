//! A 100 MB transfer over a slow, lossy, reordering network arrives
//! byte-exact (TOOL-5, issue 7: "under netem in a network namespace (5%
//! loss, 50 ms delay, 1% reorder), a 100 MB transfer completes byte-exact").
//!
//! Two native peers and the real server run in a network namespace of this
//! test alone (`common/private_netns.rs`). Every UDP packet between the
//! peers crosses a link that drops 5 % of them and holds the others 50 ms,
//! 1 % of those overtaking the rest (`common/lossy_link.rs`: netem's own
//! kernel part is missing on these machines, so the link does in this
//! process what `tc … netem delay 50ms loss 5% reorder 1%` on both ends of a
//! veth pair would). Both directions cross it: the round trip is 100 ms. The
//! whole session runs over it (ICE, DTLS, SCTP, the file transfer's consent
//! and the transfer); the signaling WebSocket (TCP on 127.0.0.1) does not.
//! The server's embedded TURN relay, on 127.0.0.1, cannot send to the
//! link's address (its sends fail with EINVAL, which it logs as errors), so
//! the peers have no path around the link.
//!
//! In CI the link is a jumbo-frame one (MTU 9000) and the peers are told to
//! fill its frames (`--sctp-mtu 8935`, `LinkConfig::sctp_mtu`): about 6.5
//! minutes for the 100 MB download. With Ethernet's MTU and webrtc's 1191-byte
//! SCTP packets the same transfer takes about 45 minutes each way (SCTP's
//! congestion control, see [`TRANSFER_DEADLINE`]): those two tests are
//! `#[ignore]`d and run with `TANDEM_SLOW_TESTS=1 scripts/test.sh`.
//!
//! The test fails unless the link really delayed a probe by 50 ms, carried
//! at least the file's bytes and dropped about 5 % of its packets, and unless
//! the SHA-256 the CSR computed (downloads) and that of the file on the
//! receiver's disk are the seeded file's. The time and throughput are
//! printed, not asserted.

#[path = "files_harness/mod.rs"]
mod harness;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use harness::common::lossy_link::{ADDRESS, Impairment, LossyLink};
use harness::common::private_netns;
use harness::*;
use tandem_peer::files::transfer::Progress;
use tandem_peer::link::LinkConfig;
use tandem_peer::session::{Command, Direction, Event};
use tandem_wire::channels::TransferId;

const MB: u64 = 1_000_000;
/// The transfer's size, as the issue names it.
const SIZE: u64 = 100 * MB;
const IMPAIRMENT: Impairment =
    Impairment { delay: Duration::from_millis(50), loss: 0.05, reorder: 0.01, seed: 0x7e57_f11e, mtu: 1500 };
/// The same link as a jumbo-frame LAN's (9000-byte MTU), with peers configured to
/// fill its frames (`--sctp-mtu`): 7.5 times fewer packets for the same bytes, so
/// 7.5 times fewer losses to recover from.
const JUMBO: Impairment = Impairment { mtu: 9000, ..IMPAIRMENT };
/// The largest SCTP packet a [`JUMBO`] frame carries: IPv4 (20), UDP (8) and DTLS
/// (37) headers around it.
const JUMBO_SCTP_MTU: u32 = JUMBO.mtu - 20 - 8 - 37;
/// The longest the transfer may take. SCTP's congestion control (RFC 4960
/// §7.2.3) halves its window at each loss, and a lost retransmission waits
/// for the 1 s minimum RTO: at 5 % loss and a 100 ms round trip it moves tens
/// of KB/s. Measured (debug build, 2 shared cores): the download took 2691 s,
/// 37 KB/s; the link carried 125,520 packets (122.4 MB: headers, SACKs and
/// retransmissions included), dropped 6,405 (5.10 %), reordered 1,220.
const TRANSFER_DEADLINE: Duration = Duration::from_secs(75 * 60);
/// The transfer counts as stalled when the link carried less than
/// [`STALL_BYTES`] (keep-alives only) within this long.
const STALL: Duration = Duration::from_secs(120);
const STALL_BYTES: u64 = 200_000;
/// How often the test prints where the transfer is.
const REPORT_EVERY: Duration = Duration::from_secs(30);

/// In CI: the link is a jumbo-frame one, and the peers send SCTP packets that fill
/// its frames.
#[test]
fn a_100_mb_download_over_a_lossy_slow_jumbo_link_arrives_byte_exact() {
    over_the_lossy_link(Direction::Download, JUMBO, Some(JUMBO_SCTP_MTU));
}

// With Ethernet's MTU and webrtc's 1191-byte SCTP packets: about 45 minutes each
// (SCTP under 5 % loss, see .config/nextest.toml), longer than the whole CI run may
// take, so they run only when asked (`TANDEM_SLOW_TESTS=1 scripts/test.sh`, or
// `cargo nextest run -p tandem-peer --test files_netem --run-ignored only`).
#[test]
#[ignore = "about 45 minutes: SCTP under 5 % loss; run with --run-ignored only"]
fn a_100_mb_download_over_a_lossy_slow_link_arrives_byte_exact() {
    over_the_lossy_link(Direction::Download, IMPAIRMENT, None);
}

#[test]
#[ignore = "about 45 minutes: SCTP under 5 % loss; run with --run-ignored only"]
fn a_100_mb_upload_over_a_lossy_slow_link_arrives_byte_exact() {
    over_the_lossy_link(Direction::Upload, IMPAIRMENT, None);
}

fn over_the_lossy_link(direction: Direction, impairment: Impairment, sctp_mtu: Option<u32>) {
    private_netns::enter();
    let link = LossyLink::start(impairment);
    probe_the_delay(&link);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async {
        let root = tempfile::tempdir().unwrap();
        let local = tempfile::tempdir().unwrap();
        let into = local.path().join("in");
        std::fs::create_dir(&into).unwrap();
        let (want, landed) = match direction {
            Direction::Download => (seeded_file(&root.path().join("f.bin"), SIZE, 41), into.join("f.bin")),
            Direction::Upload => {
                (seeded_file(&local.path().join("f.bin"), SIZE, 42), root.path().join("f.bin"))
            }
        };
        // Both peers gather candidates on the link's address only.
        let config =
            LinkConfig { udp_addrs: vec![format!("{ADDRESS}:0")], sctp_mtu, ..LinkConfig::loopback() };
        assert_eq!(config.sctp_packet_size(), sctp_mtu, "the link's address is not a loopback one");
        let mut p = pair_configured(root.path(), |_| {}, Default::default(), config).await;
        p.open().await;
        let (csr, customer) = (&mut p.csr, &mut p.customer);

        let id = TransferId(1);
        let command = match direction {
            Direction::Download => Command::FilesDownload { from: csr.other, id, path: at("f.bin"), into },
            Direction::Upload => Command::FilesUpload {
                to: csr.other,
                id,
                local: local.path().join("f.bin"),
                folder: at(""),
                overwrite: false,
            },
        };
        csr.send(command).await;
        customer.answer_transfer(true).await;
        let before = link.counters();
        let started = Instant::now();
        // The CSR hears of the transfer's end both ways: when it has the file in place
        // (download), or when the customer confirmed having it in place (upload).
        let (hash, at_csr) = follow(csr, id, &link, started).await;
        let took = started.elapsed();
        let carried = link.counters().since(before);
        let at_customer = Pair::finished(customer, id).await;
        let sent = match direction {
            Direction::Download => at_customer,
            Direction::Upload => at_csr,
        };

        println!(
            "{direction:?} of {SIZE} bytes over the lossy link: {:.1} s, {:.3} MB/s; file bytes sent {} \
             (again: {}); the link during the transfer: {carried}",
            took.as_secs_f64(),
            SIZE as f64 / 1e6 / took.as_secs_f64(),
            sent.sent_bytes,
            sent.sent_bytes.saturating_sub(SIZE),
        );
        // The link was in the path and did what it should.
        assert!(carried.bytes >= SIZE, "the file did not cross the link: {carried}");
        let dropped = carried.dropped as f64 / carried.packets as f64;
        assert!((0.04..0.06).contains(&dropped), "the link dropped {dropped:.4} of the packets: {carried}");
        assert!(carried.reordered > 0, "nothing overtook: {carried}");
        // Every byte arrived. (The customer's side reports no hash: it checked the
        // CSR's, or failed the transfer; the bytes on its disk are checked below.)
        assert_eq!(at_csr.total_bytes, SIZE);
        if direction == Direction::Download {
            assert_eq!(hash.as_deref(), Some(want.as_str()), "the SHA-256 the CSR computed");
        }
        assert_eq!(std::fs::metadata(&landed).unwrap().len(), SIZE);
        assert_eq!(sha256_of(&landed), want, "the bytes on the receiver's disk");
        for dir in [root.path(), local.path()] {
            assert!(tree(dir).iter().all(|p| !p.contains(".tandem-")), "{:?}", tree(dir));
        }
    });
}

/// Waits for the end of transfer `id` at the CSR (the SHA-256 of the file it
/// received, if it received one, and the progress), printing where it is;
/// panics on failure, on a stall and past [`TRANSFER_DEADLINE`].
async fn follow(
    csr: &mut Side,
    id: TransferId,
    link: &LossyLink,
    started: Instant,
) -> (Option<String>, Progress) {
    let mut report = tokio::time::interval(REPORT_EVERY);
    report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stall_check = tokio::time::interval(Duration::from_secs(10));
    let (mut seen_bytes, mut seen_at) = (link.counters().bytes, Instant::now());
    let (mut confirmed, mut hash) = (0, None);
    loop {
        tokio::select! {
            event = csr.events.recv() => match event.expect("the session ended during the transfer") {
                Event::TransferProgress { id: i, progress, .. } if i == id => confirmed = progress.confirmed_bytes,
                Event::TransferFile { id: i, sha256, .. } if i == id => hash = Some(sha256.as_str().to_owned()),
                Event::TransferFinished { id: i, progress, .. } if i == id => return (hash, progress),
                Event::TransferFailed { id: i, code, .. } if i == id => panic!("the transfer failed: {code:?}"),
                _ => {}
            },
            _ = report.tick() => {
                let at = started.elapsed().as_secs_f64();
                println!("{at:5.0} s: {confirmed} of {SIZE} bytes confirmed; link: {}", link.counters());
            }
            _ = stall_check.tick() => {
                let now = link.counters();
                if now.bytes - seen_bytes >= STALL_BYTES {
                    (seen_bytes, seen_at) = (now.bytes, Instant::now());
                }
                assert!(
                    seen_at.elapsed() < STALL,
                    "stalled: the link carried under {STALL_BYTES} bytes in {STALL:?} ({confirmed} bytes confirmed; {now})"
                );
                assert!(
                    started.elapsed() < TRANSFER_DEADLINE,
                    "not done within {TRANSFER_DEADLINE:?}: {confirmed} of {SIZE} bytes confirmed; {now}"
                );
            }
        }
    }
}

/// Sends 100 datagrams across the link and checks that those that arrive in
/// order took the link's delay (so the link is in the path, not beside it).
fn probe_the_delay(link: &LossyLink) {
    let before = link.counters();
    let a = UdpSocket::bind((ADDRESS, 0)).unwrap();
    let b = UdpSocket::bind((ADDRESS, 0)).unwrap();
    b.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut delays = Vec::new();
    for i in 0u32..100 {
        let sent = Instant::now();
        a.send_to(&i.to_le_bytes(), b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 4];
        if let Ok((4, _)) = b.recv_from(&mut buf)
            && buf == i.to_le_bytes()
        {
            delays.push(sent.elapsed());
        }
    }
    delays.sort();
    let carried = link.counters().since(before);
    assert_eq!(carried.packets, 100, "the probe's datagrams did not all enter the link: {carried}");
    let median = delays[delays.len() / 2];
    assert!(
        median >= IMPAIRMENT.delay && median < IMPAIRMENT.delay * 2,
        "a probe took {median:?}, not the link's {:?}: {carried}",
        IMPAIRMENT.delay
    );
    println!("probe: {} of 100 arrived, median one-way {median:?}; {carried}", delays.len());
}
