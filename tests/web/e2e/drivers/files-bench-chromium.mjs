// The Chromium anchor of benches/src/bin/files-bench.rs (issue 7's
// benchmark): the same number of bytes Chromium → Chromium over one
// reliable, ordered data channel on loopback. One page in Debian's Chromium
// (headless) holds two RTCPeerConnections connected to each other; for each
// run the sender opens a new channel, fills each chunk (64 KiB by default)
// with crypto.getRandomValues, hashes it and sends it, pausing while the
// channel buffers more than the high-water mark until `bufferedamountlow`
// (the W3C back-pressure: bufferedAmountLowThreshold = the low-water mark);
// the receiver hashes what arrives, both ends' hashing included in the time.
// `--hash js` hashes with the web client's own incremental SHA-256
// (web/js/sha256.js, on the page's one JavaScript thread: WebCrypto's
// digest() takes a whole input at once, so the product hashes transfers
// with this file); `--hash webcrypto` takes WebCrypto's SHA-256 of each
// chunk and then of those digests (native code: what the browser can do at
// best); `--hash none` only counts.
//
//   node files-bench-chromium.mjs [--chunk BYTES] [--high-water BYTES] [--low-water BYTES]
//       [--hash js|webcrypto|none]
//
// stdout, one JSON object a line: {"ready":{"version","pair"}}, then for each
// command {"done":{"id","ms","sent","received","sent_sha256","received_sha256"}}
// or {"error"}. stdin, one JSON command a line: {"cmd":"run","id":N,"bytes":B}.
// End of stdin closes the browser and ends the script.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT, launchChromium } from "../harness.js";

/** @param {object} message */
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** @param {string} name @param {number} fallback */
function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) {
    console.error(`${name} wants a positive integer`);
    process.exit(2);
  }
  return v;
}

