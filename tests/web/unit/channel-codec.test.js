// Data channel decoders (consent, media, files): valid messages pass, hostile ones are dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeConsent, decodeFileMessage, decodeMedia, encodeChannelMessage, validFileName } from "../../../web/js/channel-codec.js";

test("consent messages round-trip", () => {
  for (const m of [
    { type: "request", request_id: 1, capability: "view_desktop" },
    { type: "request", request_id: 4294967295, capability: "share_view" },
    { type: "decision", request_id: 1, allowed: false },
    { type: "stop", request_id: 3 },
    { type: "revoke", request_id: 0 },
  ]) {
    const text = encodeChannelMessage(m);
    assert.ok(text.startsWith('{"v":1,'));
    assert.deepEqual(decodeConsent(text), m);
  }
});

test("hostile consent messages are dropped", () => {
  for (const bad of [
    '{"v":1,"type":"request","request_id":1,"capability":"reboot"}',
    '{"v":1,"type":"request","request_id":-1,"capability":"view_desktop"}',
    '{"v":1,"type":"request","request_id":4294967296,"capability":"view_desktop"}',
    '{"v":1,"type":"request","request_id":1.5,"capability":"view_desktop"}',
    '{"v":1,"type":"decision","request_id":1,"allowed":"yes"}',
    '{"v":2,"type":"stop","request_id":1}',
    '{"type":"stop","request_id":1}',
    '{"v":1,"type":"chat","request_id":1}',
    "[1]",
    "not json",
    `{"v":1,"type":"stop","request_id":1,"pad":"${"x".repeat(70000)}"}`,
    new ArrayBuffer(4),
  ]) {
    assert.equal(decodeConsent(bad), null, String(bad).slice(0, 80));
  }
});

test("media announcements", () => {
  const id = "{0b5a3c8e-2a41-4e8e-9f1d-3c2b1a0f9e8d}";
  assert.deepEqual(decodeMedia(encodeChannelMessage({ type: "stream", stream_id: id, source: "camera" })), { type: "stream", stream_id: id, source: "camera" });
  assert.deepEqual(decodeMedia('{"v":1,"type":"stream_ended","stream_id":"s"}'), { type: "stream_ended", stream_id: "s" });
  assert.equal(decodeMedia('{"v":1,"type":"stream","stream_id":"a b","source":"camera"}'), null);
  assert.equal(decodeMedia(`{"v":1,"type":"stream","stream_id":"${"x".repeat(65)}","source":"camera"}`), null);
  assert.equal(decodeMedia('{"v":1,"type":"stream","stream_id":"s","source":"webcam"}'), null);
  assert.deepEqual(decodeMedia('{"v":1,"type":"set_display_mode","mode":"screen_sampling"}'), { type: "set_display_mode", mode: "screen_sampling" });
  assert.deepEqual(decodeMedia(encodeChannelMessage({ type: "set_display_mode", mode: "standard" })), { type: "set_display_mode", mode: "standard" });
  assert.equal(decodeMedia('{"v":1,"type":"set_display_mode","mode":"fast"}'), null);
  assert.equal(decodeMedia('{"v":1,"type":"set_display_mode"}'), null);
});

test("file messages and their bounds", () => {
  const offer = { type: "offer", files: [{ file_id: 1, name: "<img src=x onerror=alert(1)>.png", size: 52428800 }] };
  assert.deepEqual(decodeFileMessage(encodeChannelMessage(offer)), offer);
  const many = { type: "offer", files: Array.from({ length: 33 }, (_, i) => ({ file_id: i, name: `f${i}`, size: 1 })) };
  assert.equal(decodeFileMessage(encodeChannelMessage(many)), null, "33 files");
  many.files.pop();
  assert.equal(decodeFileMessage(encodeChannelMessage(many))?.type, "offer", "32 files");
  assert.deepEqual(decodeFileMessage('{"v":1,"type":"request","file_id":7}'), { type: "request", file_id: 7 });
  assert.deepEqual(decodeFileMessage('{"v":1,"type":"metadata","file_id":7,"name":"a.txt","size":0}'), { type: "metadata", file_id: 7, name: "a.txt", size: 0 });
  assert.equal(decodeFileMessage('{"v":1,"type":"metadata","file_id":7,"name":"a.txt","size":-1}'), null);
  assert.equal(decodeFileMessage('{"v":1,"type":"metadata","file_id":7,"name":"a.txt","size":9007199254740992}'), null);
  const sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  assert.deepEqual(decodeFileMessage(`{"v":1,"type":"done","sha256":"${sha}"}`), { type: "done", sha256: sha });
  assert.equal(decodeFileMessage(`{"v":1,"type":"done","sha256":"${sha.toUpperCase()}"}`), null);
  assert.deepEqual(decodeFileMessage('{"v":1,"type":"cancel"}'), { type: "cancel" });
  assert.deepEqual(decodeFileMessage('{"v":1,"type":"error","code":"unknown_file"}'), { type: "error", code: "unknown_file" });
  assert.equal(decodeFileMessage('{"v":1,"type":"error","code":"boom"}'), null);
});

test("file names are names, not paths", () => {
  for (const ok of ["a", "report 2024.pdf", "é".repeat(255), "<b>.txt"]) assert.ok(validFileName(ok), ok);
  for (const bad of ["", ".", "..", "a/b", "..\\x", "a\nb", "x".repeat(256), 5]) assert.ok(!validFileName(bad), String(bad));
});
