// @ts-check
/**
 * Remote control input as pure functions (SHR-2, SHR-4, SHR-6, SHR-8): where
 * the shared surface is inside the viewer, which surface point a pointer is
 * at, and which `ControlMessage` a browser event becomes
 * (wire/src/channels/control.rs, docs/data-channels.md §6). No DOM here: the
 * remote screen viewer (remote-screen.js) reads sizes and events and hands
 * plain numbers in.
 *
 * The viewer shows the remote video in a viewport (the element the pointer
 * moves over) in one of two ways:
 *
 * - `fit`: the video fills the viewport with `object-fit: contain`, so the
 *   picture is scaled to fit and centred, with bars on two sides;
 * - `actual` (1:1): one video pixel per device pixel, centred when smaller
 *   than the viewport and scrolled when larger.
 *
 * Surface points are normalized: `0` is the left or top edge of the picture,
 * `1` the right or bottom; a pointer over the bars is on no point at all.
 */

/** @typedef {import('../types/wire.js').ControlMessage} ControlMessage */
/** @typedef {import('../types/wire.js').MouseButton} MouseButton */
/** @typedef {import('../types/wire.js').Point} Point */
/** @typedef {{ width: number, height: number }} Size */
/** @typedef {{ left: number, top: number, width: number, height: number }} Rect */
/** @typedef {'fit' | 'actual'} Scale */

/** Most lines one wheel message may carry either way (`MAX_WHEEL_LINES`). */
export const MAX_WHEEL_LINES = 100;
/** Pixels of a pixel-mode wheel delta that make one line (the size browsers scroll per line). */
export const WHEEL_PIXELS_PER_LINE = 40;
/** Lines one page-mode wheel delta stands for. */
export const WHEEL_LINES_PER_PAGE = 20;
/** Two Escape presses closer than this release the keyboard. */
export const ESCAPE_TWICE_MS = 1000;
/** Longest `KeyCode` (ASCII letters and digits) and `KeyText` (characters). */
const MAX_KEY_CODE_CHARS = 32;
const MAX_KEY_TEXT_CHARS = 8;
/** `MouseEvent.button` numbers, https://w3c.github.io/uievents/#dom-mouseevent-button */
/** @type {readonly MouseButton[]} */
const BUTTONS = ["left", "middle", "right", "back", "forward"];

/**
 * Where the picture is inside the viewport's scrollable content, in CSS pixels.
 * @param {Size} viewport the viewport's client size (inside borders and scroll bars)
 * @param {Size} frame the video's size in pixels (`videoWidth` × `videoHeight`)
 * @param {Scale} scale
 * @param {number} [pixelRatio] device pixels per CSS pixel (`devicePixelRatio`), for 1:1
 * @returns {Rect | null} null while the video has no size yet
 */
export function contentRect(viewport, frame, scale, pixelRatio = 1) {
  if (!(frame.width > 0 && frame.height > 0 && viewport.width > 0 && viewport.height > 0)) return null;
  if (scale === "fit") {
    // object-fit: contain, https://drafts.csswg.org/css-images/#valdef-object-fit-contain
    const k = Math.min(viewport.width / frame.width, viewport.height / frame.height);
    const width = frame.width * k;
    const height = frame.height * k;
    return { left: (viewport.width - width) / 2, top: (viewport.height - height) / 2, width, height };
  }
  const ratio = pixelRatio > 0 ? pixelRatio : 1;
  const width = frame.width / ratio;
  const height = frame.height / ratio;
  // Centred when smaller (margin: auto in a flex box), from the start when larger (it scrolls).
  return { left: Math.max(0, (viewport.width - width) / 2), top: Math.max(0, (viewport.height - height) / 2), width, height };
}

/**
 * The surface point under the pointer, or null when it is outside the picture.
 * @param {{ x: number, y: number }} pointer CSS pixels from the viewport's client area's top left
 * @param {{ left: number, top: number }} scroll the viewport's scroll offsets
 * @param {Rect | null} rect from `contentRect`
 * @returns {Point | null}
 */
export function surfacePoint(pointer, scroll, rect) {
  if (!rect) return null;
  const u = (pointer.x + scroll.left - rect.left) / rect.width;
  const v = (pointer.y + scroll.top - rect.top) / rect.height;
  if (!(u >= 0 && u <= 1 && v >= 0 && v <= 1)) return null;
  return { x: u, y: v };
}

/**
 * The surface point nearest to the pointer, on the picture's edge when it is
 * outside: a button released over the bars must still reach the other side.
 * @param {{ x: number, y: number }} pointer
 * @param {{ left: number, top: number }} scroll
 * @param {Rect | null} rect
 * @returns {Point | null}
 */
export function nearestSurfacePoint(pointer, scroll, rect) {
  if (!rect) return null;
  const u = (pointer.x + scroll.left - rect.left) / rect.width;
  const v = (pointer.y + scroll.top - rect.top) / rect.height;
  if (!Number.isFinite(u) || !Number.isFinite(v)) return null;
  return { x: clamp01(u), y: clamp01(v) };
}

/**
 * Moves a point by a relative pointer movement (Pointer Lock gives only
 * `movementX`/`movementY`), staying on the surface.
 * @param {Point} at
 * @param {number} dx CSS pixels
 * @param {number} dy CSS pixels
 * @param {Rect | null} rect the picture's size on screen
 * @returns {Point}
 */
export function movePoint(at, dx, dy, rect) {
  if (!rect || !(rect.width > 0 && rect.height > 0)) return at;
  const x = at.x + (Number.isFinite(dx) ? dx : 0) / rect.width;
  const y = at.y + (Number.isFinite(dy) ? dy : 0) / rect.height;
  return { x: clamp01(x), y: clamp01(y) };
}

