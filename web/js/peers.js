// @ts-check
/**
 * WebRTC between browser participants: one RTCPeerConnection per remote
 * participant, signaled through the server's `offer` / `answer` / `candidate`
 * relay with trickle ICE (docs/protocol.md §3, NET-1).
 *
 * Who offers: the participant with the lexicographically smaller id
 * (`peerPlan` in session-state.js; the native peer uses the same rule). The
 * offerer creates the long-lived data channels (`chat`, `consent`, `media`,
 * `files`; reliable, ordered; docs/data-channels.md), which starts the first
 * negotiation. The downloader of a file opens its `file-<id>` channel; the
 * controlling side opens `control` and `control-motion` (remote-control.js).
 * A browser cannot inject input, so it closes control channels opened to it.
 *
 * Media: each outgoing stream has a source (microphone, camera, screen) and
 * goes to everyone or to chosen peers. It is announced on the `media` channel
 * before its tracks are added, so that the receiver knows where to show it;
 * tracks are added to a peer once its `media` channel is open (or, for a peer
 * that never opens one, a moment after connecting). Later renegotiations (tracks added by either side)
 * follow the W3C "perfect negotiation" pattern
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) with the
 * answerer as the polite side, so that collisions resolve themselves.
 *
 * Path (NET-2): while a connection is `connected`, its selected candidate
 * pair is read from `getStats()` when it connects, when the ICE transport
 * says the pair changed, and every few seconds, and sent as `path_report`
 * whenever it differs from the last one sent for that peer.
 */

import { decodeChat, encodeChat } from "./chat.js";
import { encodeChannelMessage } from "./channel-codec.js";
import { pathFromStats, samePath } from "./network-path.js";

/** @typedef {import('../types/wire.js').ClientMessage} ClientMessage */
/** @typedef {import('../types/wire.js').ServerMessage} ServerMessage */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').IceServer} IceServer */
/** @typedef {import('../types/wire.js').ChatMessage} ChatMessage */
/** @typedef {import('../types/wire.js').MediaSource} MediaSource */
/** @typedef {import('./network-path.js').Path} Path */

/** Data channel labels (wire/src/channels.rs `label`). */
export const CHAT_LABEL = "chat";
export const CONSENT_LABEL = "consent";
export const MEDIA_LABEL = "media";
export const FILES_LABEL = "files";
export const FILE_PREFIX = "file-";
/** Remote control input: buttons, wheel, keys (reliable, ordered) and pointer motion (unordered, no retransmits). */
export const CONTROL_LABEL = "control";
export const CONTROL_MOTION_LABEL = "control-motion";
/** The channels the offerer opens with every peer connection. */
const LONG_LIVED = [CHAT_LABEL, CONSENT_LABEL, MEDIA_LABEL, FILES_LABEL];
/** How long to wait for a peer's `media` channel after connecting before sending tracks unannounced. */
const MEDIA_CHANNEL_GRACE_MS = 2000;
/** How often the selected candidate pair is read while connected (it changes on ICE restarts and renominations). */
const PATH_POLL_MS = 3000;

/**
 * @typedef {object} Outgoing
 * @property {MediaStream} stream
 * @property {MediaSource} source
 * @property {Set<ParticipantId> | null} to null: everyone
 */

/**
 * @typedef {object} Peer
 * @property {RTCPeerConnection} pc
 * @property {boolean} polite
 * @property {boolean} makingOffer
 * @property {boolean} ignoreOffer
 * @property {boolean} answerPending an answer is being applied (W3C perfect negotiation's isSettingRemoteAnswerPending)
 * @property {RTCDataChannel | null} chat
 * @property {Map<string, RTCDataChannel>} channels long-lived channels by label
 * @property {boolean} ready tracks may be sent (media channel open, or grace over)
 * @property {ReturnType<typeof setTimeout> | null} graceTimer
 * @property {ReturnType<typeof setInterval> | null} pathTimer polls the path while connected
 * @property {Path | null} path the last path reported to the server
 */

/**
 * @typedef {object} MeshOptions
 * @property {ParticipantId} selfId
 * @property {IceServer[]} iceServers
 * @property {(msg: ClientMessage) => void} sendSignal
 * @property {(from: ParticipantId, msg: ChatMessage) => void} onChat
 * @property {() => void} [onChange] a peer's connection or channel state changed
 * @property {(from: ParticipantId, track: MediaStreamTrack, stream: MediaStream) => void} [onRemoteTrack] media from a peer
 * @property {(from: ParticipantId, label: string, data: unknown) => void} [onChannelMessage] consent, media, files
 * @property {(from: ParticipantId, label: string) => void} [onChannelOpen]
 * @property {(from: ParticipantId, channel: RTCDataChannel) => void} [onFileChannel] a `file-<id>` channel the peer opened
 * @property {(id: ParticipantId) => void} [onPeerClosed]
 */

