// @ts-check
/**
 * Advanced file transfer (TOOL-5), the pure state machines of the browser
 * CSR's side (docs/file-transfer.md): no DOM, no channels, no clock, so
 * node:test runs them. Messages come decoded (remote-files-codec.js).
 *
 * - `ManifestBuilder`: the receiver's checks of a manifest as its pages come.
 * - `ReceiverState`: a download's receiving end (hashes, acks at least every
 *   256 KiB and after each file, the position and its prefix hash for a resume).
 * - `SenderState`: an upload's sending end (the window of unacknowledged
 *   bytes, hash checkpoints for a resume). Reading the file and the channel's
 *   `bufferedAmount` are the shell's (remote-files-transfers.js).
 */

import { MAX_CHANNEL_MESSAGE_BYTES } from "./channel-codec.js";
import {
  ACK_INTERVAL_BYTES, byteLength, encode, isSize, isTime, MAX_CHUNK_BYTES, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_PAGE,
  MAX_MANIFEST_PATH_BYTES, MAX_RECEIVE_BYTES, MIN_CHUNK_BYTES, parentPath, validRelativePath, WINDOW_BYTES,
} from "./remote-files-codec.js";
import { Sha256 } from "./sha256.js";

/** @typedef {import('../types/wire.js').TransferMessage} TransferMessage */
/** @typedef {import('../types/wire.js').TransferErrorCode} TransferErrorCode */
/** @typedef {import('../types/wire.js').ManifestEntry} ManifestEntry */

// ---------------------------------------------------------------------------
// manifests and positions

/**
 * @typedef {object} Position every entry before `index` is complete, and `offset` bytes of entry `index`
 * @property {number} index
 * @property {number} offset
 */

/** @param {Position} a @param {Position} b */
export const comparePositions = (a, b) => a.index - b.index || a.offset - b.offset;

/** A complete manifest that passed the checks. */
export class Manifest {
  /** @param {ManifestEntry[]} entries */
  constructor(entries) {
    this.entries = entries;
    /** Bytes before each entry. */
    this.starts = [];
    let at = 0;
    for (const e of entries) {
      this.starts.push(at);
      at += e.size;
    }
    this.total = at;
  }

  get length() {
    return this.entries.length;
  }

  /** The first file entry at or after `from`, or the length. @param {number} from */
  nextFile(from) {
    for (let i = from; i < this.entries.length; i++) if (this.entries[i].kind === "file") return i;
    return this.entries.length;
  }

  /** `p` with an offset of 0 moved on to the next file (or the end). @param {Position} p */
  normalize(p) {
    return p.offset === 0 ? { index: this.nextFile(p.index), offset: 0 } : p;
  }

  /** Whether `p` names a place in this manifest. @param {Position} p */
  contains(p) {
    const e = this.entries[p.index];
    return e ? p.offset <= e.size : p.index === this.entries.length && p.offset === 0;
  }

  /** Bytes before `p`. @param {Position} p */
  bytesBefore(p) {
    return p.index < this.starts.length ? this.starts[p.index] + p.offset : this.total;
  }
}

/**
 * Takes manifest pages as they come and refuses what a receiver must not
 * take (§3): too many entries or path bytes, more bytes than the cap, a
 * duplicate, a folder with a size, an entry whose folder did not come first.
 */
export class ManifestBuilder {
  /** @param {number} maxBytes */
  constructor(maxBytes) {
    this.maxBytes = maxBytes;
    /** @type {ManifestEntry[]} */
    this.entries = [];
    this.pathBytes = 0;
    this.total = 0;
    /** @type {Set<string>} */
    this.seen = new Set();
    /** @type {Set<string>} */
    this.dirs = new Set();
  }

  /**
   * Adds one page; the error code if it breaks a rule.
   * @param {ManifestEntry[]} page
   * @returns {TransferErrorCode | null}
   */
  add(page) {
    for (const entry of page) {
      if (this.entries.length >= MAX_MANIFEST_ENTRIES) return "too_large";
      this.pathBytes += byteLength(entry.path);
      if (this.pathBytes > MAX_MANIFEST_PATH_BYTES) return "too_large";
      this.total += entry.size;
      if (!Number.isSafeInteger(this.total) || this.total > this.maxBytes) return "too_large";
      const parent = parentPath(entry.path);
      const parentOk = parent !== null && (parent === "" || this.dirs.has(parent));
      const sizeOk = entry.kind === "file" || entry.size === 0;
      if (!parentOk || !sizeOk || this.seen.has(entry.path)) return "bad_message";
      this.seen.add(entry.path);
      if (entry.kind === "dir") this.dirs.add(entry.path);
      this.entries.push(entry);
    }
    return null;
  }

