// @ts-check
/**
 * Advanced file transfer (TOOL-5) and system information (TOOL-7) from the
 * browser CSR to a customer's native peer (the host), over the peer mesh's
 * data channels (docs/file-transfer.md):
 *
 * - `remote-files`: open → opened {roots} or closed {code}; list → listing
 *   pages; close ("End file transfer").
 * - `rfile-<id>`, one per transfer: a download (a file or a folder, kept as a
 *   tree in the origin private file system, each file committed only once its
 *   SHA-256 matches, then offered for saving) or an upload (files or a
 *   folder, 64 KiB chunks within the 4 MiB window and the channel's
 *   buffered amount). A channel lost under a transfer is replaced by a new
 *   one with the same id that says `resume` (§5); Retry re-runs a failed one.
 * - `system-info`: request → report or refused.
 *
 * Every message is decoded within its bounds (remote-files-codec.js,
 * system-info.js); the protocol rules are the pure state machines of
 * remote-files-state.js; this and remote-files-transfers.js are their shell
 * (channels, files, OPFS). The page draws it with remote-files-view.js.
 */

import { transferStats } from "./file-transfer.js";
import {
  decodeRemoteFiles, decodeTransfer, encode, Listing, LOW_WATER_BYTES, MAX_RECEIVE_BYTES, REMOTE_FILES_LABEL, SYSTEM_INFO_LABEL, transferLabel,
} from "./remote-files-codec.js";
import { ReceiverState, SenderState, uploadManifest } from "./remote-files-state.js";
import { Download, OPFS_FOLDER, send, Upload } from "./remote-files-transfers.js";
import { decodeSystemInfo } from "./system-info.js";

/** @typedef {import('./peers.js').PeerMesh} PeerMesh */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').Root} Root */
/** @typedef {import('../types/wire.js').RemotePath} RemotePath */
/** @typedef {import('../types/wire.js').TransferErrorCode} TransferErrorCode */
/** @typedef {import('../types/wire.js').TransferMessage} TransferMessage */
/** @typedef {import('../types/wire.js').SystemReport} SystemReport */
/** @typedef {import('../types/wire.js').InfoRefusal} InfoRefusal */

/** How often a lost transfer channel is replaced by itself before Retry is needed. */
const AUTO_RESUMES = 3;

/**
 * A failure this page names itself (besides the protocol's codes): `closed`
 * (the channel went and could not come back), `bad_name` (a chosen file's
 * name cannot travel).
 * @typedef {TransferErrorCode | 'closed' | 'bad_name'} FailureCode
 */

/**
 * @typedef {object} Host one customer's file transfer, as this CSR sees it
 * @property {ParticipantId} peer
 * @property {RTCDataChannel | null} channel
 * @property {'none' | 'connecting' | 'asking' | 'open' | 'closed' | 'unavailable' | 'lost'} status
 * @property {TransferErrorCode | null} code why it closed
 * @property {Root[]} roots
 * @property {number} maxBytes the host's cap on one transfer
 * @property {RemotePath | null} cwd the folder shown
 * @property {Listing | null} listing
 * @property {SystemInfo} info
 */

/**
 * @typedef {object} SystemInfo
 * @property {RTCDataChannel | null} channel
 * @property {'none' | 'asking' | 'done' | 'refused' | 'unavailable'} status
 * @property {number} requestId
 * @property {SystemReport | null} report
 * @property {InfoRefusal | null} reason
 * @property {number} answers answers received so far (the view redraws on each)
 */

/**
 * @typedef {object} SavedFile a downloaded file, verified and committed
 * @property {string} path relative to the transfer's folder
 * @property {File} file
 * @property {string} sha256
 * @property {string} url an object URL for saving
 */

/**
 * @typedef {object} Transfer
 * @property {number} id
 * @property {ParticipantId} peer
 * @property {'download' | 'upload'} direction
 * @property {string} name for people: the file or folder
 * @property {RemotePath} target download: what; upload: into which folder
 * @property {{ file: File, path: string }[]} files upload: what
 * @property {boolean} overwrite upload: existing files may be replaced (the customer is told)
 * @property {'asking' | 'running' | 'interrupted' | 'done' | 'failed' | 'cancelled'} status
 * @property {FailureCode | null} error
 * @property {number} total bytes
 * @property {number} confirmed bytes the receiver confirmed
 * @property {number} fileCount
 * @property {number} skipped what the host left out of a folder
 * @property {number} startedAt performance.now() when bytes started to move
 * @property {number} updatedAt
 * @property {number} resumes channels replaced so far
 * @property {RTCDataChannel | null} channel
 * @property {ReceiverState | null} receiver
 * @property {SenderState | null} sender
 * @property {SavedFile[]} saved
 * @property {string} folder the OPFS folder of a download (under OPFS_FOLDER)
 * @property {number} sentBytes upload: file bytes sent, resent ones counted again
 * @property {number} receivedBytes download: file bytes taken (on the transfer's channel)
 * @property {number} discardedBytes download: file bytes that still came on a channel given up (sent again on the new one)
 */

