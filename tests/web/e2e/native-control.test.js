// Remote control of a native customer from the dashboard (issue 6
// acceptance; SHR-2, NAT-1): the CSR's dashboard in real Chromium, the real
// `tandem-peer` binary joined by the invite link on a private X display
// (Xvfb, started and stopped here) with `--screen x11 --accept-control`,
// and an X client (xev) whose window covers that display and logs every
// button and key the X server delivers.
//
// - The CSR asks for control; the consent window appears on the customer's
//   display: its title names the CSR, their organisation as the site is
//   configured, and what is asked (xdotool), and a
//   screenshot of the screen (xwd) shows it drawn on top. (The name is in
//   the pixels too, as text; without OCR the test reads it from the title.) A real click
//   (xdotool, XTest) on Deny, then later on Allow, answers it.
// - Allowed: the dashboard plays the customer's 1280x720 X screen; a click
//   at a known point of the video moves the X pointer to the matching pixel
//   and presses there (xev and xdotool), and text typed in the dashboard
//   arrives in the X window as text.
// - Before consent no picture of the customer's screen is decoded or shown.
// - The customer's Stop on the indicator (a real click) ends control, and
//   their last picture leaves the dashboard.
// - Input before consent, after the deny and after the Stop, sent by the
//   test on a control channel of its own from the CSR's page (what a
//   hostile or stale page could send), is never injected: a marker click
//   sent on that same ordered channel after a new grant is the first and
//   only thing from it on the X display, and the native peer logs each
//   message it dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { INDICATOR, PROMPT, buildNativePeer, clickUntil, spawnNativePeer } from "./drivers/native-peer.js";
import { click, keyStroke, openTestControl, recordControl, sendTestControl, sentByPage, viewerPoint } from "./drivers/screen-viewer.js";
import { colourCount, crop, pointer, screenshot, startXev, startXvfb, waitForWindow, writePng } from "./drivers/x11.js";

const WIDTH = 1280;
const HEIGHT = 720;
/** How the native peer maps a normalized point to a pixel (wire `Point::to_pixel`). */
const toPixel = (at) => ({ x: Math.round(at.x * (WIDTH - 1)), y: Math.round(at.y * (HEIGHT - 1)) });
/** The organisation the site is configured with: prompts name the CSR with it. */
const ORGANISATION = "Example Support";
/** The consent window's title while the CSR asks for control (peer/src/ui/catalog.rs `prompt_title`). */
const CONTROL_PROMPT = `Tandem: ${CSR_NAME} (${ORGANISATION}) asks to see your whole screen and control your mouse and keyboard`;
const INDICATOR_TITLE = `being controlled by ${CSR_NAME}`;

