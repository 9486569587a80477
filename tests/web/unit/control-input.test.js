// Remote control input as pure functions: where the picture is in the
// viewer (contain letterboxing, 1:1 centred or scrolled), which surface point
// a pointer is at, and which ControlMessage a browser event becomes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ESCAPE_TWICE_MS,
  contentRect,
  escapeTwice,
  keyMessage,
  mouseButton,
  movePoint,
  nearestSurfacePoint,
  nextSeq,
  printable,
  surfacePoint,
  validControl,
  wheelLines,
} from "../../../web/js/control-input.js";

const near = (actual, expected, what) => {
  for (const k of Object.keys(expected)) assert.ok(Math.abs(actual[k] - expected[k]) < 1e-9, `${what}: ${k} ${actual[k]} != ${expected[k]}`);
};
const none = { left: 0, top: 0 };

test("fit: a 4:3 picture in a 16:9 viewport has bars left and right", () => {
  const rect = contentRect({ width: 1600, height: 900 }, { width: 1024, height: 768 }, "fit");
  near(rect, { left: 200, top: 0, width: 1200, height: 900 }, "pillarbox");
  // A 21:9 picture in the same viewport: bars above and below.
  near(contentRect({ width: 1600, height: 900 }, { width: 2100, height: 900 }, "fit"), { left: 0, top: (900 - 1600 * (900 / 2100)) / 2, width: 1600, height: 1600 * (900 / 2100) }, "letterbox");
  // Same aspect: no bars; scaling up works too.
  near(contentRect({ width: 800, height: 450 }, { width: 320, height: 180 }, "fit"), { left: 0, top: 0, width: 800, height: 450 }, "exact");
});

test("fit: points are normalized to the picture, not the element; the bars are on no point", () => {
  const rect = contentRect({ width: 1600, height: 900 }, { width: 1024, height: 768 }, "fit");
  assert.deepEqual(surfacePoint({ x: 200, y: 0 }, none, rect), { x: 0, y: 0 });
  assert.deepEqual(surfacePoint({ x: 1400, y: 900 }, none, rect), { x: 1, y: 1 });
  assert.deepEqual(surfacePoint({ x: 500, y: 675 }, none, rect), { x: 0.25, y: 0.75 });
  assert.equal(surfacePoint({ x: 199, y: 450 }, none, rect), null, "left bar");
  assert.equal(surfacePoint({ x: 1401, y: 450 }, none, rect), null, "right bar");
  assert.equal(surfacePoint({ x: 800, y: -1 }, none, rect), null, "above");
  assert.equal(surfacePoint({ x: 800, y: 450 }, none, null), null, "no picture yet");
  // The nearest point for a release over the bars: on the edge.
  assert.deepEqual(nearestSurfacePoint({ x: 10, y: 450 }, none, rect), { x: 0, y: 0.5 });
  assert.deepEqual(nearestSurfacePoint({ x: 1590, y: 2000 }, none, rect), { x: 1, y: 1 });
});

test("1:1: one video pixel per device pixel, centred when smaller, scrolled when larger", () => {
  // 800x600 picture, 1000x700 viewport: centred.
  const small = contentRect({ width: 1000, height: 700 }, { width: 800, height: 600 }, "actual");
  near(small, { left: 100, top: 50, width: 800, height: 600 }, "centred");
  assert.deepEqual(surfacePoint({ x: 500, y: 350 }, none, small), { x: 0.5, y: 0.5 });
  assert.equal(surfacePoint({ x: 50, y: 350 }, none, small), null, "beside it");
  // 1920x1080 picture at devicePixelRatio 2: 960x540 CSS pixels.
  near(contentRect({ width: 1000, height: 700 }, { width: 1920, height: 1080 }, "actual", 2), { left: 20, top: 80, width: 960, height: 540 }, "HiDPI");
  // 2560x1440 in a 1000x600 viewport: starts at the top left and scrolls.
  const big = contentRect({ width: 1000, height: 600 }, { width: 2560, height: 1440 }, "actual");
  near(big, { left: 0, top: 0, width: 2560, height: 1440 }, "larger");
  assert.deepEqual(surfacePoint({ x: 0, y: 0 }, none, big), { x: 0, y: 0 });
  const scrolled = surfacePoint({ x: 100, y: 120 }, { left: 1180, top: 600 }, big);
  near(scrolled ?? {}, { x: 1280 / 2560, y: 720 / 1440 }, "scroll offsets count");
  assert.equal(surfacePoint({ x: 999, y: 10 }, { left: 1600, top: 0 }, big), null, "past the right edge");
});

