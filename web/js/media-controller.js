// @ts-check
/**
 * Camera (TOOL-3) and screens shared or controlled with consent (SHR-1..8,
 * SHR-11): the shell between the pages, the browser's capture APIs and the
 * peer mesh. The consent rules themselves are the pure book in
 * consent-state.js; this file starts and stops media as the book says. The
 * control input itself goes through remote-control.js, to the peers
 * `controlTargets()` names.
 *
 * - Camera: `startCamera()` sends the camera to everyone; a CSR only once a
 *   customer has joined (the page disables the button before).
 * - Request view or control (SHR-1, SHR-2, SHR-5, SHR-6): we `ask`; the
 *   other side prompts; on allow it sends its screen (a browser captures it
 *   with `getDisplayMedia` in the click that allowed it, letting its user
 *   pick the window for `view_application`) to us only. A browser cannot be
 *   controlled: it declines `control_*` at once and says why.
 * - Share my screen (SHR-3, SHR-7): we capture first (the browser wants the
 *   user's click for that), then `ask` share_view; our screen goes to the
 *   peer only once it allowed, and the capture stops if it refuses.
 * - Share control (SHR-4, SHR-8): the same, asking share_control; when our
 *   screen is already shared with that peer, no second capture: the control
 *   request rides on the view and ends with it. On the approving side,
 *   allowing it makes that peer a control target.
 * - Either side ends it at any time: `stop` (requester) or `revoke` (approver).
 * - Display mode (SHR-11): a viewer asks the sender of a screen for standard
 *   or screen-sampling encoding (`set_display_mode` on `media`); a browser
 *   sender applies it as the track's content hint.
 * - Every decision and end this side is the one to record goes to the
 *   server for the session report (`consent_record`, `onRecord`).
 */

import { decodeConsent, decodeMedia, encodeChannelMessage } from "./channel-codec.js";
import { approverSendsScreen, ask, controlTargets, decide, emptyBook, end, forgetPeer, grantsControl, liveRequest, receive, showsUsScreen, surfaceOf } from "./consent-state.js";
import { CONSENT_LABEL, MEDIA_LABEL } from "./peers.js";

/** @typedef {import('./peers.js').PeerMesh} PeerMesh */
/** @typedef {import('./consent-state.js').ConsentRequest} ConsentRequest */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').MediaSource} MediaSource */
/** @typedef {import('../types/wire.js').ConsentMessage} ConsentMessage */
/** @typedef {import('../types/wire.js').Capability} Capability */
/** @typedef {import('../types/wire.js').ConsentOutcome} ConsentOutcome */
/** @typedef {import('../types/wire.js').DisplayMode} DisplayMode */
/** @typedef {import('./consent-state.js').Surface} Surface */

/**
 * A video stream a peer sends us.
 * @typedef {object} RemoteVideo
 * @property {ParticipantId} from
 * @property {MediaStream} stream
 * @property {MediaSource | null} source null until announced (shown as a screen)
 */

/** @typedef {'off' | 'starting' | 'on' | 'failed'} CameraStatus */

/**
 * Something to tell the person on this page.
 * @typedef {'refused' | 'ended_by_peer' | 'control_ended_by_peer' | 'capture_failed' | 'not_supported' | 'control_needs_app' | 'window_needed'} NoticeKey
 */

/**
 * One line for the session report (`consent_record`).
 * @typedef {{ with: ParticipantId, capability: Capability, incoming: boolean, outcome: ConsentOutcome }} ConsentRecord
 */

/** Capabilities a browser can grant: it can show its screen or one window, and control another's; it cannot be controlled. */
const BROWSER_CAPABILITIES = new Set(["view_desktop", "view_application", "share_view", "share_control"]);
/** The content hint a browser sender gives its screen track per display mode (https://w3c.github.io/mst-content-hint/). */
const CONTENT_HINTS = { standard: "detail", screen_sampling: "motion" };

export class MediaController {
  /**
   * @param {() => PeerMesh | null} mesh
   * @param {() => void} changed called after every change, to render
   * @param {(record: ConsentRecord) => void} [onRecord] consent decisions and ends for the session report
   */
  constructor(mesh, changed, onRecord = () => {}) {
    this.mesh = mesh;
    this.changed = changed;
    this.onRecord = onRecord;
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
    /** @type {Array<{ key: NoticeKey, peer: ParticipantId }>} */
    this.notices = [];
  }

