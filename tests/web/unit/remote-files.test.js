// Advanced file transfer's pure part (web/js/remote-files-codec.js, remote-files-state.js) and the
// system information decoder (web/js/system-info.js): hostile messages and
// paths refused, manifest checks, a sender and a receiver wired to each
// other (acks at least every 256 KiB and after each file, never more than a
// window in flight, SHA-256 per file), a resume from the receiver's own
// position with its prefix hash, and refusals of messages out of turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  ACK_INTERVAL_BYTES, MAX_CHUNK_BYTES, MAX_MANIFEST_PAGE, WINDOW_BYTES, Listing,
  breadcrumbs, decodeRemoteFiles, decodeTransfer, joinPath, parentPath, validEntryName, validRelativePath,
} from "../../../web/js/remote-files-codec.js";
import { ManifestBuilder, ReceiverState, SenderState, hexSoFar, manifestPages, uploadManifest } from "../../../web/js/remote-files-state.js";
import { decodeSystemInfo, reportRows } from "../../../web/js/system-info.js";
import { translator } from "../../../web/js/i18n.js";
import { formatBytes } from "../../../web/js/format.js";

const msg = (o) => JSON.stringify({ v: 1, ...o });
const sha = (b) => createHash("sha256").update(b).digest("hex");

test("names and paths: what RelativePath takes, and the hostile ones refused", () => {
  for (const ok of ["a.txt", "Ünïcödé ✓", "a b", ".hidden", "n".repeat(255), "<img src=x onerror=alert(1)>"]) assert.ok(validEntryName(ok), ok);
  const hostile = ["", ".", "..", "a/b", "a\\b", "C:", "c:evil", "a\u0000b", "a\nb", "\u009f", "n".repeat(256), "é".repeat(128)];
  for (const bad of hostile) assert.ok(!validEntryName(bad), JSON.stringify(bad));
  for (const ok of ["", "a", "a/b/c", "Documents/2024/x.pdf"]) assert.ok(validRelativePath(ok), ok);
  const paths = ["/etc/passwd", "../../etc/passwd", "a/../b", "a//b", "a/", "./a", "C:\\..", "\\\\?\\C:\\x", "\\\\server\\share", "a/b\u0000", `${"d".repeat(200)}/`.repeat(21)];
  for (const bad of paths) assert.ok(!validRelativePath(bad), JSON.stringify(bad));
  assert.equal(joinPath("", "a"), "a");
  assert.equal(joinPath("a/b", "c"), "a/b/c");
  assert.equal(joinPath("a", ".."), null);
  assert.equal(joinPath("a", "x/y"), null);
  assert.equal(parentPath("a/b/c"), "a/b");
  assert.equal(parentPath("a"), "");
  assert.equal(parentPath(""), null);
  assert.deepEqual(breadcrumbs("/home/ann", "Documents/2024"), [
    { label: "/home/ann", path: "" },
    { label: "Documents", path: "Documents" },
    { label: "2024", path: "Documents/2024" },
  ]);
});

test("remote-files messages: decoded within their bounds, anything else null", () => {
  assert.deepEqual(decodeRemoteFiles(msg({ type: "opened", roots: [{ root_id: 0, label: "/home/ann" }], max_transfer_bytes: 1000 })), {
    type: "opened", roots: [{ root_id: 0, label: "/home/ann" }], max_transfer_bytes: 1000,
  });
  const listing = decodeRemoteFiles(msg({ type: "listing", list_id: 4, entries: [{ name: "a.txt", kind: "file", size: 3, modified: 1700000000000 }, { name: "dev", kind: "socketish", size: 0 }], last: true }));
  assert.deepEqual(listing, { type: "listing", list_id: 4, entries: [{ name: "a.txt", kind: "file", size: 3, modified: 1700000000000 }, { name: "dev", kind: "other", size: 0 }], last: true, unlisted: 0 }, "an unknown kind reads as other");
  assert.deepEqual(decodeRemoteFiles(msg({ type: "closed", code: "something_new" })), { type: "closed", code: "other" }, "an unknown code reads as other");
  const bad = [
    msg({ type: "opened", roots: Array.from({ length: 17 }, (_, i) => ({ root_id: i, label: "r" })), max_transfer_bytes: 1 }),
    msg({ type: "opened", roots: [{ root_id: 0, label: "a\u0007" }], max_transfer_bytes: 1 }),
    msg({ type: "opened", roots: [], max_transfer_bytes: -1 }),
    msg({ type: "listing", list_id: 1, entries: Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, kind: "file", size: 0 })), last: true }),
    msg({ type: "listing", list_id: 1, entries: [{ name: "../x", kind: "file", size: 0 }], last: true }),
    msg({ type: "listing", list_id: 1, entries: [{ name: "x", kind: "file", size: 2 ** 53 }], last: true }),
    msg({ type: "listing", list_id: 1, entries: [], last: "yes" }),
    msg({ type: "list", list_id: 1, path: { root: 0, path: "" } }),
    JSON.stringify({ v: 2, type: "closed", code: "ended" }),
    `{"v":1,"type":"closed","code":"ended","pad":"${"x".repeat(65536)}"}`,
    "not json",
    new ArrayBuffer(8),
  ];
  for (const b of bad) assert.equal(decodeRemoteFiles(b), null, String(b).slice(0, 120));
});

