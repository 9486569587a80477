// @ts-check
/**
 * The `chat` data channel's messages (wire/src/channels.rs `ChatMessage`,
 * TOOL-1): the signaling framing (`"v": 1`, `"type"`), one message per data
 * channel message. Everything a peer sends is hostile: size, shape and text
 * are checked the way the Rust side checks them.
 */

import { encodeChannelMessage, MAX_CHANNEL_MESSAGE_BYTES } from "./channel-codec.js";

/** @typedef {import('../types/wire.js').ChatMessage} ChatMessage */

/** Longest chat text, in Unicode scalar values (`ChatText`). */
export const MAX_CHAT_CHARS = 4000;
const ID_RE = /^[0-9a-f]{16}$/;

/**
 * Whether a chat text is acceptable: 1-4000 characters after trimming, no
 * control characters other than line breaks and tabs.
 * @param {string} text
 */
export function validChatText(text) {
  const length = [...text].length;
  // eslint-disable-next-line no-control-regex
  return text.trim().length > 0 && length <= MAX_CHAT_CHARS && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
}

/** @param {ChatMessage} msg */
export function encodeChat(msg) {
  return encodeChannelMessage(msg);
}

/**
 * @param {unknown} data one data channel message
 * @returns {ChatMessage | null} null for anything that is not a valid chat line
 */
export function decodeChat(data) {
  if (typeof data !== "string" || data.length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  let v;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null || v.v !== 1 || v.type !== "chat") return null;
  if (typeof v.text !== "string" || !validChatText(v.text)) return null;
  if (!Array.isArray(v.to) || !v.to.every((/** @type {unknown} */ id) => typeof id === "string" && ID_RE.test(id))) return null;
  if (typeof v.sent_at !== "number" || !Number.isSafeInteger(v.sent_at) || v.sent_at < 0) return null;
  return { type: "chat", text: v.text, to: v.to, sent_at: v.sent_at };
}
