// The dashboard's side of benches/src/bin/control-bench.rs (issue 6's
// benchmark): Chromium signs in on the dashboard of the bench's signaling
// server, starts a session and prints the invitation link; the bench's native
// customer joins with it; the page asks it for control from the Desktop tab
// (the bench allows it on the customer's side), plays its screen, takes
// control with a first click, and then clicks on the remote screen whenever
// the bench says so. Each pointerdown on the page is stamped on the page's
// clock (`performance.timeOrigin` + ms): the event's own time stamp, and the
// time after the dashboard's listener had sent the button. Every frame the
// page's video presents is sampled at five points (requestVideoFrameCallback,
// its presentationTime), so that the bench can ask when the page first showed
// the colour the customer's screen turned to.
//
//   node control-bench-csr.mjs SERVER_URL
//
// stdout, one JSON object a line: {"link"}, {"ready"}, then one answer per
// command, or {"error"}. stdin, one JSON command a line:
//   {"cmd":"clock","id":N}            → {"clock":{"id","page_ms"}}
//   {"cmd":"click","id":N,"x":FX,"y":FY} (a point of the remote surface, 0..1)
//                                     → {"clicked":{"id","event_ms","sent_ms"}}
//   {"cmd":"photon","id":N,"rgb":[R,G,B]} → {"photon":{"id","shown_ms"}}: the
//       first frame after the last click that the page presented with that
//       colour over the screen (shown_ms null if none within 3 s)
//   {"cmd":"stats","id":N} → {"stats":{"id", ...}}: the screen's inbound-rtp
//       counters from getStats (jitter buffer, decode, drops, freezes)
// End of stdin closes the browser and ends the script.
import { createInterface } from "node:readline";
import { CSR_NAME, CSR_PASSWORD, launchChromium, until } from "../harness.js";

/** Consent, ICE and the first frames may take a while on a loaded machine. */
const SETUP_DEADLINE_MS = 60_000;
const SCREEN = "#screen-videos figure[data-source=screen]";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node control-bench-csr.mjs SERVER_URL");
  process.exit(2);
}
/** @param {object} message */
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** Stamps every pointerdown: before any listener of the page runs (capture) and after the viewer's (bubble). */
function stampPointerDowns() {
  // @ts-ignore bench instrumentation
  window.__downs = [];
  window.addEventListener(
    "pointerdown",
    // @ts-ignore
    (e) => window.__downs.push({ event_ms: performance.timeOrigin + e.timeStamp, sent_ms: null }),
    { capture: true },
  );
  window.addEventListener("pointerdown", () => {
    // @ts-ignore
    const last = window.__downs.at(-1);
    if (last) last.sent_ms = performance.timeOrigin + performance.now();
  });
}

/** Keeps every peer connection the page creates, for getStats. */
function recordPeerConnections() {
  const Original = window.RTCPeerConnection;
  // @ts-ignore bench instrumentation
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      // @ts-ignore
      window.__pcs.push(this);
    }
  };
}

/**
 * The inbound video counters of the connection that decodes the most frames (the customer's screen).
 * https://www.w3.org/TR/webrtc-stats/#inboundrtpstats-dict*
 */
async function screenStats() {
  const fields = ["framesReceived", "framesDecoded", "framesDropped", "keyFramesDecoded", "freezeCount", "totalFreezesDuration", "jitterBufferDelay", "jitterBufferTargetDelay", "jitterBufferMinimumDelay", "jitterBufferEmittedCount", "totalDecodeTime", "totalProcessingDelay", "totalAssemblyTime", "framesAssembledFromMultiplePackets", "nackCount", "pliCount", "firCount", "packetsLost", "bytesReceived", "frameWidth", "frameHeight"];
  let best = null;
  // @ts-ignore
  for (const pc of window.__pcs) {
    for (const s of (await pc.getStats()).values()) {
      if (s.type === "inbound-rtp" && s.kind === "video" && (!best || s.framesDecoded > best.framesDecoded)) best = s;
    }
  }
  return best && Object.fromEntries(fields.map((f) => [f, best[f] ?? null]));
}

/**
 * Samples every presented frame of the remote screen at the corners and the
 * centre (where the bench never clicks), keeping the last 300.
 * @param {string} selector
 */
function watchFrames(selector) {
  const v = /** @type {HTMLVideoElement} */ (document.querySelector(`${selector} video`));
  // One small scaled copy per frame: the taps are in large flat areas.
  const [w, h] = [32, 18];
  const canvas = Object.assign(document.createElement("canvas"), { width: w, height: h });
  const g = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d", { willReadFrequently: true }));
  const taps = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.9, 0.9]].map(([x, y]) => [Math.floor(x * w), Math.floor(y * h)]);
  // @ts-ignore bench instrumentation
  window.__frames = [];
  /** @type {VideoFrameRequestCallback} */
  const onFrame = (_now, meta) => {
    g.drawImage(v, 0, 0, w, h);
    const d = g.getImageData(0, 0, w, h).data;
    const rgb = taps.map(([x, y]) => Array.from(d.subarray((y * w + x) * 4, (y * w + x) * 4 + 3)));
    // @ts-ignore
    const frames = window.__frames;
    frames.push({ t: performance.timeOrigin + meta.presentationTime, rgb });
    if (frames.length > 300) frames.shift();
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
}