test("transfer messages: decoded within their bounds, anything else null", () => {
  const h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  assert.deepEqual(decodeTransfer(msg({ type: "start", index: 2, offset: 10, prefix_sha256: h })), { type: "start", index: 2, offset: 10, prefix_sha256: h });
  assert.deepEqual(decodeTransfer(msg({ type: "manifest", entries: [{ path: "p", kind: "dir", size: 0 }, { path: "p/a", kind: "file", size: 1 }], last: true, skipped: 2 })), {
    type: "manifest", entries: [{ path: "p", kind: "dir", size: 0 }, { path: "p/a", kind: "file", size: 1 }], last: true, skipped: 2,
  });
  const bad = [
    msg({ type: "manifest", entries: [{ path: "../x", kind: "file", size: 1 }], last: true }),
    msg({ type: "manifest", entries: [{ path: "x", kind: "symlink", size: 1 }], last: true }),
    msg({ type: "manifest", entries: Array.from({ length: MAX_MANIFEST_PAGE + 1 }, (_, i) => ({ path: `${i}`, kind: "file", size: 0 })), last: true }),
    msg({ type: "start", index: 0, offset: 1, prefix_sha256: "XYZ" }),
    msg({ type: "file_end", index: 0, sha256: h.toUpperCase() }),
    msg({ type: "ack", index: -1, offset: 0 }),
    msg({ type: "ack", index: 0, offset: 1.5 }),
    msg({ type: "download", path: { root: 0, path: "" } }),
    msg({ type: "error" }),
  ];
  for (const b of bad) assert.equal(decodeTransfer(b), null, b.slice(0, 120));
});

test("the manifest checks: duplicates, folders first, no folder size, the cap", () => {
  const f = (path, size = 1) => ({ path, kind: "file", size });
  const d = (path, size = 0) => ({ path, kind: "dir", size });
  assert.equal(new ManifestBuilder(100).add([d("a"), f("a/x"), d("a/b"), f("a/b/y")]), null);
  assert.equal(new ManifestBuilder(100).add([f("a/x")]), "bad_message", "a file before its folder");
  assert.equal(new ManifestBuilder(100).add([f("x"), f("x")]), "bad_message", "a duplicate");
  assert.equal(new ManifestBuilder(100).add([d("a", 5)]), "bad_message", "a folder with a size");
  assert.equal(new ManifestBuilder(100).add([f("", 1)]), "bad_message", "the root itself");
  assert.equal(new ManifestBuilder(100).add([f("x", 60), f("y", 41)]), "too_large");
  const b = new ManifestBuilder(100);
  assert.equal(b.add([d("a")]), null);
  assert.equal(b.add([f("a/x", 3)]), null, "pages add up");
  assert.equal(b.finish().total, 3);
});

test("a listing: pages gathered until the last, only its own list id", () => {
  const l = new Listing(7, { root: 0, path: "" });
  assert.equal(l.take({ type: "listing", list_id: 6, entries: [], last: true, unlisted: 0 }), false);
  l.take({ type: "listing", list_id: 7, entries: [{ name: "z", kind: "file", size: 1 }], last: false, unlisted: 0 });
  assert.equal(l.done, false);
  l.take({ type: "listing", list_id: 7, entries: [{ name: "b", kind: "dir", size: 0 }], last: true, unlisted: 2 });
  assert.equal(l.done, true);
  assert.deepEqual(l.sorted().map((e) => e.name), ["b", "z"], "folders first");
  assert.equal(l.unlisted, 2);
});

