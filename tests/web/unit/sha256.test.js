// The incremental SHA-256 against the FIPS 180-4 / NIST example vectors and
// against node:crypto for random data split at every kind of boundary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Sha256 } from "../../../web/js/sha256.js";

const hex = (/** @type {string | Uint8Array} */ s) => new Sha256().update(typeof s === "string" ? new TextEncoder().encode(s) : s).hex();

test("known vectors", () => {
  assert.equal(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  );
  const million = new Sha256();
  const a1000 = new TextEncoder().encode("a".repeat(1000));
  for (let i = 0; i < 1000; i++) million.update(a1000);
  assert.equal(million.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
});

test("chunked input gives the same digest as node:crypto, at every padding boundary", () => {
  for (const size of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 65536 + 3]) {
    const data = randomBytes(size);
    const want = createHash("sha256").update(data).digest("hex");
    assert.equal(hex(data), want, `one piece, ${size} bytes`);
    for (const step of [1, 7, 63, 64, 65, 4096]) {
      const h = new Sha256();
      for (let i = 0; i < size; i += step) h.update(data.subarray(i, i + step));
      assert.equal(h.hex(), want, `${size} bytes in steps of ${step}`);
    }
  }
});

test("ArrayBuffer and views at an offset", () => {
  const data = randomBytes(300);
  const want = createHash("sha256").update(data.subarray(10, 210)).digest("hex");
  const copy = data.buffer.slice(data.byteOffset + 10, data.byteOffset + 210);
  assert.equal(new Sha256().update(copy).hex(), want);
  assert.equal(new Sha256().update(new Uint8Array(data.buffer, data.byteOffset + 10, 200)).hex(), want);
  const h = new Sha256().update(copy);
  assert.equal(h.hex(), h.hex(), "digest is stable");
  assert.throws(() => h.update(new Uint8Array(1)), /after digest/);
});

test("a large input hashes like node's SHA-256, in one piece and in uneven chunks", () => {
  // Speed is measured in benches (files-bench's Chromium anchor), never asserted here.
  const data = randomBytes(16 * 1024 * 1024 + 13);
  const want = createHash("sha256").update(data).digest("hex");
  assert.equal(new Sha256().update(data).hex(), want);
  const chunked = new Sha256();
  for (let at = 0, step = 1; at < data.length; at += step, step = (step * 7 + 3) % 70_000 + 1) {
    chunked.update(data.subarray(at, Math.min(at + step, data.length)));
  }
  assert.equal(chunked.hex(), want);
});