  finish() {
    return new Manifest(this.entries);
  }
}

/**
 * A SHA-256 state that can go on independently of `h` (for the prefix hash
 * of a resume, and the sender's checkpoints).
 * @param {Sha256} h
 */
export function cloneSha256(h) {
  const c = new Sha256();
  c.h.set(h.h);
  c.buffer.set(h.buffer);
  c.buffered = h.buffered;
  c.length = h.length;
  return c;
}

/** The hex digest of `h` so far, leaving `h` usable. @param {Sha256} h */
export function hexSoFar(h) {
  return cloneSha256(h).hex();
}

/**
 * Splits items into manifest pages of at most MAX_MANIFEST_PAGE entries and
 * one message's bytes.
 * @param {ManifestEntry[]} entries
 * @returns {TransferMessage[]}
 */
export function manifestPages(entries) {
  const envelope = encode({ type: "manifest", entries: [], last: false, skipped: 0 }).length;
  /** @type {TransferMessage[]} */
  const pages = [];
  /** @type {ManifestEntry[]} */
  let current = [];
  let size = envelope;
  for (const e of entries) {
    const len = byteLength(JSON.stringify(e)) + 1;
    if (current.length > 0 && (current.length === MAX_MANIFEST_PAGE || size + len > MAX_CHANNEL_MESSAGE_BYTES)) {
      pages.push({ type: "manifest", entries: current, last: false, skipped: 0 });
      current = [];
      size = envelope;
    }
    size += len;
    current.push(e);
  }
  pages.push({ type: "manifest", entries: current, last: true, skipped: 0 });
  return pages;
}

/**
 * The manifest of an upload: the files chosen (`path` relative to the folder
 * they land in: a file's name, or `folder/sub/name` from a folder input),
 * with every folder on the way listed once before what it holds.
 * @param {{ path: string, size: number, modified?: number }[]} files
 * @returns {{ entries: ManifestEntry[] } | { error: 'bad_name' | 'duplicate' | 'empty', path?: string }}
 */
export function uploadManifest(files) {
  if (files.length === 0) return { error: "empty" };
  /** @type {Set<string>} */
  const dirs = new Set();
  /** @type {Set<string>} */
  const seen = new Set();
  for (const f of files) {
    if (!validRelativePath(f.path) || f.path === "" || !isSize(f.size)) return { error: "bad_name", path: f.path };
    if (seen.has(f.path)) return { error: "duplicate", path: f.path };
    seen.add(f.path);
    for (let p = parentPath(f.path); p !== null && p !== ""; p = parentPath(p)) dirs.add(p);
  }
  for (const d of dirs) if (seen.has(d)) return { error: "duplicate", path: d };
  // A parent is a prefix of its children, so it sorts before them.
  /** @type {ManifestEntry[]} */
  const entries = [...dirs].sort().map((path) => ({ path, kind: /** @type {const} */ ("dir"), size: 0 }));
  for (const f of files) {
    /** @type {ManifestEntry} */
    const e = { path: f.path, kind: "file", size: f.size };
    if (f.modified !== undefined && isTime(f.modified)) e.modified = f.modified;
    entries.push(e);
  }
  return { entries };
}

// ---------------------------------------------------------------------------
// the receiving end (downloads)

/**
 * @typedef {object} ReceiverStep what the shell does after a message or a chunk
 * @property {TransferMessage[]} send messages for the sender, in order
 * @property {TransferErrorCode} [error] the transfer failed (`error` is in `send` when ours)
 * @property {boolean} [cancelled] the sender cancelled
 * @property {{ index: number, path: string, fresh: boolean }} [begin] file `index` starts (`fresh`: from byte 0)
 * @property {{ index: number, path: string, sha256: string }} [fileDone] file `index` is complete and verified
 * @property {boolean} [finished] every entry is in place
 * @property {boolean} [manifestReady] the whole manifest is in: create the folders, then `start()`
 */