export class PeerMesh {
  /** @param {MeshOptions} opts */
  constructor(opts) {
    this.opts = opts;
    /** The ICE servers for new connections (`setIceServers` renews them). */
    this.iceServers = opts.iceServers;
    /** @type {Map<ParticipantId, Peer>} */
    this.peers = new Map();
    /** @type {Map<string, Outgoing>} what this participant sends, by stream id */
    this.outgoing = new Map();
  }

  /**
   * Sends a stream's tracks to every peer (`to` null), now and to those who
   * come later, or only to the chosen peers. Announced on `media` first.
   * Adding tracks renegotiates (perfect negotiation handles collisions).
   * @param {MediaStream} stream
   * @param {MediaSource} source
   * @param {ParticipantId[] | null} [to]
   */
  addStream(stream, source, to = null) {
    this.outgoing.set(stream.id, { stream, source, to: to ? new Set(to) : null });
    for (const [id, peer] of this.peers) this.sendStreams(id, peer);
  }

  /**
   * Stops sending a stream to everyone (removes its tracks, announces the end).
   * @param {MediaStream} stream
   */
  removeStream(stream) {
    if (!this.outgoing.delete(stream.id)) return;
    const tracks = new Set(stream.getTracks());
    for (const peer of this.peers.values()) {
      const senders = peer.pc.getSenders().filter((s) => s.track && tracks.has(s.track));
      if (senders.length === 0) continue;
      this.send(peer, MEDIA_LABEL, encodeChannelMessage({ type: "stream_ended", stream_id: stream.id }));
      for (const sender of senders) {
        try {
          peer.pc.removeTrack(sender);
        } catch (err) {
          console.warn("removeTrack:", err);
        }
      }
    }
  }

  /**
   * Sends the microphone to everyone (TOOL-2).
   * @param {MediaStream} stream
   */
  setLocalStream(stream) {
    this.addStream(stream, "microphone");
  }

  /**
   * Sends a text message on a long-lived channel to one peer; false if not open.
   * @param {ParticipantId} id
   * @param {string} label
   * @param {string} data
   */
  sendTo(id, label, data) {
    const peer = this.peers.get(id);
    return peer ? this.send(peer, label, data) : false;
  }

  /**
   * Opens a new channel to a peer (file downloads, control); null when there is no such peer.
   * @param {ParticipantId} id
   * @param {string} label
   * @param {RTCDataChannelInit} [options] reliable and ordered unless told otherwise
   */
  openChannel(id, label, options = { ordered: true }) {
    const peer = this.peers.get(id);
    if (!peer || peer.pc.connectionState === "closed") return null;
    try {
      return peer.pc.createDataChannel(label, options);
    } catch (err) {
      console.warn("createDataChannel", label, "failed:", err);
      return null;
    }
  }

