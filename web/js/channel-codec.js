// @ts-check
/**
 * Decoding of data channel text messages (wire/src/channels.rs): the
 * signaling framing (`"v": 1`, `"type"`), at most `MAX_CHANNEL_MESSAGE_BYTES`.
 * Everything a peer sends is hostile: each decoder checks size, shape and
 * bounds the way the Rust types do, and returns null for anything else.
 */

/** @typedef {import('../types/wire.js').ConsentMessage} ConsentMessage */
/** @typedef {import('../types/wire.js').MediaMessage} MediaMessage */
/** @typedef {import('../types/wire.js').FileMessage} FileMessage */
/** @typedef {import('../types/wire.js').FileEntry} FileEntry */
/** @typedef {import('../types/wire.js').Capability} Capability */
/** @typedef {import('../types/wire.js').DisplayMode} DisplayMode */

/** Largest data channel message a peer accepts, text or binary (`MAX_CHANNEL_MESSAGE_BYTES`). */
export const MAX_CHANNEL_MESSAGE_BYTES = 64 * 1024;
/** Most files one offer lists (`MAX_OFFERED_FILES`). */
export const MAX_OFFERED_FILES = 32;
/** Longest file name, in Unicode scalar values (`FileName`). */
export const MAX_FILE_NAME_CHARS = 255;

/** @type {readonly Capability[]} */
export const CAPABILITIES = ["view_desktop", "control_desktop", "view_application", "control_application", "share_view", "share_control"];

/**
 * Encodes a channel message with the version first.
 * @param {object} msg
 */
export function encodeChannelMessage(msg) {
  return JSON.stringify({ v: 1, ...msg });
}

/**
 * The JSON object of a text message if it is one of `types`, else null.
 * @param {unknown} data
 * @param {readonly string[]} types
 * @returns {Record<string, unknown> | null}
 */
function parse(data, types) {
  // UTF-16 length <= UTF-8 bytes, so this bounds the cost before parsing; the byte check follows.
  if (typeof data !== "string" || data.length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  if (new TextEncoder().encode(data).length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  let v;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v) || v.v !== 1 || !types.includes(v.type)) return null;
  return v;
}

/** @param {unknown} n */
const isU32 = (n) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
/** @param {unknown} n sizes: integers JavaScript holds exactly */
const isSize = (n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/**
 * A file name (`FileName`): 1-255 characters, no control characters, no `/` or `\`, not `.` or `..`.
 * @param {unknown} s
 * @returns {s is string}
 */
export function validFileName(s) {
  if (typeof s !== "string" || s.length === 0 || s === "." || s === "..") return false;
  if ([...s].length > MAX_FILE_NAME_CHARS) return false;
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f-\u009f/\\]/.test(s);
}

/**
 * A stream id (`StreamId`): 1-64 printable ASCII characters, no spaces.
 * @param {unknown} s
 * @returns {s is string}
 */
export function validStreamId(s) {
  return typeof s === "string" && /^[\x21-\x7e]{1,64}$/.test(s);
}

/**
 * @param {unknown} data
 * @returns {ConsentMessage | null}
 */
export function decodeConsent(data) {
  const v = parse(data, ["request", "decision", "stop", "revoke"]);
  if (!v || !isU32(v.request_id)) return null;
  const request_id = /** @type {number} */ (v.request_id);
  switch (v.type) {
    case "request":
      if (!CAPABILITIES.includes(/** @type {Capability} */ (v.capability))) return null;
      return { type: "request", request_id, capability: /** @type {Capability} */ (v.capability) };
    case "decision":
      return typeof v.allowed === "boolean" ? { type: "decision", request_id, allowed: v.allowed } : null;
    case "stop":
      return { type: "stop", request_id };
    case "revoke":
      return { type: "revoke", request_id };
  }
  return null;
}

/** @type {readonly DisplayMode[]} */
export const DISPLAY_MODES = ["standard", "screen_sampling"];

/**
 * @param {unknown} data
 * @returns {MediaMessage | null}
 */
export function decodeMedia(data) {
  const v = parse(data, ["stream", "stream_ended", "set_display_mode"]);
  if (!v) return null;
  if (v.type === "set_display_mode") {
    return DISPLAY_MODES.includes(/** @type {DisplayMode} */ (v.mode)) ? { type: "set_display_mode", mode: /** @type {DisplayMode} */ (v.mode) } : null;
  }
  if (!validStreamId(v.stream_id)) return null;
  if (v.type === "stream_ended") return { type: "stream_ended", stream_id: v.stream_id };
  if (v.source !== "microphone" && v.source !== "camera" && v.source !== "screen") return null;
  return { type: "stream", stream_id: v.stream_id, source: v.source };
}

/**
 * @param {unknown} v
 * @returns {FileEntry | null}
 */
function fileEntry(v) {
  if (typeof v !== "object" || v === null) return null;
  const e = /** @type {Record<string, unknown>} */ (v);
  if (!isU32(e.file_id) || !validFileName(e.name) || !isSize(e.size)) return null;
  return { file_id: /** @type {number} */ (e.file_id), name: e.name, size: /** @type {number} */ (e.size) };
}

/**
 * @param {unknown} data a text message (binary chunks are not decoded here)
 * @returns {FileMessage | null}
 */
export function decodeFileMessage(data) {
  const v = parse(data, ["offer", "request", "metadata", "done", "cancel", "error"]);
  if (!v) return null;
  switch (v.type) {
    case "offer": {
      if (!Array.isArray(v.files) || v.files.length > MAX_OFFERED_FILES) return null;
      const files = v.files.map(fileEntry);
      return files.every((f) => f !== null) ? { type: "offer", files: /** @type {FileEntry[]} */ (files) } : null;
    }
    case "request":
      return isU32(v.file_id) ? { type: "request", file_id: /** @type {number} */ (v.file_id) } : null;
    case "metadata": {
      const e = fileEntry(v);
      return e ? { type: "metadata", ...e } : null;
    }
    case "done":
      return typeof v.sha256 === "string" && /^[0-9a-f]{64}$/.test(v.sha256) ? { type: "done", sha256: v.sha256 } : null;
    case "cancel":
      return { type: "cancel" };
    case "error":
      return v.code === "unknown_file" || v.code === "read_failed" || v.code === "bad_message" ? { type: "error", code: v.code } : null;
  }
  return null;
}
