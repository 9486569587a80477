// The CSR's side of peer/tests/nat_browser.rs (issue 5, NET-2): Chromium,
// started by this script inside a NATed network namespace, signs in on the
// dashboard of a signaling server on the "public" segment, starts a session
// and hands the invitation link to the Rust test, whose native customer joins
// from the other namespace with a test-pattern screen. The script then checks
// what only the page can see: the native screen plays, the selected ICE
// candidate pair (getStats), a chat round trip, the path on the dashboard.
//
//   node nat-csr.mjs SERVER_URL CERT_PEM PING PONG
//
// SERVER_URL serves HTTPS with the self-signed certificate CERT_PEM (trusted
// by its key's SPKI hash). PING is the chat line the page sends once the chat
// channel opens; the customer answers PONG. Writes one JSON object per line on
// stdout: {"link"}, then {"result"} or {"error"}; exits when done, closing
// the browser also on failure.
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { CSR_NAME, CSR_PASSWORD, launchChromium, until } from "../harness.js";
import en from "../../../../web/js/catalogs/en.js";

/** ICE may try every pair before the relayed one works: allow more than one `until`. */
const MEDIA_DEADLINE_MS = 30_000;

const [url, certPath, ping, pong] = process.argv.slice(2);
if (!url || !certPath || !ping || !pong) {
  console.error("usage: node nat-csr.mjs SERVER_URL CERT_PEM PING PONG");
  process.exit(2);
}
/** @param {object} message */
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** Records every remote track and peer connection the page's client creates. */
function recordPeerConnections() {
  const Original = window.RTCPeerConnection;
  // @ts-ignore test instrumentation
  window.__pcs = [];
  // @ts-ignore
  window.__tracks = [];
  // @ts-ignore
  window.__signals = [];
  // Which offers and answers reached the page, and the connection's state then.
  window.WebSocket = class extends WebSocket {
    constructor(...args) {
      // @ts-ignore
      super(...args);
      this.addEventListener("message", (e) => {
        const type = typeof e.data === "string" && /"type":\s*"(offer|answer)"/.exec(e.data.slice(0, 40))?.[1];
        // @ts-ignore
        if (type) window.__signals.push(`${type} in ${window.__pcs.map((pc) => pc.signalingState)}`);
      });
    }
  };
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      // @ts-ignore
      window.__pcs.push(this);
      // @ts-ignore
      this.addEventListener("track", (e) => window.__tracks.push({ track: e.track, streams: e.streams.map((s) => s.id) }));
      // @ts-ignore
      this.addEventListener("signalingstatechange", () => this.__signaling.push(this.signalingState));
      // @ts-ignore
      this.__signaling = [];
    }
  };
}

/** The selected candidate pair of the page's first connection that has one, both ends' candidates. */
function selectedPair() {
  // @ts-ignore
  return Promise.all(window.__pcs.map((pc) => pc.getStats())).then((reports) => {
    for (const stats of reports) {
      for (const s of stats.values()) {
        if (s.type !== "transport" || !s.selectedCandidatePairId) continue;
        const pair = stats.get(s.selectedCandidatePairId);
        const pick = (/** @type {any} */ c) =>
          c && { candidateType: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol ?? null, address: c.address, port: c.port };
        if (pair) return { local: pick(stats.get(pair.localCandidateId)), remote: pick(stats.get(pair.remoteCandidateId)) };
      }
    }
    return null;
  });
}

/** What the page's connections look like, for a failure message. */
function describeConnections() {
  // @ts-ignore
  const pcs = window.__pcs.map((pc) => ({
    signaling: pc.__signaling,
    connection: pc.connectionState,
    transceivers: pc.getTransceivers().map((t) => `${t.mid}:${t.receiver.track.kind}:${t.currentDirection}`),
  }));
  // @ts-ignore
  return JSON.stringify({ pcs, signals: window.__signals, tracks: window.__tracks.map((t) => `${t.track.kind}:${t.streams}`) });
}

