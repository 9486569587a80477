// The media controller's consent handling with a fake mesh and fake capture:
// nothing is captured or sent before a person allowed it, a refusal shares
// nothing, and either side's end stops the capture.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { MediaController } from "../../../web/js/media-controller.js";

const CSR = "aaaaaaaaaaaaaaaa";
const CUST = "bbbbbbbbbbbbbbbb";

class FakeTrack extends EventTarget {
  constructor(surface = "monitor") {
    super();
    this.readyState = "live";
    this.kind = "video";
    this.contentHint = "";
    this.surface = surface;
  }
  getSettings() {
    return { displaySurface: this.surface };
  }
  stop() {
    this.readyState = "ended";
  }
}
let streams = 0;
function fakeStream(surface) {
  const track = new FakeTrack(surface);
  return { id: `s${++streams}`, track, getTracks: () => [track], getVideoTracks: () => [track] };
}

let captures;
let captureFails;
/** What the person picks in the browser's picker. */
let picked;
let asked;
beforeEach(() => {
  captures = [];
  captureFails = false;
  picked = "monitor";
  asked = [];
  globalThis.navigator = /** @type {any} */ ({
    mediaDevices: {
      getDisplayMedia: async (constraints) => {
        asked.push(constraints);
        if (captureFails) throw new Error("NotAllowedError");
        const s = fakeStream(picked);
        captures.push(s);
        return s;
      },
    },
  });
});

function world() {
  const sent = [];
  const added = [];
  const removed = [];
  const records = [];
  const mesh = {
    sendTo: (id, label, data) => (sent.push({ id, label, msg: JSON.parse(data) }), true),
    addStream: (stream, source, to) => added.push({ stream, source, to }),
    removeStream: (stream) => removed.push(stream),
  };
  const media = new MediaController(() => /** @type {any} */ (mesh), () => {}, (r) => records.push(r));
  const from = (peer, msg) => media.onChannelMessage(peer, "consent", JSON.stringify({ v: 1, ...msg }));
  const mediaFrom = (peer, msg) => media.onChannelMessage(peer, "media", JSON.stringify({ v: 1, ...msg }));
  return { media, sent, added, removed, records, from, mediaFrom };
}

test("customer: a view request refused captures and sends nothing", async () => {
  const { media, sent, added, from } = world();
  from(CSR, { type: "request", request_id: 1, capability: "view_desktop" });
  assert.deepEqual(media.requests.map((r) => [r.dir, r.status]), [["in", "pending"]], "a prompt");
  assert.equal(captures.length, 0, "nothing captured before the answer");
  await media.answer(CSR, 1, false);
  assert.equal(captures.length, 0);
  assert.deepEqual(added, []);
  assert.deepEqual(sent.map((s) => s.msg), [{ v: 1, type: "decision", request_id: 1, allowed: false }]);
  assert.equal(media.requests.length, 0);
});

test("customer: allowed, the screen goes to the requester only; Stop sharing revokes and stops the capture", async () => {
  const { media, sent, added, removed, from } = world();
  from(CSR, { type: "request", request_id: 4, capability: "view_desktop" });
  await media.answer(CSR, 4, true);
  assert.equal(captures.length, 1);
  assert.deepEqual(added.map((a) => [a.stream.id, a.source, a.to]), [[captures[0].id, "screen", [CSR]]]);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 4, allowed: true });
  assert.equal(media.sharing(), true);
  media.endRequest(CSR, "in", 4);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "revoke", request_id: 4 });
  assert.deepEqual(removed, [captures[0]]);
  assert.equal(captures[0].track.readyState, "ended");
  assert.equal(media.sharing(), false);
});

test("customer: the requester's stop, or the browser's own stop button, end the capture", async () => {
  const { media, sent, removed, from } = world();
  from(CSR, { type: "request", request_id: 1, capability: "view_desktop" });
  await media.answer(CSR, 1, true);
  from(CSR, { type: "stop", request_id: 1 });
  assert.deepEqual(removed, [captures[0]]);
  assert.equal(captures[0].track.readyState, "ended");

  from(CSR, { type: "request", request_id: 2, capability: "view_desktop" });
  await media.answer(CSR, 2, true);
  captures[1].track.dispatchEvent(new Event("ended"));
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "revoke", request_id: 2 });
  assert.equal(media.sharing(), false);
});

test("customer: a failed capture answers no; capabilities a browser cannot grant are declined at once", async () => {
  const { media, sent, added, from } = world();
  captureFails = true;
  from(CSR, { type: "request", request_id: 1, capability: "view_desktop" });
  await media.answer(CSR, 1, true);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 1, allowed: false });
  from(CSR, { type: "request", request_id: 2, capability: "control_desktop" });
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 2, allowed: false });
  from(CSR, { type: "request", request_id: 3, capability: "control_application" });
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 3, allowed: false });
  assert.deepEqual(added, []);
  assert.equal(captures.length, 0, "control never captures in a browser");
  assert.deepEqual(media.notices.map((n) => n.key), ["capture_failed", "control_needs_app", "control_needs_app"]);
  assert.deepEqual(media.requests, [], "nothing stays live");
});