  /** The consent requests, for the pages. */
  get requests() {
    return this.book.requests;
  }

  /**
   * Our own request of this kind to `peer`, whatever its status (for the dashboard's rows).
   * @param {ParticipantId} peer
   * @param {Capability} capability
   * @param {Surface} surface
   */
  outgoing(peer, capability, surface) {
    return this.book.requests.find((r) => r.peer === peer && r.dir === "out" && r.capability === capability && r.surface === surface) ?? null;
  }

  /** The peers we may send control input to now. */
  controlTargets() {
    return controlTargets(this.book);
  }

  /**
   * Remote videos of one source (`screen` includes unannounced video). A
   * screen only while a consent lets its sender show it to us: a native
   * peer's screen track exists from the start and merely stops carrying
   * pictures when consent ends (its last picture must not stay on show).
   */
  videos(/** @type {MediaSource} */ source) {
    return [...this.remote.values()].filter(
      (v) =>
        (v.source ?? "screen") === source &&
        v.stream.getVideoTracks().some((t) => t.readyState === "live") &&
        (source !== "screen" || showsUsScreen(this.book, v.from)),
    );
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
    this.request(peer, "view_desktop");
  }

  /**
   * SHR-1, SHR-2, SHR-5, SHR-6: ask a peer to show us (or let us control) its
   * desktop or one of its windows; it sends the screen once allowed.
   * @param {ParticipantId} peer
   * @param {'view_desktop' | 'control_desktop' | 'view_application' | 'control_application'} capability
   */
  request(peer, capability) {
    if (liveRequest(this.book, peer, capability, surfaceOf(capability))) return;
    this.askPeer(peer, capability);
  }

  /**
   * SHR-3: capture our screen (in the user's click), then ask the peer to accept it.
   * @param {ParticipantId} peer
   */
  shareScreen(peer) {
    return this.share(peer, "share_view", "desktop");
  }

  /**
   * SHR-3, SHR-4, SHR-7, SHR-8: show the peer our desktop or one window
   * (the browser's picker offers windows first for `application`), and for
   * `share_control` let it control it. Captured in the user's click, before
   * asking; sent only once allowed. Control implies view: `share_control`
   * while our view is shared with that peer asks without a second capture,
   * and `share_view` while control is shared asks nothing.
   * @param {ParticipantId} peer
   * @param {'share_view' | 'share_control'} capability
   * @param {Surface} surface
   */
  async share(peer, capability, surface) {
    if (liveRequest(this.book, peer, capability, surface)) return;
    if (capability === "share_view" && liveRequest(this.book, peer, "share_control", surface)) return;
    if (capability === "share_control" && liveRequest(this.book, peer, "share_view", surface)) {
      this.askPeer(peer, capability, surface);
      return;
    }
    const stream = await this.capture(surface, peer);
    if (!stream) return;
    const request = this.askPeer(peer, capability, surface);
    if (!request) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.holdScreen(request, stream);
    this.changed();
  }

