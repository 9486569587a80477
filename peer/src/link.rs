//! One WebRTC peer connection to one remote participant.
//!
//! The connection's callbacks only forward [`LinkEvent`]s to the session task,
//! which owns every link; nothing else holds state behind a lock. Remote
//! tracks are handed straight to [`crate::media::inbound::receive`].
//!
//! Each link has a [`LinkEpoch`], and every event it (or one of its channel
//! readers) sends carries it. The session may replace a participant's link
//! with a new peer connection (the remote made a new one, or "retry"); what the
//! old connection still had queued, or sends while it closes, then carries an
//! epoch that is no longer current and is dropped: a new SCTP association numbers
//! its streams from 0 again, so the old channels' events would otherwise look like
//! the new ones'. A replacement link also ignores an offer or answer with the DTLS
//! fingerprint of the remote's connection it replaced, and a remote candidate that
//! fails there (both meant for the old connection, still on their way).
//!
//! Negotiation follows the W3C "perfect negotiation" pattern
//! (<https://w3c.github.io/webrtc-pc/#perfect-negotiation-example>), as the
//! browser client does: the participant with the smaller id makes the first
//! offer and is the impolite side; later renegotiations (tracks added, ICE
//! restarts) may start on either side, and a collision is resolved by the
//! polite side rolling back its own offer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};
use rtc::peer_connection::configuration::interceptor_registry::{
    CongestionFeedback, configure_congestion_control,
};
use tandem_wire::channels::remote_files::{
    RemoteFilesMessage, TransferMessage, parse_transfer_label, transfer_label,
};
use tandem_wire::channels::system_info::SystemInfoMessage;
use tandem_wire::channels::{
    ChatMessage, ConsentMessage, ControlMessage, MAX_CHANNEL_MESSAGE_BYTES, MediaMessage, TransferId, label,
};
use tandem_wire::{CandidateType, IceCandidate, IceText, ParticipantId, PathProtocol};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelId};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceCandidateType, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
    register_default_interceptors,
};

use crate::PeerError;
use crate::media::feed::SendGate;
use crate::media::outbound::{OutboundTrack, register_codecs, send_feed};
use crate::media::{Media, MediaKind, keyframe_requests};
use crate::negotiation::dtls_fingerprint;
use crate::turn_tunnel::IceRoutes;

/// Congestion control starts here and stays within these bounds (bits/s).
const START_BITRATE: f64 = 1_500_000.0;
const MIN_BITRATE: f64 = 150_000.0;
const MAX_BITRATE: f64 = 8_000_000.0;

/// A transfer channel reports [`LinkEvent::TransferDrained`] when its buffered
/// amount falls to this (W3C `bufferedAmountLowThreshold`); the file sender
/// stops above 1 MiB, so this leaves half of that still queued while it refills.
pub const TRANSFER_LOW_WATER_BYTES: u32 = 512 * 1024;

/// Which of the links to a participant an event came from: the session
/// numbers its links, and only the current one's events count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkEpoch(pub u64);

/// The session's queue of link events, each tagged with the epoch of the link that sent it.
pub type LinkEvents = mpsc::UnboundedSender<(LinkEpoch, LinkEvent)>;

/// What a link reports to the session task.
pub enum LinkEvent {
    /// A local ICE candidate to trickle to the remote participant.
    Candidate { to: ParticipantId, ice: IceCandidate },
    /// A data channel to `with` is open and can carry messages.
    ChannelOpen { with: ParticipantId, label: &'static str, channel: Arc<dyn DataChannel> },
    /// A data channel to `with` closed.
    ChannelClosed { with: ParticipantId, label: &'static str },
    /// A message from `from` on one of the channels this peer reads.
    Message { from: ParticipantId, message: Incoming },
    /// A message on a data channel that could not be read; it was dropped.
    BadMessage { from: ParticipantId, reason: String },
    /// The connection's state changed.
    State { with: ParticipantId, state: RTCPeerConnectionState },
    /// Something changed that the remote must learn through a new offer.
    NegotiationNeeded { with: ParticipantId },
    /// A transfer channel (`rfile-<id>`) to `with` is open. `stream` tells this
    /// channel from an earlier one with the same id (a resumed transfer).
    TransferOpen {
        with: ParticipantId,
        id: TransferId,
        stream: RTCDataChannelId,
        channel: Arc<dyn DataChannel>,
    },
    /// A message on a transfer channel (at most [`MAX_CHANNEL_MESSAGE_BYTES`]).
    Transfer { from: ParticipantId, id: TransferId, stream: RTCDataChannelId, data: TransferData },
    /// A transfer channel's buffered amount fell to [`TRANSFER_LOW_WATER_BYTES`]: send more.
    TransferDrained { with: ParticipantId, id: TransferId },
    /// A transfer channel closed.
    TransferClosed { with: ParticipantId, id: TransferId, stream: RTCDataChannelId },
}

impl LinkEvent {
    /// The participant at the other end of the link that sent it.
    pub fn participant(&self) -> ParticipantId {
        match self {
            Self::Candidate { to: p, .. }
            | Self::ChannelOpen { with: p, .. }
            | Self::ChannelClosed { with: p, .. }
            | Self::Message { from: p, .. }
            | Self::BadMessage { from: p, .. }
            | Self::State { with: p, .. }
            | Self::NegotiationNeeded { with: p }
            | Self::TransferOpen { with: p, .. }
            | Self::Transfer { from: p, .. }
            | Self::TransferDrained { with: p, .. }
            | Self::TransferClosed { with: p, .. } => *p,
        }
    }
}

/// What came on a transfer channel.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferData {
    Text(TransferMessage),
    /// A binary message: file bytes.
    Chunk(Vec<u8>),
    /// A message that could not be read (over the size limit, not UTF-8, not a
    /// [`TransferMessage`]): it fails the transfer with `bad_message`.
    Bad(String),
}

/// A decoded message, by channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Chat(ChatMessage),
    Consent(ConsentMessage),
    Media(MediaMessage),
    /// From `control` or `control-motion`.
    Control(ControlMessage),
    RemoteFiles(RemoteFilesMessage),
    SystemInfo(SystemInfoMessage),
}

