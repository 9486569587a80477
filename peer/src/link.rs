//! One WebRTC peer connection to one remote participant.
//!
//! The connection's callbacks only forward [`LinkEvent`]s to the session task,
//! which owns every link; nothing else holds state behind a lock.

use std::sync::Arc;

use tandem_wire::channels::{ChatMessage, MAX_CHANNEL_MESSAGE_BYTES, label};
use tandem_wire::{IceCandidate, IceServer, IceText, ParticipantId};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, Registry, register_default_interceptors,
};

use crate::PeerError;

/// What a link reports to the session task.
pub enum LinkEvent {
    /// A local ICE candidate to trickle to the remote participant.
    Candidate { to: ParticipantId, ice: IceCandidate },
    /// The chat channel to `with` is open and can carry messages.
    ChatOpen { with: ParticipantId, channel: Arc<dyn DataChannel> },
    /// A chat message from `from`.
    Chat { from: ParticipantId, message: ChatMessage },
    /// A message on a data channel that could not be read; it was dropped.
    BadMessage { from: ParticipantId, reason: String },
    /// The connection's state changed.
    State { with: ParticipantId, state: RTCPeerConnectionState },
}

/// Network settings for links.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Local UDP addresses to gather candidates on. `0.0.0.0:0` skips loopback:
    /// tests on one machine bind `127.0.0.1:0`.
    pub udp_addrs: Vec<String>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self { udp_addrs: vec!["0.0.0.0:0".into()] }
    }
}

/// A peer connection to one remote participant.
pub struct Link {
    pub remote: ParticipantId,
    pc: Arc<dyn PeerConnection>,
    chat: Option<Arc<dyn DataChannel>>,
    /// Candidates that arrived before the remote description.
    early_candidates: Vec<RTCIceCandidateInit>,
    has_remote_description: bool,
}

impl Link {
    /// A new connection to `remote`, reporting to `events`.
    pub async fn new(
        remote: ParticipantId,
        ice_servers: &[IceServer],
        config: &LinkConfig,
        events: mpsc::UnboundedSender<LinkEvent>,
    ) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        media.register_default_codecs()?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        let servers = ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.credential.clone().unwrap_or_default(),
            })
            .collect();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().with_ice_servers(servers).build())
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler { remote, events }))
            .with_udp_addrs(config.udp_addrs.clone())
            .build()
            .await?;
        Ok(Self {
            remote,
            pc: Arc::new(pc),
            chat: None,
            early_candidates: Vec::new(),
            has_remote_description: false,
        })
    }

    /// As the offerer: opens the chat channel and returns the offer's SDP.
    pub async fn offer(&mut self, events: &mpsc::UnboundedSender<LinkEvent>) -> Result<String, PeerError> {
        let channel = self.pc.create_data_channel(label::CHAT, None).await?;
        spawn_reader(self.remote, channel, events.clone());
        let offer = self.pc.create_offer(None).await?;
        let sdp = offer.sdp.clone();
        self.pc.set_local_description(offer).await?;
        Ok(sdp)
    }

    /// As the answerer: applies the offer and returns the answer's SDP.
    pub async fn answer(&mut self, offer_sdp: &str) -> Result<String, PeerError> {
        self.set_remote(RTCSessionDescription::offer(offer_sdp.to_owned())?).await?;
        let answer = self.pc.create_answer(None).await?;
        let sdp = answer.sdp.clone();
        self.pc.set_local_description(answer).await?;
        Ok(sdp)
    }

    /// Applies the remote answer.
    pub async fn accept_answer(&mut self, answer_sdp: &str) -> Result<(), PeerError> {
        self.set_remote(RTCSessionDescription::answer(answer_sdp.to_owned())?).await
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
            self.pc.add_ice_candidate(init).await?;
        } else {
            self.early_candidates.push(init);
        }
        Ok(())
    }

    /// Remembers the open chat channel.
    pub fn set_chat(&mut self, channel: Arc<dyn DataChannel>) {
        self.chat = Some(channel);
    }

    /// Sends a chat message if the chat channel is open; returns whether it was sent.
    pub async fn send_chat(&self, message: &ChatMessage) -> Result<bool, PeerError> {
        let Some(chat) = &self.chat else { return Ok(false) };
        chat.send_text(&tandem_wire::encode(message)).await?;
        Ok(true)
    }

    /// Closes the connection.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(remote = %self.remote, error = %e, "closing a peer connection");
        }
    }

    async fn set_remote(&mut self, desc: RTCSessionDescription) -> Result<(), PeerError> {
        self.pc.set_remote_description(desc).await?;
        self.has_remote_description = true;
        for init in std::mem::take(&mut self.early_candidates) {
            self.pc.add_ice_candidate(init).await?;
        }
        Ok(())
    }
}

/// Forwards the connection's callbacks as [`LinkEvent`]s.
struct Handler {
    remote: ParticipantId,
    events: mpsc::UnboundedSender<LinkEvent>,
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

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        match channel.label().await.as_deref() {
            Ok(label::CHAT) => spawn_reader(self.remote, channel, self.events.clone()),
            Ok(other) => {
                tracing::warn!(remote = %self.remote, label = other, "ignoring an unknown data channel")
            }
            Err(e) => tracing::warn!(remote = %self.remote, error = %e, "data channel without a label"),
        }
    }
}

/// Reads the chat channel until it closes: size-limited, decoded, forwarded.
fn spawn_reader(
    from: ParticipantId,
    channel: Arc<dyn DataChannel>,
    events: mpsc::UnboundedSender<LinkEvent>,
) {
    tokio::spawn(async move {
        while let Some(event) = channel.poll().await {
            match event {
                DataChannelEvent::OnOpen => {
                    let _ = events.send(LinkEvent::ChatOpen { with: from, channel: channel.clone() });
                }
                DataChannelEvent::OnMessage(msg) => {
                    let read = if msg.data.len() > MAX_CHANNEL_MESSAGE_BYTES {
                        Err(format!("{} bytes, over the {MAX_CHANNEL_MESSAGE_BYTES} limit", msg.data.len()))
                    } else {
                        std::str::from_utf8(&msg.data)
                            .map_err(|_| "not UTF-8 text".to_owned())
                            .and_then(|t| tandem_wire::decode::<ChatMessage>(t).map_err(|e| e.to_string()))
                    };
                    let event = match read {
                        Ok(message) => LinkEvent::Chat { from, message },
                        Err(reason) => LinkEvent::BadMessage { from, reason },
                    };
                    if events.send(event).is_err() {
                        break;
                    }
                }
                DataChannelEvent::OnClose => break,
                _ => {}
            }
        }
    });
}
