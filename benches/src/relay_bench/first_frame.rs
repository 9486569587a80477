//! Time from a customer's join to the CSR's first decoded frame of the
//! customer's screen, with the media forced through a relay.
//!
//! In this process: the real signaling server (its embedded relay off; the
//! `turn:` URL it hands out, with minted credentials, points at the relay
//! under test), a CSR peer and a customer peer (`tandem_peer::session::run`,
//! the customer sending a 1280×720 test-pattern screen through the real
//! openh264 pipeline). Both peers use the relay-only ICE policy
//! (`LinkConfig::relay_only`, W3C `iceTransportPolicy: "relay"`), and the
//! selected pair each reports (`Event::Path`) is checked to be relay ↔ relay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use tandem_peer::link::{LinkConfig, Path};
use tandem_peer::media::inbound::{VideoSink, VideoSinkFactory};
use tandem_peer::media::{Feed, Media, MediaKind};
use tandem_peer::session::{self, Command, Event};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_peer::video::openh264_encoder::OpenH264Encoder;
use tandem_peer::video::pipeline::{PipelineSettings, VideoPipeline};
use tandem_peer::video::test_pattern::TestPattern;
use tandem_peer::video::{DisplayMode, I420Frame, VideoEncoder, VideoSource};
use tandem_signaling::server::RunningServer;
use tandem_wire::channels::Capability;
use tandem_wire::{DisplayName, ParticipantId};
use tokio::sync::mpsc;

use super::relays::{REALM, SECRET};

const CSR_NAME: &str = "bench";
const CSR_PASSWORD: &str = "bench password 1";
/// How long one join may take before the run counts as failed.
const RUN_DEADLINE: Duration = Duration::from_secs(20);
const SCREEN: (usize, usize) = (1280, 720);

/// One join.
#[derive(Debug, Clone)]
pub struct Sample {
    /// From starting the customer peer to the CSR's first decoded screen frame.
    pub first_frame: Duration,
    /// From starting the customer peer to the CSR's connection to it being up (ICE + DTLS).
    pub connected: Duration,
    /// The selected pairs both peers reported.
    pub paths: Vec<Path>,
}

/// A signaling server whose TURN URL is one relay.
pub struct Stage {
    server: RunningServer,
    token: tandem_wire::AuthToken,
    _dir: tempfile::TempDir,
}