/// The channels this peer reads, and how each decodes (besides `rfile-<id>`).
const CHANNELS: [&str; 7] = [
    label::CHAT,
    label::CONSENT,
    label::MEDIA,
    label::CONTROL,
    label::CONTROL_MOTION,
    label::REMOTE_FILES,
    label::SYSTEM_INFO,
];

fn decode_on(label: &str, text: &str) -> Result<Incoming, String> {
    let err = |e: tandem_wire::DecodeError| e.to_string();
    Ok(match label {
        label::CHAT => Incoming::Chat(tandem_wire::decode(text).map_err(err)?),
        label::CONSENT => Incoming::Consent(tandem_wire::decode(text).map_err(err)?),
        label::MEDIA => Incoming::Media(tandem_wire::decode(text).map_err(err)?),
        label::REMOTE_FILES => Incoming::RemoteFiles(tandem_wire::decode(text).map_err(err)?),
        label::SYSTEM_INFO => Incoming::SystemInfo(tandem_wire::decode(text).map_err(err)?),
        _ => Incoming::Control(tandem_wire::decode(text).map_err(err)?),
    })
}

/// Network settings for links.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Local UDP addresses to gather candidates on. `0.0.0.0:0` skips loopback:
    /// tests on one machine bind `127.0.0.1:0`.
    pub udp_addrs: Vec<String>,
    /// ICE "disconnected" and "failed" timeouts; `None` keeps webrtc's 5 s and 25 s.
    pub ice_timeouts: Option<(std::time::Duration, std::time::Duration)>,
    /// Only relay candidates (W3C `iceTransportPolicy: "relay"`): for measuring the relay path.
    pub relay_only: bool,
    /// Certificate authorities trusted besides the public web roots, for the
    /// signaling server (HTTPS/WSS) and `turns:` relays: an operator's private CA.
    pub tls_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    /// The size of the SCTP packets to send, for networks where every path carries
    /// larger datagrams (a jumbo-frame LAN); `None` chooses ([`LinkConfig::sctp_packet_size`]).
    pub sctp_mtu: Option<u32>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            udp_addrs: vec!["0.0.0.0:0".into()],
            ice_timeouts: None,
            relay_only: false,
            tls_roots: Vec::new(),
            sctp_mtu: None,
        }
    }
}

impl LinkConfig {
    /// Loopback only (tests on one machine).
    pub fn loopback() -> Self {
        Self { udp_addrs: vec!["127.0.0.1:0".into()], ..Self::default() }
    }

    /// The size of the SCTP packets this side sends, when it differs from webrtc's
    /// 1191 bytes (sized for a TURN relay over IPv6's minimum MTU): the configured
    /// [`LinkConfig::sctp_mtu`], else [`LOOPBACK_SCTP_MTU`] on a loopback-only link.
    ///
    /// A link whose every address is a loopback one has only loopback paths, whose
    /// MTU is 64 KiB: 16 KiB packets, one DTLS record each, are about fourteen times
    /// fewer packets for the same bytes. Not through a TURN relay (its datagrams are
    /// bounded by an Ethernet MTU), and not on any other path: only loopback's MTU
    /// is known for the whole path.
    pub fn sctp_packet_size(&self) -> Option<u32> {
        if let Some(mtu) = self.sctp_mtu {
            return Some(mtu.clamp(MIN_SCTP_MTU, LOOPBACK_SCTP_MTU));
        }
        let loopback_only = !self.udp_addrs.is_empty()
            && self
                .udp_addrs
                .iter()
                .all(|a| a.parse::<std::net::SocketAddr>().is_ok_and(|a| a.ip().is_loopback()));
        (loopback_only && !self.relay_only).then_some(LOOPBACK_SCTP_MTU)
    }
}

/// SCTP packet size on loopback-only links ([`LinkConfig::sctp_mtu`]): DTLS's
/// largest record (2^14 bytes of plaintext) carries exactly one packet.
pub const LOOPBACK_SCTP_MTU: u32 = 16 * 1024;

/// The smallest SCTP packet size accepted for [`LinkConfig::sctp_mtu`].
pub const MIN_SCTP_MTU: u32 = 576;

