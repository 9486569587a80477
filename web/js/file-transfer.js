// @ts-check
/**
 * Basic file transfer (TOOL-4) over data channels (wire/src/channels.rs
 * `FileMessage`, docs/data-channels.md): the publisher's list goes out on the
 * `files` channel; each download has its own `file-<id>` channel, opened by
 * the downloader:
 *
 *   request {file_id} -> metadata {file_id, name, size} <- binary chunks <- done {sha256}
 *
 * Neither side ever holds a whole file: the publisher reads `file.slice()`s
 * of READ_BYTES and sends CHUNK_BYTES at a time, waiting whenever the
 * channel's `bufferedAmount` is above HIGH_WATER (back-pressure, W3C WebRTC
 * §6.2 `bufferedamountlow`); the downloader hashes each chunk as it arrives
 * and writes them to a sink: a file in the origin's private file system
 * (OPFS, on disk) when the browser has one, else Blobs of BLOB_PART_BYTES,
 * which the browser may page to disk. Both sides hash incrementally (sha256.js).
 */

import { decodeFileMessage, encodeChannelMessage, MAX_CHANNEL_MESSAGE_BYTES, MAX_FILE_NAME_CHARS, MAX_OFFERED_FILES } from "./channel-codec.js";
import { Sha256 } from "./sha256.js";

/** @typedef {import('../types/wire.js').FileEntry} FileEntry */
/** @typedef {import('../types/wire.js').FileMessage} FileMessage */

/** Binary chunk size: the largest message a peer accepts. */
export const CHUNK_BYTES = MAX_CHANNEL_MESSAGE_BYTES;
/** How much of the file is read at once. */
export const READ_BYTES = 1024 * 1024;
/** Stop sending above this many buffered bytes... */
export const HIGH_WATER = 4 * 1024 * 1024;
/** ...and resume once the buffer drains below this. */
export const LOW_WATER = 1024 * 1024;
/** The downloader folds received chunks into Blobs of about this size. */
export const BLOB_PART_BYTES = 8 * 1024 * 1024;
/** The downloader writes to disk in pieces of about this size. */
export const OPFS_WRITE_BYTES = 4 * 1024 * 1024;

/**
 * The part of RTCDataChannel used here (so tests can pass a fake).
 * @typedef {Pick<RTCDataChannel, 'send' | 'close' | 'addEventListener' | 'removeEventListener' | 'readyState' | 'bufferedAmount' | 'bufferedAmountLowThreshold' | 'binaryType'>} Channel
 */

/**
 * @typedef {object} Progress
 * @property {number} bytes received or sent so far
 * @property {number} total
 * @property {number} startedAt ms (performance clock)
 * @property {number} now ms
 */

/**
 * Speed and time left from a progress sample.
 * @param {Progress} p
 * @returns {{ fraction: number, bytesPerSec: number, etaSecs: number | null }}
 */
export function transferStats(p) {
  const elapsed = Math.max(p.now - p.startedAt, 1) / 1000;
  const bytesPerSec = p.bytes / elapsed;
  const left = Math.max(p.total - p.bytes, 0);
  return {
    fraction: p.total === 0 ? 1 : Math.min(p.bytes / p.total, 1),
    bytesPerSec,
    etaSecs: left === 0 ? 0 : bytesPerSec > 0 ? left / bytesPerSec : null,
  };
}

/**
 * A file name that passes `FileName`: path separators and control characters
 * replaced, at most 255 characters, never empty, `.` or `..`.
 * @param {string} name
 */
export function safeFileName(name) {
  // eslint-disable-next-line no-control-regex
  let s = [...name.replace(/[\u0000-\u001f\u007f-\u009f/\\]/g, "_")].slice(0, MAX_FILE_NAME_CHARS).join("");
  if (s === "" || s === "." || s === "..") s = "file";
  return s;
}

/** Publishes files and serves downloads of them. */
export class FilePublisher {
  constructor() {
    /** @type {Map<number, File>} */
    this.files = new Map();
    this.nextId = 1;
  }

  /**
   * Adds files to the published list (at most MAX_OFFERED_FILES in all).
   * @param {Iterable<File>} files
   * @returns {number} how many were added
   */
  publish(files) {
    let added = 0;
    for (const f of files) {
      if (this.files.size >= MAX_OFFERED_FILES || !Number.isSafeInteger(f.size)) break;
      this.files.set(this.nextId++, f);
      added++;
    }
    return added;
  }

  /** @param {number} id */
  withdraw(id) {
    this.files.delete(id);
  }

  /** @returns {FileEntry[]} */
  entries() {
    return [...this.files].map(([file_id, f]) => ({ file_id, name: safeFileName(f.name), size: f.size }));
  }

  /** The `offer` message for the `files` channel. */
  offerMessage() {
    return encodeChannelMessage({ type: "offer", files: this.entries() });
  }

