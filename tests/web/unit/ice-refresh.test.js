// NET-2: when to renew the short-lived TURN credentials.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MIN_REFRESH_DELAY_MS, refreshDelayMs, turnExpiry } from "../../../web/js/ice-refresh.js";

const NOW = 1_795_277_000_000;
const stun = { urls: ["stun:turn.example.com:3478"] };
/** A TURN entry as the server mints it: username `<expiry unix seconds>:<participant id>`. */
const turn = (/** @type {number} */ expiresInSecs, urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]) => ({
  urls,
  username: `${NOW / 1000 + expiresInSecs}:d62a49985528fb60`,
  credential: "wq0ZcI6Ak2n5fJvJ5u9c8q1uJ7k=",
});

test("the default 10-minute credential is renewed a minute before it expires", () => {
  assert.equal(refreshDelayMs([stun, turn(600)], NOW), 540_000);
  assert.equal(turnExpiry([stun, turn(600)]), NOW + 600_000);
});

test("a short lifetime is renewed at half of the time left", () => {
  assert.equal(refreshDelayMs([turn(60)], NOW), 30_000);
  assert.equal(refreshDelayMs([turn(100)], NOW), 50_000);
  assert.equal(refreshDelayMs([turn(120)], NOW), 60_000, "where both rules meet");
});

test("several TURN entries: the earliest expiry counts; turns: alone is TURN too", () => {
  assert.equal(refreshDelayMs([turn(3600), turn(600, ["turns:relay.example.com:443?transport=tcp"])], NOW), 540_000);
});

test("no TURN server, or no expiring credential: no refresh", () => {
  assert.equal(refreshDelayMs([], NOW), null);
  assert.equal(refreshDelayMs([stun], NOW), null);
  assert.equal(refreshDelayMs([{ urls: ["turn:static.example.com"], username: "alice", credential: "secret" }], NOW), null, "an operator's static account");
  assert.equal(refreshDelayMs([{ urls: ["turn:static.example.com"] }], NOW), null);
  assert.equal(refreshDelayMs([{ urls: ["stun:x.example.com"], username: `${NOW / 1000 + 600}:x` }], NOW), null, "STUN needs no credential");
});

test("already expired (a clock ahead of the server's): not at once and forever, but after a floor", () => {
  assert.equal(refreshDelayMs([turn(-30)], NOW), MIN_REFRESH_DELAY_MS);
  assert.equal(refreshDelayMs([turn(20)], NOW), MIN_REFRESH_DELAY_MS);
});

test("the longest lifetime (a day) still fits a timer", () => {
  assert.equal(refreshDelayMs([turn(86_400)], NOW), 86_340_000);
  assert.equal(refreshDelayMs([turn(100 * 86_400)], NOW), 2 ** 31 - 1, "beyond setTimeout's range: clamped");
});