export class RemoteFiles {
  /**
   * @param {() => PeerMesh | null} mesh
   * @param {() => void} changed
   */
  constructor(mesh, changed) {
    this.mesh = mesh;
    this.changed = changed;
    /** @type {Map<ParticipantId, Host>} */
    this.hosts = new Map();
    /** @type {Map<number, Transfer>} */
    this.transfers = new Map();
    /** @type {Map<number, Download>} the shells of running downloads */
    this.downloads = new Map();
    /** @type {Map<number, Upload>} */
    this.uploads = new Map();
    this.nextTransfer = 1;
    this.nextList = 1;
    this.nextInfo = 1;
    this.renderEvery = 100;
    this.lastRender = 0;
    // Downloads of pages closed long ago (a session's end removes its own).
    void sweepOpfs(Date.now());
  }

  /** @param {ParticipantId} peer @returns {Host} */
  host(peer) {
    let h = this.hosts.get(peer);
    if (!h) {
      h = {
        peer, channel: null, status: "none", code: null, roots: [], maxBytes: 0, cwd: null, listing: null,
        info: { channel: null, status: "none", requestId: 0, report: null, reason: null, answers: 0 },
      };
      this.hosts.set(peer, h);
    }
    return h;
  }

  /** The transfers with `peer`, oldest first. @param {ParticipantId} peer */
  transfersWith(peer) {
    return [...this.transfers.values()].filter((t) => t.peer === peer);
  }

  // --- remote-files

  /** Asks `peer` for advanced file transfer (the customer is asked). @param {ParticipantId} peer */
  open(peer) {
    const h = this.host(peer);
    if (h.status === "asking" || h.status === "open" || h.status === "connecting") return;
    h.code = null;
    if (h.channel?.readyState === "open") {
      h.status = "asking";
      h.channel.send(encode({ type: "open" }));
      this.changed();
      return;
    }
    const channel = this.mesh()?.openChannel(peer, REMOTE_FILES_LABEL);
    if (!channel) {
      h.status = "unavailable";
      this.changed();
      return;
    }
    h.channel = channel;
    h.status = "connecting";
    channel.addEventListener("open", () => {
      h.status = "asking";
      channel.send(encode({ type: "open" }));
      this.changed();
    });
    channel.addEventListener("message", (ev) => this.onFilesMessage(h, ev.data));
    channel.addEventListener("close", () => {
      if (h.channel !== channel) return;
      h.channel = null;
      // A browser customer closes channels it does not know at once (before any answer to `open`):
      // it has no file transfer. A native peer never closes this channel itself.
      h.status = h.status === "connecting" || h.status === "asking" ? "unavailable" : h.status === "closed" ? "closed" : "lost";
      h.listing = null;
      this.changed();
    });
    this.changed();
  }

  /**
   * Lists a folder of the host.
   * @param {ParticipantId} peer
   * @param {RemotePath} path
   */
  list(peer, path) {
    const h = this.host(peer);
    if (h.status !== "open" || h.channel?.readyState !== "open") return;
    const listId = this.nextList++;
    h.cwd = path;
    h.listing = new Listing(listId, path);
    h.channel.send(encode({ type: "list", list_id: listId, path }));
    this.changed();
  }

  /** "End file transfer": every transfer with `peer` stops. @param {ParticipantId} peer */
  close(peer) {
    const h = this.host(peer);
    if (h.channel?.readyState === "open") h.channel.send(encode({ type: "close" }));
    this.closed(h, "ended");
  }

