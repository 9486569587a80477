// @ts-check
/**
 * Basic file transfer (TOOL-4) between the pages and the peer mesh: what we
 * publish (sent as an `offer` on every `files` channel, and again to each
 * peer whose channel opens later), what others offer us, and our downloads
 * with their progress. The protocol itself is in file-transfer.js.
 */

import { decodeFileMessage } from "./channel-codec.js";
import { DownloadError, FilePublisher, blobSink, downloadFile, opfsSink, removeOpfsFile, transferStats } from "./file-transfer.js";
import { FILES_LABEL, FILE_PREFIX } from "./peers.js";

/** @typedef {import('./peers.js').PeerMesh} PeerMesh */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('../types/wire.js').FileEntry} FileEntry */

/**
 * @typedef {object} Download
 * @property {ParticipantId} from
 * @property {FileEntry} entry
 * @property {'running' | 'done' | 'failed' | 'cancelled'} status
 * @property {number} bytes
 * @property {number} startedAt performance.now() at the request
 * @property {number} updatedAt
 * @property {number} progressEvents how many progress updates arrived (for the page and tests)
 * @property {string | null} url object URL of the verified file, once done
 * @property {string | null} sha256
 * @property {string | null} error a DownloadError code
 * @property {AbortController} abort
 * @property {string} diskName the download's file in the origin private file system, if used
 * @property {'disk' | 'memory' | null} storage where the bytes go
 */

export class FilesController {
  /**
   * @param {() => PeerMesh | null} mesh
   * @param {() => void} changed
   */
  constructor(mesh, changed) {
    this.mesh = mesh;
    this.changed = changed;
    this.publisher = new FilePublisher();
    /** @type {Map<ParticipantId, FileEntry[]>} what each peer offers */
    this.offers = new Map();
    /** @type {Map<string, Download>} by `${from}:${file_id}` */
    this.downloads = new Map();
    /** @type {Map<number, { bytes: number, total: number, peers: number }>} uploads in progress by file id */
    this.uploads = new Map();
    this.nextTransfer = 1;
    /** Render at most this often during a transfer, ms. */
    this.renderEvery = 100;
    this.lastRender = 0;
  }

  /** Our published files. */
  published() {
    return this.publisher.entries();
  }

  /** @param {Iterable<File>} files */
  publish(files) {
    this.publisher.publish(files);
    this.broadcastOffer();
  }

  /** @param {number} id */
  withdraw(id) {
    this.publisher.withdraw(id);
    this.broadcastOffer();
  }

  /** Files others offer, with who offers them. */
  offered() {
    return [...this.offers].flatMap(([from, files]) => files.map((entry) => ({ from, entry })));
  }

  /** @param {ParticipantId} from @param {number} fileId */
  async download(from, fileId) {
    const entry = this.offers.get(from)?.find((f) => f.file_id === fileId);
    const mesh = this.mesh();
    if (!entry || !mesh) return;
    const k = `${from}:${fileId}`;
    const old = this.downloads.get(k);
    if (old?.status === "running") return;
    if (old) this.release(old);
    const transfer = this.nextTransfer++;
    const now = performance.now();
    /** @type {Download} */
    const d = { from, entry, status: "running", bytes: 0, startedAt: now, updatedAt: now, progressEvents: 0, url: null, sha256: null, error: null, abort: new AbortController(), diskName: `tandem-download-${Date.now()}-${transfer}`, storage: null };
    this.downloads.set(k, d);
    this.changed();
    // On disk when the browser lets us (a large file never sits in memory), else Blob parts.
    const disk = await opfsSink(d.diskName);
    d.storage = disk ? "disk" : "memory";
    const channel = this.mesh()?.openChannel(from, `${FILE_PREFIX}${transfer}`);
    if (!channel || d.abort.signal.aborted) {
      disk?.abort();
      d.status = d.abort.signal.aborted ? "cancelled" : "failed";
      this.changed();
      return;
    }
    downloadFile(channel, entry, {
      sink: disk ?? blobSink(),
      signal: d.abort.signal,
      onProgress: (bytes) => {
        d.bytes = bytes;
        d.updatedAt = performance.now();
        d.progressEvents++;
        this.throttledChange();
      },
    }).then(
      (result) => {
        d.status = "done";
        d.sha256 = result.sha256;
        d.url = URL.createObjectURL(result.blob);
        this.changed();
      },
      (err) => {
        d.status = err instanceof DownloadError && err.code === "cancelled" ? "cancelled" : "failed";
        d.error = err instanceof DownloadError ? err.code : "closed";
        this.changed();
      },
    );
  }

  /** @param {ParticipantId} from @param {number} fileId */
  cancel(from, fileId) {
    this.downloads.get(`${from}:${fileId}`)?.abort.abort();
  }

  /** Speed and ETA of a download. @param {Download} d */
  stats(d) {
    return transferStats({ bytes: d.bytes, total: d.entry.size, startedAt: d.startedAt, now: d.updatedAt });
  }

  // --- from the mesh

  /** @param {ParticipantId} from @param {unknown} data */
  onFilesMessage(from, data) {
    const msg = decodeFileMessage(data);
    if (msg?.type !== "offer") return;
    this.offers.set(from, msg.files);
    this.changed();
  }

  /** A peer's `files` channel opened: tell it what we publish. @param {ParticipantId} id */
  onFilesOpen(id) {
    if (this.publisher.files.size > 0) this.mesh()?.sendTo(id, FILES_LABEL, this.publisher.offerMessage());
  }

  /** A peer opened a `file-<id>` channel to download from us. @param {ParticipantId} _from @param {RTCDataChannel} channel */
  onFileChannel(_from, channel) {
    void this.publisher.serve(channel, (p) => {
      this.uploads.set(p.file_id, { bytes: p.bytes, total: p.total, peers: 1 });
      if (p.bytes >= p.total) this.uploads.delete(p.file_id);
      this.throttledChange();
    });
  }

  /** @param {ParticipantId} id */
  peerClosed(id) {
    this.offers.delete(id);
  }

  reset() {
    for (const d of this.downloads.values()) this.release(d);
    this.downloads.clear();
    this.offers.clear();
    this.uploads.clear();
    this.publisher = new FilePublisher();
  }

  /** Stops a download and frees what it holds (object URL, OPFS file). @private @param {Download} d */
  release(d) {
    d.abort.abort();
    if (d.url) URL.revokeObjectURL(d.url);
    if (d.storage === "disk") void removeOpfsFile(d.diskName);
  }

  /** @private */
  broadcastOffer() {
    const mesh = this.mesh();
    if (mesh) for (const id of mesh.peers.keys()) mesh.sendTo(id, FILES_LABEL, this.publisher.offerMessage());
    this.changed();
  }

  /** @private */
  throttledChange() {
    const now = performance.now();
    if (now - this.lastRender < this.renderEvery) return;
    this.lastRender = now;
    this.changed();
  }
}
