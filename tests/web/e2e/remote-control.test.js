// Remote control from the browser (issue 6; SHR-2, SHR-4, SHR-11) in real
// Chromium against the real server: a browser customer asked for control
// declines at once, and both sides say why; the CSR shares its screen and
// then control of it; the customer accepts, its page opens the control
// channels, and clicks, motion, wheel and keys on the CSR's video arrive at
// the CSR's page as ControlMessages at the right normalized points (with
// the picture letterboxed, then at 1:1 scrolled); the display-mode switch
// sends set_display_mode; Escape twice releases the keyboard; the
// customer's Stop ends control and nothing more arrives.
//
// The CSR's page is a browser too and injects nothing (it refuses control
// channels); the test keeps those channels open on the CSR's page and
// records what arrives on them, the way a native CSR would receive it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { assertPlaying, joinAndAdmit } from "./flows.js";

/** Records every data channel of the page's peer connections and the text messages that arrive on them. */
function recordChannels() {
  const Original = window.RTCPeerConnection;
  // @ts-ignore test instrumentation
  window.__channels = [];
  const watch = (channel, dir) => {
    const entry = { label: channel.label, dir, ordered: channel.ordered, maxRetransmits: channel.maxRetransmits, messages: [], closed: false };
    // @ts-ignore
    window.__channels.push(entry);
    channel.addEventListener("message", (e) => {
      if (typeof e.data === "string") entry.messages.push(JSON.parse(e.data));
    });
    channel.addEventListener("close", () => (entry.closed = true));
    // The page refuses control channels (a browser injects nothing): keep them open to see what arrives.
    if (channel.label.startsWith("control")) channel.close = () => {};
  };
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("datachannel", (e) => watch(e.channel, "in"));
    }
    createDataChannel(...args) {
      const channel = super.createDataChannel(...args);
      watch(channel, "out");
      return channel;
    }
  };
}

/**
 * What arrived on the CSR's page on channels with this label: by default
 * those the customer opened (control), or whoever opened them (`media`).
 */
const received = (p, label, openedBy = "customer") =>
  p.page.evaluate(([l, any]) => window.__channels.filter((c) => c.label === l && (any || c.dir === "in")).flatMap((c) => c.messages), [label, openedBy === "either"]);
/** Messages on `control` and `control-motion`, oldest first per channel. */
const controlMessages = async (p) => [...(await received(p, "control")), ...(await received(p, "control-motion"))];

/**
 * Where on the page a surface point of the viewer's picture is, computed
 * here from the viewport's box, its scroll offsets and the video's size.
 */
async function pagePoint(p, fx, fy) {
  const g = await p.page.evaluate(() => {
    const vp = /** @type {HTMLElement} */ (document.querySelector("#screen-videos .screen-viewport"));
    const v = /** @type {HTMLVideoElement} */ (vp.querySelector("video"));
    const b = vp.getBoundingClientRect();
    return {
      x: b.x + vp.clientLeft, y: b.y + vp.clientTop, w: vp.clientWidth, h: vp.clientHeight,
      sx: vp.scrollLeft, sy: vp.scrollTop, vw: v.videoWidth, vh: v.videoHeight, scale: vp.dataset.scale,
    };
  });
  let left, top, cw, ch;
  if (g.scale === "fit") {
    const k = Math.min(g.w / g.vw, g.h / g.vh);
    cw = g.vw * k;
    ch = g.vh * k;
    left = (g.w - cw) / 2;
    top = (g.h - ch) / 2;
  } else {
    cw = g.vw;
    ch = g.vh;
    left = Math.max(0, (g.w - cw) / 2);
    top = Math.max(0, (g.h - ch) / 2);
  }
  return { x: g.x + left + fx * cw - g.sx, y: g.y + top + fy * ch - g.sy, geometry: { ...g, left, top, cw, ch } };
}

const close = (a, b) => Math.abs(a - b) <= 0.01;