/**
 * Plays the native screen track in a video of its own; resolves after 10
 * frames presented (or 10 s) with its size, frames, time played and a pixel.
 */
function playScreen() {
  // @ts-ignore
  const { track } = window.__tracks.find((t) => t.streams.includes("tandem-screen"));
  const video = document.createElement("video");
  video.muted = true;
  video.srcObject = new MediaStream([track]);
  document.body.append(video);
  return new Promise((resolve) => {
    const t0 = video.currentTime;
    let frames = 0;
    const done = () => {
      // The test pattern's red block (64×64 at 32,32 of at least 512×256), as the page decoded it.
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
      const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
      if (canvas.width > 0) g.drawImage(video, 0, 0);
      const red = canvas.width > 0 ? Array.from(g.getImageData(Math.floor(canvas.width / 8), Math.floor(canvas.height / 4), 1, 1).data) : [];
      resolve({ width: video.videoWidth, height: video.videoHeight, frames, advanced: video.currentTime - t0, red });
    };
    const timer = setTimeout(done, 10_000);
    const onFrame = () => {
      frames++;
      if (frames >= 10 && video.currentTime > t0) {
        clearTimeout(timer);
        done();
      } else video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    // Resolves only once frames arrive: the timer above bounds the wait.
    void video.play().catch(() => {});
  });
}

const pem = readFileSync(certPath, "utf8");
const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
/** @type {import("playwright-core").Browser | undefined} */
let browser;
/** @type {import("playwright-core").Page | undefined} */
let page;
try {
  // Trust for the server's self-signed certificate, by its key.
  browser = await launchChromium([
    `--ignore-certificate-errors-spki-list=${createHash("sha256").update(spki).digest("base64")}`,
  ]);
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  await context.addInitScript(recordPeerConnections);
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${url}/`);
  await page.getByLabel("Name").fill(CSR_NAME);
  await page.getByLabel("Password").fill(CSR_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await page.getByLabel("Invitation link").inputValue()) || null);
  say({ link });

  // The track arrives with the offer, before any path works: wait for ICE first.
  await until("a connection to the native customer (a selected candidate pair in getStats)", () => page.evaluate(selectedPair), MEDIA_DEADLINE_MS);
  // Nothing of the customer's screen comes before it allowed the page to see it (SHR-1): ask
  // once its channels are open.
  await until("the chat channel to the customer", async () => (await page.locator("#participants li[data-chat=open]").count()) === 1);
  await page.getByRole("tab", { name: "Desktop" }).click();
  await page.getByRole("button", { name: "Request view" }).click();
  // @ts-ignore
  await until("the native customer's screen track", () => page.evaluate(() => window.__tracks.some((t) => t.streams.includes("tandem-screen"))));
  const video = await page.evaluate(playScreen);

  // A chat round trip: the customer answers the page's line (the chat is on the Tools tab).
  await page.getByRole("tab", { name: "Tools" }).click();
  await page.getByLabel("Message").fill(ping);
  await page.getByLabel("Message").press("Enter");
  await until("the customer's answer in the chat log", async () => (await page.locator("#chat-log").textContent())?.includes(pong));

  // Both ends reported their path: the dashboard shows the link as both see it.
  await until("both ends' path reports", () => page.evaluate(() => globalThis.tandemRuntime.state.paths.length === 2));
  const dashboardPath = await page.locator("#participants .path").allTextContents();
  const pair = await page.evaluate(selectedPair);
  const { paths, selfId } = await page.evaluate(() => {
    const { paths, selfId } = globalThis.tandemRuntime.state;
    return { paths, selfId };
  });
  say({ result: { video, pair, selfId, paths, dashboardPath, relayedText: en["path.relayed"], pageErrors: errors } });
} catch (err) {
  const connections = await page?.evaluate(describeConnections).catch(() => "unknown");
  say({ error: `${err instanceof Error ? err.message : String(err)}; the page's connections: ${connections}` });
  process.exitCode = 1;
} finally {
  await browser?.close();
}
