// Camera and screens with consent, in real Chromium against the real server
// (issue 4; TOOL-3, SHR-1, SHR-3): the CSR's camera waits for a customer,
// then plays on the customer's page; the customer shares theirs back; the
// CSR requests view of the customer's screen, a refusal shares nothing, an
// approval shows the screen, the customer stops it; the CSR shares their
// screen only once the customer accepted it, and the customer stops viewing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, startWorld, until } from "./harness.js";
import { assertPlaying, joinAndAdmit, startSession } from "./flows.js";

/** With TANDEM_SCREENSHOTS=1: docs/screenshots/{name}.png of the page as it is (1280x800). */
async function screenshot(p, name) {
  if (!process.env.TANDEM_SCREENSHOTS) return;
  await p.page.evaluate(() => window.scrollTo(0, 0));
  await p.page.screenshot({ path: new URL(`../../../docs/screenshots/${name}.png`, import.meta.url).pathname });
}

/** Remote video streams a page has, by source (null: not announced). */
const remoteVideos = (p) =>
  p.page.evaluate(() => [...globalThis.tandemRuntime.media.remote.values()].map((v) => ({ from: v.from, source: v.source, live: v.stream.getVideoTracks().filter((t) => t.readyState === "live").length })));
/** Video tracks a page receives on any of its peer connections, live and unmuted. */
const sharing = (p) => p.page.evaluate(() => globalThis.tandemRuntime.media.sharing());