/**
 * Runs a sender and a receiver against each other in memory. `drop(n)`
 * (optional) is asked before each chunk; true loses the channel there.
 */
function wire(entries, contents, { windowBytes = WINDOW_BYTES, lose = null } = {}) {
  const sender = new SenderState(entries, { windowBytes });
  const receiver = new ReceiverState(1e12);
  const written = new Map();
  const stats = { maxInFlight: 0, acks: [], bytesSinceAck: 0, maxBetweenAcks: 0, sent: 0, lost: 0, fileDone: [] };
  /** Messages in flight each way (a lost channel drops them). */
  let toReceiver = [];
  let toSender = [];
  const deliverToReceiver = () => {
    while (toReceiver.length) {
      const m = toReceiver.shift();
      const step = m instanceof Uint8Array ? receiver.onChunk(m.buffer.slice(m.byteOffset, m.byteOffset + m.byteLength)) : receiver.onMessage(m);
      assert.equal(step.error, undefined, `receiver failed on ${m instanceof Uint8Array ? "a chunk" : JSON.stringify(m)}`);
      if (m instanceof Uint8Array) {
        const e = receiver.manifest.entries[receiver.pos.index];
        const prev = written.get(e.path) ?? Buffer.alloc(0);
        written.set(e.path, Buffer.concat([prev, m]));
        stats.bytesSinceAck += m.byteLength;
      }
      if (step.begin?.fresh) written.set(step.begin.path, Buffer.alloc(0));
      if (step.fileDone) stats.fileDone.push(step.fileDone);
      if (step.manifestReady) toSender.push(...receiver.start().send);
      for (const s of step.send) {
        if (s.type === "ack") {
          stats.acks.push(s);
          stats.maxBetweenAcks = Math.max(stats.maxBetweenAcks, stats.bytesSinceAck);
          stats.bytesSinceAck = 0;
        }
        toSender.push(s);
      }
    }
  };
  const deliverToSender = () => {
    while (toSender.length) {
      const m = toSender.shift();
      if (m.type === "start") {
        const r = sender.onStart({ index: m.index, offset: m.offset }, m.prefix_sha256);
        assert.ok(!("error" in r), "start taken");
        if ("check" in r) {
          const { check } = r;
          const file = contents.get(entries[check.index].path);
          check.hasher.update(file.subarray(check.from, check.to));
          const h = check.hasher;
          const same = hexSoFar(h) === check.prefix;
          sender.startAt({ index: m.index, offset: m.offset }, same ? h : null);
        }
      } else if (m.type === "ack") {
        assert.ok(sender.onAck(m), `ack ${JSON.stringify(m)} taken`);
      } else assert.fail(`unexpected ${JSON.stringify(m)}`);
    }
  };
  for (const page of sender.pages()) toReceiver.push(page);
  deliverToReceiver();
  deliverToSender();
  let lostOnce = false;
  for (let guard = 0; guard < 1e6 && !(sender.over && receiver.over); guard++) {
    const step = sender.next();
    if (step.kind === "text") toReceiver.push(step.msg);
    else if (step.kind === "chunk") {
      const bytes = contents.get(entries[step.index].path).subarray(step.offset, step.offset + step.length);
      sender.chunkSent(bytes);
      stats.sent += bytes.byteLength;
      toReceiver.push(bytes);
      stats.maxInFlight = Math.max(stats.maxInFlight, sender.inFlight());
    }
    if (lose && !lostOnce && lose(sender)) {
      // The channel goes: what was in flight is lost; both ends carry on over a new one.
      lostOnce = true;
      stats.lost = toReceiver.filter((m) => m instanceof Uint8Array).reduce((n, m) => n + m.byteLength, 0);
      toReceiver = [];
      toSender = [];
      sender.suspend();
      receiver.suspend();
      sender.resume();
      const start = receiver.resume();
      stats.resumeStart = start;
      toSender.push(start);
      deliverToSender();
      continue;
    }
    // Deliver in bursts, like a real channel: the window, not each chunk, paces the sender.
    if (step.kind === "window" || step.kind === "idle" || toReceiver.length > 8) {
      deliverToReceiver();
      deliverToSender();
    }
  }
  return { sender, receiver, written, stats };
}

