// The browser CSR's upload shell (web/js/remote-files.js, remote-files-transfers.js)
// against a scripted host over in-memory channels that drain at a bounded
// rate: the channel's bufferedAmount stays near the 1 MiB high-water mark,
// the unacknowledged bytes within the 4 MiB window, the bytes and SHA-256
// arrive intact; a channel lost half way is replaced by `rfile-<same id>`
// whose first message is `resume`, and only what was lost is sent again; a
// host message that breaks the protocol fails the transfer with bad_message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { RemoteFiles } from "../../../web/js/remote-files.js";
import { HIGH_WATER_BYTES, MAX_CHUNK_BYTES, WINDOW_BYTES } from "../../../web/js/remote-files-codec.js";

const sha = (b) => createHash("sha256").update(b).digest("hex");
/** Bytes a fake channel delivers per turn of the event loop (a slow link, so that buffers fill). */
const DRAIN_PER_TURN = 128 * 1024;

/** One end of an in-memory data channel; what is sent counts in bufferedAmount until the link delivers it. */
class FakeChannel extends EventTarget {
  constructor(label) {
    super();
    this.label = label;
    this.readyState = "connecting";
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    this.binaryType = "blob";
    /** @type {FakeChannel | null} */
    this.other = null;
    this.maxBuffered = 0;
    /** @type {Array<string | ArrayBuffer>} */
    this.queue = [];
    this.draining = false;
  }
  send(data) {
    if (this.readyState !== "open") throw new Error("InvalidStateError");
    if (ArrayBuffer.isView(data)) data = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const size = typeof data === "string" ? data.length : data.byteLength;
    this.bufferedAmount += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    this.queue.push(data);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }
  drain() {
    let budget = DRAIN_PER_TURN;
    while (this.queue.length > 0 && budget > 0 && this.readyState === "open") {
      const data = this.queue.shift();
      const size = typeof data === "string" ? data.length : data.byteLength;
      budget -= size;
      const before = this.bufferedAmount;
      this.bufferedAmount -= size;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.dispatchEvent(new Event("bufferedamountlow"));
      if (this.other?.readyState === "open") this.other.dispatchEvent(new MessageEvent("message", { data }));
    }
    if (this.queue.length > 0 && this.readyState === "open") setImmediate(() => this.drain());
    else this.draining = false;
  }
  /** The link goes: both ends close, what was queued is lost. */
  lose() {
    for (const c of [this, this.other]) {
      if (!c || c.readyState === "closed") continue;
      c.readyState = "closed";
      c.queue = [];
      c.bufferedAmount = 0;
      setImmediate(() => c.dispatchEvent(new Event("close")));
    }
  }
  close() {
    this.lose();
  }
}

/**
 * A customer's native peer as far as an upload goes: takes the manifest,
 * says `start` (the customer said yes), writes what comes, acknowledges every
 * 256 KiB and each file, checks each file's SHA-256; on a new channel that
 * says `resume` it answers `start` at its own position with the prefix hash.
 */
class ScriptedHost {
  constructor() {
    /** @type {FakeChannel[]} the host's ends, in the order the page opened them */
    this.channels = [];
    this.labels = [];
    /** @type {any[]} */
    this.entries = [];
    /** @type {Map<number, Buffer[]>} */
    this.files = new Map();
    this.index = -1;
    this.offset = 0;
    this.sinceAck = 0;
    this.received = 0;
    this.maxUnacked = 0;
    this.unacked = 0;
    /** @type {string[]} first message on each channel */
    this.firsts = [];
    this.errors = [];
    this.hashes = [];
    /** @type {((ch: FakeChannel) => void) | null} */
    this.onBinary = null;
    /** Says `start` once the manifest is in (the customer's yes). */
    this.autoStart = true;
    this.manifestDone = false;
  }

  /** @param {string} label @param {FakeChannel} ch */
  attach(label, ch) {
    this.channels.push(ch);
    this.labels.push(label);
    ch.addEventListener("message", (ev) => this.onMessage(ch, ev.data));
  }

  send(ch, msg) {
    ch.send(JSON.stringify({ v: 1, ...msg }));
  }

  fileIndexes() {
    return this.entries.map((e, i) => (e.kind === "file" ? i : -1)).filter((i) => i >= 0);
  }

  nextFile(from) {
    const i = this.fileIndexes().find((j) => j >= from);
    return i === undefined ? this.entries.length : i;
  }

