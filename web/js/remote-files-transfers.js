// @ts-check
/**
 * The shells of one advanced file transfer (TOOL-5) in the browser: a
 * download carries out its ReceiverState's steps on the origin private file
 * system (a folder per transfer, the tree kept, each file put in place by
 * the writable's close() only once its SHA-256 matched); an upload carries
 * out its SenderState's steps with the chosen File objects, within the
 * window and the channel's buffered amount (W3C WebRTC
 * `bufferedAmountLowThreshold`). RemoteFiles (remote-files.js) owns them.
 */

import { baseName, encode, HIGH_WATER_BYTES, parentPath } from "./remote-files-codec.js";
import { hexSoFar } from "./remote-files-state.js";

/** @typedef {import('./remote-files.js').RemoteFiles} RemoteFiles */
/** @typedef {import('./remote-files.js').Transfer} Transfer */
/** @typedef {import('../types/wire.js').TransferMessage} TransferMessage */
/** @typedef {import('./remote-files-state.js').ReceiverStep} ReceiverStep */

/** The download writes to OPFS in pieces of about this size. */
const WRITE_BYTES = 4 * 1024 * 1024;
/** The upload reads its files this much at a time. */
const READ_BYTES = 1024 * 1024;
/** The OPFS folder downloads land in, one folder per transfer. */
export const OPFS_FOLDER = "tandem-remote";

/** A download: the receiver's steps carried out on OPFS. */
export class Download {
  /** @param {RemoteFiles} owner @param {Transfer} t */
  constructor(owner, t) {
    this.owner = owner;
    this.t = t;
    /** @type {Promise<FileSystemDirectoryHandle> | null} */
    this.root = null;
    /** @type {Map<string, Promise<FileSystemDirectoryHandle>>} folders by path */
    this.dirs = new Map();
    /** @type {OpfsFile | null} the file being written */
    this.file = null;
    /** @type {Promise<void>[]} files being committed */
    this.commits = [];
  }

  opened() {}

  /** A new channel: say where we stand. */
  resumed() {
    const r = this.t.receiver;
    const ch = this.t.channel;
    if (!r || !ch) return;
    if (r.phase === "ready") return void this.prepare();
    const start = r.resume();
    if (!start) return this.owner.fail(this.t, "unknown_transfer");
    send(ch, encode(start));
  }

  drained() {}

  /** @param {TransferMessage} msg */
  onMessage(msg) {
    const r = this.t.receiver;
    if (!r) return;
    this.apply(r.onMessage(msg));
  }

  /** @param {ArrayBuffer} bytes */
  onChunk(bytes) {
    const r = this.t.receiver;
    if (!r) return;
    this.t.receivedBytes += bytes.byteLength;
    const step = r.onChunk(bytes);
    if (!step.error) {
      if (!this.file || this.file.failed) return this.owner.fail(this.t, "write_failed");
      this.file.write(bytes);
    }
    this.apply(step);
    this.t.confirmed = r.confirmedBytes();
    this.owner.progressed(this.t);
  }

  /** @param {ReceiverStep} step */
  apply(step) {
    const t = this.t;
    const r = t.receiver;
    if (!r) return;
    for (const m of step.send) send(t.channel, encode(m));
    if (step.error) return this.owner.finish(t, "failed", step.error);
    if (step.cancelled) return this.owner.finish(t, "cancelled", null);
    if (step.manifestReady) void this.prepare();
    if (step.begin && (step.begin.fresh || !this.file)) {
      // A new file, or the host found our prefix was not its file's: written from zero.
      this.file?.abort();
      this.file = new OpfsFile(this.dirOf(step.begin.path), baseName(step.begin.path));
    }
    if (step.fileDone) {
      const file = this.file;
      const done = step.fileDone;
      this.file = null;
      if (file) {
        this.commits.push(
          file.commit().then(
            (f) => {
              t.saved.push({ path: done.path, file: f, sha256: done.sha256, url: URL.createObjectURL(f) });
            },
            () => this.owner.fail(t, "write_failed"),
          ),
        );
      }
    }
    if (step.finished) {
      t.confirmed = r.confirmedBytes();
      void Promise.all(this.commits).then(() => this.owner.finish(t, "done", null));
    }
  }