test("CSR: share my screen captures first, sends only once allowed, stops the capture on a refusal", async () => {
  const { media, sent, added, removed, from } = world();
  await media.shareScreen(CUST);
  assert.equal(captures.length, 1);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "request", request_id: 1, capability: "share_view" });
  assert.deepEqual(added, [], "nothing sent before the customer allows");
  from(CUST, { type: "decision", request_id: 1, allowed: false });
  assert.deepEqual(added, []);
  assert.deepEqual(removed, [captures[0]]);
  assert.equal(captures[0].track.readyState, "ended");
  assert.deepEqual(media.requests.map((r) => r.status), ["refused"]);

  await media.shareScreen(CUST);
  from(CUST, { type: "decision", request_id: 2, allowed: true });
  assert.deepEqual(added.map((a) => [a.stream.id, a.source, a.to]), [[captures[1].id, "screen", [CUST]]]);
  // The customer (approving side) stops viewing.
  from(CUST, { type: "revoke", request_id: 2 });
  assert.deepEqual(removed.at(-1), captures[1]);
  assert.equal(captures[1].track.readyState, "ended");
  assert.equal(media.sharing(), false);
});

test("CSR: request view; the peer's connection closing ends everything", async () => {
  const { media, sent, from } = world();
  media.requestView(CUST);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "request", request_id: 1, capability: "view_desktop" });
  from(CUST, { type: "decision", request_id: 1, allowed: true });
  assert.deepEqual(media.requests.map((r) => r.status), ["allowed"]);
  await media.shareScreen(CUST);
  media.peerClosed(CUST);
  assert.equal(media.requests.length, 0);
  assert.equal(captures[0].track.readyState, "ended");
});

test("records for the report: the approver its decisions and revokes, the requester its stops, auto-denials by policy", async () => {
  const { media, records, from } = world();
  from(CSR, { type: "request", request_id: 1, capability: "view_desktop" });
  await media.answer(CSR, 1, true);
  media.endRequest(CSR, "in", 1);
  from(CSR, { type: "request", request_id: 2, capability: "share_view" });
  await media.answer(CSR, 2, false);
  from(CSR, { type: "request", request_id: 3, capability: "control_desktop" });
  media.requestView(CSR);
  from(CSR, { type: "decision", request_id: 1, allowed: true });
  media.endRequest(CSR, "out", 1);
  from(CSR, { type: "request", request_id: 4, capability: "share_control" });
  await media.answer(CSR, 4, true);
  media.peerClosed(CSR);
  assert.deepEqual(
    records.map((r) => [r.capability, r.incoming, r.outcome]),
    [
      ["view_desktop", true, "allowed"],
      ["view_desktop", true, "revoked"],
      ["share_view", true, "denied"],
      ["control_desktop", true, "denied_by_policy"],
      ["view_desktop", false, "stopped"],
      ["share_control", true, "allowed"],
      ["share_control", true, "gone"],
    ],
  );
  assert.ok(records.every((r) => r.with === CSR));
});

test("customer: allowing share_control captures nothing and makes the CSR a control target until it ends", async () => {
  const { media, sent, added, from } = world();
  from(CSR, { type: "request", request_id: 7, capability: "share_control" });
  assert.deepEqual(media.requests.map((r) => [r.capability, r.status]), [["share_control", "pending"]], "a prompt, not an auto-denial");
  assert.deepEqual([...media.controlTargets()], []);
  await media.answer(CSR, 7, true);
  assert.equal(captures.length, 0, "the requester sends its own screen");
  assert.deepEqual(added, []);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 7, allowed: true });
  assert.deepEqual([...media.controlTargets()], [CSR]);
  from(CSR, { type: "stop", request_id: 7 });
  assert.deepEqual([...media.controlTargets()], []);
  assert.deepEqual(media.notices.map((n) => n.key), ["control_ended_by_peer"]);
});

test("customer: view_application offers windows first; the whole screen picked instead is declined", async () => {
  const { media, sent, added, from } = world();
  from(CSR, { type: "request", request_id: 1, capability: "view_application" });
  picked = "monitor";
  await media.answer(CSR, 1, true);
  assert.deepEqual(asked.at(-1), { video: { displaySurface: "window" }, audio: false });
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 1, allowed: false });
  assert.equal(captures[0].track.readyState, "ended", "the screen capture is stopped at once");
  assert.deepEqual(added, []);
  assert.deepEqual(media.notices.map((n) => n.key), ["window_needed"]);

  from(CSR, { type: "request", request_id: 2, capability: "view_application" });
  picked = "window";
  await media.answer(CSR, 2, true);
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "decision", request_id: 2, allowed: true });
  assert.deepEqual(added.map((a) => [a.stream.id, a.source, a.to]), [[captures[1].id, "screen", [CSR]]]);
});

