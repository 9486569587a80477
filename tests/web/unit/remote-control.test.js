// The controlling side's channels: opened once control is allowed (reliable
// `control`, unordered `control-motion` without retransmits), closed when it
// ends; motion numbered upwards; nothing sent without an open channel or
// out of bounds; a peer that closes them is reported as refusing control.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteControl } from "../../../web/js/remote-control.js";

const CSR = "aaaaaaaaaaaaaaaa";
const OTHER = "cccccccccccccccc";

class FakeChannel {
  constructor(label, options) {
    this.label = label;
    this.options = options;
    this.readyState = "connecting";
    this.sent = [];
    this.onopen = null;
    this.onclose = null;
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  open() {
    this.readyState = "open";
    this.onopen?.();
  }
  close() {
    this.readyState = "closed";
  }
  /** The other side closes it. */
  closedByPeer() {
    this.readyState = "closed";
    this.onclose?.();
  }
}

function world() {
  const opened = [];
  let changes = 0;
  const mesh = {
    openChannel: (id, label, options) => {
      if (id !== CSR && id !== OTHER) return null;
      const ch = new FakeChannel(label, options);
      opened.push({ id, ch });
      return ch;
    },
  };
  const control = new RemoteControl(() => /** @type {any} */ (mesh), () => changes++);
  const channel = (id, label) => opened.filter((o) => o.id === id && o.ch.label === label).at(-1)?.ch;
  return { control, opened, channel, changes: () => changes };
}

test("sync opens the two channels once per target, with the right reliability, and closes them when control ends", () => {
  const { control, opened, channel } = world();
  assert.equal(control.state(CSR), "none");
  control.sync(new Set([CSR]));
  control.sync(new Set([CSR]));
  assert.deepEqual(opened.map((o) => [o.id, o.ch.label, o.ch.options]), [
    [CSR, "control", { ordered: true }],
    [CSR, "control-motion", { ordered: false, maxRetransmits: 0 }],
  ]);
  assert.equal(control.state(CSR), "opening");
  channel(CSR, "control").open();
  assert.equal(control.state(CSR), "opening", "both must be open");
  channel(CSR, "control-motion").open();
  assert.equal(control.state(CSR), "open");
  control.sync(new Set());
  assert.equal(control.state(CSR), "none");
  assert.equal(channel(CSR, "control").readyState, "closed");
  assert.equal(channel(CSR, "control-motion").readyState, "closed");
  // Allowed again: new channels.
  control.sync(new Set([CSR]));
  assert.equal(opened.length, 4);
  // A peer the mesh does not know: retried on the next sync, nothing kept.
  control.sync(new Set([CSR, "dddddddddddddddd"]));
  assert.equal(control.state("dddddddddddddddd"), "none");
});

test("motion goes on control-motion with seq growing by one; the rest on control; bounds are checked", () => {
  const { control, channel } = world();
  control.sync(new Set([CSR]));
  assert.equal(control.motion(CSR, { x: 0.1, y: 0.2 }), false, "not open yet");
  assert.equal(control.send(CSR, { type: "key", code: "KeyA", down: true }), false);
  channel(CSR, "control").open();
  channel(CSR, "control-motion").open();
  assert.equal(control.motion(CSR, { x: 0.1, y: 0.2 }), true);
  assert.equal(control.motion(CSR, { x: 0.3, y: 0.4 }), true);
  assert.equal(control.motion(CSR, { x: 1.5, y: 0.4 }), false, "off the surface");
  assert.equal(control.motion(CSR, { x: 0.5, y: 0.5 }), true);
  assert.deepEqual(channel(CSR, "control-motion").sent, [
    { v: 1, type: "motion", at: { x: 0.1, y: 0.2 }, seq: 1 },
    { v: 1, type: "motion", at: { x: 0.3, y: 0.4 }, seq: 2 },
    { v: 1, type: "motion", at: { x: 0.5, y: 0.5 }, seq: 3 },
  ]);
  assert.equal(control.send(CSR, { type: "button", at: { x: 0.5, y: 0.5 }, button: "left", down: true }), true);
  assert.equal(control.send(CSR, { type: "key", code: "KeyA", down: true, text: "a" }), true);
  assert.equal(control.send(CSR, { type: "wheel", at: { x: 0, y: 0 }, dx: 0, dy: 500 }), false, "wheel out of bounds");
  assert.equal(control.send(CSR, { type: "motion", at: { x: 0, y: 0 }, seq: 9 }), false, "motion only through motion()");
  assert.equal(control.send(OTHER, { type: "key", code: "KeyA", down: true }), false, "no control of that peer");
  assert.deepEqual(channel(CSR, "control").sent, [
    { v: 1, type: "button", at: { x: 0.5, y: 0.5 }, button: "left", down: true },
    { v: 1, type: "key", code: "KeyA", down: true, text: "a" },
  ]);
});

test("a peer that closes the channels refuses control: reported, not reopened; leaving forgets it", () => {
  const w = world();
  w.control.sync(new Set([CSR]));
  w.channel(CSR, "control").open();
  w.channel(CSR, "control-motion").open();
  const before = w.changes();
  w.channel(CSR, "control").closedByPeer();
  assert.equal(w.control.state(CSR), "refused");
  assert.ok(w.changes() > before, "the page is told");
  w.control.sync(new Set([CSR]));
  assert.equal(w.opened.length, 2, "not reopened while the same grant holds");
  w.control.peerClosed(CSR);
  assert.equal(w.control.state(CSR), "none");
  w.control.sync(new Set([CSR, OTHER]));
  w.control.reset();
  assert.equal(w.control.state(OTHER), "none");
  assert.ok(w.opened.every((o) => o.ch.readyState === "closed"));
});