test("a folder download end to end in memory: every file hashed, acks at least every 256 KiB and after each file, the window held", () => {
  const contents = new Map([
    ["top/a.bin", randomBytes(5 * 1024 * 1024 + 17)],
    ["top/empty", Buffer.alloc(0)],
    ["top/sub/b.bin", randomBytes(70_000)],
  ]);
  const entries = [
    { path: "top", kind: "dir", size: 0 },
    { path: "top/a.bin", kind: "file", size: contents.get("top/a.bin").length },
    { path: "top/empty", kind: "file", size: 0 },
    { path: "top/sub", kind: "dir", size: 0 },
    { path: "top/sub/b.bin", kind: "file", size: 70_000 },
  ];
  const { sender, receiver, written, stats } = wire(entries, contents);
  assert.equal(receiver.phase, "finished");
  assert.equal(sender.phase, "finished");
  for (const [path, bytes] of contents) assert.equal(sha(written.get(path) ?? Buffer.alloc(0)), sha(bytes), path);
  assert.deepEqual(stats.fileDone.map((f) => [f.path, f.sha256]), [...contents].map(([p, b]) => [p, sha(b)]), "each file verified with its SHA-256");
  assert.ok(stats.maxBetweenAcks <= ACK_INTERVAL_BYTES + MAX_CHUNK_BYTES, `bytes between acks: ${stats.maxBetweenAcks}`);
  assert.ok(stats.acks.length >= Math.floor((5 * 1024 * 1024) / ACK_INTERVAL_BYTES), `acks: ${stats.acks.length}`);
  for (const index of [2, 4, 5]) assert.ok(stats.acks.some((a) => a.index === index && a.offset === 0), `an ack after the file before ${index}`);
  assert.deepEqual(stats.acks.at(-1), { type: "ack", index: 5, offset: 0 }, "the last ack is the number of entries");
  assert.ok(stats.maxInFlight <= WINDOW_BYTES, `in flight: ${stats.maxInFlight}`);
  assert.equal(stats.sent, 5 * 1024 * 1024 + 17 + 70_000, "every byte sent once");
});

test("the window: without acks the sender stops at 4 MiB", () => {
  const size = 10 * 1024 * 1024;
  const s = new SenderState([{ path: "x", kind: "file", size }]);
  assert.deepEqual(s.next(), { kind: "idle" }, "nothing before start");
  s.startAt({ index: 0, offset: 0 }, null);
  assert.equal(s.next().kind, "text", "file_begin");
  let sent = 0;
  for (;;) {
    const step = s.next();
    if (step.kind !== "chunk") {
      assert.equal(step.kind, "window");
      break;
    }
    s.chunkSent(new Uint8Array(step.length));
    sent += step.length;
  }
  assert.equal(sent, WINDOW_BYTES);
  assert.equal(s.onAck({ index: 0, offset: sent + 1 }), false, "an ack beyond what was sent");
  assert.equal(s.onAck({ index: 0, offset: 1024 * 1024 }), true);
  assert.equal(s.next().kind, "chunk", "an ack opens the window");
  assert.equal(s.onAck({ index: 0, offset: 1024 }), false, "acks never go backwards");
});

test("resume: the channel lost at 50 %, the receiver's position and prefix hash, at most one window sent again", () => {
  const file = randomBytes(12 * 1024 * 1024);
  const contents = new Map([["big.bin", file]]);
  const entries = [{ path: "big.bin", kind: "file", size: file.length }];
  const { receiver, written, stats } = wire(entries, contents, { windowBytes: 1024 * 1024, lose: (s) => s.sent.offset >= file.length / 2 });
  const start = stats.resumeStart;
  assert.ok(start.offset > 0, `resumed inside the file: ${JSON.stringify(start)}`);
  assert.equal(start.prefix_sha256, sha(file.subarray(0, start.offset)), "the prefix hash is the SHA-256 of what the receiver holds");
  assert.equal(receiver.phase, "finished");
  assert.equal(sha(written.get("big.bin")), sha(file), "the file arrived byte-exact");
  const resent = stats.sent - file.length;
  assert.equal(resent, stats.lost, "exactly what was lost in flight was sent again");
  assert.ok(resent <= 1024 * 1024, `resent ${resent} bytes, at most one window`);
});