  /** @private @param {Host} h @param {unknown} data */
  onFilesMessage(h, data) {
    const msg = decodeRemoteFiles(data);
    if (!msg) {
      console.warn("remote-files: a message that breaks the protocol was dropped");
      return;
    }
    switch (msg.type) {
      case "opened":
        h.status = "open";
        h.roots = msg.roots;
        h.maxBytes = msg.max_transfer_bytes;
        h.listing = null;
        if (msg.roots.length > 0) this.list(h.peer, { root: msg.roots[0].root_id, path: "" });
        break;
      case "listing":
      case "list_failed":
        h.listing?.take(msg);
        break;
      case "closed":
        this.closed(h, msg.code);
        break;
    }
    this.changed();
  }

  /** @private @param {Host} h @param {TransferErrorCode} code */
  closed(h, code) {
    h.status = "closed";
    h.code = code;
    h.listing = null;
    h.cwd = null;
    // The host stopped every transfer and removed partial files.
    for (const t of this.transfersWith(h.peer)) {
      if (t.status === "asking" || t.status === "running" || t.status === "interrupted") this.finish(t, "failed", code);
    }
    this.changed();
  }

  // --- transfers

  /**
   * Downloads a file or a whole folder of the host.
   * @param {ParticipantId} peer
   * @param {RemotePath} path
   * @param {string} name for people
   */
  download(peer, path, name) {
    /** @type {Transfer} */
    const t = this.newTransfer(peer, "download", name, path, []);
    this.run(t);
    return t;
  }

  /**
   * Uploads files (a file's `path` is its name, or `folder/sub/name` from a
   * folder input) into a folder of the host.
   * @param {ParticipantId} peer
   * @param {RemotePath} folder
   * @param {{ file: File, path: string }[]} files
   * @param {boolean} [overwrite] files already there may be replaced (the customer is asked so)
   */
  upload(peer, folder, files, overwrite = false) {
    const top = files.length === 1 ? files[0].path : files[0]?.path.split("/")[0] ?? "";
    const name = files.length > 1 && !files.every((f) => f.path.includes("/")) ? `${top} (+${files.length - 1})` : top;
    const t = this.newTransfer(peer, "upload", name, folder, files);
    t.overwrite = overwrite;
    this.run(t);
    return t;
  }

  /** Stops a transfer; the other side is told and removes partial files. @param {number} id */
  cancel(id) {
    const t = this.transfers.get(id);
    if (!t || !(t.status === "asking" || t.status === "running" || t.status === "interrupted")) return;
    send(t.channel, encode({ type: "cancel" }));
    this.finish(t, "cancelled", null);
  }

  /**
   * Retry: an interrupted transfer resumes on a new channel; a failed or
   * cancelled one runs again from the start (the customer is asked again).
   * @param {number} id
   * @returns {Transfer | undefined} the transfer that runs now
   */
  retry(id) {
    const t = this.transfers.get(id);
    if (!t) return undefined;
    if (t.status === "interrupted") {
      this.resume(t);
      return t;
    }
    if (t.status !== "failed" && t.status !== "cancelled") return t;
    this.forget(t);
    const again = this.newTransfer(t.peer, t.direction, t.name, t.target, t.files);
    again.overwrite = t.overwrite;
    this.run(again);
    return again;
  }

  /** Speed and time left. @param {Transfer} t */
  stats(t) {
    return transferStats({ bytes: t.confirmed, total: t.total, startedAt: t.startedAt, now: t.updatedAt });
  }

  /**
   * Gives a transfer's channel up as a lost connection would (for tests and
   * for "the connection hangs"): it resumes on a new one.
   * @param {number} id
   */
  interrupt(id) {
    const t = this.transfers.get(id);
    if (!t || t.status !== "running" || !t.channel) return;
    this.suspend(t);
    // Given up, not closed (what still comes on it is dropped): the host switches
    // when `resume` arrives on the new one, and closing could hand the old stream
    // id to the new channel too early (docs/file-transfer.md §11).
    t.channel = null;
    this.resume(t);
  }

  /** Everything ends (the session ended). */
  reset() {
    for (const t of this.transfers.values()) this.forget(t);
    this.transfers.clear();
    for (const h of this.hosts.values()) {
      h.channel?.close();
      h.info.channel?.close();
    }
    this.hosts.clear();
  }

