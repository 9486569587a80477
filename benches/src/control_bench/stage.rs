//! Everything in the bench's process: the real signaling server on
//! 127.0.0.1:0, the native customer (`session::run`) sharing the X
//! display through the real screen pipeline (scrap capture, openh264) with
//! an input target on the same display, and a native CSR whose video sink
//! reports the colour of each decoded picture. Consent is answered here: the
//! customer allows every request (the person at the customer's machine
//! saying yes), the CSR asks for `control_desktop`.

use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use tandem_peer::control::x11::{X11Injector, desktop_surface};
use tandem_peer::link::LinkConfig;
use tandem_peer::media::inbound::{VideoSink, VideoSinkFactory};
use tandem_peer::media::{Feed, Media, MediaKind};
use tandem_peer::session::{self, Command, Controls, Event, InputCounters, InputTarget};
use tandem_peer::signaling::{Entry, JoinTarget, sign_in};
use tandem_peer::video::openh264_encoder::OpenH264Encoder;
use tandem_peer::video::pipeline::{PipelineSettings, PipelineStats, VideoPipeline};
use tandem_peer::video::x11_screen::X11Screen;
use tandem_peer::video::{DisplayMode, I420Frame, VideoEncoder, VideoSource, Yuv};
use tandem_signaling::server::RunningServer;
use tandem_wire::channels::{Capability, ControlMessage, Point};
use tandem_wire::{ConsentOutcome, DisplayName, ParticipantId};
use tokio::sync::mpsc;

use super::pipeline_tap::Logs;
use crate::now_ms;
use crate::peer_task::{PeerTask, STEP};

/// The dashboard's account: the driver signs in with the e2e harness's CSR.
pub const DASHBOARD_CSR: (&str, &str) = ("carla", "correct horse battery");
/// The native CSR's account.
const NATIVE_CSR: (&str, &str) = ("nora", "bench password 1");

/// Where the CSR's sink reads each picture's colour, as fractions of its size:
/// the corners and the centre of the probe window, away from where the bench clicks.
pub const TAPS: [(f64, f64); 5] = [(0.1, 0.1), (0.9, 0.1), (0.5, 0.5), (0.1, 0.9), (0.9, 0.9)];

/// One picture the native CSR decoded.
#[derive(Debug, Clone, Copy)]
pub struct Decoded {
    pub at_ms: f64,
    pub colours: [Yuv; TAPS.len()],
    pub width: usize,
}

/// Whether the colours under the taps show `rgb` (0xRRGGBB) over the probe window: at
/// least four taps of five (the X pointer may hide one).
pub fn shows(colours: &[Yuv; TAPS.len()], rgb: u32) -> bool {
    let want = Yuv::from_rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8);
    colours.iter().filter(|c| c.near(want, 40)).count() >= TAPS.len() - 1
}

/// The colours of `frame` under the taps (`None` for an empty frame).
pub fn taps(frame: &I420Frame) -> Option<[Yuv; TAPS.len()]> {
    let (w, h) = (frame.width, frame.height);
    if w == 0 || h == 0 {
        return None;
    }
    Some(TAPS.map(|(fx, fy)| {
        frame.at(((fx * w as f64) as usize).min(w - 1), ((fy * h as f64) as usize).min(h - 1))
    }))
}

/// The screen pipeline's settings for the run.
#[derive(Debug, Clone, Copy)]
pub struct Video {
    pub mode: DisplayMode,
    pub settings: PipelineSettings,
}

/// The server, the customer and the native CSR, connected, with control granted.
pub struct Stage {
    server: RunningServer,
    _dir: tempfile::TempDir,
    customer: PeerTask,
    csr: PeerTask,
    pub customer_id: ParticipantId,
    pipeline: VideoPipeline,
    /// The customer's remote-control counters (injected, dropped).
    pub input: Arc<InputCounters>,
    /// Consent prompts the customer answered (each allowed).
    pub prompts: Arc<std::sync::atomic::AtomicU32>,
    /// What the native CSR decoded.
    pub pictures: mpsc::UnboundedReceiver<Decoded>,
    /// When the customer's pipeline captured and encoded what.
    pub logs: Logs,
}

/// Where the session comes from: the dashboard's invitation link, or the native CSR creates it.
pub enum Origin {
    Dashboard { link: String },
    NativeCsr,
}

