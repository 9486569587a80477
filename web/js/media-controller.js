// @ts-check
/**
 * Camera (TOOL-3) and screens shared with consent (SHR-1, SHR-3): the shell
 * between the pages, the browser's capture APIs and the peer mesh. The
 * consent rules themselves are the pure book in consent-state.js; this file
 * starts and stops media as the book says.
 *
 * - Camera: `startCamera()` sends the camera to everyone; a CSR only once a
 *   customer has joined (the page disables the button before).
 * - Request view (SHR-1): we `ask` view_desktop; the customer's page prompts;
 *   on allow the customer captures its screen (`getDisplayMedia`, in the
 *   click that allowed it) and sends it to us only.
 * - Share my screen (SHR-3): we capture first (the browser wants the user's
 *   click for that), then `ask` share_view; our screen goes to the peer only
 *   once it allowed, and the capture stops if it refuses.
 * - Either side ends it at any time: `stop` (requester) or `revoke` (approver).
 */

import { decodeConsent, decodeMedia, encodeChannelMessage } from "./channel-codec.js";
import { approverSendsScreen, ask, decide, emptyBook, end, forgetPeer, receive } from "./consent-state.js";
import { CONSENT_LABEL } from "./peers.js";

/** @typedef {import('./peers.js').PeerMesh} PeerMesh */
/** @typedef {import('./consent-state.js').ConsentRequest} ConsentRequest */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').MediaSource} MediaSource */
/** @typedef {import('../types/wire.js').ConsentMessage} ConsentMessage */

/**
 * A video stream a peer sends us.
 * @typedef {object} RemoteVideo
 * @property {ParticipantId} from
 * @property {MediaStream} stream
 * @property {MediaSource | null} source null until announced (shown as a screen)
 */

/** @typedef {'off' | 'starting' | 'on' | 'failed'} CameraStatus */

/** Capabilities a browser can grant: it can show a screen, not be controlled. */
const BROWSER_CAPABILITIES = new Set(["view_desktop", "share_view"]);

export class MediaController {
  /**
   * @param {() => PeerMesh | null} mesh
   * @param {() => void} changed called after every change, to render
   */
  constructor(mesh, changed) {
    this.mesh = mesh;
    this.changed = changed;
    this.book = emptyBook();
    /** @type {CameraStatus} */
    this.camera = "off";
    /** @type {MediaStream | null} */
    this.cameraStream = null;
    /** @type {Map<string, RemoteVideo>} by stream id */
    this.remote = new Map();
    /** @type {Map<string, MediaSource>} announced sources by stream id, also before the tracks arrive */
    this.announced = new Map();
    /** @type {Map<string, MediaStream>} screens we capture for a request, by request key */
    this.screens = new Map();
    /** @type {Array<{ key: 'refused' | 'ended_by_peer' | 'capture_failed' | 'not_supported', peer: ParticipantId }>} */
    this.notices = [];
  }

  /** The consent requests, for the pages. */
  get requests() {
    return this.book.requests;
  }

  /** Remote videos of one source (`screen` includes unannounced video). */
  videos(/** @type {MediaSource} */ source) {
    return [...this.remote.values()].filter((v) => (v.source ?? "screen") === source && v.stream.getVideoTracks().some((t) => t.readyState === "live"));
  }

  /** Whether we currently capture a screen for someone. */
  sharing() {
    return this.screens.size > 0;
  }

  // --- camera (TOOL-3)

  async startCamera() {
    if (this.camera === "on" || this.camera === "starting") return;
    this.camera = "starting";
    this.changed();
    try {
      this.cameraStream = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch (err) {
      console.warn("camera:", err);
      this.camera = "failed";
      this.changed();
      return;
    }
    const track = this.cameraStream.getVideoTracks()[0];
    track?.addEventListener("ended", () => this.stopCamera());
    this.camera = "on";
    this.mesh()?.addStream(this.cameraStream, "camera");
    this.changed();
  }

  stopCamera() {
    if (this.cameraStream) {
      this.mesh()?.removeStream(this.cameraStream);
      for (const t of this.cameraStream.getTracks()) t.stop();
    }
    this.cameraStream = null;
    this.camera = "off";
    this.changed();
  }

  // --- consent, requester side

  /** SHR-1: ask a peer to show us its screen. @param {ParticipantId} peer */
  requestView(peer) {
    this.askPeer(peer, "view_desktop");
  }

  /**
   * SHR-3: capture our screen (in the user's click), then ask the peer to accept it.
   * @param {ParticipantId} peer
   */
  async shareScreen(peer) {
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      console.warn("screen capture:", err);
      this.notices.push({ key: "capture_failed", peer });
      this.changed();
      return;
    }
    const request = this.askPeer(peer, "share_view");
    if (!request) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.holdScreen(request, stream);
    this.changed();
  }

  /**
   * We end one of our requests (`stop`) or one we allowed (`revoke`).
   * @param {ParticipantId} peer
   * @param {'out' | 'in'} dir
   * @param {number} id
   */
  endRequest(peer, dir, id) {
    const r = end(this.book, peer, dir, id);
    this.book = r.book;
    if (r.msg) this.mesh()?.sendTo(peer, CONSENT_LABEL, encodeChannelMessage(r.msg));
    if (r.request) this.releaseScreen(r.request);
    this.changed();
  }

  // --- consent, approver side

