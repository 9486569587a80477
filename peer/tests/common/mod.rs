//! The shared harness of the native peer's end-to-end tests: a real
//! signaling server on 127.0.0.1:0 with one CSR account, and peers running
//! `session::run` as tasks with loopback-only WebRTC.
#![allow(dead_code)] // each test file uses part of it

use std::time::Duration;

use tandem_peer::PeerError;
use tandem_peer::link::LinkConfig;
use tandem_peer::media::Media;
use tandem_peer::session::{self, Command, Event};
use tandem_peer::signaling::Entry;
use tandem_signaling::config::Config;
use tandem_signaling::server::RunningServer;
use tandem_wire::{ChatText, DisplayName, EndReason};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "correct horse battery";
pub const DEADLINE: Duration = Duration::from_secs(20);

pub mod lossy_link;
pub mod netns;
pub mod private_netns;
pub mod xev;
pub mod xvfb;
pub mod xwindows;

pub async fn start_server() -> (RunningServer, tempfile::TempDir) {
    start_server_with(|_| {}).await
}

/// A server on 127.0.0.1:0 unless `adjust` says otherwise, with the CSR account.
pub async fn start_server_with(adjust: impl FnOnce(&mut Config)) -> (RunningServer, tempfile::TempDir) {
    // `RUST_LOG=tandem_peer=debug` shows what the peers do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        Config { listen: "127.0.0.1:0".parse().unwrap(), data_dir: dir.path().into(), ..Config::default() };
    adjust(&mut config);
    let store = tandem_signaling::store::open(&config.database_url()).await.unwrap();
    let hash = tandem_signaling::auth::hash_password(PASSWORD).unwrap();
    store
        .add_agent(&DisplayName::parse("carla").unwrap(), &hash, tandem_signaling::hub::now())
        .await
        .unwrap();
    store.close().await;
    (tandem_signaling::server::start(config).await.unwrap(), dir)
}

/// A running peer: its commands, events and task.
pub struct Peer {
    pub commands: mpsc::Sender<Command>,
    pub events: mpsc::Receiver<Event>,
    pub task: JoinHandle<Result<Option<EndReason>, PeerError>>,
}

pub fn loopback() -> LinkConfig {
    LinkConfig::loopback()
}

pub fn spawn_peer(server: &str, entry: Entry) -> Peer {
    spawn_peer_with(server, entry, Media::default())
}

pub fn spawn_peer_with(server: &str, entry: Entry, media: Media) -> Peer {
    spawn_peer_configured(server, entry, media, loopback())
}

pub fn spawn_peer_configured(server: &str, entry: Entry, media: Media, config: LinkConfig) -> Peer {
    spawn_peer_controlled(server, entry, media, config, session::Controls::default())
}

/// A peer with a consent policy and an input target (`session::Setup::controls`).
pub fn spawn_peer_controlled(
    server: &str,
    entry: Entry,
    media: Media,
    config: LinkConfig,
    controls: session::Controls,
) -> Peer {
    let (commands, command_rx) = mpsc::channel(8);
    let (event_tx, events) = mpsc::channel(64);
    let server = server.to_owned();
    let task = tokio::spawn(async move {
        let setup = session::Setup { link: config, media, controls, ..Default::default() };
        session::run(&server, entry, setup, command_rx, event_tx).await
    });
    Peer { commands, events, task }
}

/// Controls that inject what this machine allows into X display `display`
/// (the whole screen is the surface), and the counters they keep.
pub fn x11_controls(display: &str) -> (session::Controls, std::sync::Arc<session::InputCounters>) {
    let counters = std::sync::Arc::new(session::InputCounters::default());
    let controls = session::Controls {
        policy: Default::default(),
        counters: counters.clone(),
        input: Some(session::InputTarget {
            injector: tandem_peer::control::x11::X11Injector::start(Some(display.to_owned())).unwrap(),
            surface: tandem_peer::control::x11::desktop_surface(Some(display)).unwrap(),
        }),
    };
    (controls, counters)
}

impl Peer {
    pub async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {DEADLINE:?}"))
                .unwrap_or_else(|| panic!("session ended before {what}"));
            if let Some(t) = pick(&event) {
                return t;
            }
            tracing::debug!(?event, "while waiting for {what}: passed over");
        }
    }

    pub async fn chat(&self, text: &str) {
        self.commands
            .send(Command::Chat { text: ChatText::parse(text).unwrap(), to: Vec::new() })
            .await
            .unwrap();
    }

    pub async fn outcome(self) -> Result<Option<EndReason>, PeerError> {
        tokio::time::timeout(DEADLINE, self.task).await.expect("session task ends").expect("no panic")
    }
}