test("control: a browser customer declines with the reason; shared control sends clicks, motion, wheel and keys; display mode; stop", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());

  const csr = await world.newPage("csr");
  await csr.context.addInitScript(recordChannels);
  await csr.page.goto(`${world.url}/`);
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByRole("button", { name: "Start session" }).click();
  const shown = await until("the session number", async () => {
    const text = await csr.page.locator("#session-number").textContent();
    return text && /^\d{3} \d{3} \d{3}$/.test(text) ? text : null;
  });
  const ann = await joinAndAdmit(world, csr, shown, "Ann");

  // --- SHR-2 to a browser customer: declined at once, with the reason on both pages, no prompt.
  await csr.page.getByRole("tab", { name: "Desktop" }).click();
  await csr.page.getByRole("button", { name: "Request control" }).click();
  await until("Ann's page says why", () =>
    ann.page.getByText(`${CSR_NAME} asked to control your computer. Control needs the Tandem app on your computer, so it was declined.`).isVisible());
  const controlRow = csr.page.locator("#panel-desktop li[data-capability=control_desktop]");
  await until("the CSR's page says why", () =>
    controlRow.getByText("Ann declined control. Control needs the Tandem app on the customer's computer.").isVisible());
  assert.equal(await controlRow.getAttribute("data-status"), "refused");
  assert.equal(await ann.page.getByRole("alertdialog").count(), 0, "no prompt for something a browser cannot do");
  assert.equal(await csr.page.getByRole("button", { name: "Request control" }).isDisabled(), false, "asking again is possible");

  // --- SHR-3 then SHR-4: the CSR shares its screen, then control of it; Ann accepts both.
  await csr.page.getByRole("button", { name: "Share my screen" }).click();
  const viewPrompt = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} wants to show you their screen. Allow?` });
  await until("Ann is asked to see the CSR's screen", () => viewPrompt.isVisible());
  await viewPrompt.getByRole("button", { name: "Allow" }).click();
  const played = await assertPlaying(ann, "#screen-videos figure[data-source=screen] video", "Ann sees the CSR's screen");
  assert.equal(await ann.page.locator("#screen-videos figure").getAttribute("data-control"), "none", "no control before share_control");

  await csr.page.getByRole("button", { name: "Share control" }).click();
  const controlPrompt = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} offers to let you control their screen with your mouse and keyboard. Allow?` });
  await until("Ann is asked to take control", () => controlPrompt.isVisible());
  await until("the CSR waits", () => csr.page.getByText("Waiting for Ann to accept control of your screen…").isVisible());
  assert.deepEqual(await received(csr, "control"), [], "no control channel before Ann accepts");
  await controlPrompt.getByRole("button", { name: "Allow" }).click();
  await until("the CSR's row", () => csr.page.getByText("Ann may control your screen.").isVisible());
  await until("Ann's status", () => ann.page.getByText(`You may control the screen of ${CSR_NAME}.`).isVisible());

  // Ann's page opened the two channels, with the reliability the protocol asks for.
  const channels = await until("the control channels at the CSR", async () => {
    const cs = await csr.page.evaluate(() => window.__channels.filter((c) => c.dir === "in" && c.label.startsWith("control")).map(({ label, ordered, maxRetransmits }) => ({ label, ordered, maxRetransmits })));
    return cs.length === 2 ? cs : null;
  });
  assert.deepEqual(channels.sort((a, b) => a.label.localeCompare(b.label)), [
    { label: "control", ordered: true, maxRetransmits: null },
    { label: "control-motion", ordered: false, maxRetransmits: 0 },
  ]);
  const figure = ann.page.locator("#screen-videos figure");
  await until("Ann's viewer can control", async () => (await figure.getAttribute("data-control")) === "open");
  await until("the invitation to take control", () => ann.page.getByText("Click the screen, or press Enter on it, to control it with your mouse and keyboard.").isVisible());

  // --- Scale to fit, letterboxed: a square viewport around the 16:9 picture puts bars above and below.
  await ann.page.addStyleTag({ content: "#screen-videos .screen-viewport.fit { aspect-ratio: 1 / 1 !important; max-width: 24rem !important; }" });
  await ann.page.locator("#screen-videos .screen-viewport").scrollIntoViewIfNeeded();
  const bar = await pagePoint(ann, 0.5, -0.1);
  assert.ok(bar.geometry.top > 20, `the picture is letterboxed: ${JSON.stringify(bar.geometry)}`);
  // A click on the bar above the picture takes control (focus) but sends no button.
  await ann.page.mouse.click(bar.x, bar.y);
  await until("capturing", async () => (await figure.getAttribute("data-capturing")) === "true");
  await until("the release hint", () => ann.page.getByText("You are controlling this screen. Release keyboard (Esc twice)").isVisible());

  // The next click is the marker: `control` is ordered, so a button from the bar click would come first.
  const target = await pagePoint(ann, 0.25, 0.75);
  await ann.page.mouse.click(target.x, target.y);
  const buttons = await until("the click at the CSR", async () => {
    const bs = (await received(csr, "control")).filter((m) => m.type === "button");
    return bs.length >= 2 ? bs : null;
  });
  assert.deepEqual(buttons.map((b) => [b.button, b.down]), [["left", true], ["left", false]], "nothing for a click on the bars");
  for (const b of buttons) assert.ok(close(b.at.x, 0.25) && close(b.at.y, 0.75), `click at (0.25, 0.75), got ${JSON.stringify(b.at)} with ${JSON.stringify(target.geometry)}`);

  // Motion: numbered upwards, ending where the pointer stopped.
  const end = await pagePoint(ann, 0.6, 0.4);
  await ann.page.mouse.move(end.x, end.y, { steps: 12 });
  const motions = await until("motion at the CSR, ending at (0.6, 0.4)", async () => {
    const ms = (await received(csr, "control-motion")).filter((m) => m.type === "motion");
    const last = ms.at(-1);
    return ms.length >= 3 && last && close(last.at.x, 0.6) && close(last.at.y, 0.4) ? ms : null;
  });
  const seqs = motions.map((m) => m.seq);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `seq increases: ${seqs}`);

  // The wheel scrolls by lines at the pointer.
  await ann.page.mouse.wheel(0, 120);
  const wheel = await until("the wheel at the CSR", async () => (await received(csr, "control")).find((m) => m.type === "wheel"));
  assert.ok(wheel.dy > 0 && wheel.dx === 0 && close(wheel.at.x, 0.6) && close(wheel.at.y, 0.4), JSON.stringify(wheel));

  // --- Keys while the screen has focus: the physical code and the text.
  await ann.page.keyboard.press("a");
  await ann.page.keyboard.press("Enter");
  const keys = await until("the keys at the CSR", async () => {
    const ks = (await received(csr, "control")).filter((m) => m.type === "key");
    return ks.length >= 4 ? ks : null;
  });
  assert.deepEqual(keys, [
    { v: 1, type: "key", code: "KeyA", down: true, text: "a" },
    { v: 1, type: "key", code: "KeyA", down: false, text: "a" },
    { v: 1, type: "key", code: "Enter", down: true },
    { v: 1, type: "key", code: "Enter", down: false },
  ]);
  assert.equal(await ann.page.getByLabel("Message").inputValue(), "", "the keys went to the remote screen only");

  // Escape twice releases the keyboard: the first Escape still goes, then nothing more.
  await ann.page.keyboard.press("Escape");
  await ann.page.keyboard.press("Escape");
  await until("released", async () => (await figure.getAttribute("data-capturing")) === null);
  await ann.page.keyboard.press("b");
  await new Promise((r) => setTimeout(r, 300));
  const afterRelease = (await received(csr, "control")).filter((m) => m.type === "key").slice(4);
  assert.deepEqual(afterRelease.map((k) => [k.code, k.down]), [["Escape", true], ["Escape", false]], "no key after the release");

  // --- SHR-11: the display mode switch asks the CSR's page, which applies it to the screen it sends Ann.
  await ann.page.getByLabel("Display mode").selectOption("screen_sampling");
  await until("set_display_mode at the CSR", async () =>
    (await received(csr, "media", "either")).some((m) => m.type === "set_display_mode" && m.mode === "screen_sampling"));
  await until("the CSR's screen track hint", () =>
    csr.page.evaluate(() => [...globalThis.tandemRuntime.media.screens.values()].some((s) => s.getVideoTracks()[0]?.contentHint === "motion")));

  // --- 1:1: the picture at its own size, scrolled; a click still lands on the right point.
  await ann.page.getByRole("button", { name: "Actual size (1:1)" }).click();
  assert.equal(await ann.page.getByRole("button", { name: "Actual size (1:1)" }).getAttribute("aria-pressed"), "true");
  await ann.page.locator("#screen-videos .screen-viewport").evaluate((vp) => {
    vp.scrollLeft = 200;
    vp.scrollTop = 100;
  });
  await ann.page.locator("#screen-videos .screen-viewport").scrollIntoViewIfNeeded();
  const actual = await pagePoint(ann, 0.5, 0.5);
  assert.equal(actual.geometry.cw, played.width, "one video pixel per CSS pixel at devicePixelRatio 1");
  assert.ok(actual.geometry.sx > 0, `scrolled: ${JSON.stringify(actual.geometry)}`);
  await ann.page.mouse.click(actual.x, actual.y);
  const clicked = await until("the 1:1 click", async () => {
    const bs = (await received(csr, "control")).filter((m) => m.type === "button");
    return bs.length >= 4 ? bs.slice(2) : null;
  });
  for (const b of clicked) assert.ok(close(b.at.x, 0.5) && close(b.at.y, 0.5), `1:1 click at (0.5, 0.5), got ${JSON.stringify(b.at)} with ${JSON.stringify(actual.geometry)}`);

  // --- Ann stops control: the channels close, nothing more is sent, the CSR is told.
  await ann.page.getByRole("button", { name: "Stop control" }).click();
  await until("the CSR is told", () => csr.page.getByText("Ann ended the remote control.").isVisible());
  await until("the control channels close", () =>
    csr.page.evaluate(() => window.__channels.filter((c) => c.dir === "in" && c.label.startsWith("control")).every((c) => c.closed)));
  assert.equal(await figure.getAttribute("data-control"), "none");
  const before = (await controlMessages(csr)).length;
  await ann.page.mouse.click(actual.x, actual.y);
  await ann.page.keyboard.press("c");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await controlMessages(csr)).length, before, "nothing after Stop");
  await until("Ann still sees the CSR's screen", async () => (await ann.page.locator("#screen-videos figure").count()) === 1);

  for (const p of [csr, ann]) {
    assert.deepEqual(p.dialogs, [], "no dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