/**
 * The first sampled frame after `after` showing `rgb` at four taps of five, or null.
 * @param {[number, number[]]} args
 */
function firstShowing([after, rgb]) {
  // @ts-ignore
  const frame = window.__frames.find((f) => f.t > after && f.rgb.filter((c) => c.every((v, i) => Math.abs(v - rgb[i]) <= 50)).length >= 4);
  return frame ? frame.t : null;
}

/**
 * Where the surface point (fx, fy) of the remote screen is on the page (scale to fit, letterboxed).
 * @param {[string, number, number]} args
 */
function pagePoint([selector, fx, fy]) {
  const vp = /** @type {HTMLElement} */ (document.querySelector(`${selector} .screen-viewport`));
  const v = /** @type {HTMLVideoElement} */ (vp.querySelector("video"));
  const b = vp.getBoundingClientRect();
  const k = Math.min(vp.clientWidth / v.videoWidth, vp.clientHeight / v.videoHeight);
  const [cw, ch] = [v.videoWidth * k, v.videoHeight * k];
  return {
    x: b.x + vp.clientLeft + (vp.clientWidth - cw) / 2 + fx * cw,
    y: b.y + vp.clientTop + (vp.clientHeight - ch) / 2 + fy * ch,
    scale: k,
    video: [v.videoWidth, v.videoHeight],
  };
}

/** @type {import("playwright-core").Browser | undefined} */
let browser;
/** @type {import("playwright-core").Page | undefined} */
let page;
try {
  browser = await launchChromium();
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } });
  await context.addInitScript(recordPeerConnections);
  page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${url}/`);
  // Media permission (fake devices): Chromium then offers real host addresses, not mDNS names.
  await page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop())));
  await page.getByLabel("Name").fill(CSR_NAME);
  await page.getByLabel("Password").fill(CSR_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await page.getByLabel("Invitation link").inputValue()) || null);
  say({ link });

  // The bench's customer joins; ask it for control of its desktop.
  await page.getByRole("tab", { name: "Desktop" }).click();
  const request = page.locator("#request-control");
  const row = page.locator("#panel-desktop li[data-capability=control_desktop]");
  await until("the data channels to the customer", async () => (await page.locator("#participants li[data-chat=open]", { hasText: "Bench customer" }).count()) === 1, SETUP_DEADLINE_MS);
  // The page asks only once its consent channel is open (opened with chat, not signalled): ask until the row shows the request.
  await until("the control request on its way", async () => {
    if (await request.isEnabled()) await request.click();
    return until("the request's state", async () => {
      const status = await row.getAttribute("data-status");
      return status !== null && status !== "none";
    }, 2_000).catch(() => false);
  }, SETUP_DEADLINE_MS);
  const figure = page.locator(SCREEN);
  await until("control of the customer's screen", async () => (await figure.count()) === 1 && (await figure.getAttribute("data-control")) === "open", SETUP_DEADLINE_MS);
  await until("the customer's screen playing", () =>
    page.evaluate((sel) => {
      const v = document.querySelector(`${sel} video`);
      return v instanceof HTMLVideoElement && v.videoWidth > 0 && v.currentTime > 0;
    }, SCREEN), SETUP_DEADLINE_MS);
  await figure.locator(".screen-viewport").scrollIntoViewIfNeeded();
  await page.evaluate(stampPointerDowns);
  // The first click takes control (focus, capture) and is itself sent: the bench ignores it.
  const centre = await page.evaluate(pagePoint, [SCREEN, 0.5, 0.5]);
  await page.mouse.click(centre.x, centre.y);
  await until("capturing", async () => (await figure.getAttribute("data-capturing")) === "true");
  await page.evaluate(watchFrames, SCREEN);
  say({ ready: { scale: centre.scale, video: centre.video } });

  let lastClick = 0;

  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line);
    if (cmd.cmd === "clock") {
      say({ clock: { id: cmd.id, page_ms: await page.evaluate(() => performance.timeOrigin + performance.now()) } });
    } else if (cmd.cmd === "click") {
      const at = await page.evaluate(pagePoint, [SCREEN, cmd.x, cmd.y]);
      // @ts-ignore
      const n = await page.evaluate(() => window.__downs.length);
      await page.mouse.click(at.x, at.y);
      // @ts-ignore
      const down = await until("the click's stamps", () => page.evaluate((i) => window.__downs[i]?.sent_ms && window.__downs[i], n));
      lastClick = down.event_ms;
      say({ clicked: { id: cmd.id, ...down } });
    } else if (cmd.cmd === "stats") {
      say({ stats: { id: cmd.id, ...(await page.evaluate(screenStats)) } });
    } else if (cmd.cmd === "photon") {
      const shown = await until("the colour on the page", () => page.evaluate(firstShowing, [lastClick, cmd.rgb]), 3_000).catch(() => null);
      say({ photon: { id: cmd.id, shown_ms: shown } });
    } else {
      say({ error: `unknown command ${line}` });
    }
  }
} catch (err) {
  // What the dashboard showed, for the bench's error message.
  const shown = await page?.locator("#panel-desktop").innerText().catch(() => "?");
  const participants = await page?.locator("#participants").innerText().catch(() => "?");
  say({ error: `${err instanceof Error ? err.message : String(err)}; Desktop tab: ${JSON.stringify(shown)}; participants: ${JSON.stringify(participants)}` });
  process.exitCode = 1;
} finally {
  await browser?.close();
}