/**
 * The wire button for a `MouseEvent.button` number; null for others.
 * @param {number} button
 * @returns {MouseButton | null}
 */
export function mouseButton(button) {
  return BUTTONS[button] ?? null;
}

/**
 * A wheel event's deltas in lines (positive: down and right), bounded; null when it does not move.
 * @param {number} deltaX
 * @param {number} deltaY
 * @param {number} deltaMode 0 pixels, 1 lines, 2 pages (https://w3c.github.io/uievents/#dom-wheelevent-deltamode)
 * @returns {{ dx: number, dy: number } | null}
 */
export function wheelLines(deltaX, deltaY, deltaMode) {
  const per = deltaMode === 1 ? 1 : deltaMode === 2 ? WHEEL_LINES_PER_PAGE : 1 / WHEEL_PIXELS_PER_LINE;
  const lines = (/** @type {number} */ d) => {
    if (!Number.isFinite(d)) return 0;
    const v = Math.max(-MAX_WHEEL_LINES, Math.min(MAX_WHEEL_LINES, d * per));
    // Two decimals are plenty, and keep the message short.
    return Math.round(v * 100) / 100 || 0;
  };
  const dx = lines(deltaX);
  const dy = lines(deltaY);
  return dx === 0 && dy === 0 ? null : { dx, dy };
}

/**
 * The key message for a keyboard event, or null for events that are no key
 * (IME composition, no physical code). The physical key always goes as
 * `code`; a printable key also carries what it typed on this layout (`key`),
 * on down and up alike. The controlled side decides whether to type the text
 * or press the key (a shortcut with Ctrl held is pressed, not typed).
 * @param {{ type: string, code: string, key: string, isComposing?: boolean }} ev
 * @returns {ControlMessage | null}
 */
export function keyMessage(ev) {
  if (ev.type !== "keydown" && ev.type !== "keyup") return null;
  if (ev.isComposing || ev.key === "Process") return null;
  if (!validKeyCode(ev.code)) return null;
  /** @type {ControlMessage} */
  const msg = { type: "key", code: ev.code, down: ev.type === "keydown" };
  if (printable(ev.key)) msg.text = ev.key;
  return msg;
}

/**
 * Whether a `KeyboardEvent.key` value is text rather than a named key
 * (https://w3c.github.io/uievents-key/: named keys are ASCII words such as
 * `Enter`, `ArrowLeft`, `F5`, `Dead`), and short enough for `KeyText`.
 * @param {string} key
 */
export function printable(key) {
  if (typeof key !== "string" || key.length === 0) return false;
  if (/^[A-Z][A-Za-z0-9]+$/.test(key)) return false;
  return validKeyText(key);
}

/** @param {unknown} code a `KeyCode`: 1-32 ASCII letters and digits */
export function validKeyCode(code) {
  return typeof code === "string" && code.length >= 1 && code.length <= MAX_KEY_CODE_CHARS && /^[A-Za-z0-9]+$/.test(code);
}

/** @param {unknown} text a `KeyText`: 1-8 characters, no control characters */
export function validKeyText(text) {
  if (typeof text !== "string") return false;
  const chars = [...text].length;
  // eslint-disable-next-line no-control-regex
  return chars >= 1 && chars <= MAX_KEY_TEXT_CHARS && !/[\u0000-\u001f\u007f-\u009f]/.test(text);
}

/**
 * Whether a message is one the controlled side accepts (the bounds of the Rust types).
 * @param {ControlMessage} msg
 */
export function validControl(msg) {
  const point = (/** @type {Point} */ p) => typeof p === "object" && p !== null && inUnit(p.x) && inUnit(p.y);
  const lines = (/** @type {number} */ n) => typeof n === "number" && Number.isFinite(n) && Math.abs(n) <= MAX_WHEEL_LINES;
  switch (msg.type) {
    case "motion":
      return point(msg.at) && Number.isInteger(msg.seq) && msg.seq >= 0 && msg.seq <= 0xffffffff;
    case "button":
      return point(msg.at) && BUTTONS.includes(msg.button) && typeof msg.down === "boolean";
    case "wheel":
      return point(msg.at) && lines(msg.dx) && lines(msg.dy);
    case "key":
      return validKeyCode(msg.code) && typeof msg.down === "boolean" && (msg.text === undefined || validKeyText(msg.text));
  }
  return false;
}

/**
 * The next motion sequence number: grows by one, wraps within u32.
 * @param {number} seq
 */
export function nextSeq(seq) {
  return seq >= 0xffffffff ? 0 : seq + 1;
}

/**
 * "Escape twice releases the keyboard": feed every key down; `release` says
 * when this Escape is the second one within `ESCAPE_TWICE_MS` (another key
 * in between starts over).
 * @param {number | null} lastEscapeAt when the previous Escape went down, or null
 * @param {string} code `KeyboardEvent.code`
 * @param {number} now ms
 * @returns {{ lastEscapeAt: number | null, release: boolean }}
 */
export function escapeTwice(lastEscapeAt, code, now) {
  if (code !== "Escape") return { lastEscapeAt: null, release: false };
  if (lastEscapeAt !== null && now - lastEscapeAt <= ESCAPE_TWICE_MS) return { lastEscapeAt: null, release: true };
  return { lastEscapeAt: now, release: false };
}

/** @param {number} v */
function clamp01(v) {
  return Math.min(1, Math.max(0, v));
}

/** @param {unknown} v */
function inUnit(v) {
  return typeof v === "number" && v >= 0 && v <= 1;
}