  /**
   * @private
   * @param {ParticipantId} peer
   * @param {'download' | 'upload'} direction
   * @param {string} name
   * @param {RemotePath} target
   * @param {{ file: File, path: string }[]} files
   * @returns {Transfer}
   */
  newTransfer(peer, direction, name, target, files) {
    const now = performance.now();
    const id = this.nextTransfer++;
    /** @type {Transfer} */
    const t = {
      id, peer, direction, name, target, files, overwrite: false, status: "asking", error: null, total: 0, confirmed: 0, fileCount: 0, skipped: 0,
      startedAt: now, updatedAt: now, resumes: 0, channel: null, receiver: null, sender: null, saved: [], folder: "", sentBytes: 0, receivedBytes: 0, discardedBytes: 0,
    };
    this.transfers.set(id, t);
    return t;
  }

  /** @private @param {Transfer} t */
  run(t) {
    const h = this.host(t.peer);
    if (h.status !== "open") return this.finish(t, "failed", "not_open");
    if (t.direction === "upload") {
      const m = uploadManifest(t.files.map((f) => ({ path: f.path, size: f.file.size, modified: f.file.lastModified })));
      if ("error" in m) return this.finish(t, "failed", "bad_name");
      t.sender = new SenderState(m.entries);
      t.total = t.sender.manifest.total;
      t.fileCount = t.files.length;
      if (t.total > h.maxBytes) return this.finish(t, "failed", "too_large");
      this.uploads.set(t.id, new Upload(this, t));
    } else {
      t.receiver = new ReceiverState(MAX_RECEIVE_BYTES);
      t.folder = `${Date.now()}-${t.id}`;
      this.downloads.set(t.id, new Download(this, t));
    }
    this.connect(t, false);
    this.changed();
  }

  /**
   * Opens the transfer's channel; its first message says what it is for.
   * @private @param {Transfer} t @param {boolean} resuming
   */
  connect(t, resuming) {
    const channel = this.mesh()?.openChannel(t.peer, transferLabel(t.id));
    if (!channel) {
      if (resuming) {
        t.status = "interrupted";
        this.changed();
      } else this.finish(t, "failed", "closed");
      return;
    }
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    t.channel = channel;
    channel.addEventListener("open", () => {
      if (t.channel !== channel) return;
      /** @type {TransferMessage} */
      const first =
        resuming ? { type: "resume" }
        : t.direction === "download" ? { type: "download", path: t.target }
        : { type: "upload", folder: t.target, overwrite: t.overwrite };
      channel.send(encode(first));
      if (resuming) this.shell(t)?.resumed();
      else this.shell(t)?.opened();
    });
    channel.addEventListener("message", (ev) => {
      if (t.channel !== channel) {
        // What was in flight on a channel given up: the host sends it again on the new one.
        if (ev.data instanceof ArrayBuffer && t.status !== "done") t.discardedBytes += ev.data.byteLength;
        return;
      }
      const shell = this.shell(t);
      if (!shell) return;
      if (ev.data instanceof ArrayBuffer) return shell.onChunk(ev.data);
      const msg = decodeTransfer(ev.data);
      if (!msg) return this.fail(t, "bad_message");
      shell.onMessage(msg);
    });
    channel.addEventListener("bufferedamountlow", () => {
      if (t.channel === channel) this.shell(t)?.drained();
    });
    channel.addEventListener("close", () => {
      if (t.channel !== channel) return;
      t.channel = null;
      if (t.status === "asking") {
        // Nothing moved yet (the customer was being asked): the host cannot resume it.
        this.finish(t, "failed", "closed");
      } else if (t.status === "running") {
        // Lost under us (§5): carry on over a new channel with the same id (Retry does it after AUTO_RESUMES).
        this.suspend(t);
        if (t.resumes < AUTO_RESUMES) this.resume(t);
      }
      this.changed();
    });
  }

  /** @private @param {Transfer} t */
  suspend(t) {
    if (t.status !== "running") return;
    t.status = "interrupted";
    t.receiver?.suspend();
    t.sender?.suspend();
    this.changed();
  }

  /** @private @param {Transfer} t */
  resume(t) {
    if (t.status !== "interrupted") return;
    t.resumes++;
    t.status = "running";
    this.connect(t, true);
    this.changed();
  }

  /** @private @param {Transfer} t */
  shell(t) {
    return t.direction === "download" ? this.downloads.get(t.id) : this.uploads.get(t.id);
  }

  /**
   * This side fails the transfer: `error` goes to the host.
   * @param {Transfer} t
   * @param {FailureCode} code
   */
  fail(t, code) {
    if (code !== "closed" && code !== "bad_name") send(t.channel, encode({ type: "error", code }));
    this.finish(t, "failed", code);
  }