/// Threads that run the process's peer connections' drivers (SCTP, DTLS, sockets),
/// each connection on one of them for its lifetime, beside the session's own tasks.
const REACTOR_THREADS: usize = 2;

/// The selected candidate pair of a connection, as reported to the signaling server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub local: CandidateType,
    pub remote: CandidateType,
    pub protocol: PathProtocol,
}

/// A peer connection to one remote participant.
pub struct Link {
    pub remote: ParticipantId,
    /// Tags every event of this connection (see the module's documentation).
    pub epoch: LinkEpoch,
    pc: Arc<dyn PeerConnection>,
    /// Open data channels, by label.
    channels: std::collections::HashMap<&'static str, Arc<dyn DataChannel>>,
    /// The control channels were created by this side.
    control_opened: bool,
    /// Channels asked for before the SCTP association was up (see `create_channel`).
    pending_channels: Vec<(ChannelName, Option<webrtc::data_channel::RTCDataChannelInit>)>,
    /// Fixed-label channels this side created (or will, once SCTP is up), until they close.
    requested: std::collections::HashSet<&'static str>,
    /// Open transfer channels (`rfile-<id>`), either side's.
    transfers: std::collections::HashMap<TransferId, Arc<dyn DataChannel>>,
    /// Transfer channels no longer used: given up for a new one
    /// ([`Link::abandon_transfer`]) or of a transfer that is over
    /// ([`Link::retire_transfer`]). They stay open, idle, until the connection
    /// closes: webrtc 0.21 hands a closed channel's SCTP stream id to the next new
    /// channel, and that channel sometimes never opens (seen when the other side
    /// still had data of the old stream unread).
    retired: Vec<(TransferId, Arc<dyn DataChannel>)>,
    /// A second channel for a transfer that has one: it takes over on [`Link::promote_transfer`].
    replacements: std::collections::HashMap<TransferId, Arc<dyn DataChannel>>,
    /// Candidates that arrived before the remote description.
    early_candidates: Vec<RTCIceCandidateInit>,
    has_remote_description: bool,
    /// The DTLS fingerprint (`a=fingerprint`) of the last remote description applied:
    /// an offer with another one comes from a new peer connection of the remote's.
    remote_fingerprint: Option<String>,
    /// Set when this link replaced an earlier one to the same participant.
    replaced: Option<Replaced>,
    /// The polite side yields in an offer collision (the side that did not make the first offer).
    polite: bool,
    /// Our offer is out and its answer has not come back (signaling state `have-local-offer`).
    offer_pending: bool,
    /// A remote offer was ignored in a collision: its candidates may fail.
    ignoring_offer: bool,
    /// Negotiation was needed while an exchange was under way: offer again once it ends.
    renegotiate: bool,
    /// The feeds we send on this connection; dropping them stops their tasks.
    outbound: Vec<OutboundTrack>,
    /// Whether our screen goes to this participant (consent decides; closed at first).
    screen_gates: Vec<Arc<SendGate>>,
    /// Congestion control's current target for this connection (bits/s as `f64` bits).
    pub bitrate_target: Arc<AtomicU64>,
}

