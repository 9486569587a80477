import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeChat, encodeChat, validChatText } from "../../../web/js/chat.js";

test("chat lines round-trip in the wire framing (same bytes as the Rust encoder)", () => {
  const msg = { type: "chat", text: "hi\nthere", to: [], sent_at: 5 };
  assert.equal(encodeChat(msg), '{"v":1,"type":"chat","text":"hi\\nthere","to":[],"sent_at":5}');
  assert.deepEqual(decodeChat(encodeChat(msg)), msg);
});

test("hostile chat data is dropped", () => {
  const ok = { v: 1, type: "chat", text: "x", to: ["85c5732df9f614ba"], sent_at: 1 };
  assert.ok(decodeChat(JSON.stringify(ok)));
  for (const bad of [
    { ...ok, v: 2 },
    { ...ok, type: "file" },
    { ...ok, text: "" },
    { ...ok, text: "   " },
    { ...ok, text: "x".repeat(4001) },
    { ...ok, text: "bell\u0007" },
    { ...ok, to: ["NOT-AN-ID"] },
    { ...ok, to: "85c5732df9f614ba" },
    { ...ok, sent_at: -1 },
    { ...ok, sent_at: "1" },
  ]) {
    assert.equal(decodeChat(JSON.stringify(bad)), null, JSON.stringify(bad).slice(0, 80));
  }
  assert.equal(decodeChat("not json"), null);
  assert.equal(decodeChat(new ArrayBuffer(4)), null);
  assert.equal(decodeChat(JSON.stringify({ ...ok, text: "y" }).padEnd(70_000, " ")), null, "over 64 KiB");
  assert.ok(validChatText("x".repeat(4000)));
  assert.ok(validChatText("🙂".repeat(4000)), "characters, not UTF-16 units");
});