/** A download's receiving end, as in peer/src/files/transfer/receiver.rs. */
export class ReceiverState {
  /** @param {number} [maxBytes] */
  constructor(maxBytes = MAX_RECEIVE_BYTES) {
    /** @type {'manifest' | 'ready' | 'receiving' | 'finished' | 'failed' | 'cancelled'} */
    this.phase = "manifest";
    this.builder = new ManifestBuilder(maxBytes);
    /** @type {Manifest | null} */
    this.manifest = null;
    /** @type {Position} */
    this.pos = { index: 0, offset: 0 };
    /** @type {Position} */
    this.lastAck = { index: 0, offset: 0 };
    this.inFile = false;
    /** A partial file exists for `pos.index`. */
    this.tempOpen = false;
    this.hasher = new Sha256();
    this.skipped = 0;
  }

  get over() {
    return this.phase === "finished" || this.phase === "failed" || this.phase === "cancelled";
  }

  /** Bytes written (files before the current one verified). */
  confirmedBytes() {
    return this.manifest ? this.manifest.bytesBefore(this.pos) : 0;
  }

  /**
   * A text message from the sender.
   * @param {TransferMessage} msg
   * @returns {ReceiverStep}
   */
  onMessage(msg) {
    if (this.over) return { send: [] };
    switch (msg.type) {
      case "manifest": {
        if (this.phase !== "manifest") return this.fail("bad_message");
        const err = this.builder.add(msg.entries);
        if (err) return this.fail(err);
        this.skipped += msg.skipped;
        if (!msg.last) return { send: [] };
        this.manifest = this.builder.finish();
        this.phase = "ready";
        return { send: [], manifestReady: true };
      }
      case "file_begin":
        return this.onFileBegin(msg.index, msg.offset);
      case "file_end":
        return this.onFileEnd(msg.index, msg.sha256);
      case "cancel":
        this.phase = "cancelled";
        return { send: [], cancelled: true };
      case "error":
        this.phase = "failed";
        return { send: [], error: msg.code };
      default:
        return this.fail("bad_message");
    }
  }

  /**
   * The folders to create before `start()`: the manifest's folders, parents first.
   * @returns {string[]}
   */
  folders() {
    return this.manifest ? this.manifest.entries.filter((e) => e.kind === "dir").map((e) => e.path) : [];
  }

  /** The folders exist: ask the sender to begin. @returns {ReceiverStep} */
  start() {
    if (this.phase !== "ready" || !this.manifest) return this.fail("bad_message");
    this.pos = this.manifest.normalize({ index: 0, offset: 0 });
    this.lastAck = this.pos;
    this.phase = "receiving";
    /** @type {ReceiverStep} */
    const step = { send: [{ type: "start", index: this.pos.index, offset: 0 }] };
    if (this.pos.index === this.manifest.length) {
      this.phase = "finished";
      step.finished = true;
    }
    return step;
  }

  /**
   * A binary message: the next bytes of the current file. The shell writes
   * them once this accepts them (no `error`).
   * @param {ArrayBuffer} bytes
   * @returns {ReceiverStep}
   */
  onChunk(bytes) {
    if (this.over) return { send: [] };
    const m = this.manifest;
    if (this.phase !== "receiving" || !m || !this.inFile) return this.fail("bad_message");
    const entry = m.entries[this.pos.index];
    const n = bytes.byteLength;
    const end = this.pos.offset + n;
    if (!entry || n === 0 || n > MAX_CHUNK_BYTES || end > entry.size || (n < MIN_CHUNK_BYTES && end !== entry.size)) return this.fail("bad_message");
    this.hasher.update(bytes);
    this.pos = { index: this.pos.index, offset: end };
    if (m.bytesBefore(this.pos) - m.bytesBefore(this.lastAck) >= ACK_INTERVAL_BYTES) return { send: [this.ack()] };
    return { send: [] };
  }

  /** The channel is gone: nothing more until `resume()`. */
  suspend() {
    this.inFile = false;
  }

  /**
   * A new channel: where this end stands, with the SHA-256 of the current
   * file's prefix (§5). Null when there is nothing to resume.
   * @returns {TransferMessage | null}
   */
  resume() {
    if (this.phase !== "receiving") return null;
    this.lastAck = this.pos;
    /** @type {TransferMessage} */
    const start = { type: "start", index: this.pos.index, offset: this.pos.offset };
    if (this.pos.offset > 0) start.prefix_sha256 = hexSoFar(this.hasher);
    return start;
  }

  /** This side cancels. @returns {TransferMessage} */
  cancel() {
    this.phase = "cancelled";
    return { type: "cancel" };
  }