  /** The whole manifest is in: create the folders, then ask for the bytes. */
  async prepare() {
    const t = this.t;
    const r = t.receiver;
    if (!r || !r.manifest) return;
    t.total = r.manifest.total;
    t.fileCount = r.manifest.entries.filter((e) => e.kind === "file").length;
    t.skipped = r.skipped;
    try {
      for (const path of r.folders()) await this.dirOf(`${path}/x`);
      await this.folderRoot();
    } catch {
      return this.owner.fail(t, "write_failed");
    }
    if (t.status !== "running" && t.status !== "asking") return;
    t.status = "running";
    t.startedAt = performance.now();
    this.apply(r.start());
    this.owner.changed();
  }

  /** @param {boolean} _ok */
  over(_ok) {
    this.file?.abort();
    this.file = null;
  }

  /** The transfer's own OPFS folder. */
  folderRoot() {
    if (!this.root) {
      this.root = navigator.storage.getDirectory()
        .then((d) => d.getDirectoryHandle(OPFS_FOLDER, { create: true }))
        .then((d) => d.getDirectoryHandle(this.t.folder, { create: true }));
    }
    return this.root;
  }

  /**
   * The OPFS folder that holds `path` (created on the way).
   * @param {string} path
   * @returns {Promise<FileSystemDirectoryHandle>}
   */
  dirOf(path) {
    const parent = parentPath(path) ?? "";
    if (parent === "") return this.folderRoot();
    let d = this.dirs.get(parent);
    if (!d) {
      d = this.dirOf(parent).then((above) => above.getDirectoryHandle(baseName(parent), { create: true }));
      this.dirs.set(parent, d);
    }
    return d;
  }
}

/**
 * One file written to OPFS: the bytes go to the writable's swap file, which
 * `close()` puts in place (https://fs.spec.whatwg.org/#api-filesystemwritablefilestream);
 * an aborted one leaves no file behind.
 */
class OpfsFile {
  /** @param {Promise<FileSystemDirectoryHandle>} dir @param {string} name */
  constructor(dir, name) {
    this.dir = dir;
    this.name = name;
    /** @type {unknown} */
    this.failed = null;
    /** @type {FileSystemFileHandle | null} */
    this.handle = null;
    /** @type {FileSystemWritableFileStream | null} */
    this.writable = null;
    /** @type {ArrayBuffer[]} */
    this.parts = [];
    this.partBytes = 0;
    /** @type {Promise<void>} writes in order */
    this.queue = dir
      .then((d) => d.getFileHandle(name, { create: true }))
      .then(async (h) => {
        this.handle = h;
        this.writable = await h.createWritable();
      })
      .catch((err) => {
        this.failed = err;
      });
  }

  /** @param {ArrayBuffer} chunk */
  write(chunk) {
    this.parts.push(chunk);
    this.partBytes += chunk.byteLength;
    if (this.partBytes >= WRITE_BYTES) this.flush();
  }

  flush() {
    if (this.parts.length === 0) return;
    const blob = new Blob(this.parts);
    this.parts = [];
    this.partBytes = 0;
    this.queue = this.queue.then(async () => {
      if (!this.failed) await this.writable?.write(blob);
    }).catch((err) => {
      this.failed = err;
    });
  }

  /** Everything written: put the file in place. @returns {Promise<File>} */
  async commit() {
    this.flush();
    await this.queue;
    if (this.failed || !this.writable || !this.handle) throw this.failed ?? new Error("no file");
    await this.writable.close();
    return this.handle.getFile();
  }

  abort() {
    this.parts = [];
    // getFileHandle({ create }) made an empty file at once: it goes too.
    void this.queue
      .then(() => this.writable?.abort())
      .then(() => this.dir)
      .then((d) => d.removeEntry(this.name))
      .catch(() => {});
  }
}

/** An upload: the sender's steps carried out with the chosen files. */
export class Upload {
  /** @param {RemoteFiles} owner @param {Transfer} t */
  constructor(owner, t) {
    this.owner = owner;
    this.t = t;
    /** @type {Map<number, File>} manifest index → file */
    this.byIndex = new Map();
    const entries = t.sender?.manifest.entries ?? [];
    const byPath = new Map(t.files.map((f) => [f.path, f.file]));
    entries.forEach((e, i) => {
      const f = byPath.get(e.path);
      if (e.kind === "file" && f) this.byIndex.set(i, f);
    });
    /** @type {{ index: number, start: number, bytes: Uint8Array } | null} what was read last */
    this.cache = null;
    this.pumping = false;
    this.again = false;
  }

  /** The channel is open and `upload` went: the manifest follows. */
  opened() {
    const s = this.t.sender;
    if (!s) return;
    for (const page of s.pages()) send(this.t.channel, encode(page));
  }

