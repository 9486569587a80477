// @ts-check
/**
 * The controlling side of remote control (SHR-2, SHR-4, SHR-6, SHR-8): the
 * `control` and `control-motion` data channels to each peer we may control,
 * and sending `ControlMessage`s on them (docs/data-channels.md §6).
 *
 * Which peers those are is the consent book's answer (`controlTargets()`:
 * our `control_*` request was allowed, or we allowed the peer's
 * `share_control`); `sync` opens the two channels to each of them once and
 * closes them when control ends. The controlled side injects only while its
 * own consent holds and drops everything else: that check is its own, not
 * ours. A peer that cannot be controlled (another browser) closes the
 * channels; `state` then says `refused` so that the page can tell the person.
 *
 * Motion goes on `control-motion` (unordered, no retransmits: a lost motion
 * is replaced by the next), numbered by a per-peer `seq` growing by one;
 * buttons, wheel and keys go on `control` (reliable, ordered).
 */

import { encodeChannelMessage } from "./channel-codec.js";
import { nextSeq, validControl } from "./control-input.js";
import { CONTROL_LABEL, CONTROL_MOTION_LABEL } from "./peers.js";

/** @typedef {import('./peers.js').PeerMesh} PeerMesh */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').ControlMessage} ControlMessage */
/** @typedef {import('../types/wire.js').Point} Point */

/**
 * What the page may do with a peer's screen: nothing (`none`), wait for the
 * channels (`opening`), send input (`open`), or tell the person that the
 * peer closed them (`refused`).
 * @typedef {'none' | 'opening' | 'open' | 'refused'} ControlState
 */

/**
 * @typedef {object} ControlLink
 * @property {RTCDataChannel} control
 * @property {RTCDataChannel} motion
 * @property {number} seq the last motion's sequence number
 * @property {boolean} refused the peer closed a channel while control still held
 */

export class RemoteControl {
  /**
   * @param {() => PeerMesh | null} mesh
   * @param {() => void} changed called when a channel opens or closes, to render
   */
  constructor(mesh, changed) {
    this.mesh = mesh;
    this.changed = changed;
    /** @type {Map<ParticipantId, ControlLink>} */
    this.links = new Map();
  }

  /**
   * Opens the channels to every target that lacks them, closes those to peers no longer targets.
   * @param {Set<ParticipantId>} targets
   */
  sync(targets) {
    for (const peer of [...this.links.keys()]) if (!targets.has(peer)) this.close(peer);
    for (const peer of targets) if (!this.links.has(peer)) this.open(peer);
  }

  /**
   * @param {ParticipantId} peer
   * @returns {ControlState}
   */
  state(peer) {
    const link = this.links.get(peer);
    if (!link) return "none";
    if (link.refused) return "refused";
    return link.control.readyState === "open" && link.motion.readyState === "open" ? "open" : "opening";
  }

  /**
   * Sends a button, wheel or key message; false when it could not go (no
   * control, channel not open, out of bounds).
   * @param {ParticipantId} peer
   * @param {ControlMessage} msg
   */
  send(peer, msg) {
    const link = this.links.get(peer);
    if (!link || msg.type === "motion" || !validControl(msg)) return false;
    return sendOn(link.control, msg);
  }

  /**
   * Sends the pointer's position with the next sequence number.
   * @param {ParticipantId} peer
   * @param {Point} at
   */
  motion(peer, at) {
    const link = this.links.get(peer);
    if (!link) return false;
    /** @type {ControlMessage} */
    const msg = { type: "motion", at, seq: nextSeq(link.seq) };
    if (!validControl(msg) || link.motion.readyState !== "open") return false;
    link.seq = msg.seq;
    return sendOn(link.motion, msg);
  }

  /** The peer connection closed. @param {ParticipantId} peer */
  peerClosed(peer) {
    this.close(peer);
  }

  /** The session is over. */
  reset() {
    for (const peer of [...this.links.keys()]) this.close(peer);
  }

  /** @private @param {ParticipantId} peer */
  open(peer) {
    const mesh = this.mesh();
    if (!mesh) return;
    const control = mesh.openChannel(peer, CONTROL_LABEL, { ordered: true });
    // https://www.w3.org/TR/webrtc/#dom-rtcdatachannelinit-maxretransmits
    const motion = mesh.openChannel(peer, CONTROL_MOTION_LABEL, { ordered: false, maxRetransmits: 0 });
    if (!control || !motion) {
      control?.close();
      motion?.close();
      return;
    }
    /** @type {ControlLink} */
    const link = { control, motion, seq: 0, refused: false };
    this.links.set(peer, link);
    for (const channel of [control, motion]) {
      channel.onopen = () => this.changed();
      channel.onclose = () => {
        if (this.links.get(peer) !== link || link.refused) return;
        link.refused = true;
        this.changed();
      };
      // Nothing is expected back on these channels; whatever comes is ignored.
    }
  }

  /** @private @param {ParticipantId} peer */
  close(peer) {
    const link = this.links.get(peer);
    if (!link) return;
    this.links.delete(peer);
    link.control.close();
    link.motion.close();
  }
}

/** @param {RTCDataChannel} channel @param {ControlMessage} msg */
function sendOn(channel, msg) {
  if (channel.readyState !== "open") return false;
  try {
    channel.send(encodeChannelMessage(msg));
    return true;
  } catch (err) {
    console.warn("send on", channel.label, "failed:", err);
    return false;
  }
}