/// The server only (so that the dashboard can start its session before the peers exist).
pub async fn server() -> anyhow::Result<(RunningServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let config = tandem_signaling::config::Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().into(),
        ..Default::default()
    };
    let store = tandem_signaling::store::open(&config.database_url()).await?;
    for (name, password) in [DASHBOARD_CSR, NATIVE_CSR] {
        let hash = tandem_signaling::auth::hash_password(password).map_err(|e| anyhow!("{e}"))?;
        store.add_agent(&DisplayName::parse(name)?, &hash, tandem_signaling::hub::now()).await?;
    }
    store.close().await;
    Ok((tandem_signaling::server::start(config).await?, dir))
}

impl Stage {
    /// Starts the customer and the native CSR in the session `origin` names, on the X `display`.
    pub async fn start(
        (server, dir): (RunningServer, tempfile::TempDir),
        origin: Origin,
        display: &str,
        video: Video,
        link_config: LinkConfig,
    ) -> anyhow::Result<Self> {
        let url = server.url.clone();
        let (pictures_tx, pictures) = mpsc::unbounded_channel();
        let csr_media = Media {
            feeds: Vec::new(),
            video_sinks: Some(Arc::new(ColourTap(pictures_tx))),
            audio_sinks: None,
        };
        let token = sign_in(&url, NATIVE_CSR.0, NATIVE_CSR.1).await?;

        // The session: the dashboard's, or a new one of the native CSR.
        let (target, mut early_csr) = match origin {
            Origin::Dashboard { link } => (JoinTarget::parse(&link)?, None),
            Origin::NativeCsr => {
                let entry = Entry::CreateSession { token: token.clone() };
                let mut csr = PeerTask::spawn(
                    &url,
                    entry,
                    session::Setup {
                        link: link_config.clone(),
                        media: csr_media.clone(),
                        ..Default::default()
                    },
                );
                let (number, invite) = csr
                    .wait_for("the native CSR's session", |e| match e {
                        Event::Joined { session, invite: Some((invite, _)), .. } => {
                            Some((session.session_number, invite.clone()))
                        }
                        _ => None,
                    })
                    .await?;
                (JoinTarget { server: None, number, invite: Some(invite) }, Some(csr))
            }
        };

        // The customer: its screen through the real pipeline, its input to the same display.
        let feed = Feed::new(MediaKind::Screen);
        let logs = Logs::default();
        logs.follow(&feed);
        let tap = logs.clone();
        let source =
            Box::new(move || Ok(Box::new(tap.tap(Box::new(X11Screen::open()?))) as Box<dyn VideoSource>));
        let mode = video.mode;
        let encoder = Box::new(move |fps: f32, bps: u32| {
            OpenH264Encoder::new(mode, bps, fps).map(|e| Box::new(e) as Box<dyn VideoEncoder>)
        });
        let pipeline = VideoPipeline::start(source, encoder, feed.clone(), video.settings)
            .map_err(|e| anyhow!("the customer's screen pipeline: {e}"))?;
        let input = Arc::new(InputCounters::default());
        let controls = Controls {
            policy: Default::default(),
            counters: input.clone(),
            input: Some(InputTarget {
                injector: X11Injector::start(Some(display.to_owned()))?,
                surface: desktop_surface(Some(display))?,
            }),
        };
        let number = target.number;
        let entry = Entry::Customer { target, name: DisplayName::parse("Bench customer")? };
        let media = Media { feeds: vec![feed], video_sinks: None, audio_sinks: None };
        let mut customer = PeerTask::spawn(
            &url,
            entry,
            session::Setup { link: link_config.clone(), media, controls, ..Default::default() },
        );
        let customer_id = customer
            .wait_for("the customer's admission", |e| match e {
                Event::Joined { me, .. } => Some(*me),
                _ => None,
            })
            .await?;
        // From now on the person at the customer's machine says yes to every request.
        let prompts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        // (The customer's events go to that task; its `PeerTask` keeps an empty receiver.)
        let customer_events = std::mem::replace(&mut customer.events, mpsc::unbounded_channel().1);
        tokio::spawn(allow_every_request(customer_events, customer.commands.clone(), prompts.clone()));

        // The native CSR: the session's creator, or assisting in the dashboard's session.
        let mut csr = match early_csr.take() {
            Some(csr) => csr,
            None => PeerTask::spawn(
                &url,
                Entry::Assist { token, number },
                session::Setup { link: link_config, media: csr_media, ..Default::default() },
            ),
        };
        csr.wait_for("the native CSR's connection to the customer", |e| {
            matches!(e, Event::Connected(id) if *id == customer_id).then_some(())
        })
        .await?;
        csr.commands
            .send(Command::RequestConsent { to: customer_id, capability: Capability::ControlDesktop })
            .await?;
        let outcome = csr
            .wait_for("the customer's answer", |e| match e {
                Event::Consent { with, incoming: false, outcome, .. } if *with == customer_id => {
                    Some(*outcome)
                }
                _ => None,
            })
            .await?;
        if outcome != ConsentOutcome::Allowed {
            bail!("the customer answered {outcome:?} to control_desktop");
        }
        // The first input opens the control channels; what goes before they are open is dropped.
        let centre = ControlMessage::Motion { at: Point::new(0.5, 0.5).context("a valid point")?, seq: 1 };
        csr.commands.send(Command::Control { to: customer_id, message: centre }).await?;
        csr.wait_for("the control channels", |e| {
            matches!(e, Event::ControlReady(id) if *id == customer_id).then_some(())
        })
        .await?;
        Ok(Self { server, _dir: dir, customer, csr, customer_id, pipeline, input, prompts, pictures, logs })
    }