test("control of a native customer: the prompt on their X display, a real click allows, clicks and text land, Stop ends it; nothing gets through without consent", async (t) => {
  buildNativePeer();
  const world = await startWorld({ config: `organisation = "${ORGANISATION}"\n` });
  t.after(() => world.close());
  const xvfb = await startXvfb(WIDTH, HEIGHT);
  t.after(() => xvfb.close());
  const display = xvfb.display;
  // The test window first: windows created later (the consent prompt, the indicator) lie above it.
  const xev = await startXev(display, WIDTH, HEIGHT);
  t.after(() => xev.close());
  const shots = join(tmpdir(), "tandem-e2e-shots");
  mkdirSync(shots, { recursive: true });

  const csr = await world.newPage("csr");
  await csr.context.addInitScript(recordControl);
  await csr.page.goto(`${world.url}/`);
  // Media permission for the page (fake devices): Chromium then offers host addresses, not mDNS names.
  await csr.page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((t) => t.stop())));
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await csr.page.getByLabel("Invitation link").inputValue()) || null);

  const native = spawnNativePeer(
    ["join", link, "--name", "Nate", "--screen", "x11", "--accept-control", "--audio-out", "none"],
    { DISPLAY: display, RUST_LOG: "warn,tandem_peer::session=debug" },
  );
  t.after(() => native.close());
  const said = () => `\nthe native peer said:\n${native.output().slice(-4000)}`;
  const dropped = () => native.output().split("\n").filter((l) => l.includes("control input dropped")).length;
  await until("the native customer's channels", async () => (await csr.page.locator("#participants li[data-chat=open]", { hasText: "Nate" }).count()) === 1, 30_000).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });

  // --- Before consent: the test's own control channel sends a click and a key.
  await openTestControl(csr.page);
  await sendTestControl(csr.page, [...click(0.1, 0.9), ...keyStroke("q")]);
  await until("the four messages dropped before consent", () => dropped() >= 4).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });

  // Nothing of the customer's screen before consent: no picture decoded, none shown.
  const framesDecoded = () =>
    csr.page.evaluate(async () => {
      let n = 0;
      // @ts-ignore
      for (const pc of window.__pcs) (await pc.getStats()).forEach((s) => (n += s.type === "inbound-rtp" && s.kind === "video" ? s.framesDecoded ?? 0 : 0));
      return n;
    });

  // --- The CSR asks; the prompt on the customer's display names them; a real click on Deny.
  await csr.page.getByRole("tab", { name: "Desktop" }).click();
  const row = csr.page.locator("#panel-desktop li[data-capability=control_desktop]");
  await csr.page.getByRole("button", { name: "Request control" }).click();
  const prompt = await waitForWindow(display, CONTROL_PROMPT).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  assert.ok(prompt.title.includes(`${CSR_NAME} (${ORGANISATION})`), `the consent window names the CSR and their organisation: ${JSON.stringify(prompt.title)}`);
  // On screen and drawn on top of the test window (a blank window has one or two colours; text and buttons dozens).
  const onScreen = await until("the prompt drawn on the customer's screen", () => {
    const shot = screenshot(display);
    return colourCount(crop(shot, prompt)) >= 16 ? shot : null;
  });
  writePng(onScreen, join(shots, "native-control-prompt.png"));
  assert.ok(prompt.x > 0 && prompt.y > 0 && prompt.x + prompt.width < WIDTH && prompt.y + prompt.height < HEIGHT, `the prompt lies inside the screen: ${JSON.stringify(prompt)}`);
  assert.equal(colourCount(crop(onScreen, { x: 20, y: HEIGHT - 60, width: 200, height: 30 })), 1, "around it, the test window's plain background");
  await clickUntil(display, CONTROL_PROMPT, PROMPT, PROMPT.deny, async () => (await row.getAttribute("data-status")) === "refused");
  await until("the native peer reports the deny", () => native.output().includes("control_desktop") && native.output().includes("denied"));
  await sendTestControl(csr.page, [...click(0.2, 0.9), ...keyStroke("w")]);
  await until("the four messages dropped after the deny", () => dropped() >= 8);
  assert.equal(await framesDecoded(), 0, "no picture of the customer's screen reached the dashboard before consent");
  assert.equal(await csr.page.locator("#screen-videos figure").count(), 0, "and none is shown");

  // --- Asked again; a real click on Allow.
  await csr.page.getByRole("button", { name: "Request control" }).click();
  await clickUntil(display, CONTROL_PROMPT, PROMPT, PROMPT.allow, async () => (await row.getAttribute("data-status")) === "allowed");

  // The dashboard plays the customer's X screen and may control it.
  const figure = csr.page.locator("#screen-videos figure[data-source=screen]");
  await until("the customer's screen in the dashboard", async () => {
    const size = await csr.page.evaluate(() => {
      const v = document.querySelector("#screen-videos figure[data-source=screen] video");
      return v instanceof HTMLVideoElement ? [v.videoWidth, v.videoHeight] : null;
    });
    return size && size[0] === WIDTH && size[1] === HEIGHT;
  }, 30_000);
  await until("the dashboard may control the screen", async () => (await figure.getAttribute("data-control")) === "open");

  // A click at a known point of the video: the X pointer goes to the matching pixel and presses there.
  await figure.locator(".screen-viewport").scrollIntoViewIfNeeded();
  const target = await viewerPoint(csr.page, 0.25, 0.75);
  await csr.page.mouse.click(target.x, target.y);
  const sent = await until("the dashboard's click", async () => {
    const bs = (await sentByPage(csr.page)).filter((m) => m.type === "button");
    return bs.length >= 2 ? bs : null;
  });
  assert.ok(Math.abs(sent[0].at.x - 0.25) < 0.01 && Math.abs(sent[0].at.y - 0.75) < 0.01, `clicked (0.25, 0.75) of the picture: ${JSON.stringify(sent[0])} ${JSON.stringify(target.geometry)}`);
  const want = toPixel(sent[0].at);
  const press = await until(`a button press at (${want.x}, ${want.y}) on the X display`, () =>
    xev.events().find((e) => e.type === "ButtonPress"));
  assert.deepEqual([press.root, press.button], [want, 1], `the press landed at the matching pixel:\n${xev.text()}`);
  await until("the release", () => xev.events().some((e) => e.type === "ButtonRelease"));
  assert.deepEqual(pointer(display), want, "the X pointer stays where the dashboard clicked");

  // Text typed in the dashboard arrives in the X window.
  await csr.page.keyboard.type("hello");
  const typed = () => xev.events().filter((e) => e.type === "KeyPress").map((e) => e.text ?? "").join("");
  await until(`"hello" typed on the X display (so far ${JSON.stringify(typed())})`, () => typed() === "hello");

  // --- The customer's Stop on the indicator (a real click) ends control.
  const pressesGranted = xev.events().filter((e) => e.type === "ButtonPress").length;
  assert.equal(pressesGranted, 1, "one click was allowed and injected");
  await clickUntil(display, INDICATOR_TITLE, INDICATOR, INDICATOR.stop, async () => (await row.getAttribute("data-status")) === "none");
  await until("the dashboard says control ended", () => csr.page.getByText("Nate ended the remote control.").isVisible());
  // The customer's last picture leaves the dashboard (the track lives on, carrying nothing).
  await until("the customer's screen leaves the dashboard", async () => (await figure.count()) === 0);
  const sentBefore = (await sentByPage(csr.page)).length;
  await csr.page.keyboard.type("x");
  // What the test's channel sends is dropped.
  await sendTestControl(csr.page, [...click(0.3, 0.9), ...keyStroke("e")]);
  await until("the four messages dropped after the Stop", () => dropped() >= 12);

  // --- A marker: allowed again, a click at (0.9, 0.9) on the test's ordered channel. Once it is
  // on the X display, everything sent on that channel before it has been decided on.
  await csr.page.getByRole("button", { name: "Request control" }).click();
  await clickUntil(display, CONTROL_PROMPT, PROMPT, PROMPT.allow, async () => (await row.getAttribute("data-status")) === "allowed");
  await sendTestControl(csr.page, click(0.9, 0.9));
  const marker = toPixel({ x: 0.9, y: 0.9 });
  await until("the marker click on the X display", () => xev.events().some((e) => e.type === "ButtonPress" && e.root?.x === marker.x && e.root?.y === marker.y));

  const presses = xev.events().filter((e) => e.type === "ButtonPress").map((e) => e.root);
  assert.deepEqual(presses, [want, marker], `only the granted click and the marker were injected (nothing before consent, after the deny or after the Stop):\n${xev.text()}`);
  assert.equal(typed(), "hello", "no key from before consent, after the deny or after the Stop");
  assert.equal((await sentByPage(csr.page)).length, sentBefore, "the dashboard sent nothing after the Stop");
  assert.ok(dropped() >= 12, `the native peer dropped every message without consent (${dropped()})`);
  assert.deepEqual(csr.errors, [], "no page errors");
});