test("resume: a prefix that is not the sender's file restarts that file from zero", () => {
  const file = randomBytes(1024 * 1024);
  const s = new SenderState([{ path: "f", kind: "file", size: file.length }]);
  const r = s.onStart({ index: 0, offset: 65536 }, sha(Buffer.from("something else")));
  assert.ok("check" in r);
  r.check.hasher.update(file.subarray(r.check.from, r.check.to));
  s.startAt({ index: 0, offset: 65536 }, null);
  assert.deepEqual(s.next(), { kind: "text", msg: { type: "file_begin", index: 0, offset: 0 } });
  // And the receiver takes a file_begin at 0 after its resume as a fresh start.
  const rec = new ReceiverState();
  rec.onMessage({ type: "manifest", entries: [{ path: "f", kind: "file", size: file.length }], last: true, skipped: 0 });
  rec.start();
  rec.onMessage({ type: "file_begin", index: 0, offset: 0 });
  rec.onChunk(file.subarray(0, 65536).buffer.slice(file.byteOffset, file.byteOffset + 65536));
  rec.suspend();
  assert.equal(rec.resume().offset, 65536);
  const step = rec.onMessage({ type: "file_begin", index: 0, offset: 0 });
  assert.deepEqual(step.begin, { index: 0, path: "f", fresh: true });
  assert.equal(rec.pos.offset, 0);
});

test("the receiver refuses what comes out of turn with bad_message, a wrong hash with hash_mismatch", () => {
  const fresh = () => {
    const r = new ReceiverState();
    r.onMessage({ type: "manifest", entries: [{ path: "f", kind: "file", size: 100_000 }], last: true, skipped: 0 });
    r.start();
    return r;
  };
  const chunk = (n) => new ArrayBuffer(n);
  let r = fresh();
  assert.deepEqual(r.onChunk(chunk(20_000)).send, [{ type: "error", code: "bad_message" }], "a chunk before file_begin");
  r = fresh();
  r.onMessage({ type: "file_begin", index: 0, offset: 0 });
  assert.equal(r.onChunk(chunk(1000)).error, "bad_message", "a short chunk in the middle of a file");
  r = fresh();
  r.onMessage({ type: "file_begin", index: 0, offset: 0 });
  assert.equal(r.onChunk(chunk(65537)).error, "bad_message", "a chunk over 64 KiB");
  r = fresh();
  r.onMessage({ type: "file_begin", index: 0, offset: 0 });
  r.onChunk(chunk(65536));
  assert.equal(r.onChunk(chunk(65536)).error, "bad_message", "more bytes than the file's size");
  r = fresh();
  r.onMessage({ type: "file_begin", index: 0, offset: 0 });
  r.onChunk(chunk(65536));
  assert.equal(r.onMessage({ type: "file_end", index: 0, sha256: "0".repeat(64) }).error, "bad_message", "file_end before all bytes");
  r = fresh();
  r.onMessage({ type: "file_begin", index: 0, offset: 0 });
  r.onChunk(chunk(65536));
  r.onChunk(chunk(100_000 - 65536));
  assert.deepEqual(r.onMessage({ type: "file_end", index: 0, sha256: "0".repeat(64) }), { send: [{ type: "error", code: "hash_mismatch" }], error: "hash_mismatch" });
  r = fresh();
  assert.equal(r.onMessage({ type: "file_begin", index: 0, offset: 5 }).error, "bad_message", "a file_begin at an offset never held");
  r = fresh();
  assert.equal(r.onMessage({ type: "manifest", entries: [], last: true, skipped: 0 }).error, "bad_message", "a second manifest");
  const big = new ReceiverState(1000);
  assert.equal(big.onMessage({ type: "manifest", entries: [{ path: "f", kind: "file", size: 1001 }], last: true, skipped: 0 }).error, "too_large");
  const s = new SenderState([{ path: "f", kind: "file", size: 10 }]);
  assert.deepEqual(s.onStart({ index: 0, offset: 5 }, undefined), { error: "bad_message" }, "a start with an offset and no prefix");
  const s2 = new SenderState([{ path: "f", kind: "file", size: 10 }]);
  assert.deepEqual(s2.onStart({ index: 3, offset: 0 }, undefined), { error: "bad_message" }, "a start outside the manifest");
});