  /**
   * Serves one `file-<id>` channel: waits for `request`, then sends the file.
   * Resolves when done, cancelled or failed; never throws.
   * @param {Channel} channel
   * @param {(p: { file_id: number, bytes: number, total: number }) => void} [onProgress]
   * @returns {Promise<'done' | 'cancelled' | 'failed'>}
   */
  async serve(channel, onProgress) {
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    const closed = new Promise((resolve) => channel.addEventListener("close", () => resolve("closed"), { once: true }));
    let cancelled = false;
    /** @type {(m: MessageEvent) => void} */
    let onMessage = () => {};
    /** @type {Promise<FileMessage | null>} */
    const first = new Promise((resolve) => {
      onMessage = (ev) => {
        const msg = typeof ev.data === "string" ? decodeFileMessage(ev.data) : null;
        if (msg?.type === "cancel") cancelled = true;
        resolve(msg);
      };
      channel.addEventListener("message", onMessage);
    });
    const fail = (/** @type {'unknown_file' | 'read_failed' | 'bad_message'} */ code) => {
      try {
        channel.send(encodeChannelMessage({ type: "error", code }));
      } catch {
        // Already closed.
      }
      channel.close();
      return /** @type {const} */ ("failed");
    };
    const request = await Promise.race([first, closed]);
    if (request === "closed") return "cancelled";
    if (!request || typeof request !== "object" || request.type !== "request") return fail("bad_message");
    const file = this.files.get(request.file_id);
    if (!file) return fail("unknown_file");

    const total = file.size;
    channel.send(encodeChannelMessage({ type: "metadata", file_id: request.file_id, name: safeFileName(file.name), size: total }));
    const hash = new Sha256();
    let sent = 0;
    try {
      for (let offset = 0; offset < total; offset += READ_BYTES) {
        const buf = await file.slice(offset, Math.min(offset + READ_BYTES, total)).arrayBuffer();
        for (let at = 0; at < buf.byteLength; at += CHUNK_BYTES) {
          if (cancelled || channel.readyState !== "open") return "cancelled";
          if (channel.bufferedAmount > HIGH_WATER) {
            const drained = new Promise((resolve) => channel.addEventListener("bufferedamountlow", () => resolve("drained"), { once: true }));
            if ((await Promise.race([drained, closed])) === "closed" || cancelled) return "cancelled";
          }
          // A view, not a copy: send() copies what it needs.
          const chunk = new Uint8Array(buf, at, Math.min(CHUNK_BYTES, buf.byteLength - at));
          hash.update(chunk);
          channel.send(chunk);
          sent += chunk.byteLength;
        }
        onProgress?.({ file_id: request.file_id, bytes: sent, total });
      }
    } catch (err) {
      if (channel.readyState !== "open") return "cancelled";
      console.warn("file read failed:", err);
      return fail("read_failed");
    }
    if (cancelled || channel.readyState !== "open") return "cancelled";
    channel.send(encodeChannelMessage({ type: "done", sha256: hash.hex() }));
    channel.removeEventListener("message", onMessage);
    return "done";
  }
}

/**
 * Where received bytes go. `write` is called in order; `finish` resolves with the whole file.
 * @typedef {object} Sink
 * @property {(chunk: ArrayBuffer) => void} write
 * @property {() => Promise<Blob>} finish
 * @property {() => void} abort
 */

/**
 * Collects chunks in memory, folded into Blobs of BLOB_PART_BYTES (the
 * browser's blob storage may move large ones to disk).
 * @returns {Sink}
 */
export function blobSink() {
  /** @type {ArrayBuffer[]} */
  let parts = [];
  let partBytes = 0;
  /** @type {Blob[]} */
  let blobs = [];
  return {
    write(chunk) {
      parts.push(chunk);
      partBytes += chunk.byteLength;
      if (partBytes >= BLOB_PART_BYTES) {
        blobs.push(new Blob(parts));
        parts = [];
        partBytes = 0;
      }
    },
    async finish() {
      if (parts.length > 0) blobs.push(new Blob(parts));
      parts = [];
      return new Blob(blobs);
    },
    abort() {
      parts = [];
      blobs = [];
    },
  };
}

/**
 * Writes chunks to a file in the origin private file system
 * (https://fs.spec.whatwg.org/#sandboxed-filesystem), so a large download
 * lives on disk, not in memory. Null when the browser offers no OPFS.
 * @param {string} name a file name unique to this download
 * @returns {Promise<Sink | null>}
 */