impl Stage {
    /// Everything for joins through the relay at `relay` (UDP, secret [`SECRET`]).
    pub async fn start(relay: SocketAddr) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = tandem_signaling::config::Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: dir.path().into(),
            ..Default::default()
        };
        config.relay.enabled = false;
        config.turn.secret = Some(SECRET.into());
        config.turn.realm = REALM.into();
        config.turn.udp_urls = vec![format!("turn:{relay}?transport=udp")];
        config.limits.joins_per_minute = 100_000;
        config.validate()?;
        let store = tandem_signaling::store::open(&config.database_url()).await?;
        let hash = tandem_signaling::auth::hash_password(CSR_PASSWORD).map_err(|e| anyhow!("{e}"))?;
        store.add_agent(&DisplayName::parse(CSR_NAME)?, &hash, tandem_signaling::hub::now()).await?;
        store.close().await;
        let server = tandem_signaling::server::start(config).await?;
        let token = sign_in(&server.url, CSR_NAME, CSR_PASSWORD).await?;
        Ok(Self { server, token, _dir: dir })
    }

    /// One join: a fresh session, the customer joins with the invite token and sends its screen.
    pub async fn join_once(&self) -> anyhow::Result<Sample> {
        let (picture_tx, mut pictures) = mpsc::unbounded_channel();
        let csr_media = Media {
            feeds: vec![],
            video_sinks: Some(Arc::new(FirstPictures(picture_tx))),
            audio_sinks: None,
        };
        let (csr_cmd, csr_cmd_rx) = mpsc::channel(4);
        let (csr_ev_tx, mut csr_ev) = mpsc::channel(64);
        let url = self.server.url.clone();
        let entry = Entry::CreateSession { token: self.token.clone() };
        let csr = tokio::spawn(async move {
            let setup = session::Setup { link: relay_only(), media: csr_media, ..Default::default() };
            session::run(&url, entry, setup, csr_cmd_rx, csr_ev_tx).await
        });
        let (number, invite) = loop {
            match tokio::time::timeout(RUN_DEADLINE, csr_ev.recv()).await {
                Ok(Some(Event::Joined { session, invite: Some((invite, _)), .. })) => {
                    break (session.session_number, invite);
                }
                Ok(Some(_)) => continue,
                Ok(None) => bail!("the CSR's session ended: {:?}", csr.await),
                Err(_) => bail!("the CSR did not get a session within {RUN_DEADLINE:?}"),
            }
        };

        // The customer starts: its screen pipeline and its peer, at t0.
        let t0 = Instant::now();
        let feed = Feed::new(MediaKind::Screen);
        let source = Box::new(|| Ok(Box::new(TestPattern::new(SCREEN.0, SCREEN.1)) as Box<dyn VideoSource>));
        let encoder = Box::new(|fps: f32, bps: u32| {
            OpenH264Encoder::new(DisplayMode::Standard, bps, fps)
                .map(|e| Box::new(e) as Box<dyn VideoEncoder>)
        });
        let pipeline = VideoPipeline::start(source, encoder, feed.clone(), PipelineSettings::default())?;
        let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
        let target = JoinTarget { server: None, number, invite: Some(invite) };
        let (cust_cmd, cust_cmd_rx) = mpsc::channel(4);
        let (cust_ev_tx, mut cust_ev) = mpsc::channel(64);
        let url = self.server.url.clone();
        let customer = tokio::spawn(async move {
            let entry =
                Entry::Customer { target, name: DisplayName::parse("Bench customer").expect("valid name") };
            let setup = session::Setup { link: relay_only(), media, ..Default::default() };
            session::run(&url, entry, setup, cust_cmd_rx, cust_ev_tx).await
        });
        let paths = Arc::new(Mutex::new(Vec::new()));
        let customer_paths = paths.clone();
        // The customer's person allows the CSR's view request at once (the bench measures the network).
        let answers = cust_cmd.clone();
        tokio::spawn(async move {
            while let Some(ev) = cust_ev.recv().await {
                match ev {
                    Event::Path { path, .. } => {
                        customer_paths.lock().unwrap_or_else(|p| p.into_inner()).push(path)
                    }
                    Event::ConsentPrompt { from, request_id, .. } => {
                        let _ = answers
                            .send(Command::Decide { from, request_id, allowed: true, window: None })
                            .await;
                    }
                    _ => {}
                }
            }
        });

        let deadline = tokio::time::Instant::now() + RUN_DEADLINE;
        let mut connected = None;
        let mut asked = false;
        let outcome = loop {
            tokio::select! {
                ev = csr_ev.recv() => match ev {
                    Some(Event::Connected(_)) if connected.is_none() => connected = Some(t0.elapsed()),
                    // The CSR asks to see the customer's screen as soon as the customer is in (SHR-1).
                    Some(Event::Participants(list)) if !asked => {
                        if let Some(customer) = list.iter().find(|p| p.role == tandem_wire::Role::PrimaryCustomer) {
                            asked = true;
                            let ask = Command::RequestConsent { to: customer.id, capability: Capability::ViewDesktop };
                            let _ = csr_cmd.send(ask).await;
                        }
                    }
                    Some(Event::Path { path, .. }) => paths.lock().unwrap_or_else(|p| p.into_inner()).push(path),
                    Some(_) => {}
                    None => break Err(anyhow!("the CSR's session ended before a frame")),
                },
                p = pictures.recv() => match p {
                    Some(at) => break Ok(at - t0),
                    None => break Err(anyhow!("the CSR's picture sink closed")),
                },
                _ = tokio::time::sleep_until(deadline) => {
                    break Err(anyhow!("no decoded frame within {RUN_DEADLINE:?} (connected: {connected:?})"));
                }
            }
        };
        // Both peers report their path with the connection; give a late one a moment.
        let report_deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while paths.lock().unwrap_or_else(|p| p.into_inner()).len() < 2 {
            match tokio::time::timeout_at(report_deadline, csr_ev.recv()).await {
                Ok(Some(Event::Path { path, .. })) => {
                    paths.lock().unwrap_or_else(|p| p.into_inner()).push(path)
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let paths = paths.lock().unwrap_or_else(|p| p.into_inner()).clone();

        drop(pipeline);
        drop(cust_cmd);
        drop(csr_cmd);
        let _ = tokio::time::timeout(Duration::from_secs(5), customer).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), csr).await;
        let first_frame = outcome?;
        Ok(Sample { first_frame, connected: connected.unwrap_or(first_frame), paths })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.shutdown().await
    }
}

/// Loopback WebRTC with relay candidates only.
fn relay_only() -> LinkConfig {
    LinkConfig { relay_only: true, ..LinkConfig::loopback() }
}

/// Sends the arrival time of each decoded picture.
struct FirstPictures(mpsc::UnboundedSender<Instant>);

impl VideoSinkFactory for FirstPictures {
    fn open(&self, _from: ParticipantId, kind: MediaKind) -> Box<dyn VideoSink> {
        Box::new(PictureTimes { tx: (kind == MediaKind::Screen).then(|| self.0.clone()) })
    }
}

struct PictureTimes {
    tx: Option<mpsc::UnboundedSender<Instant>>,
}

impl VideoSink for PictureTimes {
    fn frame(&mut self, _frame: I420Frame, _rtp_timestamp: u32) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Instant::now());
        }
    }
}

/// The p-th percentile (0..=100) of `sorted`, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