  /**
   * RTP packets received so far per kind, summed over all peers
   * (`inbound-rtp` stats, https://www.w3.org/TR/webrtc-stats/#inboundrtpstats-dict*).
   * @param {'audio' | 'video'} kind
   */
  async packetsReceived(kind) {
    let total = 0;
    for (const peer of this.peers.values()) {
      const report = await peer.pc.getStats();
      report.forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === kind) total += s.packetsReceived ?? 0;
      });
    }
    return total;
  }

  /**
   * Hands fresh ICE servers (TURN credentials) to every connection, for its
   * next ICE restart, and to connections made later.
   * @param {IceServer[]} iceServers
   */
  setIceServers(iceServers) {
    this.iceServers = iceServers;
    for (const [id, peer] of this.peers) {
      try {
        peer.pc.setConfiguration({ ...peer.pc.getConfiguration(), iceServers });
      } catch (err) {
        console.warn("setConfiguration for", id, "failed:", err);
      }
    }
  }

  /**
   * The ICE servers each connection holds now (`getConfiguration`), by participant.
   * @returns {Record<ParticipantId, RTCIceServer[]>}
   */
  iceServersInUse() {
    return Object.fromEntries([...this.peers].map(([id, peer]) => [id, peer.pc.getConfiguration().iceServers ?? []]));
  }

  /**
   * Brings the set of peer connections in line with the plan: creates the
   * missing ones (the offerer's side starts negotiating), closes the others.
   * @param {{ id: ParticipantId, offerer: boolean }[]} plan
   */
  sync(plan) {
    const wanted = new Set(plan.map((p) => p.id));
    for (const [id, peer] of this.peers) {
      if (!wanted.has(id)) {
        this.drop(id, peer);
      }
    }
    for (const { id, offerer } of plan) {
      if (!this.peers.has(id)) this.create(id, offerer);
    }
    this.opts.onChange?.();
  }

  /**
   * Handles a relayed signal from the server.
   * @param {ServerMessage} msg
   */
  async handleSignal(msg) {
    if (msg.type !== "offer" && msg.type !== "answer" && msg.type !== "candidate") return;
    // An offer can arrive before our participants list names the sender: the sender offers, so we answer.
    const peer = this.peers.get(msg.from) ?? (msg.type === "offer" ? this.create(msg.from, false) : null);
    if (!peer) return;
    const { pc } = peer;
    try {
      if (msg.type === "candidate") {
        try {
          await pc.addIceCandidate(msg.ice);
        } catch (err) {
          if (!peer.ignoreOffer) throw err;
        }
        return;
      }
      const description = /** @type {RTCSessionDescriptionInit} */ ({ type: msg.type, sdp: msg.sdp });
      // Signals are handled concurrently: an offer may arrive while the remote's answer to
      // our offer is still being applied. That is not a collision (W3C perfect negotiation):
      // the answer lands first, then the offer.
      const ready = !peer.makingOffer && (pc.signalingState === "stable" || peer.answerPending);
      const collision = msg.type === "offer" && !ready;
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      peer.answerPending = msg.type === "answer";
      try {
        await pc.setRemoteDescription(description);
      } finally {
        peer.answerPending = false;
      }
      if (msg.type === "offer") {
        await pc.setLocalDescription();
        const sdp = pc.localDescription?.sdp;
        if (sdp) this.opts.sendSignal({ type: "answer", to: msg.from, sdp });
      }
    } catch (err) {
      console.warn("signal from", msg.from, "failed:", err);
    }
  }

  /**
   * Sends a chat line on the `chat` channels: to everyone (`to` empty) or
   * only to the chosen recipients. Returns the ids it went to.
   * @param {string} text
   * @param {ParticipantId[]} to
   * @param {number} now Unix ms
   * @returns {{ sent: ParticipantId[], msg: ChatMessage }}
   */
  sendChat(text, to, now) {
    /** @type {ChatMessage} */
    const msg = { type: "chat", text, to, sent_at: now };
    const data = encodeChat(msg);
    /** @type {ParticipantId[]} */
    const sent = [];
    for (const [id, peer] of this.peers) {
      if (to.length > 0 && !to.includes(id)) continue;
      if (peer.chat?.readyState === "open") {
        peer.chat.send(data);
        sent.push(id);
      }
    }
    return { sent, msg };
  }

  /** Ids of peers whose chat channel is open. */
  chatReady() {
    return [...this.peers].filter(([, p]) => p.chat?.readyState === "open").map(([id]) => id);
  }

  /** Closes every peer connection. */
  close() {
    for (const [id, peer] of this.peers) this.drop(id, peer);
  }

  /** @private @param {ParticipantId} id @param {Peer} peer */
  drop(id, peer) {
    if (peer.graceTimer) clearTimeout(peer.graceTimer);
    if (peer.pathTimer) clearInterval(peer.pathTimer);
    peer.pc.close();
    this.peers.delete(id);
    this.opts.onPeerClosed?.(id);
  }

  /** @private @param {Peer} peer @param {string} label @param {string} data */
  send(peer, label, data) {
    const channel = peer.channels.get(label);
    if (channel?.readyState !== "open") return false;
    try {
      channel.send(data);
      return true;
    } catch (err) {
      console.warn("send on", label, "failed:", err);
      return false;
    }
  }

  /**
   * Announces and adds the streams meant for this peer that it does not get yet.
   * @private @param {ParticipantId} id @param {Peer} peer
   */
  sendStreams(id, peer) {
    if (!peer.ready) return;
    const sending = new Set(peer.pc.getSenders().map((s) => s.track));
    for (const { stream, source, to } of this.outgoing.values()) {
      if (to && !to.has(id)) continue;
      const missing = stream.getTracks().filter((t) => !sending.has(t));
      if (missing.length === 0) continue;
      this.send(peer, MEDIA_LABEL, encodeChannelMessage({ type: "stream", stream_id: stream.id, source }));
      for (const track of missing) peer.pc.addTrack(track, stream);
    }
  }

  /**
   * Starts reading the path when the connection is connected, stops when it is not.
   * @private @param {ParticipantId} id @param {Peer} peer
   */
  watchPath(id, peer) {
    const { pc } = peer;
    if (pc.connectionState !== "connected") {
      if (peer.pathTimer) clearInterval(peer.pathTimer);
      peer.pathTimer = null;
      return;
    }
    if (peer.pathTimer) return;
    peer.pathTimer = setInterval(() => void this.reportPath(id, peer), PATH_POLL_MS);
    void this.reportPath(id, peer);
    // Where the browser tells (https://w3c.github.io/webrtc-pc/#dom-rtcicetransport-onselectedcandidatepairchange), read at once.
    const ice = pc.sctp?.transport.iceTransport;
    if (ice && "onselectedcandidatepairchange" in ice) ice.onselectedcandidatepairchange = () => void this.reportPath(id, peer);
  }

  /**
   * Sends `path_report` if the selected pair differs from the last one reported.
   * @private @param {ParticipantId} id @param {Peer} peer
   */
  async reportPath(id, peer) {
    let path;
    try {
      path = pathFromStats(await peer.pc.getStats());
    } catch (err) {
      console.warn("getStats for", id, "failed:", err);
      return;
    }
    if (!path || samePath(path, peer.path) || this.peers.get(id) !== peer || peer.pc.connectionState !== "connected") return;
    peer.path = path;
    this.opts.sendSignal({ type: "path_report", with: id, ...path });
  }

  /**
   * @private
   * @param {ParticipantId} id
   * @param {boolean} offerer
   * @returns {Peer}
   */
  create(id, offerer) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    /** @type {Peer} */
    const peer = {
      pc,
      polite: !offerer,
      makingOffer: false,
      ignoreOffer: false,
      answerPending: false,
      chat: null,
      channels: new Map(),
      ready: false,
      graceTimer: null,
      pathTimer: null,
      path: null,
    };
    this.peers.set(id, peer);
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate || !candidate.candidate) return;
      const c = candidate.toJSON();
      /** @type {import('../types/wire.js').IceCandidate} */
      const ice = { candidate: c.candidate ?? "" };
      if (c.sdpMid != null) ice.sdpMid = c.sdpMid;
      if (c.sdpMLineIndex != null) ice.sdpMLineIndex = c.sdpMLineIndex;
      if (c.usernameFragment != null) ice.usernameFragment = c.usernameFragment;
      this.opts.sendSignal({ type: "candidate", to: id, ice });
    };
    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        const sdp = pc.localDescription?.sdp;
        if (sdp && pc.localDescription?.type === "offer") this.opts.sendSignal({ type: "offer", to: id, sdp });
      } catch (err) {
        console.warn("offer to", id, "failed:", err);
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      // A peer without a `media` channel (an older native peer) still gets our tracks, unannounced.
      if (pc.connectionState === "connected" && !peer.ready && !peer.graceTimer) {
        peer.graceTimer = setTimeout(() => {
          peer.ready = true;
          this.sendStreams(id, peer);
        }, MEDIA_CHANNEL_GRACE_MS);
      }
      this.watchPath(id, peer);
      this.opts.onChange?.();
    };
    pc.ondatachannel = ({ channel }) => {
      if (LONG_LIVED.includes(channel.label)) this.attach(id, peer, channel);
      else if (channel.label.startsWith(FILE_PREFIX)) this.opts.onFileChannel?.(id, channel);
      // Unknown labels, and control input: this browser injects nothing, so it refuses it.
      else channel.close();
    };
    pc.ontrack = ({ track, streams }) => {
      this.opts.onRemoteTrack?.(id, track, streams[0] ?? new MediaStream([track]));
    };
    if (offerer) {
      for (const label of LONG_LIVED) this.attach(id, peer, pc.createDataChannel(label, { ordered: true }));
    }
    return peer;
  }

  /**
   * @private
   * @param {ParticipantId} id
   * @param {Peer} peer
   * @param {RTCDataChannel} channel
   */
  attach(id, peer, channel) {
    if (channel.label === CHAT_LABEL) return this.attachChat(id, peer, channel);
    peer.channels.set(channel.label, channel);
    channel.onopen = () => {
      if (channel.label === MEDIA_LABEL) {
        peer.ready = true;
        this.sendStreams(id, peer);
      }
      this.opts.onChannelOpen?.(id, channel.label);
      this.opts.onChange?.();
    };
    channel.onmessage = (ev) => this.opts.onChannelMessage?.(id, channel.label, ev.data);
  }

  /**
   * @private
   * @param {ParticipantId} id
   * @param {Peer} peer
   * @param {RTCDataChannel} channel
   */
  attachChat(id, peer, channel) {
    peer.chat = channel;
    channel.onopen = () => this.opts.onChange?.();
    channel.onclose = () => this.opts.onChange?.();
    channel.onmessage = (ev) => {
      const msg = decodeChat(ev.data);
      if (msg) this.opts.onChat(id, msg);
    };
  }
}
