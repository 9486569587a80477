// @ts-check
/**
 * Advanced file transfer (TOOL-5) on the wire, for the browser CSR
 * (docs/file-transfer.md): the channel labels and limits, names and paths
 * as `RelativePath` takes them (joining, breadcrumbs), and the decoders of
 * what the host sends on `remote-files` and `rfile-<id>`, with the bounds of
 * the Rust types (wire/src/channels/remote_files.rs): anything else is null.
 * A folder's listing gathers its pages. No DOM, so node:test runs it.
 */

import { encodeChannelMessage, MAX_CHANNEL_MESSAGE_BYTES } from "./channel-codec.js";

/** @typedef {import('../types/wire.js').RemoteFilesMessage} RemoteFilesMessage */
/** @typedef {import('../types/wire.js').TransferMessage} TransferMessage */
/** @typedef {import('../types/wire.js').TransferErrorCode} TransferErrorCode */
/** @typedef {import('../types/wire.js').ManifestEntry} ManifestEntry */
/** @typedef {import('../types/wire.js').DirEntry} DirEntry */
/** @typedef {import('../types/wire.js').RemotePath} RemotePath */
/** @typedef {import('../types/wire.js').Root} Root */

/** Channel labels (wire/src/channels.rs `label`). */
export const REMOTE_FILES_LABEL = "remote-files";
export const SYSTEM_INFO_LABEL = "system-info";
export const TRANSFER_PREFIX = "rfile-";

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;
export const MAX_ROOTS = 16;
export const MAX_LISTING_PAGE = 100;
/** Entries of one listing kept (the host counts the rest in `unlisted`). */
export const MAX_LISTING_ENTRIES = 20_000;
export const MAX_MANIFEST_PAGE = 1000;
export const MAX_MANIFEST_ENTRIES = 100_000;
export const MAX_MANIFEST_PATH_BYTES = 16 * 1024 * 1024;
export const MIN_CHUNK_BYTES = 16 * 1024;
export const MAX_CHUNK_BYTES = MAX_CHANNEL_MESSAGE_BYTES;
/** A receiver acknowledges at least every this many bytes written, and after every file. */
export const ACK_INTERVAL_BYTES = 256 * 1024;
/** Most bytes a sender keeps sent and not acknowledged (§4). */
export const WINDOW_BYTES = 4 * 1024 * 1024;
/** The sender sends nothing while the channel buffers more than this... */
export const HIGH_WATER_BYTES = 1024 * 1024;
/** ...and goes on when `bufferedamountlow` fires at this. */
export const LOW_WATER_BYTES = 512 * 1024;
/** The largest transfer this page receives (the host has its own cap for uploads). */
export const MAX_RECEIVE_BYTES = 16 * 1024 * 1024 * 1024;

/** @type {readonly TransferErrorCode[]} */
export const ERROR_CODES = [
  "denied", "not_found", "outside_roots", "not_a_directory", "unsupported_kind", "too_large", "exists", "busy",
  "hash_mismatch", "application_sharing_active", "changed", "read_failed", "write_failed", "unknown_transfer",
  "not_open", "ended", "bad_message", "other",
];

// ---------------------------------------------------------------------------
// paths