  onMessage(ch, data) {
    if (typeof data !== "string") {
      this.onBinary?.(ch);
      const bytes = Buffer.from(data);
      this.files.get(this.index).push(bytes);
      this.offset += bytes.length;
      this.received += bytes.length;
      this.sinceAck += bytes.length;
      this.unacked += bytes.length;
      this.maxUnacked = Math.max(this.maxUnacked, this.unacked);
      if (this.sinceAck >= 256 * 1024) this.ack(ch, this.index, this.offset);
      return;
    }
    const m = JSON.parse(data);
    if (!this.firsts[this.channels.indexOf(ch)]) this.firsts[this.channels.indexOf(ch)] = m.type;
    switch (m.type) {
      case "upload":
        this.folder = m.folder;
        return;
      case "manifest":
        this.entries.push(...m.entries);
        this.manifestDone = m.last;
        if (m.last && this.autoStart) this.send(ch, { type: "start", index: this.nextFile(0), offset: 0 });
        return;
      case "resume": {
        const have = Buffer.concat(this.files.get(this.index) ?? []);
        this.offset = have.length;
        this.sinceAck = 0;
        this.unacked = 0;
        this.send(ch, { type: "start", index: this.index, offset: this.offset, ...(this.offset > 0 ? { prefix_sha256: sha(have) } : {}) });
        return;
      }
      case "file_begin":
        if (m.offset === 0 || !this.files.has(m.index)) this.files.set(m.index, []);
        this.index = m.index;
        this.offset = m.offset;
        return;
      case "file_end": {
        const got = sha(Buffer.concat(this.files.get(m.index)));
        this.hashes.push([m.index, got === m.sha256]);
        this.ack(ch, this.nextFile(m.index + 1), 0);
        return;
      }
      case "error":
        this.errors.push(m.code);
        return;
    }
  }

  ack(ch, index, offset) {
    this.sinceAck = 0;
    this.unacked = 0;
    if (ch.readyState === "open") this.send(ch, { type: "ack", index, offset });
  }
}

/** A page's RemoteFiles with an open file transfer to one scripted host. */
function setUp() {
  const host = new ScriptedHost();
  /** @type {FakeChannel[]} the page's ends */
  const opened = [];
  const mesh = {
    openChannel(_peer, label) {
      const a = new FakeChannel(label);
      const b = new FakeChannel(label);
      a.other = b;
      b.other = a;
      opened.push(a);
      if (label.startsWith("rfile-")) host.attach(label, b);
      setImmediate(() => {
        a.readyState = "open";
        b.readyState = "open";
        a.dispatchEvent(new Event("open"));
      });
      return a;
    },
  };
  let changes = 0;
  const rf = new RemoteFiles(() => /** @type {any} */ (mesh), () => changes++);
  // File transfer allowed (what `opened` does), without the remote-files channel.
  const h = rf.host("ann");
  Object.assign(h, { status: "open", roots: [{ root_id: 0, label: "/home/ann" }], maxBytes: 1e12, cwd: { root: 0, path: "Documents" } });
  return { rf, host, opened };
}

