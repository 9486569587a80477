// The media controller's consent handling with a fake mesh and fake capture:
// nothing is captured or sent before a person allowed it, a refusal shares
// nothing, and either side's end stops the capture.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { MediaController } from "../../../web/js/media-controller.js";

const CSR = "aaaaaaaaaaaaaaaa";
const CUST = "bbbbbbbbbbbbbbbb";

class FakeTrack extends EventTarget {
  constructor() {
    super();
    this.readyState = "live";
    this.kind = "video";
  }
  stop() {
    this.readyState = "ended";
  }
}
let streams = 0;
function fakeStream() {
  const track = new FakeTrack();
  return { id: `s${++streams}`, track, getTracks: () => [track], getVideoTracks: () => [track] };
}

let captures;
let captureFails;
beforeEach(() => {
  captures = [];
  captureFails = false;
  globalThis.navigator = /** @type {any} */ ({
    mediaDevices: {
      getDisplayMedia: async () => {
        if (captureFails) throw new Error("NotAllowedError");
        const s = fakeStream();
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
  const mesh = {
    sendTo: (id, label, data) => (sent.push({ id, label, msg: JSON.parse(data) }), true),
    addStream: (stream, source, to) => added.push({ stream, source, to }),
    removeStream: (stream) => removed.push(stream),
  };
  const media = new MediaController(() => /** @type {any} */ (mesh), () => {});
  const from = (peer, msg) => media.onChannelMessage(peer, "consent", JSON.stringify({ v: 1, ...msg }));
  return { media, sent, added, removed, from };
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
  assert.deepEqual(added, []);
  assert.deepEqual(media.notices.map((n) => n.key), ["capture_failed", "not_supported"]);
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