test("an upload's manifest: folders first, once, before what they hold; bad names refused; pages within bounds", () => {
  const m = uploadManifest([
    { path: "photos/2024/b.jpg", size: 2 },
    { path: "photos/a.jpg", size: 1, modified: 1700000000000 },
    { path: "photos/2024/c/d.txt", size: 3 },
  ]);
  assert.ok("entries" in m);
  assert.deepEqual(m.entries.map((e) => `${e.kind}:${e.path}`), ["dir:photos", "dir:photos/2024", "dir:photos/2024/c", "file:photos/2024/b.jpg", "file:photos/a.jpg", "file:photos/2024/c/d.txt"]);
  assert.equal(new ManifestBuilder(100).add(m.entries), null, "what this side sends passes the receiver's checks");
  assert.deepEqual(uploadManifest([{ path: "a\\b", size: 1 }]), { error: "bad_name", path: "a\\b" });
  assert.deepEqual(uploadManifest([{ path: "x", size: 1 }, { path: "x", size: 1 }]), { error: "duplicate", path: "x" });
  assert.deepEqual(uploadManifest([]), { error: "empty" });
  const many = Array.from({ length: 2500 }, (_, i) => ({ path: `${"n".repeat(100)}${i}`, kind: "file", size: i }));
  const pages = manifestPages(many);
  assert.ok(pages.length >= 3);
  for (const p of pages) {
    assert.ok(p.entries.length <= MAX_MANIFEST_PAGE);
    assert.ok(JSON.stringify({ v: 1, ...p }).length <= 65536);
  }
  assert.deepEqual(pages.map((p) => p.last), pages.map((_, i) => i === pages.length - 1));
  assert.equal(pages.reduce((n, p) => n + p.entries.length, 0), 2500);
});

const REPORT = {
  collected_at: 1700000000000,
  host_name: "<img src=x onerror=alert(1)>",
  os_name: "Debian GNU/Linux",
  os_version: "12",
  kernel_version: "6.1.0",
  architecture: "x86_64",
  uptime_seconds: 3660,
  cpu: { brand: "AMD Ryzen 5", vendor: "AuthenticAMD", logical_cores: 12, physical_cores: 6 },
  memory: { total_bytes: 16e9, available_bytes: 8e9, swap_total_bytes: 0, swap_free_bytes: 0 },
  disks: [{ name: "nvme0n1p2", mount_point: "/", file_system: "ext4", kind: "ssd", removable: false, total_bytes: 512e9, available_bytes: 200e9 }],
  displays: [{ width: 1920, height: 1080, width_mm: 527, height_mm: 296 }],
  interfaces: [{ name: "lo", addresses: [{ address: "127.0.0.1", prefix: 8 }] }],
};

test("system information: a report decoded and turned into text rows; a host name that looks like markup stays text", () => {
  const m = decodeSystemInfo(msg({ type: "report", request_id: 3, report: REPORT }));
  assert.equal(m?.type, "report");
  const t = translator("en");
  const rows = reportRows(m.report, t, (n) => formatBytes(n, t));
  const host = rows.find((r) => r.key === "sysinfo.host_name");
  assert.deepEqual(host, { key: "sysinfo.host_name", label: "Computer name", value: "<img src=x onerror=alert(1)>" }, "the value is the string itself (the page puts it in a text node)");
  assert.deepEqual(rows.find((r) => r.key === "sysinfo.cpu")?.value, "AMD Ryzen 5 (AuthenticAMD) 6 cores, 12 threads");
  assert.ok(rows.some((r) => r.value === "127.0.0.1/8" || r.value === "lo 127.0.0.1/8"));
  assert.deepEqual(decodeSystemInfo(msg({ type: "refused", request_id: 3, reason: "new_reason" })), { type: "refused", request_id: 3, reason: "other" });
  const bad = [
    { ...REPORT, host_name: "a\u0007b" },
    { ...REPORT, host_name: "x".repeat(129) },
    { ...REPORT, host_name: "" },
    { ...REPORT, disks: Array(17).fill(REPORT.disks[0]) },
    { ...REPORT, interfaces: [{ name: "eth0", mac: "02:00:00:00:00:0G", addresses: [] }] },
    { ...REPORT, interfaces: [{ name: "eth0", addresses: [{ address: "<b>", prefix: 8 }] }] },
    { ...REPORT, memory: undefined },
    { ...REPORT, cpu: { logical_cores: -1 } },
  ];
  for (const r of bad) assert.equal(decodeSystemInfo(msg({ type: "report", request_id: 3, report: r })), null, JSON.stringify(r).slice(0, 100));
  assert.equal(decodeSystemInfo(msg({ type: "request", request_id: 3 })), null, "a request is not for the CSR");
});