  /**
   * A person on this page answered a request. For a view request, allowing
   * captures our screen first (still inside the click); a failed capture
   * answers no.
   * @param {ParticipantId} peer
   * @param {number} id
   * @param {boolean} allowed
   */
  async answer(peer, id, allowed) {
    const pending = this.book.requests.find((r) => r.peer === peer && r.dir === "in" && r.id === id && r.status === "pending");
    if (!pending) return;
    /** @type {MediaStream | null} */
    let stream = null;
    if (allowed && approverSendsScreen(pending.capability)) {
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      } catch (err) {
        console.warn("screen capture:", err);
        this.notices.push({ key: "capture_failed", peer });
        allowed = false;
      }
    }
    const d = decide(this.book, peer, id, allowed);
    this.book = d.book;
    if (d.msg) this.mesh()?.sendTo(peer, CONSENT_LABEL, encodeChannelMessage(d.msg));
    if (stream && d.request) {
      this.holdScreen(d.request, stream);
      this.mesh()?.addStream(stream, "screen", [peer]);
    } else if (stream) {
      for (const t of stream.getTracks()) t.stop();
    }
    this.changed();
  }

  // --- from the mesh

  /**
   * @param {ParticipantId} from
   * @param {string} label
   * @param {unknown} data
   */
  onChannelMessage(from, label, data) {
    if (label === CONSENT_LABEL) {
      const msg = decodeConsent(data);
      if (msg) this.onConsent(from, msg);
    } else {
      const msg = decodeMedia(data);
      if (!msg) return;
      if (msg.type === "stream") {
        this.announced.set(msg.stream_id, msg.source);
        const v = this.remote.get(msg.stream_id);
        if (v && v.from === from) v.source = msg.source;
      } else if (msg.type === "stream_ended") {
        this.announced.delete(msg.stream_id);
        if (this.remote.get(msg.stream_id)?.from === from) this.remote.delete(msg.stream_id);
      }
      this.changed();
    }
  }

  /**
   * A video track from a peer (audio is played by the runtime).
   * @param {ParticipantId} from
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream
   */
  onRemoteVideo(from, track, stream) {
    this.remote.set(stream.id, { from, stream, source: this.announced.get(stream.id) ?? null });
    const gone = () => {
      if (stream.getVideoTracks().every((t) => t.readyState === "ended" || t.muted)) {
        if (this.remote.get(stream.id)?.stream === stream) this.remote.delete(stream.id);
        this.changed();
      }
    };
    stream.addEventListener("removetrack", gone);
    track.addEventListener("ended", gone);
    this.changed();
  }

  /** The peer connection to `id` closed: its requests and streams end. @param {ParticipantId} id */
  peerClosed(id) {
    const f = forgetPeer(this.book, id);
    this.book = f.book;
    for (const r of f.ended) this.releaseScreen(r);
    for (const [sid, v] of this.remote) if (v.from === id) this.remote.delete(sid);
  }

  /** The session is over: stop every capture. */
  reset() {
    this.stopCamera();
    for (const r of this.book.requests) this.releaseScreen(r);
    this.book = emptyBook();
    this.remote.clear();
    this.announced.clear();
    this.notices = [];
  }

  /** Forget shown notices. */
  dismissNotices() {
    this.notices = [];
    this.changed();
  }

  // --- internals

  /**
   * @private
   * @param {ParticipantId} peer
   * @param {import('../types/wire.js').Capability} capability
   * @returns {ConsentRequest | null}
   */
  askPeer(peer, capability) {
    const a = ask(this.book, peer, capability);
    if (!this.mesh()?.sendTo(peer, CONSENT_LABEL, encodeChannelMessage(a.msg))) return null;
    this.book = a.book;
    this.notices = this.notices.filter((n) => n.peer !== peer);
    this.changed();
    return a.request;
  }

  /**
   * @private
   * @param {ParticipantId} from
   * @param {ConsentMessage} msg
   */
  onConsent(from, msg) {
    const r = receive(this.book, from, msg);
    this.book = r.book;
    const ev = r.event;
    if (!ev) return;
    if (ev.kind === "prompt" && !BROWSER_CAPABILITIES.has(ev.request.capability)) {
      // A browser can neither be controlled nor pick one application window: answered at once.
      const d = decide(this.book, from, ev.request.id, false);
      this.book = d.book;
      if (d.msg) this.mesh()?.sendTo(from, CONSENT_LABEL, encodeChannelMessage(d.msg));
      this.notices.push({ key: "not_supported", peer: from });
    } else if (ev.kind === "allowed") {
      const stream = this.screens.get(key(ev.request));
      if (stream && !approverSendsScreen(ev.request.capability)) this.mesh()?.addStream(stream, "screen", [from]);
    } else if (ev.kind === "refused") {
      this.releaseScreen(ev.request);
      this.notices.push({ key: "refused", peer: from });
    } else if (ev.kind === "ended") {
      this.releaseScreen(ev.request);
      this.notices.push({ key: "ended_by_peer", peer: from });
    }
    this.changed();
  }

  /** @private @param {ConsentRequest} request @param {MediaStream} stream */
  holdScreen(request, stream) {
    this.screens.set(key(request), stream);
    // The browser's own "Stop sharing" ends the request like our Stop button.
    stream.getVideoTracks()[0]?.addEventListener("ended", () => {
      if (this.screens.get(key(request)) === stream) this.endRequest(request.peer, request.dir, request.id);
    });
  }

  /** @private @param {ConsentRequest} request */
  releaseScreen(request) {
    const k = key(request);
    const stream = this.screens.get(k);
    if (!stream) return;
    this.screens.delete(k);
    this.mesh()?.removeStream(stream);
    for (const t of stream.getTracks()) t.stop();
  }
}

/** @param {ConsentRequest} r */
function key(r) {
  return `${r.peer}:${r.dir}:${r.id}`;
}