test("no size, no rectangle", () => {
  assert.equal(contentRect({ width: 100, height: 100 }, { width: 0, height: 0 }, "fit"), null);
  assert.equal(contentRect({ width: 0, height: 100 }, { width: 10, height: 10 }, "actual"), null);
});

test("pointer lock: relative steps move the point, which stays on the surface", () => {
  const rect = { left: 0, top: 0, width: 1000, height: 500 };
  assert.deepEqual(movePoint({ x: 0.5, y: 0.5 }, 100, -50, rect), { x: 0.6, y: 0.4 });
  assert.deepEqual(movePoint({ x: 0.95, y: 0.05 }, 500, -500, rect), { x: 1, y: 0 });
  assert.deepEqual(movePoint({ x: 0.3, y: 0.3 }, Number.NaN, 0, rect), { x: 0.3, y: 0.3 });
  assert.deepEqual(movePoint({ x: 0.3, y: 0.3 }, 10, 10, null), { x: 0.3, y: 0.3 });
});

test("buttons by MouseEvent.button number", () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(mouseButton), ["left", "middle", "right", "back", "forward"]);
  assert.equal(mouseButton(5), null);
  assert.equal(mouseButton(-1), null);
});

test("wheel: pixels, lines and pages become lines, bounded to ±100", () => {
  assert.deepEqual(wheelLines(0, 120, 0), { dx: 0, dy: 3 });
  assert.deepEqual(wheelLines(-40, 0, 0), { dx: -1, dy: 0 });
  assert.deepEqual(wheelLines(0, -3, 1), { dx: 0, dy: -3 });
  assert.deepEqual(wheelLines(0, 1, 2), { dx: 0, dy: 20 });
  assert.deepEqual(wheelLines(0, 1e9, 0), { dx: 0, dy: 100 });
  assert.deepEqual(wheelLines(-1e9, 0, 1), { dx: -100, dy: 0 });
  assert.deepEqual(wheelLines(0, 10, 0), { dx: 0, dy: 0.25 });
  assert.equal(wheelLines(0, 0, 0), null);
  assert.equal(wheelLines(Number.NaN, 0, 0), null);
});