const utf8 = new TextEncoder();
/** UTF-8 bytes of a string. @param {string} s */
export const byteLength = (s) => utf8.encode(s).length;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * One file or folder name (`EntryName`): 1-255 bytes of UTF-8, no `/`, `\`
 * or control character, not `.` or `..`, not starting with a drive letter.
 * @param {unknown} s
 * @returns {s is string}
 */
export function validEntryName(s) {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_NAME_BYTES) return false;
  if (s === "." || s === ".." || s.includes("/") || s.includes("\\") || CONTROL.test(s)) return false;
  if (/^[A-Za-z]:/.test(s)) return false;
  return byteLength(s) <= MAX_NAME_BYTES;
}

/**
 * A path below a root (`RelativePath`): names joined by `/`, at most 4096
 * bytes; `""` is the root itself.
 * @param {unknown} s
 * @returns {s is string}
 */
export function validRelativePath(s) {
  if (typeof s !== "string" || s.length > MAX_PATH_BYTES) return false;
  if (s === "") return true;
  return byteLength(s) <= MAX_PATH_BYTES && s.split("/").every(validEntryName);
}

/**
 * `name` below `path`; null when the result would not be a valid path.
 * @param {string} path
 * @param {string} name
 */
export function joinPath(path, name) {
  if (!validEntryName(name)) return null;
  const joined = path === "" ? name : `${path}/${name}`;
  return validRelativePath(joined) ? joined : null;
}

/** The folder holding `path` (`""` for a name at the root, null for the root). @param {string} path */
export function parentPath(path) {
  if (path === "") return null;
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** The last name of `path` (`""` for the root). @param {string} path */
export function baseName(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The breadcrumbs of `path` under a root: the root first, then each folder down.
 * @param {string} rootLabel
 * @param {string} path
 * @returns {{ label: string, path: string }[]}
 */
export function breadcrumbs(rootLabel, path) {
  const crumbs = [{ label: rootLabel, path: "" }];
  if (path === "") return crumbs;
  let at = "";
  for (const name of path.split("/")) {
    at = at === "" ? name : `${at}/${name}`;
    crumbs.push({ label: name, path: at });
  }
  return crumbs;
}

/** The label of a transfer's channel. @param {number} id */
export function transferLabel(id) {
  return `${TRANSFER_PREFIX}${id}`;
}

// ---------------------------------------------------------------------------
// decoding

/**
 * The JSON object of a text message if its type is one of `types`, else null.
 * @param {unknown} data
 * @param {readonly string[]} types
 * @returns {Record<string, any> | null}
 */
function parse(data, types) {
  if (typeof data !== "string" || data.length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  if (byteLength(data) > MAX_CHANNEL_MESSAGE_BYTES) return null;
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
export const isU32 = (n) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
/** @param {unknown} n byte counts: integers JavaScript holds exactly */
export const isSize = (n) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
/** @param {unknown} n Unix ms, may be before 1970 */
export const isTime = (n) => typeof n === "number" && Number.isSafeInteger(n);
/** @param {unknown} s */
const isSha256 = (s) => typeof s === "string" && /^[0-9a-f]{64}$/.test(s);

/**
 * An error code; one this version does not know reads as `other` (as serde's `#[serde(other)]`).
 * @param {unknown} c
 * @returns {TransferErrorCode | null}
 */
function errorCode(c) {
  if (typeof c !== "string") return null;
  return ERROR_CODES.includes(/** @type {TransferErrorCode} */ (c)) ? /** @type {TransferErrorCode} */ (c) : "other";
}

/**
 * @param {unknown} v
 * @returns {DirEntry | null}
 */
function dirEntry(v) {
  if (typeof v !== "object" || v === null) return null;
  const e = /** @type {Record<string, unknown>} */ (v);
  if (!validEntryName(e.name) || typeof e.kind !== "string" || !isSize(e.size)) return null;
  if (e.modified !== undefined && !isTime(e.modified)) return null;
  const kind = e.kind === "file" || e.kind === "dir" || e.kind === "symlink" ? e.kind : "other";
  /** @type {DirEntry} */
  const out = { name: e.name, kind, size: /** @type {number} */ (e.size) };
  if (e.modified !== undefined) out.modified = /** @type {number} */ (e.modified);
  return out;
}

/**
 * A message on `remote-files` for the CSR: `opened`, `listing`, `list_failed`, `closed`.
 * @param {unknown} data
 * @returns {RemoteFilesMessage | null}
 */
export function decodeRemoteFiles(data) {
  const v = parse(data, ["opened", "listing", "list_failed", "closed"]);
  if (!v) return null;
  switch (v.type) {
    case "opened": {
      if (!Array.isArray(v.roots) || v.roots.length > MAX_ROOTS || !isSize(v.max_transfer_bytes)) return null;
      /** @type {Root[]} */
      const roots = [];
      for (const r of v.roots) {
        if (typeof r !== "object" || r === null || !isU32(r.root_id)) return null;
        const label = r.label;
        if (typeof label !== "string" || label.length === 0 || [...label].length > 255 || CONTROL.test(label)) return null;
        roots.push({ root_id: r.root_id, label });
      }
      return { type: "opened", roots, max_transfer_bytes: v.max_transfer_bytes };
    }
    case "listing": {
      if (!isU32(v.list_id) || !Array.isArray(v.entries) || v.entries.length > MAX_LISTING_PAGE || typeof v.last !== "boolean") return null;
      const unlisted = v.unlisted === undefined ? 0 : v.unlisted;
      if (!isU32(unlisted)) return null;
      const entries = v.entries.map(dirEntry);
      if (!entries.every((e) => e !== null)) return null;
      return { type: "listing", list_id: v.list_id, entries: /** @type {DirEntry[]} */ (entries), last: v.last, unlisted };
    }
    case "list_failed": {
      const code = errorCode(v.code);
      return isU32(v.list_id) && code ? { type: "list_failed", list_id: v.list_id, code } : null;
    }
    case "closed": {
      const code = errorCode(v.code);
      return code ? { type: "closed", code } : null;
    }
  }
  return null;
}