const hashIndex = process.argv.indexOf("--hash");
const hash = hashIndex < 0 ? "js" : process.argv[hashIndex + 1];
if (!["js", "webcrypto", "none"].includes(hash)) {
  console.error("--hash wants js, webcrypto or none");
  process.exit(2);
}
const pacing = {
  chunk: option("--chunk", 64 * 1024),
  high: option("--high-water", 1024 * 1024),
  low: option("--low-water", 512 * 1024),
  hash,
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>files bench</title>
<script type="module">import { Sha256 } from "/sha256.js"; window.Sha256 = Sha256;</script>`;
const SHA256_JS = readFileSync(join(ROOT, "web", "js", "sha256.js"));

// In the page: two peer connections, connected (no trickle: each description carries its candidates).
async function setupInPage() {
  // With capture allowed (the fake devices), Chromium offers host candidates as addresses instead of
  // mDNS names, which the two connections could not resolve without multicast.
  const media = await navigator.mediaDevices.getUserMedia({ audio: true });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  /** @param {RTCPeerConnection} pc */
  const gathered = (pc) =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve(undefined);
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve(undefined));
    });
  const first = a.createDataChannel("setup");
  await a.setLocalDescription();
  await gathered(a);
  await b.setRemoteDescription(/** @type {RTCSessionDescription} */ (a.localDescription));
  await b.setLocalDescription();
  await gathered(b);
  await a.setRemoteDescription(/** @type {RTCSessionDescription} */ (b.localDescription));
  await new Promise((resolve, reject) => {
    first.onopen = resolve;
    setTimeout(() => reject(new Error(`no connection within 30 s (ICE ${a.iceConnectionState})`)), 30_000);
  });
  for (const track of media.getTracks()) track.stop();
  // @ts-ignore bench state
  window.pcs = { a, b };
  let pair = "?";
  const stats = [...(await a.getStats()).values()];
  const transport = stats.find((s) => s.type === "transport");
  const selected = stats.find((s) => s.id === transport?.selectedCandidatePairId);
  if (selected) {
    const local = stats.find((s) => s.id === selected.localCandidateId);
    const remote = stats.find((s) => s.id === selected.remoteCandidateId);
    pair = `${local?.address}:${local?.port} (${local?.candidateType}) ↔ ${remote?.address}:${remote?.port} (${remote?.candidateType}) ${local?.protocol}`;
  }
  return { pair };
}

// In the page: one run on a new channel, timed from the channel's creation to the last byte hashed.
/** @param {{ bytes: number, chunk: number, high: number, low: number, hash: string, n: number }} run */
async function transferInPage({ bytes, chunk, high, low, hash, n }) {
  // @ts-ignore bench state
  const { a, b } = window.pcs;
  // @ts-ignore the page's module put it there
  const Sha256 = window.Sha256;
  /**
   * One end's hash: "js" the web client's incremental SHA-256 of the whole stream; "webcrypto" the
   * SHA-256 of each chunk (crypto.subtle copies the bytes at the call), then the SHA-256 of those
   * digests in order; "none" only counts.
   */
  const hasher = () => {
    if (hash === "js") {
      const h = new Sha256();
      return { update: (/** @type {ArrayBufferView | ArrayBuffer} */ d) => h.update(d), hex: async () => h.hex() };
    }
    /** @type {Promise<ArrayBuffer>[]} */
    const digests = [];
    return {
      update: (/** @type {ArrayBufferView | ArrayBuffer} */ d) => {
        if (hash === "webcrypto") digests.push(crypto.subtle.digest("SHA-256", d));
      },
      hex: async () => {
        const all = new Uint8Array(digests.length * 32);
        (await Promise.all(digests)).forEach((d, i) => all.set(new Uint8Array(d), i * 32));
        const top = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
        return [...top].map((x) => x.toString(16).padStart(2, "0")).join("");
      },
    };
  };
  const started = performance.now();
  /** @type {Promise<RTCDataChannel>} */
  const arrived = new Promise((resolve) => b.addEventListener("datachannel", (/** @type {RTCDataChannelEvent} */ e) => resolve(e.channel), { once: true }));
  const tx = a.createDataChannel(`run-${n}`, { ordered: true });
  tx.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    tx.onopen = resolve;
    tx.onerror = reject;
  });
  const rx = await arrived;
  rx.binaryType = "arraybuffer";
  const sentHash = hasher();
  const receivedHash = hasher();
  let received = 0;
  const done = new Promise((resolve, reject) => {
    rx.onmessage = (e) => {
      receivedHash.update(e.data);
      received += e.data.byteLength;
      if (received >= bytes) resolve(undefined);
    };
    rx.onclose = () => reject(new Error(`the channel closed after ${received} bytes`));
  });
  tx.bufferedAmountLowThreshold = low;
  const buffer = new Uint8Array(chunk);
  let sent = 0;
  while (sent < bytes) {
    if (tx.bufferedAmount > high) {
      await new Promise((resolve) => tx.addEventListener("bufferedamountlow", resolve, { once: true }));
      continue;
    }
    const size = Math.min(chunk, bytes - sent);
    const view = size === chunk ? buffer : buffer.subarray(0, size);
    crypto.getRandomValues(view);
    sentHash.update(view);
    tx.send(view); // copied at once: the buffer can be refilled
    sent += size;
  }
  await done;
  const [sentHex, receivedHex] = [await sentHash.hex(), await receivedHash.hex()];
  const ms = performance.now() - started;
  rx.onclose = null;
  tx.close();
  return { ms, sent, received, sent_sha256: sentHex, received_sha256: receivedHex };
}

const server = createServer((req, res) => {
  if (req.url === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
  } else if (req.url === "/sha256.js") {
    res.writeHead(200, { "content-type": "text/javascript" }).end(SHA256_JS);
  } else {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
const address = server.address();
const port = typeof address === "object" && address ? address.port : 0;

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`page: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  // @ts-ignore set by the page's module
  await page.waitForFunction(() => window.Sha256 !== undefined);
  const { pair } = await page.evaluate(setupInPage);
  say({ ready: { version: browser.version(), pair } });
  for await (const line of createInterface({ input: process.stdin })) {
    let command;
    try {
      command = JSON.parse(line);
    } catch {
      say({ error: `not JSON: ${line}` });
      continue;
    }
    if (command.cmd !== "run") {
      say({ error: `unknown command ${line}` });
      continue;
    }
    try {
      const result = await page.evaluate(transferInPage, { ...pacing, bytes: command.bytes, n: command.id });
      say({ done: { id: command.id, ...result } });
    } catch (err) {
      say({ error: String(err) });
    }
  }
} catch (err) {
  say({ error: String(err) });
} finally {
  await browser.close();
  server.close();
}
