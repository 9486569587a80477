// The file transfer protocol over an in-memory channel pair: the bytes and the
// SHA-256 arrive intact, back-pressure holds the sender, bad peers fail the
// download, and the stats helper computes speed and ETA.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { CHUNK_BYTES, DownloadError, FilePublisher, HIGH_WATER, downloadFile, safeFileName, transferStats } from "../../../web/js/file-transfer.js";

/** One end of an in-memory data channel; messages arrive asynchronously and count in bufferedAmount until delivered. */
class FakeChannel extends EventTarget {
  constructor() {
    super();
    this.readyState = "open";
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    this.binaryType = "blob";
    /** @type {FakeChannel | null} */
    this.other = null;
    this.maxBuffered = 0;
  }
  send(data) {
    if (this.readyState !== "open") throw new Error("closed");
    // Like RTCDataChannel: a view's bytes are copied at send time and arrive as an ArrayBuffer.
    if (ArrayBuffer.isView(data)) data = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    const size = typeof data === "string" ? data.length : data.byteLength;
    this.bufferedAmount += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    setImmediate(() => {
      const before = this.bufferedAmount;
      this.bufferedAmount -= size;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.dispatchEvent(new Event("bufferedamountlow"));
      if (this.other && this.other.readyState !== "closed") this.other.dispatchEvent(new MessageEvent("message", { data }));
    });
  }
  /** Like SCTP: messages already sent are delivered first, then both ends close. */
  close() {
    for (const c of [this, this.other]) {
      if (c && c.readyState === "open") {
        c.readyState = "closing";
        setImmediate(() => {
          c.readyState = "closed";
          c.dispatchEvent(new Event("close"));
        });
      }
    }
  }
}

function pair() {
  const a = new FakeChannel();
  const b = new FakeChannel();
  a.other = b;
  b.other = a;
  return [a, b];
}

test("a 9 MB file arrives whole, hashed, with progress and bounded buffering", async () => {
  const bytes = randomBytes(9 * 1024 * 1024 + 123);
  const publisher = new FilePublisher();
  publisher.publish([new File([bytes], "big.bin")]);
  const [entry] = publisher.entries();
  assert.deepEqual(entry, { file_id: 1, name: "big.bin", size: bytes.length });
  const [down, up] = pair();
  const progress = [];
  const served = publisher.serve(up);
  const result = await downloadFile(down, entry, { onProgress: (n) => progress.push(n) });
  assert.equal(await served, "done");
  const got = Buffer.from(await result.blob.arrayBuffer());
  assert.equal(got.length, bytes.length);
  assert.equal(result.sha256, createHash("sha256").update(bytes).digest("hex"));
  assert.ok(got.equals(bytes));
  assert.ok(progress.length > 100, `${progress.length} progress events`);
  assert.equal(progress.at(-1), bytes.length);
  assert.ok(up.maxBuffered <= HIGH_WATER + CHUNK_BYTES, `sender buffered at most ${up.maxBuffered} bytes`);
});

test("an empty file, and the offer message", async () => {
  const publisher = new FilePublisher();
  publisher.publish([new File([], "empty.txt"), new File(["x"], "../etc/passwd")]);
  assert.equal(
    publisher.offerMessage(),
    '{"v":1,"type":"offer","files":[{"file_id":1,"name":"empty.txt","size":0},{"file_id":2,"name":".._etc_passwd","size":1}]}',
  );
  const [down, up] = pair();
  void publisher.serve(up);
  const result = await downloadFile(down, publisher.entries()[0]);
  assert.equal(result.blob.size, 0);
  assert.equal(result.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("an unknown or withdrawn file is refused", async () => {
  const publisher = new FilePublisher();
  publisher.publish([new File(["abc"], "a.txt")]);
  const entry = publisher.entries()[0];
  publisher.withdraw(entry.file_id);
  const [down, up] = pair();
  void publisher.serve(up);
  await assert.rejects(downloadFile(down, entry), (e) => e instanceof DownloadError && e.code === "unknown_file");
});

test("a lying publisher fails the download: wrong hash, too many bytes, wrong size", async () => {
  const entry = { file_id: 1, name: "a.txt", size: 3 };
  const cases = [
    { code: "hash_mismatch", script: (up) => { up.send('{"v":1,"type":"metadata","file_id":1,"name":"a.txt","size":3}'); up.send(new Uint8Array([1, 2, 3]).buffer); up.send(`{"v":1,"type":"done","sha256":"${"0".repeat(64)}"}`); } },
    { code: "bad_message", script: (up) => { up.send('{"v":1,"type":"metadata","file_id":1,"name":"a.txt","size":3}'); up.send(new Uint8Array(4).buffer); } },
    { code: "bad_message", script: (up) => { up.send('{"v":1,"type":"metadata","file_id":1,"name":"a.txt","size":4}'); } },
    { code: "bad_message", script: (up) => { up.send(new Uint8Array(3).buffer); } },
    { code: "bad_message", script: (up) => { up.send("<html>"); } },
    { code: "closed", script: (up) => { up.close(); } },
  ];
  for (const { code, script } of cases) {
    const [down, up] = pair();
    up.addEventListener("message", () => script(up), { once: true });
    await assert.rejects(downloadFile(down, entry), (e) => e instanceof DownloadError && e.code === code, code);
  }
});

test("the downloader can cancel; the publisher stops", async () => {
  const publisher = new FilePublisher();
  publisher.publish([new File([randomBytes(8 * 1024 * 1024)], "big.bin")]);
  const [down, up] = pair();
  const served = publisher.serve(up);
  const abort = new AbortController();
  const p = downloadFile(down, publisher.entries()[0], { onProgress: (n) => n > 1024 * 1024 && abort.abort(), signal: abort.signal });
  await assert.rejects(p, (e) => e instanceof DownloadError && e.code === "cancelled");
  assert.equal(await served, "cancelled");
});

test("speed and ETA", () => {
  assert.deepEqual(transferStats({ bytes: 5_000_000, total: 20_000_000, startedAt: 0, now: 1000 }), { fraction: 0.25, bytesPerSec: 5_000_000, etaSecs: 3 });
  assert.deepEqual(transferStats({ bytes: 0, total: 10, startedAt: 0, now: 0 }), { fraction: 0, bytesPerSec: 0, etaSecs: null });
  assert.equal(transferStats({ bytes: 10, total: 10, startedAt: 0, now: 5 }).etaSecs, 0);
  assert.equal(transferStats({ bytes: 0, total: 0, startedAt: 0, now: 5 }).fraction, 1);
});

test("safe file names", () => {
  assert.equal(safeFileName("a/b\\c\n.txt"), "a_b_c_.txt");
  assert.equal(safeFileName(".."), "file");
  assert.equal([...safeFileName("é".repeat(300))].length, 255);
});