const until = async (what, check, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test("an upload of a folder: bytes and SHA-256 intact, the channel's buffer near 1 MiB, at most one window unacknowledged", async () => {
  const { rf, host, opened } = setUp();
  const a = randomBytes(9 * 1024 * 1024 + 5);
  const b = randomBytes(40_000);
  const t = rf.upload("ann", { root: 0, path: "Documents" }, [
    { file: new File([a], "a.bin"), path: "top/a.bin" },
    { file: new File([], "empty"), path: "top/sub/empty" },
    { file: new File([b], "b.bin"), path: "top/sub/b.bin" },
  ]);
  await until("the upload's end", () => t.status !== "asking" && t.status !== "running");
  assert.equal(t.status, "done", `${t.status} ${t.error}`);
  assert.deepEqual(host.firsts, ["upload"]);
  assert.deepEqual(host.folder, { root: 0, path: "Documents" });
  assert.deepEqual(host.entries.map((e) => `${e.kind}:${e.path}`), ["dir:top", "dir:top/sub", "file:top/a.bin", "file:top/sub/empty", "file:top/sub/b.bin"]);
  assert.equal(sha(Buffer.concat(host.files.get(2))), sha(a));
  assert.equal(Buffer.concat(host.files.get(3)).length, 0);
  assert.equal(sha(Buffer.concat(host.files.get(4))), sha(b));
  assert.deepEqual(host.hashes, [[2, true], [3, true], [4, true]], "every file_end's SHA-256 matched the bytes");
  const page = opened[0];
  assert.ok(page.maxBuffered <= HIGH_WATER_BYTES + MAX_CHUNK_BYTES, `buffered at most ${page.maxBuffered}`);
  assert.ok(page.maxBuffered > HIGH_WATER_BYTES / 2, `the slow link filled the buffer (${page.maxBuffered}): back-pressure was needed`);
  assert.ok(host.maxUnacked <= WINDOW_BYTES, `unacknowledged at most ${host.maxUnacked}`);
  assert.equal(t.sentBytes, a.length + b.length, "every byte sent once");
  assert.equal(t.confirmed, t.total);
});

test("an upload whose channel is lost half way resumes on rfile-<same id> with resume; only what was lost is sent again", async () => {
  const { rf, host, opened } = setUp();
  const a = randomBytes(8 * 1024 * 1024);
  let lost = 0;
  host.onBinary = (ch) => {
    if (lost === 0 && host.received >= a.length / 2) {
      lost = ch.other.queue.filter((d) => typeof d !== "string").reduce((n, d) => n + d.byteLength, 0);
      ch.lose();
    }
  };
  const t = rf.upload("ann", { root: 0, path: "" }, [{ file: new File([a], "a.bin"), path: "a.bin" }]);
  await until("the upload's end", () => t.status === "done" || t.status === "failed" || t.status === "cancelled");
  assert.equal(t.status, "done", `${t.status} ${t.error}`);
  assert.deepEqual(opened.map((c) => c.label), [`rfile-${t.id}`, `rfile-${t.id}`], "the same label again");
  assert.deepEqual(host.firsts, ["upload", "resume"]);
  assert.equal(t.resumes, 1);
  assert.equal(sha(Buffer.concat(host.files.get(0))), sha(a), "byte-exact after the resume");
  const resent = t.sentBytes - a.length;
  assert.ok(resent <= WINDOW_BYTES, `sent again: ${resent}`);
  // The chunk being delivered when the link went arrived; what was still queued did not, and only that went again.
  assert.ok(resent <= lost + MAX_CHUNK_BYTES, `sent again ${resent}, lost in flight ${lost}`);
});

test("a host message that breaks the protocol fails the transfer with bad_message", async () => {
  for (const bad of [
    JSON.stringify({ v: 1, type: "ack", index: 0, offset: 10 ** 12 }), // an ack before start, beyond what was sent
    JSON.stringify({ v: 1, type: "start", index: 0, offset: 5 }), // an offset without prefix_sha256
    JSON.stringify({ v: 1, type: "manifest", entries: [], last: true }), // not the host's to send here
    "{", // not JSON
    new Uint8Array(20_000).buffer, // bytes to the sending end
  ]) {
    const { rf, host } = setUp();
    host.autoStart = false;
    const t = rf.upload("ann", { root: 0, path: "" }, [{ file: new File([randomBytes(1000)], "x"), path: "x" }]);
    await until("the manifest", () => host.manifestDone);
    host.channels[0].send(bad);
    await until("the failure", () => t.status === "failed");
    assert.equal(t.error, "bad_message", String(bad));
    await until("the host told", () => host.errors.includes("bad_message"));
  }
});

test("Retry after an error runs the transfer again from the start, as a new transfer", async () => {
  const { rf, host } = setUp();
  // The host answers the manifest with an error, never with start (else the upload could be
  // over before the error is sent).
  host.autoStart = false;
  const bytes = randomBytes(100_000);
  const t = rf.upload("ann", { root: 0, path: "" }, [{ file: new File([bytes], "x"), path: "x" }]);
  await until("the manifest", () => host.manifestDone);
  host.channels[0].send(JSON.stringify({ v: 1, type: "error", code: "exists" }));
  await until("the failure", () => t.status === "failed");
  assert.equal(t.error, "exists");
  host.entries = [];
  host.autoStart = true;
  const again = rf.retry(t.id);
  assert.ok(again && again.id !== t.id, "a new transfer id");
  assert.equal(rf.transfers.has(t.id), false, "the failed one is replaced");
  await until("the retried upload's end", () => again.status === "done" || again.status === "failed");
  assert.equal(again.status, "done");
  assert.equal(sha(Buffer.concat(host.files.get(0))), sha(bytes));
});