impl Link {
    /// A new connection to `remote`, reporting to `events` as `epoch`.
    pub async fn new(
        remote: ParticipantId,
        epoch: LinkEpoch,
        polite: bool,
        ice_servers: Vec<RTCIceServer>,
        config: &LinkConfig,
        media: &Media,
        events: LinkEvents,
    ) -> Result<Self, PeerError> {
        let mut engine = MediaEngine::default();
        register_codecs(&mut engine)?;
        // Send-side congestion control (Google Congestion Control over transport-wide feedback);
        // its target is published for the encoders.
        let (estimator, bitrate_target) =
            PublishingEstimator::new(Gcc::new(START_BITRATE, MIN_BITRATE, MAX_BITRATE));
        let registry =
            configure_congestion_control(Registry::new(), estimator, CongestionFeedback::Twcc, &mut engine)?;
        let registry = register_default_interceptors(registry, &mut engine)?;
        let registry = keyframe_requests::register(registry);
        let mut builder = PeerConnectionBuilder::new();
        // Only when asked: otherwise webrtc's own default settings stay untouched.
        let sctp_mtu = config.sctp_packet_size();
        if config.ice_timeouts.is_some() || config.relay_only || sctp_mtu.is_some() {
            let mut settings = SettingEngineBuilder::new();
            if let Some(mtu) = sctp_mtu {
                settings = settings.with_sctp_mtu(mtu);
            }
            if let Some((disconnected, failed)) = config.ice_timeouts {
                settings = settings.with_ice_timeouts(Some(disconnected), Some(failed), None);
            }
            if config.relay_only {
                // Relay pairs are all there is: no reason to wait 2 s for better ones.
                settings = settings.with_relay_acceptance_min_wait(Some(std::time::Duration::ZERO));
            }
            builder = builder.with_setting_engine(settings.build());
        }
        let pc = builder
            .with_dedicated_reactor_pool_size(REACTOR_THREADS)
            .with_configuration(configuration(ice_servers, config))
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler {
                remote,
                events: Reporter { epoch, tx: events },
                media: media.clone(),
            }))
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        let mut outbound = Vec::new();
        let mut screen_gates = Vec::new();
        for feed in &media.feeds {
            let screen = feed.kind() == MediaKind::Screen;
            let gate = feed.gate(!screen);
            if screen {
                screen_gates.push(gate.clone());
            }
            outbound.push(send_feed(&pc, feed, gate).await?);
            if feed.kind().is_video() {
                feed.add_bitrate_target(&bitrate_target);
            }
        }
        Ok(Self {
            remote,
            epoch,
            pc,
            channels: std::collections::HashMap::new(),
            control_opened: false,
            pending_channels: Vec::new(),
            requested: std::collections::HashSet::new(),
            transfers: std::collections::HashMap::new(),
            retired: Vec::new(),
            replacements: std::collections::HashMap::new(),
            early_candidates: Vec::new(),
            has_remote_description: false,
            remote_fingerprint: None,
            replaced: None,
            polite,
            offer_pending: false,
            ignoring_offer: false,
            renegotiate: false,
            outbound,
            screen_gates,
            bitrate_target,
        })
    }

    /// As the first offerer: opens the long-lived channels (chat, consent,
    /// media, as the browser does) and returns the offer's SDP.
    pub async fn first_offer(&mut self, events: &LinkEvents) -> Result<String, PeerError> {
        for label in [label::CHAT, label::CONSENT, label::MEDIA] {
            let channel = self.pc.create_data_channel(label, None).await?;
            spawn_reader(self.remote, label, channel, self.reporter(events));
        }
        Ok(self.offer().await?.unwrap_or_default())
    }

    /// A new offer when the connection is idle (`None` while an offer is already out).
    pub async fn offer(&mut self) -> Result<Option<String>, PeerError> {
        if self.offer_pending {
            return Ok(None);
        }
        let offer = self.pc.create_offer(None).await?;
        let sdp = offer.sdp.clone();
        self.pc.set_local_description(offer).await?;
        self.offer_pending = true;
        Ok(Some(sdp))
    }

    /// Handles a remote offer: the answer's SDP, or `None` when we are the
    /// impolite side of a collision and ignore it.
    pub async fn on_offer(&mut self, offer_sdp: &str) -> Result<Option<String>, PeerError> {
        if self.meant_for_replaced(offer_sdp) {
            tracing::info!(remote = %self.remote, "an offer for the connection this one replaced; ignored");
            return Ok(None);
        }
        if self.offer_pending {
            if !self.polite {
                self.ignoring_offer = true;
                return Ok(None);
            }
            self.pc.set_local_description(RTCSessionDescription::rollback(None)?).await?;
            self.offer_pending = false;
            // What our offer carried still needs negotiating once this exchange is done.
            self.renegotiate = true;
        }
        self.ignoring_offer = false;
        if !self.has_remote_description && !self.outbound.is_empty() {
            // The first offer came from the remote and cannot have carried our feeds: offer them
            // once this exchange is done, whether or not webrtc signals negotiation-needed in time.
            self.renegotiate = true;
        }
        self.set_remote(RTCSessionDescription::offer(offer_sdp.to_owned())?).await?;
        let answer = self.pc.create_answer(None).await?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await?;
        Ok(Some(sdp))
    }

    /// Applies the remote answer.
    pub async fn accept_answer(&mut self, answer_sdp: &str) -> Result<(), PeerError> {
        if !self.offer_pending {
            tracing::debug!(remote = %self.remote, "an answer without an offer out; ignored");
            return Ok(());
        }
        if self.meant_for_replaced(answer_sdp) {
            tracing::info!(remote = %self.remote, "an answer for the connection this one replaced; ignored");
            return Ok(());
        }
        self.offer_pending = false;
        self.set_remote(RTCSessionDescription::answer(answer_sdp.to_owned())?).await
    }

    /// Whether a first offer/answer exchange has completed.
    /// Lets our screen go to this participant, or stops it (consent's decision).
    pub fn send_screen(&self, allowed: bool) {
        for gate in &self.screen_gates {
            gate.set(allowed);
        }
    }

    pub fn has_negotiated(&self) -> bool {
        self.has_remote_description && !self.offer_pending
    }

    /// Offer again when the exchange under way is over.
    pub fn renegotiate_later(&mut self) {
        self.renegotiate = true;
    }

    /// Whether an offer is owed now that the connection is idle.
    pub fn take_renegotiation(&mut self) -> bool {
        std::mem::take(&mut self.renegotiate)
    }

    /// Restarts ICE (after the connection failed); a new offer follows.
    pub async fn restart_ice(&self) -> Result<(), PeerError> {
        Ok(self.pc.restart_ice().await?)
    }

    /// Hands the connection fresh ICE servers (renewed TURN credentials) for its next ICE restart.
    pub async fn set_ice_servers(&self, ice_servers: Vec<RTCIceServer>, config: &LinkConfig) {
        if let Err(e) = self.pc.set_configuration(configuration(ice_servers, config)).await {
            tracing::warn!(remote = %self.remote, error = %e, "could not renew the ICE servers");
        }
    }

    /// The selected candidate pair, once ICE has chosen one.
    pub async fn selected_path(&self, routes: &IceRoutes) -> Option<Path> {
        let sctp = self.pc.sctp().await?;
        let pair = sctp.transport().ice_transport().get_selected_candidate_pair().await.ok()??;
        let (local, remote) = (pair.local(), pair.remote());
        let protocol = if local.typ == RTCIceCandidateType::Relay {
            routes.relay_protocol()
        } else {
            match local.protocol {
                webrtc::peer_connection::RTCIceProtocol::Tcp => PathProtocol::Tcp,
                _ => PathProtocol::Udp,
            }
        };
        Some(Path { local: candidate_type(local.typ)?, remote: candidate_type(remote.typ)?, protocol })
    }

    /// The congestion-control estimate for this connection, bits/s.
    pub fn bitrate(&self) -> f64 {
        f64::from_bits(self.bitrate_target.load(Ordering::Relaxed))
    }

    /// Adds a remote candidate (kept until the remote description is set).
    pub async fn add_candidate(&mut self, ice: &IceCandidate) -> Result<(), PeerError> {
        let init = RTCIceCandidateInit {
            candidate: ice.candidate.as_str().to_owned(),
            sdp_mid: ice.sdp_mid.as_ref().map(|m| m.as_str().to_owned()),
            sdp_mline_index: ice.sdp_m_line_index,
            username_fragment: ice.username_fragment.as_ref().map(|u| u.as_str().to_owned()),
            ..Default::default()
        };
        if self.has_remote_description {
            if let Err(e) = self.pc.add_ice_candidate(init).await
                && !self.ignoring_offer
            {
                return self.stale_candidate(e.into());
            }
        } else {
            self.early_candidates.push(init);
        }
        Ok(())
    }

    /// As a controller: opens the `control` (reliable, ordered) and
    /// `control-motion` (unordered, no retransmits) channels, once.
    pub async fn open_control(&mut self, events: &LinkEvents) -> Result<(), PeerError> {
        if std::mem::replace(&mut self.control_opened, true) {
            return Ok(());
        }
        let motion = webrtc::data_channel::RTCDataChannelInit {
            ordered: false,
            max_packet_life_time: None,
            max_retransmits: Some(0),
            protocol: String::new(),
            negotiated: None,
        };
        self.create_channel(ChannelName::Fixed(label::CONTROL), None, events).await?;
        self.create_channel(ChannelName::Fixed(label::CONTROL_MOTION), Some(motion), events).await
    }

    /// Opens the reliable, ordered channel `label` from this side unless it is
    /// already open or asked for (`remote-files`, `system-info` on the CSR's side).
    pub async fn ensure_channel(
        &mut self,
        label: &'static str,
        events: &LinkEvents,
    ) -> Result<(), PeerError> {
        if self.channels.contains_key(label) || !self.requested.insert(label) {
            return Ok(());
        }
        self.create_channel(ChannelName::Fixed(label), None, events).await
    }

    /// Opens a channel `rfile-<id>` (reliable, ordered) for a transfer: a new one, or a
    /// replacement after the old one was lost. [`LinkEvent::TransferOpen`] says when it is open.
    pub async fn open_transfer(&mut self, id: TransferId, events: &LinkEvents) -> Result<(), PeerError> {
        self.create_channel(ChannelName::Transfer(id), None, events).await
    }

    /// Remembers an open transfer channel. A second one for the same id (the
    /// remote replaced a channel it lost) waits until [`Link::promote_transfer`]:
    /// until the remote says it resumes there, this side keeps sending on the first.
    pub fn transfer_open(&mut self, id: TransferId, channel: Arc<dyn DataChannel>) {
        match self.transfers.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.replacements.insert(id, channel);
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(channel);
            }
        }
    }

    /// Whether `stream` is the channel waiting to replace `id`'s.
    pub fn is_replacement(&self, id: TransferId, stream: RTCDataChannelId) -> bool {
        self.replacements.get(&id).is_some_and(|c| c.id() == stream)
    }

    /// The waiting channel takes over `id`; the old one is given up (left open, idle).
    pub fn promote_transfer(&mut self, id: TransferId) {
        if let Some(channel) = self.replacements.remove(&id)
            && let Some(old) = self.transfers.insert(id, channel)
        {
            self.retired.push((id, old));
        }
    }

    /// A transfer channel closed: forgets it, and says whether it was `id`'s
    /// current one (not when a newer channel already took its place).
    pub fn transfer_closed(&mut self, id: TransferId, stream: RTCDataChannelId) -> bool {
        let mut current = self.transfers.get(&id).is_some_and(|c| c.id() == stream);
        if current {
            self.transfers.remove(&id);
            if let Some(next) = self.replacements.remove(&id) {
                // Its replacement is already here: it is the channel now.
                self.transfers.insert(id, next);
                current = false;
            }
        }
        if self.is_replacement(id, stream) {
            self.replacements.remove(&id);
        }
        self.retired.retain(|(_, c)| c.id() != stream);
        current
    }

    /// The stream of `id`'s open channel, if any.
    pub fn transfer_stream(&self, id: TransferId) -> Option<RTCDataChannelId> {
        self.transfers.get(&id).map(|c| c.id())
    }

    /// Bytes handed to `id`'s channel and not yet acknowledged by the remote SCTP
    /// (the channel's `bufferedAmount`, for back-pressure); `None` when it is not open.
    pub async fn transfer_buffered(&self, id: TransferId) -> Option<usize> {
        self.transfers.get(&id)?.outstanding_bytes().await.ok()
    }

    /// Sends a text message on `id`'s channel; `false` when it is not open.
    pub async fn send_transfer_text(
        &self,
        id: TransferId,
        message: &TransferMessage,
    ) -> Result<bool, PeerError> {
        let Some(channel) = self.transfers.get(&id) else { return Ok(false) };
        channel.send_text(&tandem_wire::encode(message)).await?;
        Ok(true)
    }

    /// Sends file bytes (at most [`MAX_CHANNEL_MESSAGE_BYTES`]) on `id`'s channel; `false` when it is not open.
    /// The buffer is handed over as it is (`Vec` → `Bytes` → `BytesMut` moves it, no copy).
    pub async fn send_transfer_chunk(&self, id: TransferId, bytes: Vec<u8>) -> Result<bool, PeerError> {
        if bytes.len() > MAX_CHANNEL_MESSAGE_BYTES {
            return Err(PeerError::WebRtc(format!("a {} byte chunk is over the message limit", bytes.len())));
        }
        let Some(channel) = self.transfers.get(&id) else { return Ok(false) };
        channel.send(bytes::BytesMut::from(bytes::Bytes::from(bytes))).await?;
        Ok(true)
    }

    /// The transfer is over: its channel is no longer used (left open, see `retired`).
    pub fn retire_transfer(&mut self, id: TransferId) {
        if let Some(channel) = self.transfers.remove(&id) {
            self.retired.push((id, channel));
        }
    }

    /// Stops using `id`'s channel as if it were lost (a new one carries on).
    pub fn abandon_transfer(&mut self, id: TransferId) {
        self.retire_transfer(id);
    }

    /// Creates a data channel once the connection can carry it. webrtc 0.21
    /// misses a channel created while the SCTP association is being set up (it
    /// then never opens), so until another channel is open (the association is
    /// up) the channel waits in `pending_channels`.
    async fn create_channel(
        &mut self,
        name: ChannelName,
        init: Option<webrtc::data_channel::RTCDataChannelInit>,
        events: &LinkEvents,
    ) -> Result<(), PeerError> {
        if self.channels.is_empty() {
            self.pending_channels.push((name, init));
            return Ok(());
        }
        match name {
            ChannelName::Fixed(label) => {
                let channel = self.pc.create_data_channel(label, init).await?;
                spawn_reader(self.remote, label, channel, self.reporter(events));
            }
            ChannelName::Transfer(id) => {
                let channel = self.pc.create_data_channel(&transfer_label(id), init).await?;
                spawn_transfer_reader(self.remote, id, channel, self.reporter(events));
            }
        }
        Ok(())
    }

    /// Remembers an open data channel, and creates those that waited for one.
    pub async fn channel_open(
        &mut self,
        label: &'static str,
        channel: Arc<dyn DataChannel>,
        events: &LinkEvents,
    ) -> Result<(), PeerError> {
        self.channels.insert(label, channel);
        for (name, init) in std::mem::take(&mut self.pending_channels) {
            self.create_channel(name, init, events).await?;
        }
        Ok(())
    }

    /// Forgets a closed data channel.
    pub fn channel_closed(&mut self, label: &'static str) {
        self.channels.remove(label);
        self.requested.remove(label);
    }

    /// Sends a message on the channel `label` if it is open; returns whether it was sent.
    pub async fn send_on<M: tandem_wire::Message>(
        &self,
        label: &str,
        message: &M,
    ) -> Result<bool, PeerError> {
        let Some(channel) = self.channels.get(label) else { return Ok(false) };
        channel.send_text(&tandem_wire::encode(message)).await?;
        Ok(true)
    }

    /// Closes the connection.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(remote = %self.remote, error = %e, "closing a peer connection");
        }
    }

    /// This link replaces `old` (a new peer connection to the same participant):
    /// what is still on its way for `old` is told apart and ignored.
    pub fn replaces(&mut self, old: &Link) {
        self.replaced = Some(Replaced { remote_fingerprint: old.remote_fingerprint.clone() });
    }

    /// Whether `offer_sdp` comes from a new peer connection of the remote's: its DTLS
    /// fingerprint is neither the one this link applied last nor the replaced connection's.
    /// (An offer before any remote description cannot be told apart: `false`.)
    pub fn offer_from_new_connection(&self, offer_sdp: &str) -> bool {
        let offered = dtls_fingerprint(offer_sdp);
        offered.is_some()
            && self.remote_fingerprint.is_some()
            && offered != self.remote_fingerprint.as_deref()
            && !self.meant_for_replaced(offer_sdp)
    }

    /// Whether `sdp` carries the fingerprint of the remote connection this link replaced.
    fn meant_for_replaced(&self, sdp: &str) -> bool {
        let old = self.replaced.as_ref().and_then(|r| r.remote_fingerprint.as_deref());
        old.is_some() && old == dtls_fingerprint(sdp)
    }

    /// A remote candidate failed: fatal, except on a replacement link, where it may
    /// have been meant for the connection replaced.
    fn stale_candidate(&self, error: PeerError) -> Result<(), PeerError> {
        if self.replaced.is_none() {
            return Err(error);
        }
        tracing::info!(remote = %self.remote, %error, "a candidate that does not fit the new connection; dropped");
        Ok(())
    }

    /// A reader's [`LinkEvent`]s, tagged with this link's epoch.
    fn reporter(&self, events: &LinkEvents) -> Reporter {
        Reporter { epoch: self.epoch, tx: events.clone() }
    }

    async fn set_remote(&mut self, desc: RTCSessionDescription) -> Result<(), PeerError> {
        let fingerprint = dtls_fingerprint(&desc.sdp).map(str::to_owned);
        self.pc.set_remote_description(desc).await?;
        self.has_remote_description = true;
        if fingerprint.is_some() {
            self.remote_fingerprint = fingerprint;
        }
        for init in std::mem::take(&mut self.early_candidates) {
            if let Err(e) = self.pc.add_ice_candidate(init).await {
                self.stale_candidate(e.into())?;
            }
        }
        Ok(())
    }
}