test("keys: physical code always, text for printable keys on down and up", () => {
  assert.deepEqual(keyMessage({ type: "keydown", code: "KeyA", key: "a" }), { type: "key", code: "KeyA", down: true, text: "a" });
  assert.deepEqual(keyMessage({ type: "keyup", code: "KeyA", key: "a" }), { type: "key", code: "KeyA", down: false, text: "a" });
  // AZERTY: the key in the QWERTY "Q" place types "a".
  assert.deepEqual(keyMessage({ type: "keydown", code: "KeyQ", key: "a" }), { type: "key", code: "KeyQ", down: true, text: "a" });
  assert.deepEqual(keyMessage({ type: "keydown", code: "KeyA", key: "A" }), { type: "key", code: "KeyA", down: true, text: "A" });
  assert.deepEqual(keyMessage({ type: "keydown", code: "Space", key: " " }), { type: "key", code: "Space", down: true, text: " " });
  assert.deepEqual(keyMessage({ type: "keydown", code: "Digit2", key: "é" }), { type: "key", code: "Digit2", down: true, text: "é" });
  // Named keys: no text.
  for (const [code, key] of [["Enter", "Enter"], ["ShiftLeft", "Shift"], ["ArrowLeft", "ArrowLeft"], ["F5", "F5"], ["Backspace", "Backspace"], ["Tab", "Tab"], ["BracketLeft", "Dead"], ["Escape", "Escape"], ["MetaLeft", "Meta"]]) {
    assert.deepEqual(keyMessage({ type: "keydown", code, key }), { type: "key", code, down: true }, code);
  }
  // IME composition, missing or odd codes, other event types: nothing.
  assert.equal(keyMessage({ type: "keydown", code: "KeyA", key: "a", isComposing: true }), null);
  assert.equal(keyMessage({ type: "keydown", code: "KeyA", key: "Process" }), null);
  assert.equal(keyMessage({ type: "keydown", code: "", key: "a" }), null);
  assert.equal(keyMessage({ type: "keydown", code: "Key A", key: "a" }), null);
  assert.equal(keyMessage({ type: "keydown", code: "K".repeat(33), key: "a" }), null);
  assert.equal(keyMessage({ type: "keypress", code: "KeyA", key: "a" }), null);
  // Text past 8 characters or with control characters is left out, the key still goes.
  assert.deepEqual(keyMessage({ type: "keydown", code: "KeyA", key: "ééééééééé" }), { type: "key", code: "KeyA", down: true });
  assert.deepEqual(keyMessage({ type: "keydown", code: "KeyA", key: "\u0007" }), { type: "key", code: "KeyA", down: true });
  assert.equal(printable("👍"), true, "one character, two UTF-16 units");
  assert.equal(printable("Unidentified"), false);
});

test("messages are checked against the wire bounds before sending", () => {
  const at = { x: 0.5, y: 1 };
  assert.ok(validControl({ type: "motion", at, seq: 0 }));
  assert.ok(validControl({ type: "motion", at, seq: 0xffffffff }));
  assert.ok(validControl({ type: "button", at, button: "back", down: false }));
  assert.ok(validControl({ type: "wheel", at, dx: -100, dy: 0.5 }));
  assert.ok(validControl({ type: "key", code: "KeyA", down: true, text: "a" }));
  for (const bad of [
    { type: "motion", at: { x: 1.01, y: 0 }, seq: 1 },
    { type: "motion", at: { x: Number.NaN, y: 0 }, seq: 1 },
    { type: "motion", at, seq: -1 },
    { type: "motion", at, seq: 2 ** 32 },
    { type: "button", at, button: "sixth", down: true },
    { type: "wheel", at, dx: 0, dy: 101 },
    { type: "wheel", at, dx: Number.POSITIVE_INFINITY, dy: 0 },
    { type: "key", code: "Key A", down: true },
    { type: "key", code: "KeyA", down: true, text: "" },
    { type: "teleport" },
  ]) {
    assert.equal(validControl(/** @type {any} */ (bad)), false, JSON.stringify(bad));
  }
  assert.equal(nextSeq(0), 1);
  assert.equal(nextSeq(41), 42);
  assert.equal(nextSeq(0xffffffff), 0);
});

test("Escape twice within a second releases; anything between starts over", () => {
  let s = escapeTwice(null, "Escape", 1000);
  assert.deepEqual(s, { lastEscapeAt: 1000, release: false });
  assert.deepEqual(escapeTwice(s.lastEscapeAt, "Escape", 1000 + ESCAPE_TWICE_MS), { lastEscapeAt: null, release: true });
  assert.deepEqual(escapeTwice(s.lastEscapeAt, "Escape", 1001 + ESCAPE_TWICE_MS), { lastEscapeAt: 1001 + ESCAPE_TWICE_MS, release: false }, "too slow: a new first press");
  s = escapeTwice(s.lastEscapeAt, "KeyA", 1200);
  assert.deepEqual(s, { lastEscapeAt: null, release: false });
  assert.equal(escapeTwice(s.lastEscapeAt, "Escape", 1300).release, false);
});
