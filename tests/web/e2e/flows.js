// Steps several end-to-end scenarios share: the CSR signs in and starts a
// session; a customer joins by number and is admitted; video checks.
import assert from "node:assert/strict";
import { CSR_NAME, CSR_PASSWORD, until } from "./harness.js";

/** Signs the CSR in and starts a session; returns the page and the shown session number. */
export async function startSession(world, { viewport } = {}) {
  const csr = await world.newPage("csr", viewport ? { viewport } : {});
  await csr.page.goto(`${world.url}/`);
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByRole("button", { name: "Start session" }).click();
  const shown = await until("the session number on the dashboard", async () => {
    const text = await csr.page.locator("#session-number").textContent();
    return text && /^\d{3} \d{3} \d{3}$/.test(text) ? text : null;
  });
  return { csr, shown };
}

/** A customer joins by number, waits in the lobby, is admitted; waits until the chat channel to the CSR is open. */
export async function joinAndAdmit(world, csr, shown, name) {
  const p = await world.newPage(name);
  await p.page.goto(`${world.url}/join.html`);
  await p.page.getByLabel("Session number").fill(shown);
  await p.page.getByLabel("Your name").fill(name);
  await p.page.getByRole("button", { name: "Join" }).click();
  await until(`${name} in the CSR's lobby`, () => csr.page.locator("#lobby li", { hasText: name }).isVisible());
  await csr.page.getByRole("button", { name: `Admit ${name}` }).click();
  await until(`${name}'s support page`, () => p.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible());
  await until(`${name}'s channels to the CSR`, async () => (await p.page.locator("#participants li[data-chat=open]", { hasText: CSR_NAME }).count()) === 1);
  await until(`the CSR's channels to ${name}`, async () => (await csr.page.locator(`#participants li[data-chat=open]`, { hasText: name }).count()) === 1);
  return p;
}

/**
 * Waits until the video matched by `selector` plays: videoWidth > 0 and at
 * least `frames` new frames presented (requestVideoFrameCallback) with
 * currentTime advancing. Returns { width, height, frames }.
 */
export async function assertPlaying(p, selector, what, frames = 5) {
  await until(`${what}: a video element`, () => p.page.locator(selector).count());
  const result = await p.page.evaluate(
    ([sel, want]) =>
      new Promise((resolve) => {
        const v = document.querySelector(sel);
        if (!(v instanceof HTMLVideoElement)) return resolve({ error: "no video" });
        const t0 = v.currentTime;
        let n = 0;
        const done = () => resolve({ width: v.videoWidth, height: v.videoHeight, frames: n, advanced: v.currentTime - t0 });
        const timer = setTimeout(done, 10_000);
        const cb = () => {
          n++;
          if (n >= want && v.currentTime > t0) {
            clearTimeout(timer);
            done();
          } else v.requestVideoFrameCallback(cb);
        };
        v.requestVideoFrameCallback(cb);
      }),
    [selector, frames],
  );
  assert.ok(result.width > 0 && result.height > 0, `${what}: videoWidth ${JSON.stringify(result)}`);
  assert.ok(result.frames >= frames, `${what}: frames advance ${JSON.stringify(result)}`);
  assert.ok(result.advanced > 0, `${what}: currentTime advances ${JSON.stringify(result)}`);
  return result;
}