fn configuration(
    ice_servers: Vec<RTCIceServer>,
    config: &LinkConfig,
) -> webrtc::peer_connection::RTCConfiguration {
    let builder = RTCConfigurationBuilder::new().with_ice_servers(ice_servers);
    if config.relay_only { builder.with_ice_transport_policy(RTCIceTransportPolicy::Relay) } else { builder }
        .build()
}

fn candidate_type(typ: RTCIceCandidateType) -> Option<CandidateType> {
    match typ {
        RTCIceCandidateType::Host => Some(CandidateType::Host),
        RTCIceCandidateType::Srflx => Some(CandidateType::Srflx),
        RTCIceCandidateType::Prflx => Some(CandidateType::Prflx),
        RTCIceCandidateType::Relay => Some(CandidateType::Relay),
        _ => None,
    }
}

/// What a replacement link knows of the connection it replaced: an offer or
/// answer with the remote fingerprint of that one was meant for it and is ignored,
/// as are remote candidates that fail.
struct Replaced {
    remote_fingerprint: Option<String>,
}

/// A data channel this side creates.
#[derive(Debug, Clone, Copy)]
enum ChannelName {
    Fixed(&'static str),
    Transfer(TransferId),
}

/// Where one link's callbacks and readers send their events: the session's
/// queue, each event tagged with the link's epoch.
#[derive(Clone)]
struct Reporter {
    epoch: LinkEpoch,
    tx: LinkEvents,
}

impl Reporter {
    /// Whether the session still listens.
    fn send(&self, event: LinkEvent) -> bool {
        self.tx.send((self.epoch, event)).is_ok()
    }
}

/// Forwards the connection's callbacks as [`LinkEvent`]s.
struct Handler {
    remote: ParticipantId,
    events: Reporter,
    media: Media,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let Ok(init) = event.candidate.to_json() else { return };
        let text = |s: String| IceText::parse(s).ok();
        let Some(candidate) = text(init.candidate) else { return };
        let ice = IceCandidate {
            candidate,
            sdp_mid: init.sdp_mid.and_then(text),
            sdp_m_line_index: init.sdp_mline_index,
            username_fragment: init.username_fragment.and_then(text),
        };
        let _ = self.events.send(LinkEvent::Candidate { to: self.remote, ice });
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.send(LinkEvent::State { with: self.remote, state });
    }