  /** A new channel said `resume`: wait for the host's `start`. */
  resumed() {
    this.t.sender?.resume();
  }

  drained() {
    void this.pump();
  }

  /** @param {ArrayBuffer} _bytes */
  onChunk(_bytes) {
    this.owner.fail(this.t, "bad_message");
  }

  /** @param {TransferMessage} msg */
  onMessage(msg) {
    const t = this.t;
    const s = t.sender;
    if (!s) return;
    switch (msg.type) {
      case "start":
        return void this.start(msg.index, msg.offset, msg.prefix_sha256);
      case "ack":
        if (!s.onAck({ index: msg.index, offset: msg.offset })) return this.owner.fail(t, "bad_message");
        t.confirmed = s.confirmedBytes();
        if (s.phase === "finished") return this.owner.finish(t, "done", null);
        this.owner.progressed(t);
        return void this.pump();
      case "cancel":
        return this.owner.finish(t, "cancelled", null);
      case "error":
        return this.owner.finish(t, "failed", msg.code);
      default:
        return this.owner.fail(t, "bad_message");
    }
  }

  /**
   * The host allowed it (or resumes at its position, checked against our prefix).
   * @param {number} index @param {number} offset @param {string | undefined} prefix
   */
  async start(index, offset, prefix) {
    const t = this.t;
    const s = t.sender;
    if (!s) return;
    const r = s.onStart({ index, offset }, prefix);
    if ("error" in r) return this.owner.fail(t, r.error);
    if ("check" in r) {
      const { check } = r;
      const file = this.byIndex.get(check.index);
      if (!file) return this.owner.fail(t, "bad_message");
      try {
        for (let at = check.from; at < check.to; at += READ_BYTES) {
          check.hasher.update(new Uint8Array(await file.slice(at, Math.min(at + READ_BYTES, check.to)).arrayBuffer()));
        }
      } catch {
        return this.owner.fail(t, "read_failed");
      }
      s.startAt({ index, offset }, hexSoFar(check.hasher) === check.prefix ? check.hasher : null);
    }
    if (t.status === "asking") t.startedAt = performance.now();
    t.status = "running";
    if (s.phase === "finished") return this.owner.finish(t, "done", null);
    this.owner.changed();
    void this.pump();
  }

  /** Sends what the window and the channel's buffer allow. */
  async pump() {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        await this.sendSome();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  /** @private */
  async sendSome() {
    const t = this.t;
    const s = t.sender;
    for (;;) {
      const ch = t.channel;
      if (!s || !ch || ch.readyState !== "open" || t.status !== "running") return;
      // Back-pressure (W3C WebRTC bufferedAmountLowThreshold): `bufferedamountlow` calls pump again.
      if (ch.bufferedAmount > HIGH_WATER_BYTES) return;
      const step = s.next();
      if (step.kind === "idle" || step.kind === "window") return;
      if (step.kind === "text") {
        if (!send(ch, encode(step.msg))) return;
        continue;
      }
      let bytes;
      try {
        bytes = await this.read(step.index, step.offset, step.length);
      } catch {
        return this.owner.fail(t, "read_failed");
      }
      if (t.channel !== ch || ch.readyState !== "open" || t.status !== "running") return;
      s.chunkSent(bytes);
      t.sentBytes = s.sentBytes;
      if (!send(ch, bytes)) return;
    }
  }

  /** @private @param {number} index @param {number} offset @param {number} length */
  async read(index, offset, length) {
    const c = this.cache;
    if (c && c.index === index && offset >= c.start && offset + length <= c.start + c.bytes.byteLength) {
      return c.bytes.subarray(offset - c.start, offset - c.start + length);
    }
    const file = this.byIndex.get(index);
    if (!file) throw new Error("no such file");
    const end = Math.min(offset + Math.max(READ_BYTES, length), file.size);
    const bytes = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    if (bytes.byteLength < length) throw new Error("the file changed");
    this.cache = { index, start: offset, bytes };
    return bytes.subarray(0, length);
  }

  /** @param {boolean} _ok */
  over(_ok) {
    this.cache = null;
  }
}

/**
 * Sends on a channel that may have closed meanwhile; false if it did.
 * @param {RTCDataChannel | null} channel
 * @param {string | Uint8Array} data
 */
export function send(channel, data) {
  if (channel?.readyState !== "open") return false;
  try {
    // @ts-ignore a Uint8Array view is sent as its bytes
    channel.send(data);
    return true;
  } catch (err) {
    console.warn("send on", channel.label, "failed:", err);
    return false;
  }
}