  /**
   * SHR-11: ask the peer that sends us a screen to encode it this way.
   * @param {ParticipantId} peer
   * @param {DisplayMode} mode
   */
  setDisplayMode(peer, mode) {
    return this.mesh()?.sendTo(peer, MEDIA_LABEL, encodeChannelMessage({ type: "set_display_mode", mode })) ?? false;
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
    if (r.msg) {
      this.mesh()?.sendTo(peer, CONSENT_LABEL, encodeChannelMessage(r.msg));
      if (r.request) this.record(r.request, dir === "in" ? "revoked" : "stopped");
    }
    if (r.request) this.ended(r.request);
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
      stream = await this.capture(pending.surface, peer);
      if (stream && pending.surface === "application" && !showsOneWindow(stream)) {
        // The person picked the whole screen when one window was asked for.
        for (const t of stream.getTracks()) t.stop();
        stream = null;
        this.notices.push({ key: "window_needed", peer });
      }
      if (!stream) allowed = false;
    }
    const d = decide(this.book, peer, id, allowed);
    this.book = d.book;
    if (d.msg) {
      this.mesh()?.sendTo(peer, CONSENT_LABEL, encodeChannelMessage(d.msg));
      this.record(pending, allowed ? "allowed" : "denied");
    }
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
      if (msg.type === "set_display_mode") {
        this.applyDisplayMode(from, msg.mode);
        return;
      }
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
    for (const r of f.ended) {
      if (r.dir === "in" && r.status === "allowed") this.record(r, "gone");
      this.releaseScreen(r);
    }
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
   * @param {Capability} capability
   * @param {Surface} [surface] for share_*
   * @returns {ConsentRequest | null}
   */
  askPeer(peer, capability, surface = "desktop") {
    const a = ask(this.book, peer, capability, surface);
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
      // A browser cannot inject input: control is answered at once, and both sides are told why.
      const d = decide(this.book, from, ev.request.id, false);
      this.book = d.book;
      if (d.msg) this.mesh()?.sendTo(from, CONSENT_LABEL, encodeChannelMessage(d.msg));
      this.record(ev.request, "denied_by_policy");
      this.notices.push({ key: grantsControl(ev.request.capability) ? "control_needs_app" : "not_supported", peer: from });
    } else if (ev.kind === "allowed") {
      const stream = this.screens.get(key(ev.request));
      if (stream && !approverSendsScreen(ev.request.capability)) this.mesh()?.addStream(stream, "screen", [from]);
    } else if (ev.kind === "refused") {
      this.ended(ev.request);
      this.notices.push({ key: "refused", peer: from });
    } else if (ev.kind === "ended") {
      this.ended(ev.request);
      this.notices.push({ key: grantsControl(ev.request.capability) ? "control_ended_by_peer" : "ended_by_peer", peer: from });
    }
    this.changed();
  }

  /**
   * A request is over (ended by either side, or refused): its capture stops,
   * and a control share that rode on this view ends with it (control implies view).
   * @private @param {ConsentRequest} request
   */
  ended(request) {
    this.releaseScreen(request);
    if (request.dir !== "out" || request.capability !== "share_view") return;
    const rider = liveRequest(this.book, request.peer, "share_control", request.surface);
    if (rider && !this.screens.has(key(rider))) this.endRequest(rider.peer, rider.dir, rider.id);
  }

  /**
   * Captures our screen, or one window, with the browser's picker; null (and a notice) if it fails.
   * @private
   * @param {Surface} surface
   * @param {ParticipantId} peer for the notice
   * @returns {Promise<MediaStream | null>}
   */
  async capture(surface, peer) {
    try {
      // displaySurface is the picker's first offer (https://w3c.github.io/mediacapture-screen-share/#dom-mediatrackconstraintset-displaysurface).
      const video = { displaySurface: surface === "application" ? "window" : "monitor" };
      return await navigator.mediaDevices.getDisplayMedia({ video, audio: false });
    } catch (err) {
      console.warn("screen capture:", err);
      this.notices.push({ key: "capture_failed", peer });
      this.changed();
      return null;
    }
  }

  /**
   * The viewer at `from` asks for another encoding of the screens we send it.
   * @private @param {ParticipantId} from @param {DisplayMode} mode
   */
  applyDisplayMode(from, mode) {
    for (const [k, stream] of this.screens) {
      const r = this.book.requests.find((q) => key(q) === k);
      if (!r || r.peer !== from || r.status !== "allowed") continue;
      for (const track of stream.getVideoTracks()) {
        if ("contentHint" in track) track.contentHint = CONTENT_HINTS[mode];
      }
    }
  }

  /** @private @param {ConsentRequest} r @param {ConsentOutcome} outcome */
  record(r, outcome) {
    this.onRecord({ with: r.peer, capability: r.capability, incoming: r.dir === "in", outcome });
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

/**
 * Whether a capture shows one window rather than a whole screen; a browser
 * that does not say is believed (https://w3c.github.io/mediacapture-screen-share/#dom-mediatracksettings-displaysurface).
 * @param {MediaStream} stream
 */
function showsOneWindow(stream) {
  const settings = stream.getVideoTracks()[0]?.getSettings?.();
  return settings?.displaySurface !== "monitor";
}