    async fn on_negotiation_needed(&self) {
        let _ = self.events.send(LinkEvent::NegotiationNeeded { with: self.remote });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // The task ends with the track (when the connection closes).
        let (video, audio) = (self.media.video_sinks.clone(), self.media.audio_sinks.clone());
        tokio::spawn(crate::media::inbound::receive(self.remote, track, video, audio));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        match channel.label().await.as_deref() {
            Ok(name) if CHANNELS.contains(&name) => {
                let label = CHANNELS.into_iter().find(|l| *l == name).expect("listed");
                spawn_reader(self.remote, label, channel, self.events.clone())
            }
            Ok(name) if parse_transfer_label(name).is_some() => {
                let id = parse_transfer_label(name).expect("checked by the guard");
                spawn_transfer_reader(self.remote, id, channel, self.events.clone())
            }
            Ok(other) => {
                tracing::warn!(remote = %self.remote, label = other, "ignoring an unknown data channel")
            }
            Err(e) => tracing::warn!(remote = %self.remote, error = %e, "data channel without a label"),
        }
    }
}

/// Reads a data channel until it closes: size-limited, decoded by its label, forwarded.
fn spawn_reader(from: ParticipantId, label: &'static str, channel: Arc<dyn DataChannel>, events: Reporter) {
    tokio::spawn(async move {
        while let Some(event) = channel.poll().await {
            match event {
                DataChannelEvent::OnOpen => {
                    let _ =
                        events.send(LinkEvent::ChannelOpen { with: from, label, channel: channel.clone() });
                }
                DataChannelEvent::OnMessage(msg) => {
                    let read = if msg.data.len() > MAX_CHANNEL_MESSAGE_BYTES {
                        Err(format!("{} bytes, over the {MAX_CHANNEL_MESSAGE_BYTES} limit", msg.data.len()))
                    } else {
                        std::str::from_utf8(&msg.data)
                            .map_err(|_| "not UTF-8 text".to_owned())
                            .and_then(|t| decode_on(label, t))
                    };
                    let event = match read {
                        Ok(message) => LinkEvent::Message { from, message },
                        Err(reason) => LinkEvent::BadMessage { from, reason: format!("{label}: {reason}") },
                    };
                    if !events.send(event) {
                        break;
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
        let _ = events.send(LinkEvent::ChannelClosed { with: from, label });
    });
}

/// Reads a transfer channel until it closes: each message size-limited, text
/// decoded as a [`TransferMessage`], binary passed on as file bytes; a fall of
/// the buffered amount is reported so that the sender goes on.
fn spawn_transfer_reader(
    from: ParticipantId,
    id: TransferId,
    channel: Arc<dyn DataChannel>,
    events: Reporter,
) {
    tokio::spawn(async move {
        let stream = channel.id();
        if let Err(e) = channel.set_buffered_amount_low_threshold(TRANSFER_LOW_WATER_BYTES).await {
            tracing::debug!(%from, ?id, error = %e, "transfer channel: no low-water mark");
        }
        while let Some(event) = channel.poll().await {
            let event = match event {
                DataChannelEvent::OnOpen => {
                    LinkEvent::TransferOpen { with: from, id, stream, channel: channel.clone() }
                }
                DataChannelEvent::OnBufferedAmountLow => LinkEvent::TransferDrained { with: from, id },
                DataChannelEvent::OnMessage(msg) => {
                    let read = if msg.data.len() > MAX_CHANNEL_MESSAGE_BYTES {
                        Err(format!("{} bytes, over the {MAX_CHANNEL_MESSAGE_BYTES} limit", msg.data.len()))
                    } else if msg.is_string {
                        std::str::from_utf8(&msg.data)
                            .map_err(|_| "not UTF-8 text".to_owned())
                            .and_then(|t| tandem_wire::decode(t).map_err(|e| e.to_string()))
                            .map(TransferData::Text)
                    } else {
                        Ok(TransferData::Chunk(msg.data.to_vec()))
                    };
                    match read {
                        Ok(data) => LinkEvent::Transfer { from, id, stream, data },
                        Err(reason) => {
                            LinkEvent::Transfer { from, id, stream, data: TransferData::Bad(reason) }
                        }
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => continue,
            };
            if !events.send(event) {
                break;
            }
        }
        tracing::debug!(%from, ?id, stream, "transfer channel closed");
        let _ = events.send(LinkEvent::TransferClosed { with: from, id, stream });
    });
}

/// Wraps the congestion controller and publishes its target after every update
/// (the estimator lives inside the interceptor chain, out of the application's reach).
struct PublishingEstimator<E> {
    inner: E,
    target: Arc<AtomicU64>,
}

impl<E: BandwidthEstimator> PublishingEstimator<E> {
    fn new(inner: E) -> (Self, Arc<AtomicU64>) {
        let target = Arc::new(AtomicU64::new(inner.target_bitrate().to_bits()));
        (Self { inner, target: target.clone() }, target)
    }

    fn publish(&self) {
        self.target.store(self.inner.target_bitrate().to_bits(), Ordering::Relaxed);
    }
}

impl<E: BandwidthEstimator> BandwidthEstimator for PublishingEstimator<E> {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.publish();
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_addrs(addrs: &[&str]) -> LinkConfig {
        LinkConfig { udp_addrs: addrs.iter().map(|a| a.to_string()).collect(), ..LinkConfig::default() }
    }

    #[test]
    fn only_loopback_only_links_choose_large_sctp_packets() {
        assert_eq!(LinkConfig::loopback().sctp_packet_size(), Some(LOOPBACK_SCTP_MTU));
        assert_eq!(with_addrs(&["127.0.0.1:0", "[::1]:0"]).sctp_packet_size(), Some(LOOPBACK_SCTP_MTU));
        // Any other address may lead anywhere: webrtc's size.
        assert_eq!(LinkConfig::default().sctp_packet_size(), None);
        assert_eq!(with_addrs(&["127.0.0.1:0", "10.77.0.1:0"]).sctp_packet_size(), None);
        assert_eq!(with_addrs(&["localhost:0"]).sctp_packet_size(), None);
        assert_eq!(with_addrs(&[]).sctp_packet_size(), None);
        // A TURN relay's datagrams are Ethernet-sized, wherever it runs.
        let relayed = LinkConfig { relay_only: true, ..LinkConfig::loopback() };
        assert_eq!(relayed.sctp_packet_size(), None);
    }

    #[test]
    fn a_configured_sctp_packet_size_wins_within_bounds() {
        let set = |mtu| LinkConfig { sctp_mtu: Some(mtu), ..LinkConfig::default() }.sctp_packet_size();
        assert_eq!(set(8935), Some(8935));
        assert_eq!(set(100), Some(MIN_SCTP_MTU));
        assert_eq!(set(65_000), Some(LOOPBACK_SCTP_MTU));
        let relayed = LinkConfig { relay_only: true, sctp_mtu: Some(1400), ..LinkConfig::loopback() };
        assert_eq!(relayed.sctp_packet_size(), Some(1400));
    }
}
