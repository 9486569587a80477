import { test } from "node:test";
import assert from "node:assert/strict";
import { SignalingClient, decodeServerMessage, signalingUrl } from "../../../web/js/signaling.js";

/** A manual clock: timers run only when the test advances time. */
class FakeClock {
  constructor() { this.t = 1_000_000; this.timers = new Map(); this.nextId = 1; }
  now() { return this.t; }
  setTimeout(fn, ms) { const id = this.nextId++; this.timers.set(id, { fn, at: this.t + ms, every: 0 }); return id; }
  setInterval(fn, ms) { const id = this.nextId++; this.timers.set(id, { fn, at: this.t + ms, every: ms }); return id; }
  clearTimeout(id) { this.timers.delete(id); }
  clearInterval(id) { this.timers.delete(id); }
  advance(ms) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every; else this.timers.delete(id);
      timer.fn();
    }
    this.t = end;
  }
}

class FakeSocket {
  constructor(url) { this.url = url; this.readyState = 0; this.sent = []; this.closed = null; this.onopen = this.onmessage = this.onclose = this.onerror = null; }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.closed = code ?? 1000; this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.({}); }
  receive(msg) { this.onmessage?.({ data: JSON.stringify({ v: 1, ...msg }) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

function harness() {
  const clock = new FakeClock();
  const sockets = [];
  const received = [];
  const statuses = [];
  const client = new SignalingClient({
    url: "ws://127.0.0.1:1/ws",
    clock,
    createSocket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; },
    onMessage: (m) => received.push(m),
    onStatus: (s) => statuses.push(s),
  });
  return { clock, sockets, received, statuses, client };
}
const hello = { type: "hello", server: "tandem-signaling/0.1.0", protocol: 1, max_message_bytes: 65536, keepalive_secs: 20 };

test("messages are versioned and queued until hello", () => {
  const h = harness();
  h.client.connect();
  h.client.send({ type: "join", session_number: "571700568", name: "Ann" });
  const s = h.sockets[0];
  s.open();
  assert.deepEqual(s.sent, [], "nothing before hello");
  s.receive(hello);
  assert.deepEqual(s.sent, [{ v: 1, type: "join", session_number: "571700568", name: "Ann" }]);
  assert.deepEqual(h.statuses, ["connecting", "online"]);
  assert.equal(h.received[0].type, "hello");
});

test("keepalive: ping every keepalive_secs/2, pong swallowed, silence closes and reconnects", () => {
  const h = harness();
  h.client.connect();
  const s = h.sockets[0];
  s.open();
  s.receive(hello);
  h.clock.advance(10_000);
  assert.deepEqual(s.sent, [{ v: 1, type: "ping", nonce: 1 }]);
  s.receive({ type: "pong", nonce: 1 });
  assert.equal(h.received.filter((m) => m.type === "pong").length, 0);
  h.clock.advance(10_000);
  assert.deepEqual(s.sent.at(-1), { v: 1, type: "ping", nonce: 2 });
  // No answer for more than 2 x 20 s: dead.
  h.clock.advance(40_000);
  assert.equal(s.closed, 4000);
  assert.equal(h.statuses.at(-1), "reconnecting");
  h.clock.advance(250);
  assert.equal(h.sockets.length, 2, "a new socket after the first retry delay");
});

test("reconnect sends resume with the token before anything queued", () => {
  const h = harness();
  h.client.connect();
  h.sockets[0].open();
  h.sockets[0].receive(hello);
  h.client.setResumeToken("7Sk4XbrjoLMFF9Cbi1l4wQ");
  h.sockets[0].drop(1006);
  assert.equal(h.statuses.at(-1), "reconnecting");
  h.client.send({ type: "leave" });
  h.clock.advance(250);
  const s2 = h.sockets[1];
  s2.open();
  s2.receive(hello);
  assert.deepEqual(s2.sent, [{ v: 1, type: "resume", resume_token: "7Sk4XbrjoLMFF9Cbi1l4wQ" }, { v: 1, type: "leave" }]);
  assert.equal(h.statuses.at(-1), "online");
});

test("retry delays grow and are capped", () => {
  const h = harness();
  h.client.connect();
  h.sockets[0].drop();
  h.clock.advance(249);
  assert.equal(h.sockets.length, 1);
  h.clock.advance(1);
  assert.equal(h.sockets.length, 2);
  h.sockets[1].drop();
  h.clock.advance(499);
  assert.equal(h.sockets.length, 2);
  h.clock.advance(1);
  assert.equal(h.sockets.length, 3);
  for (let i = 0; i < 10; i++) { h.sockets.at(-1).drop(); h.clock.advance(5000); }
  assert.equal(h.sockets.length, 13, "capped at 5 s");
});

test("4001 (taken over) and close() are final", () => {
  const h = harness();
  h.client.connect();
  h.sockets[0].open();
  h.sockets[0].receive(hello);
  h.sockets[0].drop(4001);
  h.clock.advance(60_000);
  assert.equal(h.sockets.length, 1);
  assert.equal(h.statuses.at(-1), "closed");
  const h2 = harness();
  h2.client.connect();
  h2.sockets[0].open();
  h2.client.close();
  h2.sockets[0].drop(1000);
  h2.clock.advance(60_000);
  assert.equal(h2.sockets.length, 1);
});

test("decoding: only version-1 objects with a type", () => {
  assert.deepEqual(decodeServerMessage('{"v":1,"type":"pong"}'), { v: 1, type: "pong" });
  assert.equal(decodeServerMessage('{"v":2,"type":"pong"}'), null);
  assert.equal(decodeServerMessage("[1]"), null);
  assert.equal(decodeServerMessage("nope"), null);
  assert.equal(decodeServerMessage(new ArrayBuffer(2)), null);
  assert.equal(signalingUrl({ protocol: "https:", host: "a.example:8443" }), "wss://a.example:8443/ws");
  assert.equal(signalingUrl({ protocol: "http:", host: "127.0.0.1:80" }), "ws://127.0.0.1:80/ws");
});