    /// The native CSR sends `message` to the customer.
    pub async fn control(&self, message: ControlMessage) -> anyhow::Result<()> {
        self.csr.commands.send(Command::Control { to: self.customer_id, message }).await?;
        Ok(())
    }

    /// The customer's screen pipeline counters.
    pub fn pipeline_stats(&self) -> &PipelineStats {
        &self.pipeline.stats
    }

    /// Waits for the first picture at the native CSR.
    pub async fn first_picture(&mut self) -> anyhow::Result<Decoded> {
        tokio::time::timeout(STEP, self.pictures.recv())
            .await
            .map_err(|_| anyhow!("no picture at the native CSR within {STEP:?}"))?
            .context("the native CSR's sink closed")
    }

    pub fn drain_pictures(&mut self) {
        while self.pictures.try_recv().is_ok() {}
    }

    /// The first picture showing `rgb`, until `deadline`.
    pub async fn picture_showing(&mut self, rgb: u32, deadline: tokio::time::Instant) -> Option<Decoded> {
        loop {
            let picture = tokio::time::timeout_at(deadline, self.pictures.recv()).await.ok()??;
            if shows(&picture.colours, rgb) {
                return Some(picture);
            }
        }
    }

    /// Both peers leave, the pipeline stops, the server shuts down.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.csr.stop().await;
        self.customer.stop().await;
        drop(self.pipeline);
        self.server.shutdown().await
    }
}

/// The customer's person: allows every consent prompt.
async fn allow_every_request(
    mut events: mpsc::UnboundedReceiver<Event>,
    commands: mpsc::Sender<Command>,
    answered: Arc<std::sync::atomic::AtomicU32>,
) {
    while let Some(event) = events.recv().await {
        if let Event::ConsentPrompt { from, request_id, .. } = event {
            answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let decide = Command::Decide { from, request_id, allowed: true, window: None };
            if commands.send(decide).await.is_err() {
                return;
            }
        }
    }
}

/// The native CSR's video sink: the colour under each tap of every screen picture.
struct ColourTap(mpsc::UnboundedSender<Decoded>);

impl VideoSinkFactory for ColourTap {
    fn open(&self, _from: ParticipantId, kind: MediaKind) -> Box<dyn VideoSink> {
        Box::new(ColourSink { tx: (kind == MediaKind::Screen).then(|| self.0.clone()) })
    }
}

struct ColourSink {
    tx: Option<mpsc::UnboundedSender<Decoded>>,
}

impl VideoSink for ColourSink {
    fn frame(&mut self, frame: I420Frame, _rtp_timestamp: u32) {
        let at_ms = now_ms();
        let Some(tx) = &self.tx else { return };
        if let Some(colours) = taps(&frame) {
            let _ = tx.send(Decoded { at_ms, colours, width: frame.width });
        }
    }
}
