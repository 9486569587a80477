// A native CSR shows their own desktop to a browser customer and lets them
// control it (issue 6 acceptance; SHR-3, SHR-4): the real `tandem-peer csr`
// with `--screen x11 --accept-control` on a private X display (Xvfb,
// started and stopped here; a green root window with a white xev window
// over its lower half that logs every button and key the X server
// delivers), and the customer's page in real Chromium, joined by the
// invite link the native CSR printed.
//
// - `/share view` typed at the CSR: the customer's page asks, the customer
//   allows, and the decoded picture shows the CSR's screen (green above,
//   white below, at 1280x720); the CSR's indicator on their own display
//   names the customer.
// - Input the customer's page sends before `share_control` (on a control
//   channel the test opens itself) is never injected.
// - `/share control`: the customer's page asks, the customer allows; a click
//   at a known point of the picture presses at the matching pixel of the
//   CSR's X display, and typed text arrives there. The CSR asked with their
//   own command: there is no second, local confirmation window on the CSR's
//   side (the prompt is the customer's).
// - `/stop` at the CSR ends both; the customer's page says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { PROMPT, buildNativePeer, clickUntil, spawnNativePeer } from "./drivers/native-peer.js";
import { click, openTestControl, recordControl, sendTestControl, sentByPage, videoPixel, viewerPoint } from "./drivers/screen-viewer.js";
import { startXev, startXvfb, waitForWindow, windowVisible } from "./drivers/x11.js";

const WIDTH = 1280;
const HEIGHT = 720;
/** The CSR's root window colour, and where the white xev window starts. */
const GREEN = [0x20, 0xc0, 0x40];
const XEV_TOP = HEIGHT / 2;
/** How the native peer maps a normalized point to a pixel (wire `Point::to_pixel`). */
const toPixel = (at) => ({ x: Math.round(at.x * (WIDTH - 1)), y: Math.round(at.y * (HEIGHT - 1)) });
const near = (got, want) => got.every((v, i) => Math.abs(v - want[i]) <= 40);