  /**
   * This side fails the transfer (a write failed, a bad message).
   * @param {TransferErrorCode} code
   * @returns {ReceiverStep}
   */
  fail(code) {
    this.phase = "failed";
    return { send: [{ type: "error", code }], error: code };
  }

  /** @private @param {number} index @param {number} offset @returns {ReceiverStep} */
  onFileBegin(index, offset) {
    const m = this.manifest;
    if (this.phase !== "receiving" || !m || this.inFile || index !== this.pos.index || index >= m.length) return this.fail("bad_message");
    const path = m.entries[index].path;
    let fresh = false;
    if (offset === 0 && (this.pos.offset > 0 || !this.tempOpen)) {
      // A new file, or the sender found our prefix was not its file's: from zero.
      fresh = true;
      this.tempOpen = true;
      this.pos = { index, offset: 0 };
      if (comparePositions(this.pos, this.lastAck) < 0) this.lastAck = this.pos;
      this.hasher = new Sha256();
    } else if (offset !== this.pos.offset || !this.tempOpen) {
      return this.fail("bad_message");
    }
    this.inFile = true;
    return { send: [], begin: { index, path, fresh } };
  }

  /** @private @param {number} index @param {string} sha256 @returns {ReceiverStep} */
  onFileEnd(index, sha256) {
    const m = this.manifest;
    if (this.phase !== "receiving" || !m) return this.fail("bad_message");
    const entry = m.entries[this.pos.index];
    if (!entry || !this.inFile || index !== this.pos.index || this.pos.offset !== entry.size) return this.fail("bad_message");
    const got = this.hasher.hex();
    if (got !== sha256) return this.fail("hash_mismatch");
    this.tempOpen = false;
    this.inFile = false;
    this.pos = m.normalize({ index: index + 1, offset: 0 });
    this.hasher = new Sha256();
    /** @type {ReceiverStep} */
    const step = { send: [this.ack()], fileDone: { index, path: entry.path, sha256 } };
    if (this.pos.index === m.length) {
      this.phase = "finished";
      step.finished = true;
    }
    return step;
  }

  /** @private @returns {TransferMessage} */
  ack() {
    this.lastAck = this.pos;
    return { type: "ack", index: this.pos.index, offset: this.pos.offset };
  }
}

// ---------------------------------------------------------------------------
// the sending end (uploads)

/**
 * @typedef {{ kind: 'text', msg: TransferMessage }
 *   | { kind: 'chunk', index: number, offset: number, length: number }
 *   | { kind: 'window' }
 *   | { kind: 'idle' }} SendStep
 * `chunk`: read `length` bytes of file `index` at `offset`, then `chunkSent(bytes)`;
 * `window`: wait for an ack; `idle`: nothing to send (waiting for `start` or the last ack).
 */