test("camera both ways; request view refused then allowed; share my screen with consent; either side stops", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);

  // --- TOOL-3: no camera before a customer has joined, with the reason given.
  const csrCamera = csr.page.getByRole("button", { name: "Start my camera" });
  assert.equal(await csrCamera.isDisabled(), true, "camera disabled before a customer joined");
  assert.equal(await csr.page.locator("#camera-reason").textContent(), "You can start your camera once a customer has joined.");
  await csr.page.getByRole("tab", { name: "Desktop" }).click();
  assert.equal(await csr.page.getByRole("button", { name: "Request view" }).isDisabled(), true);
  assert.equal(await csr.page.getByRole("button", { name: "Share my screen" }).isDisabled(), true);
  assert.equal(await csr.page.locator("#desktop-reason").textContent(), "Available once a customer has joined.");
  await csr.page.getByRole("tab", { name: "Tools" }).click();

  const ann = await joinAndAdmit(world, csr, shown, "Ann");
  // The customer cannot share a camera before the CSR has.
  const annCamera = ann.page.getByRole("button", { name: "Start my camera" });
  assert.equal(await annCamera.isDisabled(), true);
  assert.equal(await ann.page.locator("#camera-reason").textContent(), "You can share your camera once the support representative has started theirs.");

  await until("the CSR's camera button is enabled", async () => !(await csrCamera.isDisabled()));
  await csrCamera.click();
  await until("the CSR's own preview", () => csr.page.locator("#camera-videos figure[data-source=camera-self]").count());
  const annSees = await assertPlaying(ann, "#camera-videos figure[data-source=camera] video", "Ann sees the CSR's camera");
  assert.equal(await ann.page.locator("#camera-videos figure[data-source=camera] figcaption").textContent(), CSR_NAME);

  // --- The customer shares theirs back.
  await until("Ann's camera button is enabled", async () => !(await annCamera.isDisabled()));
  await annCamera.click();
  await assertPlaying(csr, "#camera-videos figure[data-source=camera] video", "the CSR sees Ann's camera");
  assert.equal(await csr.page.locator("#camera-videos figure[data-source=camera] figcaption").textContent(), "Ann");
  assert.deepEqual((await remoteVideos(csr)).map((v) => v.source), ["camera"], "the CSR receives one video: Ann's camera");

  // --- SHR-1 refused: the prompt names the CSR, on Ann's page; nothing is shared.
  await csr.page.getByRole("tab", { name: "Desktop" }).click();
  await csr.page.getByRole("button", { name: "Request view" }).click();
  await until("the CSR waits for Ann", () => csr.page.getByText("Waiting for Ann to allow viewing their screen…").isVisible());
  const prompt = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} asks to see your screen. Allow?` });
  await until("Ann is asked", () => prompt.isVisible());
  await prompt.getByRole("button", { name: "Deny" }).click();
  await until("the CSR sees the refusal", () => csr.page.getByText("Ann declined.").isVisible());
  assert.equal(await prompt.count(), 0, "the prompt is gone");
  // Give a wrongly sent track time to arrive, then check that none did.
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual((await remoteVideos(csr)).map((v) => v.source), ["camera"], "no screen track after a refusal");
  assert.equal(await csr.page.locator("#screen-videos figure").count(), 0);
  assert.equal(await sharing(ann), false, "Ann captures nothing");

  // --- SHR-1 allowed: Ann shares via getDisplayMedia; the CSR sees the screen.
  await csr.page.getByRole("button", { name: "Request view" }).click();
  await until("Ann is asked again", () => prompt.isVisible());
  await prompt.getByRole("button", { name: "Allow" }).click();
  const screen = await assertPlaying(csr, "#screen-videos figure[data-source=screen] video", "the CSR sees Ann's screen");
  assert.equal(await csr.page.locator("#screen-videos figcaption").textContent(), "Screen of Ann");
  assert.deepEqual((await remoteVideos(csr)).map((v) => v.source).sort(), ["camera", "screen"]);
  await until("the CSR's status", () => csr.page.getByText("You are viewing the screen of Ann.").isVisible());
  await screenshot(csr, "dashboard");

  // The approving side stops it at any time.
  await until("Ann's status", () => ann.page.getByText(`You are showing your screen to ${CSR_NAME}.`).isVisible());
  await ann.page.getByRole("button", { name: "Stop sharing" }).click();
  await until("the screen leaves the CSR's page", async () => (await csr.page.locator("#screen-videos figure").count()) === 0);
  await until("the CSR is told", () => csr.page.getByText("Ann ended the screen sharing.").isVisible());
  assert.equal(await sharing(ann), false, "Ann's capture stopped");

  // --- SHR-3: the CSR's screen reaches Ann only once she accepts.
  await csr.page.getByRole("button", { name: "Share my screen" }).click();
  const offer = ann.page.getByRole("alertdialog", { name: `${CSR_NAME} wants to show you their screen. Allow?` });
  await until("Ann is asked to accept the CSR's screen", () => offer.isVisible());
  await until("the CSR waits", () => csr.page.getByText("Waiting for Ann to accept your screen…").isVisible());
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual((await remoteVideos(ann)).map((v) => v.source), ["camera"], "no screen before Ann accepts");
  await screenshot(ann, "customer");
  await offer.getByRole("button", { name: "Allow" }).click();
  await assertPlaying(ann, "#screen-videos figure[data-source=screen] video", "Ann sees the CSR's screen");
  assert.equal(await ann.page.locator("#screen-videos figcaption").textContent(), `Screen of ${CSR_NAME}`);
  await until("the CSR's status", () => csr.page.getByText("You are showing your screen to Ann.").isVisible());
  // The approving side (Ann) stops viewing; the CSR's capture ends.
  await ann.page.getByRole("button", { name: "Stop viewing" }).click();
  await until("the CSR's screen leaves Ann's page", async () => (await ann.page.locator("#screen-videos figure").count()) === 0);
  await until("the CSR's capture stops", async () => !(await sharing(csr)));

  // --- The CSR stops their camera: it leaves Ann's page.
  await csr.page.getByRole("tab", { name: "Tools" }).click();
  await csr.page.getByRole("button", { name: "Stop my camera" }).click();
  await until("the CSR's camera leaves Ann's page", async () => (await ann.page.locator("#camera-videos figure[data-source=camera]").count()) === 0);

  console.log(`camera on the customer's page: ${annSees.width}x${annSees.height}; screen on the CSR's page: ${screen.width}x${screen.height}`);
  for (const p of [csr, ann]) {
    assert.deepEqual(p.dialogs, [], "no dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