test("a native CSR shares their X desktop with a browser customer, then its control: the picture shows it, the customer's clicks and text land on it", async (t) => {
  buildNativePeer();
  // The site names its organisation: Ann's prompts name the CSR with it.
  const world = await startWorld({ config: `organisation = "Example Support"\n` });
  t.after(() => world.close());
  const xvfb = await startXvfb(WIDTH, HEIGHT);
  t.after(() => xvfb.close());
  const display = xvfb.display;
  execFileSync("xsetroot", ["-display", display, "-solid", `rgb:${GREEN.map((c) => c.toString(16)).join("/")}`]);
  const xev = await startXev(display, WIDTH, HEIGHT - XEV_TOP, 0, XEV_TOP);
  t.after(() => xev.close());

  const native = spawnNativePeer(
    ["csr", "--server", world.url, "--name", CSR_NAME, "--password-stdin", "--screen", "x11", "--accept-control", "--audio-out", "none"],
    { DISPLAY: display, RUST_LOG: "warn,tandem_peer::session=debug" },
    `${CSR_PASSWORD}\n`,
  );
  t.after(() => native.close());
  const said = () => `\nthe native CSR said:\n${native.output().slice(-4000)}`;
  const dropped = () => native.output().split("\n").filter((l) => l.includes("control input dropped")).length;
  const link = await until("the native CSR's invite link", () => /invite link: (\S+)/.exec(native.output())?.[1], 30_000).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });

  // The customer joins by the link (admitted at once: the invitation).
  const ann = await world.newPage("Ann");
  await ann.context.addInitScript(recordControl);
  await ann.page.goto(link);
  await ann.page.getByLabel("Your name").fill("Ann");
  await ann.page.getByRole("button", { name: "Join" }).click();
  await until("Ann's chat with the native CSR", async () => (await ann.page.locator("#participants li[data-chat=open]", { hasText: CSR_NAME }).count()) === 1, 30_000).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  await until("the native CSR connected to Ann", () => native.output().includes("connected to"));

  // --- Share view: Ann is asked in her page and allows; she sees the CSR's X screen.
  // The CSR confirms on their own screen first (the consent window, a real click on Allow).
  native.say("/share view");
  await clickUntil(display, "Tandem: Show your whole screen to Ann", PROMPT, PROMPT.allow, () => !windowVisible(display, "Show your whole screen to Ann")).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  const viewPrompt = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} (Example Support) wants to show you their screen. Allow?` });
  await until("Ann is asked to see the CSR's screen", () => viewPrompt.isVisible()).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  assert.equal(await ann.page.locator("#screen-videos figure").count(), 0, "no picture before Ann's yes (the CSR's track is there, carrying nothing)");
  await viewPrompt.getByRole("button", { name: "Allow" }).click();
  const figure = ann.page.locator("#screen-videos figure[data-source=screen]");
  await until("the CSR's 1280x720 screen plays in Ann's page", async () => {
    const size = await ann.page.evaluate(() => {
      const v = document.querySelector("#screen-videos figure[data-source=screen] video");
      return v instanceof HTMLVideoElement ? [v.videoWidth, v.videoHeight, v.currentTime] : null;
    });
    return size && size[0] === WIDTH && size[1] === HEIGHT && size[2] > 0;
  }, 30_000).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  // The decoded picture: the green root above, the white test window below.
  const top = await until("green at (0.25, 0.2) of the picture", async () => {
    const px = await videoPixel(ann.page, 0.25, 0.2);
    return near(px, GREEN) ? px : null;
  });
  const bottom = await videoPixel(ann.page, 0.25, 0.75);
  assert.ok(near(bottom, [255, 255, 255]), `white at (0.25, 0.75): rgb(${bottom}), above it rgb(${top})`);
  assert.equal(await figure.getAttribute("data-control"), "none", "no control before share_control");
  // The CSR's own display says who sees it.
  const indicator = await waitForWindow(display, "Ann");
  assert.equal(indicator.title, "Tandem: Your screen is being viewed by Ann", "the indicator on the CSR's display says who sees it");

  // --- Before share_control, input from Ann's page (on the test's own ordered channel) is dropped.
  await openTestControl(ann.page);
  await sendTestControl(ann.page, click(0.1, 0.6));
  await until("the two messages dropped before share_control", () => dropped() >= 2).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });

  // --- Share control: Ann is asked and allows; her page may control the CSR's screen.
  native.say("/share control");
  await clickUntil(display, "Tandem: Let Ann see and control your screen", PROMPT, PROMPT.allow, () => !windowVisible(display, "Let Ann see and control your screen")).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  const controlPrompt = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} (Example Support) offers to let you control their screen with your mouse and keyboard. Allow?` });
  await until("Ann is asked to take control", () => controlPrompt.isVisible());
  await controlPrompt.getByRole("button", { name: "Allow" }).click();
  await until("Ann's viewer can control", async () => (await figure.getAttribute("data-control")) === "open");

  // A click at a known point of the picture lands on the matching pixel of the CSR's display.
  await figure.locator(".screen-viewport").scrollIntoViewIfNeeded();
  const target = await viewerPoint(ann.page, 0.25, 0.75);
  await ann.page.mouse.click(target.x, target.y);
  const sent = await until("Ann's click", async () => {
    const bs = (await sentByPage(ann.page)).filter((m) => m.type === "button");
    return bs.length >= 2 ? bs : null;
  });
  assert.ok(Math.abs(sent[0].at.x - 0.25) < 0.01 && Math.abs(sent[0].at.y - 0.75) < 0.01, `clicked (0.25, 0.75) of the picture: ${JSON.stringify(sent[0])}`);
  const want = toPixel(sent[0].at);
  const press = await until(`a press at (${want.x}, ${want.y}) on the CSR's display`, () => xev.events().find((e) => e.type === "ButtonPress")).catch((err) => {
    throw new Error(`${err.message}${said()}`);
  });
  assert.deepEqual([press.root, press.button], [want, 1], `the press landed at the matching pixel:\n${xev.text()}`);
  await ann.page.keyboard.type("hi");
  const typed = () => xev.events().filter((e) => e.type === "KeyPress").map((e) => e.text ?? "").join("");
  await until(`"hi" typed on the CSR's display (so far ${JSON.stringify(typed())})`, () => typed() === "hi");

  // A marker on the test's ordered channel: once it lands, the earlier message on it was decided on.
  await sendTestControl(ann.page, click(0.9, 0.9));
  const marker = toPixel({ x: 0.9, y: 0.9 });
  await until("the marker click", () => xev.events().some((e) => e.type === "ButtonPress" && e.root?.x === marker.x && e.root?.y === marker.y));
  const presses = xev.events().filter((e) => e.type === "ButtonPress").map((e) => e.root);
  assert.deepEqual(presses, [want, marker], `nothing from before share_control was injected:\n${xev.text()}`);

  // --- The CSR's /stop ends both: Ann's page is told and the picture goes.
  native.say("/stop");
  await until("Ann's page says the CSR ended it", () => ann.page.getByText(`${CSR_NAME} ended the screen sharing.`).isVisible());
  await until("the picture goes", async () => (await figure.count()) === 0);
  assert.deepEqual(ann.errors, [], "no page errors");
  assert.deepEqual(ann.dialogs, [], "no dialog fired");
});
