// Chromium ↔ native peer interop (issue 3, and issue 4's "a CSR page views a
// native peer's screen"): the CSR's dashboard in real Chromium and the real
// `tandem-peer` binary joining by the invite link with a synthetic H.264
// screen (colour blocks + frame counter) and an Opus tone. The page plays the
// native screen track once the customer allowed it in the native consent window
// (a real click on Allow) (videoWidth > 0, currentTime advancing, a canvas pixel
// of the red block is red), its audio packets arrive, and chat goes both ways.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { CSR_NAME, CSR_PASSWORD, ROOT, startWorld, until } from "./harness.js";
import { PROMPT, clickUntil } from "./drivers/native-peer.js";
import { startXvfb } from "./drivers/x11.js";

/** Records every remote track and peer connection the page's client creates. */
function recordPeerConnections() {
  const Original = window.RTCPeerConnection;
  // @ts-ignore test instrumentation
  window.__pcs = [];
  // @ts-ignore
  window.__tracks = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      // @ts-ignore
      window.__pcs.push(this);
      this.addEventListener("track", (e) => window.__tracks.push({ track: e.track, streams: e.streams.map((s) => s.id) }));
    }
  };
}

test("a CSR in Chromium sees and hears a native peer, and they chat", async (t) => {
  if (!process.env.TANDEM_E2E_NO_BUILD) execFileSync("cargo", ["build", "--quiet", "-p", "tandem-peer"], { cwd: ROOT, stdio: "inherit" });
  const world = await startWorld();
  t.after(() => world.close());

  const csr = await world.newPage("csr");
  await csr.context.addInitScript(recordPeerConnections);
  await csr.page.goto(`${world.url}/`);
  // Media permission for the page (fake devices): Chromium then shows real host addresses, not mDNS names.
  await csr.page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop())));
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await csr.page.getByLabel("Invitation link").inputValue()) || null);

  // The native customer joins by the link, sending a test-pattern screen and a tone; its
  // consent window opens on a display of its own.
  const xvfb = await startXvfb(1024, 768);
  t.after(() => xvfb.close());
  const native = spawn(
    join(ROOT, "target", "debug", "tandem-peer"),
    ["join", link, "--name", "Nate", "--screen", "test", "--test-size", "640x480", "--audio-in", "tone", "--audio-out", "none"],
    { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn", DISPLAY: xvfb.display } },
  );
  let nativeOut = "";
  native.stdout.setEncoding("utf8").on("data", (c) => (nativeOut += c));
  native.stderr.setEncoding("utf8").on("data", (c) => (nativeOut += c));
  t.after(() => new Promise((resolve) => {
    if (native.exitCode !== null || native.signalCode !== null) return resolve(undefined);
    native.once("exit", () => resolve(undefined));
    native.kill("SIGKILL");
  }));

  // Nothing of the screen is sent before the customer allows it (SHR-1): the CSR asks, the
  // customer clicks Allow in the native consent window.
  await until("the native customer's channels", async () => (await csr.page.locator("#participants li[data-chat=open]").count()) === 1, 30_000);
  await csr.page.getByRole("tab", { name: "Desktop" }).click();
  const row = csr.page.locator("#panel-desktop li[data-capability=view_desktop]");
  await csr.page.getByRole("button", { name: "Request view" }).click();
  await clickUntil(xvfb.display, `Tandem: ${CSR_NAME} asks`, PROMPT, PROMPT.allow, async () => (await row.getAttribute("data-status")) === "allowed").catch((err) => {
    throw new Error(`${err.message}; the native peer said:\n${nativeOut}`);
  });

  // The screen track arrives and plays.
  await until("the native screen track", () =>
    csr.page.evaluate(() => window.__tracks.some((t) => t.streams.includes("tandem-screen"))), 30_000).catch((err) => {
    throw new Error(`${err.message}; the native peer said:\n${nativeOut}`);
  });
  await csr.page.evaluate(() => {
    const { track } = window.__tracks.find((t) => t.streams.includes("tandem-screen"));
    const video = document.createElement("video");
    video.id = "native-screen-under-test";
    video.muted = true;
    video.srcObject = new MediaStream([track]);
    document.body.append(video);
    return video.play();
  });
  const video = () => csr.page.evaluate(() => {
    const v = /** @type {HTMLVideoElement} */ (document.getElementById("native-screen-under-test"));
    return { w: v.videoWidth, h: v.videoHeight, t: v.currentTime };
  });
  const first = await until("the screen plays (videoWidth > 0)", async () => ((await video()).w > 0 ? video() : null));
  assert.deepEqual([first.w, first.h], [640, 480]);
  await until("currentTime advances", async () => (await video()).t > first.t + 0.5);
  // The red block of the pattern (64x64 at 32,32) is red in the browser's picture.
  const pixel = await csr.page.evaluate(() => {
    const v = /** @type {HTMLVideoElement} */ (document.getElementById("native-screen-under-test"));
    const c = document.createElement("canvas");
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const g = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
    g.drawImage(v, 0, 0);
    return Array.from(g.getImageData(64, 64, 1, 1).data);
  });
  assert.ok(pixel[0] > 200 && pixel[1] < 60 && pixel[2] < 60, `red block sampled as rgba(${pixel})`);

  // The native audio track: inbound-rtp packetsReceived grows.
  const audioPackets = () => csr.page.evaluate(async () => {
    let n = 0;
    for (const pc of window.__pcs) {
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") n += s.packetsReceived ?? 0;
      });
    }
    return n;
  });
  const before = await until("audio packets from the native peer", async () => ((await audioPackets()) > 0 ? audioPackets() : null));
  await until("audio packets keep coming", async () => (await audioPackets()) > before + 25);

  // Chat both ways (the chat is on the Tools tab).
  await csr.page.getByRole("tab", { name: "Tools" }).click();
  await until("the chat channel to the native peer", async () => (await csr.page.locator("#participants li[data-chat=open]").count()) === 1);
  await csr.page.getByLabel("Message").fill("Hello from the browser");
  await csr.page.getByLabel("Message").press("Enter");
  await until("the native peer prints the browser's line", () => nativeOut.includes("Hello from the browser"));
  native.stdin.write("Hello from the desktop\n");
  await until("the browser shows the native line", async () =>
    (await csr.page.locator("#chat-log").textContent())?.includes("Hello from the desktop"));
  assert.deepEqual(csr.errors, []);
});
