// @ts-check
/**
 * WebRTC between browser participants: one RTCPeerConnection per remote
 * participant, signaled through the server's `offer` / `answer` / `candidate`
 * relay with trickle ICE (docs/protocol.md §3, NET-1).
 *
 * Who offers: the participant with the lexicographically smaller id
 * (`peerPlan` in session-state.js; the native peer uses the same rule). The
 * offerer creates the `chat` data channel (reliable, ordered), which starts
 * the first negotiation. Later renegotiations (tracks added by either side)
 * follow the W3C "perfect negotiation" pattern
 * (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) with the
 * answerer as the polite side, so that collisions resolve themselves.
 */

import { decodeChat, encodeChat } from "./chat.js";

/** @typedef {import('../types/wire.js').ClientMessage} ClientMessage */
/** @typedef {import('../types/wire.js').ServerMessage} ServerMessage */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').IceServer} IceServer */
/** @typedef {import('../types/wire.js').ChatMessage} ChatMessage */

/** Data channel labels (wire/src/channels.rs `label`). */
export const CHAT_LABEL = "chat";

/**
 * @typedef {object} Peer
 * @property {RTCPeerConnection} pc
 * @property {boolean} polite
 * @property {boolean} makingOffer
 * @property {boolean} ignoreOffer
 * @property {RTCDataChannel | null} chat
 */

/**
 * @typedef {object} MeshOptions
 * @property {ParticipantId} selfId
 * @property {IceServer[]} iceServers
 * @property {(msg: ClientMessage) => void} sendSignal
 * @property {(from: ParticipantId, msg: ChatMessage) => void} onChat
 * @property {() => void} [onChange] a peer's connection or channel state changed
 * @property {(from: ParticipantId, stream: MediaStream) => void} [onRemoteStream] media from a peer
 */

export class PeerMesh {
  /** @param {MeshOptions} opts */
  constructor(opts) {
    this.opts = opts;
    /** @type {Map<ParticipantId, Peer>} */
    this.peers = new Map();
    /** @type {MediaStream | null} what this participant sends to everyone (audio, TOOL-2) */
    this.local = null;
  }

  /**
   * Sends these local tracks to every peer, now and to those who come later.
   * Adding tracks renegotiates (perfect negotiation handles collisions).
   * @param {MediaStream} stream
   */
  setLocalStream(stream) {
    this.local = stream;
    for (const peer of this.peers.values()) this.addLocalTracks(peer);
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
   * Brings the set of peer connections in line with the plan: creates the
   * missing ones (the offerer's side starts negotiating), closes the others.
   * @param {{ id: ParticipantId, offerer: boolean }[]} plan
   */
  sync(plan) {
    const wanted = new Set(plan.map((p) => p.id));
    for (const [id, peer] of this.peers) {
      if (!wanted.has(id)) {
        peer.pc.close();
        this.peers.delete(id);
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
      const collision = msg.type === "offer" && (peer.makingOffer || pc.signalingState !== "stable");
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      await pc.setRemoteDescription(description);
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
    for (const peer of this.peers.values()) peer.pc.close();
    this.peers.clear();
  }

  /**
   * @private
   * @param {ParticipantId} id
   * @param {boolean} offerer
   * @returns {Peer}
   */
  create(id, offerer) {
    const pc = new RTCPeerConnection({ iceServers: this.opts.iceServers });
    /** @type {Peer} */
    const peer = { pc, polite: !offerer, makingOffer: false, ignoreOffer: false, chat: null };
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
    pc.onconnectionstatechange = () => this.opts.onChange?.();
    pc.ondatachannel = ({ channel }) => {
      if (channel.label === CHAT_LABEL) this.attachChat(id, peer, channel);
    };
    pc.ontrack = ({ track, streams }) => {
      this.opts.onRemoteStream?.(id, streams[0] ?? new MediaStream([track]));
    };
    if (offerer) this.attachChat(id, peer, pc.createDataChannel(CHAT_LABEL, { ordered: true }));
    this.addLocalTracks(peer);
    return peer;
  }

  /** @private @param {Peer} peer */
  addLocalTracks(peer) {
    if (!this.local) return;
    const sending = new Set(peer.pc.getSenders().map((s) => s.track));
    for (const track of this.local.getTracks()) {
      if (!sending.has(track)) peer.pc.addTrack(track, this.local);
    }
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
