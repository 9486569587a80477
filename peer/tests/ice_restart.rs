//! ICE restart when the connection fails (issue 3 scope 2): two native peers
//! stream through the real server inside a network namespace of this test
//! process alone (it disappears with the process); an nftables rule then drops
//! all UDP, the connection fails, the rule goes, and the first offerer's ICE
//! restart brings the same connection back: pictures flow again.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use tandem_peer::link::LinkConfig;
use tandem_peer::media::{Media, MediaKind};
use tandem_peer::session::Event;
use tandem_peer::signaling::{Entry, JoinTarget};
use tandem_peer::video::VideoSource;
use tandem_peer::video::test_pattern::{TestPattern, read_counter};
use tandem_wire::DisplayName;
use tokio::sync::mpsc;

fn run(program: &str, args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/debian-packages)"));
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "{program} {args:?} failed");
}

const DROP_UDP: &str = "table inet tandem_ice_test {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    meta l4proto udp drop\n  }\n}\n";

async fn picture_after(pictures: &mut mpsc::UnboundedReceiver<Picture>, after: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (_, _, frame) = tokio::time::timeout_at(deadline, pictures.recv())
            .await
            .unwrap_or_else(|_| panic!("no picture after frame {after} within {DEADLINE:?}"))
            .expect("sink open");
        let n = read_counter(&frame);
        if n > after {
            return n;
        }
    }
}

#[test]
fn a_failed_connection_comes_back_by_ice_restart() {
    // SAFETY: plain system call; this thread has no other users of its network
    // namespace yet. Threads and children started from here on inherit it.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "unshare(CLONE_NEWNET) needs root: {}", std::io::Error::last_os_error());
    run("ip", &["link", "set", "lo", "up"], None);
    // The peers' mDNS resolver joins a multicast group: give multicast a route here.
    run("ip", &["link", "set", "lo", "multicast", "on"], None);
    run("ip", &["route", "add", "224.0.0.0/4", "dev", "lo"], None);

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(3).enable_all().build().unwrap();
    runtime.block_on(async {
        let (server, _dir) = start_server().await;
        // Short ICE timers so that the failure shows within seconds.
        let config = LinkConfig {
            ice_timeouts: Some((Duration::from_secs(1), Duration::from_secs(3))),
            ..LinkConfig::loopback()
        };
        let (csr_media, mut pictures) = receiving(None);
        let (mut csr, number, invite) = start_session(&server.url, csr_media, config.clone()).await;

        let source = Box::new(|| Ok(Box::new(TestPattern::new(640, 480)) as Box<dyn VideoSource>));
        let (feed, _pipeline) = video_feed(MediaKind::Screen, source);
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
        let name = DisplayName::parse("Ines").unwrap();
        let mut customer =
            spawn_peer_configured(&server.url, Entry::Customer { target, name }, media, config);

        let customer_id = csr
            .wait_for("connected to the customer", |e| match e {
                Event::Connected(id) => Some(*id),
                _ => None,
            })
            .await;
        allow_view(&csr, &mut customer, customer_id).await;
        let before = picture_after(&mut pictures, 0).await;

        // Cut every UDP path (the signaling WebSocket is TCP and stays).
        run("nft", &["-f", "-"], Some(DROP_UDP));
        csr.wait_for("the connection to fail", |e| {
            matches!(e, Event::ConnectionFailed(id) if *id == customer_id).then_some(())
        })
        .await;
        run("nft", &["delete", "table", "inet", "tandem_ice_test"], None);

        csr.wait_for("the connection back", |e| {
            matches!(e, Event::Connected(id) if *id == customer_id).then_some(())
        })
        .await;
        while pictures.try_recv().is_ok() {}
        let after = picture_after(&mut pictures, before + 30).await;
        assert!(
            after > before + 30,
            "pictures flow again after the restart (frame {after}, before the cut {before})"
        );
        drop(customer.commands);
        drop(csr.commands);
        server.shutdown().await.unwrap();
    });
}