/** An upload's sending end, as in peer/src/files/transfer/sender.rs. */
export class SenderState {
  /**
   * @param {ManifestEntry[]} entries
   * @param {{ windowBytes?: number, chunkBytes?: number }} [opts]
   */
  constructor(entries, opts = {}) {
    this.manifest = new Manifest(entries);
    this.windowBytes = Math.max(opts.windowBytes ?? WINDOW_BYTES, ACK_INTERVAL_BYTES + MAX_CHUNK_BYTES);
    this.chunkBytes = Math.min(Math.max(opts.chunkBytes ?? MAX_CHUNK_BYTES, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES);
    /** @type {'await_start' | 'sending' | 'draining' | 'suspended' | 'finished' | 'failed' | 'cancelled'} */
    this.phase = "await_start";
    /** @type {Position} */
    this.acked = { index: 0, offset: 0 };
    /** @type {Position} just after the last thing sent */
    this.sent = { index: 0, offset: 0 };
    /** The file being sent. */
    this.cursor = { index: 0, offset: 0, announced: false, hasher: new Sha256() };
    /** @type {{ pos: Position, hasher: Sha256 }[]} the hash after each chunk in flight (and the last acknowledged one) */
    this.checkpoints = [];
    /** File bytes sent, a resent byte counted again. */
    this.sentBytes = 0;
  }

  get over() {
    return this.phase === "finished" || this.phase === "failed" || this.phase === "cancelled";
  }

  confirmedBytes() {
    return this.manifest.bytesBefore(this.acked);
  }

  /** The manifest pages, the first messages after `upload`. */
  pages() {
    return manifestPages(this.manifest.entries);
  }

  /**
   * The receiver's `start`: where to begin. With an offset, the shell
   * checks the prefix first: `prefixFrom(index, offset)` says where to hash
   * from, then `startAt(index, offset, hasherOrNull)`.
   * @param {Position} at
   * @param {string | undefined} prefix
   * @returns {{ error: TransferErrorCode } | { check: { index: number, from: number, to: number, hasher: Sha256, prefix: string } } | { ok: true }}
   */
  onStart(at, prefix) {
    if (this.phase !== "await_start" || !this.manifest.contains(at) || (at.offset > 0) !== (prefix !== undefined)) {
      this.fail();
      return { error: "bad_message" };
    }
    if (at.offset === 0 || prefix === undefined) {
      this.startAt(at, null);
      return { ok: true };
    }
    const cp = [...this.checkpoints].reverse().find((c) => c.pos.index === at.index && c.pos.offset <= at.offset);
    return { check: { index: at.index, from: cp ? cp.pos.offset : 0, to: at.offset, hasher: cp ? cloneSha256(cp.hasher) : new Sha256(), prefix } };
  }

  /**
   * Begins at `at`: with `hasher` (the receiver's prefix matched ours) from
   * its offset, else that file from zero.
   * @param {Position} at
   * @param {Sha256 | null} hasher
   */
  startAt(at, hasher) {
    let p = this.manifest.normalize(at);
    if (p.offset > 0 && !hasher) p = { index: p.index, offset: 0 };
    this.acked = p;
    this.sent = p;
    this.checkpoints = this.checkpoints.filter((c) => comparePositions(c.pos, p) <= 0);
    if (p.index === this.manifest.length) {
      this.phase = "finished";
      return;
    }
    this.cursor = { index: p.index, offset: p.offset, announced: false, hasher: hasher ?? new Sha256() };
    this.phase = "sending";
  }

  /**
   * An ack from the receiver; false when it breaks the protocol (the shell fails the transfer).
   * @param {Position} at
   */
  onAck(at) {
    if (this.phase === "await_start" || this.phase === "suspended" || this.over || !this.manifest.contains(at)) return false;
    const p = this.manifest.normalize(at);
    if (comparePositions(p, this.acked) < 0 || comparePositions(p, this.sent) > 0) return false;
    this.acked = p;
    while (this.checkpoints.length > 1 && comparePositions(this.checkpoints[1].pos, p) <= 0) this.checkpoints.shift();
    if (p.index === this.manifest.length) this.phase = "finished";
    return true;
  }

  /** Bytes sent and not acknowledged. */
  inFlight() {
    return this.manifest.bytesBefore(this.sent) - this.manifest.bytesBefore(this.acked);
  }

  /** @returns {SendStep} */
  next() {
    if (this.phase !== "sending") return { kind: "idle" };
    const c = this.cursor;
    const size = this.manifest.entries[c.index].size;
    if (!c.announced) {
      c.announced = true;
      return { kind: "text", msg: { type: "file_begin", index: c.index, offset: c.offset } };
    }
    if (c.offset === size) {
      const sha256 = c.hasher.hex();
      const next = this.manifest.nextFile(c.index + 1);
      const index = c.index;
      this.sent = { index: next, offset: 0 };
      if (next === this.manifest.length) this.phase = "draining";
      else this.cursor = { index: next, offset: 0, announced: false, hasher: new Sha256() };
      return { kind: "text", msg: { type: "file_end", index, sha256 } };
    }
    const length = Math.min(size - c.offset, this.chunkBytes);
    if (this.inFlight() + length > this.windowBytes) return { kind: "window" };
    return { kind: "chunk", index: c.index, offset: c.offset, length };
  }

  /**
   * The chunk `next()` asked for, read and about to be sent.
   * @param {Uint8Array} bytes
   */
  chunkSent(bytes) {
    const c = this.cursor;
    c.hasher.update(bytes);
    c.offset += bytes.byteLength;
    this.sent = { index: c.index, offset: c.offset };
    this.checkpoints.push({ pos: this.sent, hasher: cloneSha256(c.hasher) });
    this.sentBytes += bytes.byteLength;
  }

  /** The channel is gone: wait for a new one and the receiver's `start`. */
  suspend() {
    if (!this.over) this.phase = "suspended";
  }

  /** A new channel carries on: wait for `start`. */
  resume() {
    if (this.phase === "suspended") this.phase = "await_start";
  }

  fail() {
    this.phase = "failed";
  }

  cancel() {
    this.phase = "cancelled";
  }
}