/**
 * @param {unknown} v
 * @returns {ManifestEntry | null}
 */
function manifestEntry(v) {
  if (typeof v !== "object" || v === null) return null;
  const e = /** @type {Record<string, unknown>} */ (v);
  if (!validRelativePath(e.path) || (e.kind !== "file" && e.kind !== "dir") || !isSize(e.size)) return null;
  if (e.modified !== undefined && !isTime(e.modified)) return null;
  /** @type {ManifestEntry} */
  const out = { path: e.path, kind: e.kind, size: /** @type {number} */ (e.size) };
  if (e.modified !== undefined) out.modified = /** @type {number} */ (e.modified);
  return out;
}

/**
 * A text message on an `rfile-<id>` channel, from the host (the sender of a
 * download or the receiver of an upload).
 * @param {unknown} data
 * @returns {TransferMessage | null}
 */
export function decodeTransfer(data) {
  const v = parse(data, ["manifest", "start", "file_begin", "file_end", "ack", "cancel", "error"]);
  if (!v) return null;
  switch (v.type) {
    case "manifest": {
      if (!Array.isArray(v.entries) || v.entries.length > MAX_MANIFEST_PAGE || typeof v.last !== "boolean") return null;
      const skipped = v.skipped === undefined ? 0 : v.skipped;
      if (!isU32(skipped)) return null;
      const entries = v.entries.map(manifestEntry);
      if (!entries.every((e) => e !== null)) return null;
      return { type: "manifest", entries: /** @type {ManifestEntry[]} */ (entries), last: v.last, skipped };
    }
    case "start": {
      if (!isU32(v.index) || !isSize(v.offset)) return null;
      if (v.prefix_sha256 !== undefined && !isSha256(v.prefix_sha256)) return null;
      /** @type {TransferMessage} */
      const m = { type: "start", index: v.index, offset: v.offset };
      if (v.prefix_sha256 !== undefined) m.prefix_sha256 = v.prefix_sha256;
      return m;
    }
    case "file_begin":
    case "ack":
      return isU32(v.index) && isSize(v.offset) ? { type: v.type, index: v.index, offset: v.offset } : null;
    case "file_end":
      return isU32(v.index) && isSha256(v.sha256) ? { type: "file_end", index: v.index, sha256: v.sha256 } : null;
    case "cancel":
      return { type: "cancel" };
    case "error": {
      const code = errorCode(v.code);
      return code ? { type: "error", code } : null;
    }
  }
  return null;
}

/** @param {TransferMessage | RemoteFilesMessage | import('../types/wire.js').SystemInfoMessage} msg */
export const encode = (msg) => encodeChannelMessage(msg);

// ---------------------------------------------------------------------------
// listings

/**
 * A folder's listing as its pages arrive.
 */
export class Listing {
  /** @param {number} listId @param {RemotePath} path */
  constructor(listId, path) {
    this.listId = listId;
    this.path = path;
    /** @type {DirEntry[]} */
    this.entries = [];
    this.done = false;
    this.unlisted = 0;
    /** @type {TransferErrorCode | null} */
    this.error = null;
  }

  /**
   * Takes a `listing` or `list_failed` for this list; false if it is not for it.
   * @param {RemoteFilesMessage} msg
   */
  take(msg) {
    if (this.done || (msg.type !== "listing" && msg.type !== "list_failed") || msg.list_id !== this.listId) return false;
    if (msg.type === "list_failed") {
      this.error = msg.code;
      this.done = true;
      return true;
    }
    const room = MAX_LISTING_ENTRIES - this.entries.length;
    this.entries.push(...msg.entries.slice(0, Math.max(room, 0)));
    this.unlisted += msg.unlisted + Math.max(msg.entries.length - room, 0);
    if (msg.last) this.done = true;
    return true;
  }

  /** Folders first, then the rest, each by name (the host sorts by name). */
  sorted() {
    const rank = (/** @type {DirEntry} */ e) => (e.kind === "dir" ? 0 : 1);
    return [...this.entries].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