export async function opfsSink(name) {
  try {
    const root = await navigator.storage.getDirectory();
    const handle = await root.getFileHandle(name, { create: true });
    const writable = await handle.createWritable();
    /** @type {Promise<void>} writes in order, one after the other */
    let queue = Promise.resolve();
    /** @type {unknown} */
    let failed = null;
    // Chunks are gathered into writes of OPFS_WRITE_BYTES: one write per chunk
    // would be thousands of round trips, and a slow queue would hold the data.
    /** @type {ArrayBuffer[]} */
    let parts = [];
    let partBytes = 0;
    const flush = () => {
      if (parts.length === 0) return;
      const blob = new Blob(parts);
      parts = [];
      partBytes = 0;
      queue = queue.then(() => writable.write(blob)).catch((err) => {
        failed = err;
      });
    };
    return {
      write(chunk) {
        parts.push(chunk);
        partBytes += chunk.byteLength;
        if (partBytes >= OPFS_WRITE_BYTES) flush();
      },
      async finish() {
        flush();
        await queue;
        if (failed) throw failed;
        await writable.close();
        return handle.getFile();
      },
      abort() {
        void queue.then(() => writable.abort()).then(() => root.removeEntry(name)).catch(() => {});
      },
    };
  } catch {
    return null;
  }
}

/**
 * Removes a finished download's OPFS file (no-op without OPFS).
 * @param {string} name
 */
export async function removeOpfsFile(name) {
  try {
    await (await navigator.storage.getDirectory()).removeEntry(name);
  } catch {
    // Not there, or no OPFS.
  }
}

/**
 * @typedef {object} DownloadResult
 * @property {Blob} blob the file, made of Blob parts
 * @property {string} sha256 what the publisher announced, which the received bytes match
 */

/** A download failed: `code` says why (for the page's message). */
export class DownloadError extends Error {
  /** @param {'unknown_file' | 'read_failed' | 'bad_message' | 'hash_mismatch' | 'write_failed' | 'closed' | 'cancelled'} code */
  constructor(code) {
    super(`download failed: ${code}`);
    this.code = code;
  }
}

/**
 * Downloads one published file over a fresh `file-<id>` channel (which this
 * side opened). Resolves with the verified file; rejects with DownloadError.
 * @param {Channel} channel
 * @param {FileEntry} entry what the offer said
 * @param {{ onProgress?: (bytes: number, total: number) => void, signal?: AbortSignal, sink?: Sink }} [opts] `sink`: default blobSink()
 * @returns {Promise<DownloadResult>}
 */
export function downloadFile(channel, entry, opts = {}) {
  channel.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    const hash = new Sha256();
    const sink = opts.sink ?? blobSink();
    let received = 0;
    let started = false;
    let finished = false;

    const finish = (/** @type {DownloadError | null} */ err, /** @type {DownloadResult} */ result = /** @type {any} */ (null)) => {
      if (finished) return;
      finished = true;
      channel.removeEventListener("message", onMessage);
      channel.close();
      if (err) {
        sink.abort();
        reject(err);
      } else resolve(result);
    };
    const onMessage = (/** @type {MessageEvent} */ ev) => {
      if (finished) return;
      if (ev.data instanceof ArrayBuffer) {
        const n = ev.data.byteLength;
        if (!started || n === 0 || n > MAX_CHANNEL_MESSAGE_BYTES || received + n > entry.size) return finish(new DownloadError("bad_message"));
        hash.update(ev.data);
        sink.write(ev.data);
        received += n;
        opts.onProgress?.(received, entry.size);
        return;
      }
      const msg = decodeFileMessage(ev.data);
      if (!msg) return finish(new DownloadError("bad_message"));
      switch (msg.type) {
        case "metadata":
          if (started || msg.file_id !== entry.file_id || msg.size !== entry.size) return finish(new DownloadError("bad_message"));
          started = true;
          opts.onProgress?.(0, entry.size);
          return;
        case "done": {
          if (!started || received !== entry.size) return finish(new DownloadError("bad_message"));
          if (hash.hex() !== msg.sha256) return finish(new DownloadError("hash_mismatch"));
          const sha256 = msg.sha256;
          // No more messages matter; the channel closes once the file is complete.
          channel.removeEventListener("message", onMessage);
          sink.finish().then(
            (blob) => finish(null, { blob, sha256 }),
            () => finish(new DownloadError("write_failed")),
          );
          return;
        }
        case "error":
          return finish(new DownloadError(msg.code));
        default:
          return finish(new DownloadError("bad_message"));
      }
    };
    channel.addEventListener("message", onMessage);
    channel.addEventListener("close", () => finish(new DownloadError("closed")), { once: true });
    opts.signal?.addEventListener("abort", () => {
      try {
        channel.send(encodeChannelMessage({ type: "cancel" }));
      } catch {
        // Closed already.
      }
      finish(new DownloadError("cancelled"));
    });
    const request = () => channel.send(encodeChannelMessage({ type: "request", file_id: entry.file_id }));
    if (channel.readyState === "open") request();
    else channel.addEventListener("open", request, { once: true });
  });
}