/// A decoded picture as the tests see it: who sent it, which track, the picture.
pub type Picture = (tandem_wire::ParticipantId, tandem_peer::media::MediaKind, tandem_peer::video::I420Frame);

/// A video sink factory that hands every decoded picture to a channel.
pub struct PictureChannel(mpsc::UnboundedSender<Picture>);

/// Media for a peer that only receives: pictures to the returned channel, voice to `audio`.
pub fn receiving(
    audio: Option<std::sync::Arc<dyn tandem_peer::media::AudioSinkFactory>>,
) -> (Media, mpsc::UnboundedReceiver<Picture>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let media = Media {
        feeds: Vec::new(),
        video_sinks: Some(std::sync::Arc::new(PictureChannel(tx))),
        audio_sinks: audio,
    };
    (media, rx)
}

impl tandem_peer::media::inbound::VideoSinkFactory for PictureChannel {
    fn open(
        &self,
        from: tandem_wire::ParticipantId,
        kind: tandem_peer::media::MediaKind,
    ) -> Box<dyn tandem_peer::media::inbound::VideoSink> {
        Box::new(PictureSender { from, kind, tx: self.0.clone() })
    }
}

struct PictureSender {
    from: tandem_wire::ParticipantId,
    kind: tandem_peer::media::MediaKind,
    tx: mpsc::UnboundedSender<Picture>,
}

impl tandem_peer::media::inbound::VideoSink for PictureSender {
    fn frame(&mut self, frame: tandem_peer::video::I420Frame, _rtp_timestamp: u32) {
        let _ = self.tx.send((self.from, self.kind, frame));
    }
}

/// A CSR signs in and starts a session with `media`; returns the peer, the number and the invite token.
pub async fn start_session(
    server: &str,
    media: Media,
    config: LinkConfig,
) -> (Peer, tandem_wire::SessionNumber, tandem_wire::InviteToken) {
    start_session_controlled(server, media, config, session::Controls::default()).await
}

/// [`start_session`] for a CSR whose own screen others may control (`controls`).
pub async fn start_session_controlled(
    server: &str,
    media: Media,
    config: LinkConfig,
    controls: session::Controls,
) -> (Peer, tandem_wire::SessionNumber, tandem_wire::InviteToken) {
    let tls = tandem_peer::tls::client_config(&config.tls_roots).unwrap();
    let token = tandem_peer::signaling::sign_in_trusting(server, "carla", PASSWORD, tls).await.unwrap();
    let mut csr = spawn_peer_controlled(server, Entry::CreateSession { token }, media, config, controls);
    let (number, invite) = csr
        .wait_for("session created", |e| match e {
            Event::Joined { session, invite: Some((invite, _)), .. } => {
                Some((session.session_number, invite.clone()))
            }
            _ => None,
        })
        .await;
    (csr, number, invite)
}

/// A screen or camera feed from `source`, encoded by openh264 in standard mode, running.
pub fn video_feed(
    kind: tandem_peer::media::MediaKind,
    source: tandem_peer::video::pipeline::SourceFactory,
) -> (tandem_peer::media::Feed, tandem_peer::video::pipeline::VideoPipeline) {
    use tandem_peer::video::VideoEncoder;
    let feed = tandem_peer::media::Feed::new(kind);
    let encoder = Box::new(|fps: f32, bps: u32| {
        tandem_peer::video::openh264_encoder::OpenH264Encoder::new(
            tandem_peer::video::DisplayMode::Standard,
            bps,
            fps,
        )
        .map(|e| Box::new(e) as Box<dyn VideoEncoder>)
    });
    let settings = tandem_peer::video::pipeline::PipelineSettings::default();
    let pipeline =
        tandem_peer::video::pipeline::VideoPipeline::start(source, encoder, feed.clone(), settings).unwrap();
    (feed, pipeline)
}

/// `viewer` asks `sharer` (participant `sharer_id`) to see its desktop and the
/// person at `sharer` allows it: the sharer's screen goes to the viewer from
/// now on (nothing of it before). Returns the viewer's id as the sharer saw it.
pub async fn allow_view(
    viewer: &Peer,
    sharer: &mut Peer,
    sharer_id: tandem_wire::ParticipantId,
) -> tandem_wire::ParticipantId {
    use tandem_wire::channels::Capability;
    viewer
        .commands
        .send(Command::RequestConsent { to: sharer_id, capability: Capability::ViewDesktop })
        .await
        .unwrap();
    let (from, request_id) = sharer
        .wait_for("the view prompt", |e| match e {
            Event::ConsentPrompt { from, request_id, capability: Capability::ViewDesktop, .. } => {
                Some((*from, *request_id))
            }
            _ => None,
        })
        .await;
    sharer.commands.send(Command::Decide { from, request_id, allowed: true, window: None }).await.unwrap();
    from
}