  /**
   * The transfer is over.
   * @param {Transfer} t
   * @param {'done' | 'failed' | 'cancelled'} status
   * @param {FailureCode | null} code
   */
  finish(t, status, code) {
    if (t.status === "done" || t.status === "failed" || t.status === "cancelled") return;
    t.status = status;
    t.error = code;
    t.updatedAt = performance.now();
    t.receiver?.cancel();
    t.sender?.cancel();
    this.shell(t)?.over(status === "done");
    this.downloads.delete(t.id);
    this.uploads.delete(t.id);
    // A finished channel is left open and idle (the host takes either; see docs/file-transfer.md §11).
    t.channel = null;
    // What was uploaded into the folder shown appears in it.
    const h = this.hosts.get(t.peer);
    if (status === "done" && t.direction === "upload" && h?.cwd && h.cwd.root === t.target.root && h.cwd.path === t.target.path) this.list(t.peer, h.cwd);
    this.changed();
  }

  /** @private @param {Transfer} t */
  forget(t) {
    if (t.status === "asking" || t.status === "running" || t.status === "interrupted") this.cancel(t.id);
    for (const s of t.saved) URL.revokeObjectURL(s.url);
    if (t.folder) void removeOpfsFolder(t.folder);
    this.transfers.delete(t.id);
  }

  /** @param {Transfer} t */
  progressed(t) {
    t.updatedAt = performance.now();
    if (t.updatedAt - this.lastRender < this.renderEvery) return;
    this.lastRender = t.updatedAt;
    this.changed();
  }

  // --- system-info

  /** Asks `peer` for its system information (the customer is asked). @param {ParticipantId} peer */
  requestSystemInfo(peer) {
    const info = this.host(peer).info;
    if (info.status === "asking") return;
    info.requestId = this.nextInfo++;
    info.status = "asking";
    info.report = null;
    info.reason = null;
    const request = (/** @type {RTCDataChannel} */ c) => send(c, encode({ type: "request", request_id: info.requestId }));
    if (info.channel?.readyState === "open") {
      request(info.channel);
      this.changed();
      return;
    }
    const channel = this.mesh()?.openChannel(peer, SYSTEM_INFO_LABEL);
    if (!channel) {
      info.status = "unavailable";
      this.changed();
      return;
    }
    info.channel = channel;
    channel.addEventListener("open", () => request(channel));
    channel.addEventListener("message", (ev) => this.onInfoMessage(peer, ev.data));
    channel.addEventListener("close", () => {
      if (info.channel !== channel) return;
      info.channel = null;
      if (info.status === "asking") info.status = "unavailable";
      this.changed();
    });
    this.changed();
  }

  /**
   * A message on `system-info` from `peer` (public so that a test can hand
   * the page a report a real computer cannot produce).
   * @param {ParticipantId} peer
   * @param {unknown} data
   */
  onInfoMessage(peer, data) {
    const info = this.host(peer).info;
    const msg = decodeSystemInfo(data);
    if (!msg || msg.type === "request" || msg.request_id !== info.requestId) {
      if (!msg) console.warn("system-info: a message that breaks the protocol was dropped");
      return;
    }
    info.answers++;
    if (msg.type === "report") {
      info.status = "done";
      info.report = msg.report;
    } else {
      info.status = "refused";
      info.reason = msg.reason;
    }
    this.changed();
  }
}

/** Downloads older than this are removed when a dashboard starts (another tab's are younger). */
const STALE_DOWNLOAD_MS = 24 * 3600 * 1000;

/**
 * Removes the OPFS folders of downloads started more than a day ago (their
 * names start with the time they started).
 * @param {number} now Unix ms
 */
async function sweepOpfs(now) {
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_FOLDER);
    // @ts-ignore keys() is there in browsers with OPFS
    for await (const name of root.keys()) {
      const started = Number(String(name).split("-")[0]);
      if (Number.isFinite(started) && now - started > STALE_DOWNLOAD_MS) await root.removeEntry(name, { recursive: true });
    }
  } catch {
    // No OPFS, or nothing there yet.
  }
}

/**
 * Removes a download's OPFS folder (no-op without OPFS).
 * @param {string} name
 */
async function removeOpfsFolder(name) {
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_FOLDER);
    await root.removeEntry(name, { recursive: true });
  } catch {
    // Not there, or no OPFS.
  }
}