test("CSR: share control rides on a shared view (one capture) and ends with it; alone it captures its own", async () => {
  const { media, sent, added, from } = world();
  await media.shareScreen(CUST);
  from(CUST, { type: "decision", request_id: 1, allowed: true });
  assert.deepEqual(asked.at(-1), { video: { displaySurface: "monitor" }, audio: false });
  await media.share(CUST, "share_control", "desktop");
  assert.equal(captures.length, 1, "no second capture");
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "request", request_id: 2, capability: "share_control" });
  from(CUST, { type: "decision", request_id: 2, allowed: true });
  assert.equal(added.length, 1, "one screen sent");
  assert.deepEqual([...media.controlTargets()], [], "the CSR does not control the customer");
  // Asking again while live does nothing; view while control is shared neither.
  await media.share(CUST, "share_control", "desktop");
  await media.shareScreen(CUST);
  assert.equal(sent.filter((s) => s.msg.type === "request").length, 2);
  // The customer stops viewing: control ends with the view.
  from(CUST, { type: "revoke", request_id: 1 });
  assert.deepEqual(sent.at(-1)?.msg, { v: 1, type: "stop", request_id: 2 });
  assert.equal(media.requests.length, 0);
  assert.equal(captures[0].track.readyState, "ended");

  // Share control alone: its own capture of one window, sent once allowed.
  await media.share(CUST, "share_control", "application");
  assert.deepEqual(asked.at(-1), { video: { displaySurface: "window" }, audio: false });
  assert.equal(media.outgoing(CUST, "share_control", "application")?.status, "pending");
  assert.equal(media.outgoing(CUST, "share_control", "desktop"), null);
  from(CUST, { type: "decision", request_id: 3, allowed: true });
  assert.deepEqual(added.at(-1)?.stream, captures[1]);
});

test("display mode: the viewer asks on media; the sender applies it to the screens it sends that viewer only", async () => {
  const { media, sent, from, mediaFrom } = world();
  assert.equal(media.setDisplayMode(CUST, "screen_sampling"), true);
  assert.deepEqual(sent.at(-1), { id: CUST, label: "media", msg: { v: 1, type: "set_display_mode", mode: "screen_sampling" } });

  // The customer's page sends its screen to the CSR.
  from(CSR, { type: "request", request_id: 1, capability: "view_desktop" });
  await media.answer(CSR, 1, true);
  const track = captures[0].track;
  mediaFrom("cccccccccccccccc", { type: "set_display_mode", mode: "screen_sampling" });
  assert.equal(track.contentHint, "", "another peer cannot change it");
  mediaFrom(CSR, { type: "set_display_mode", mode: "screen_sampling" });
  assert.equal(track.contentHint, "motion");
  mediaFrom(CSR, { type: "set_display_mode", mode: "standard" });
  assert.equal(track.contentHint, "detail");
  mediaFrom(CSR, { type: "set_display_mode", mode: "turbo" });
  assert.equal(track.contentHint, "detail", "unknown modes are dropped");
  assert.equal(media.remote.size, 0, "not taken for a stream announcement");
});

/** A stream arriving from a peer (a MediaStream is an EventTarget). */
function remoteStream() {
  const track = new FakeTrack();
  return Object.assign(new EventTarget(), { id: `r${++streams}`, track, getTracks: () => [track], getVideoTracks: () => [track] });
}

test("a peer's screen track shows only while a consent lets it show us (a native peer keeps its track when consent ends)", () => {
  const { media, from, mediaFrom } = world();
  const stream = remoteStream();
  // The native customer's screen track is there from the start, carrying nothing yet.
  media.onRemoteVideo(CUST, /** @type {any} */ (stream.track), /** @type {any} */ (stream));
  assert.deepEqual(media.videos("screen"), [], "nothing before the customer allowed it");
  media.request(CUST, "control_desktop");
  assert.deepEqual(media.videos("screen"), [], "nor while asking");
  from(CUST, { type: "decision", request_id: 1, allowed: true });
  assert.deepEqual(media.videos("screen").map((v) => v.stream.id), [stream.id], "shown once allowed");
  from(CUST, { type: "revoke", request_id: 1 });
  assert.deepEqual(media.videos("screen"), [], "gone when the customer revokes, though the track lives on");
  media.request(CUST, "view_desktop");
  from(CUST, { type: "decision", request_id: 2, allowed: true });
  assert.deepEqual(media.videos("screen").map((v) => v.stream.id), [stream.id], "the same track shows again when allowed again");
  media.endRequest(CUST, "out", 2);
  assert.deepEqual(media.videos("screen"), [], "gone when we stop");
  // A camera needs no screen consent.
  const camera = remoteStream();
  mediaFrom(CUST, { type: "stream", stream_id: camera.id, source: "camera" });
  media.onRemoteVideo(CUST, /** @type {any} */ (camera.track), /** @type {any} */ (camera));
  assert.deepEqual(media.videos("camera").map((v) => v.stream.id), [camera.id]);
});
