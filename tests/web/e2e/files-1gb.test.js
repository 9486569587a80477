// A 1 GiB basic file transfer (TOOL-4) that must not be held in memory on
// either side. Slow (minutes), so it runs only with TANDEM_E2E_1GB=1. Both
// pages run in a normal (on-disk) Chromium profile, so the origin private
// file system the download goes to is on disk as it is for users; the test
// samples the resident memory of all that browser's processes during the
// transfer and fails if it grows by anything near the file's size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";

const SIZE = 1024 * 1024 * 1024;
const LIMIT = 400 * 1024 * 1024;

/** Resident set size in bytes of every process whose command line mentions `marker`, by "pid type". */
function rssByProcess(marker) {
  /** @type {Map<string, number>} */
  const out = new Map();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes(marker)) continue;
      const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? "browser";
      const sub = /--utility-sub-type=([a-zA-Z.]+)/.exec(cmd)?.[1] ?? "";
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) out.set(`${pid} ${type}${sub ? ` ${sub}` : ""}`, Number(m[1]) * 1024);
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}
const sum = (/** @type {Map<string, number>} */ m) => [...m.values()].reduce((a, b) => a + b, 0);

test("1 GiB: the download arrives with the same SHA-256 and memory stays flat", { skip: !process.env.TANDEM_E2E_1GB }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tandem-1gb-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const block = randomBytes(1024 * 1024);
  const hash = createHash("sha256");
  const fd = openSync(join(dir, "big.bin"), "w");
  for (let i = 0; i < SIZE / block.length; i++) {
    block.writeUInt32LE(i, 0); // every MiB differs
    writeSync(fd, block);
    hash.update(block);
  }
  closeSync(fd);
  const want = hash.digest("hex");

  const world = await startWorld();
  t.after(() => world.close());
  const profile = mkdtempSync(join(tmpdir(), "tandem-profile-"));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    viewport: { width: 1280, height: 800 },
    locale: "en-US",
    args: ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  t.after(() => context.close());
  const csr = await context.newPage();
  const ann = await context.newPage();

  await csr.goto(`${world.url}/`);
  await csr.getByLabel("Name").fill(CSR_NAME);
  await csr.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.getByRole("button", { name: "Sign in" }).click();
  await csr.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await csr.getByLabel("Invitation link").inputValue()) || null);
  await ann.goto(link);
  await ann.getByLabel("Your name").fill("Ann");
  await ann.getByRole("button", { name: "Join" }).click();
  await until("Ann's channel to the CSR", async () => (await ann.locator("#participants li[data-chat=open]").count()) === 1);

  await csr.getByLabel("Publish files").setInputFiles(join(dir, "big.bin"));
  const row = ann.locator("#files-offered li[data-file]").first();
  await until("Ann sees the file", () => row.isVisible());
  const start = rssByProcess(profile);
  const before = sum(start);
  let peak = before;
  /** @type {Map<string, number>} each process's own peak */
  const peaks = new Map(start);
  const sampler = setInterval(() => {
    const now = rssByProcess(profile);
    peak = Math.max(peak, sum(now));
    for (const [k, v] of now) peaks.set(k, Math.max(peaks.get(k) ?? 0, v));
  }, 500);
  const t0 = Date.now();
  await ann.getByRole("button", { name: "Download big.bin" }).click();
  await until("verified", async () => ["done", "failed"].includes((await row.getAttribute("data-status")) ?? ""), 20 * 60_000);
  clearInterval(sampler);
  const secs = (Date.now() - t0) / 1000;
  assert.equal(await row.getAttribute("data-status"), "done", await row.locator(".file-status").textContent());
  assert.equal(await ann.evaluate(() => [...globalThis.tandemRuntime.files.downloads.values()][0].sha256), want);
  assert.equal(await row.getAttribute("data-storage"), "disk");
  const grew = peak - before;
  const growth = [...peaks].map(([k, v]) => [k, v - (start.get(k) ?? 0)]).sort((a, b) => b[1] - a[1]).slice(0, 4);
  console.log(`largest growth per process: ${growth.map(([k, v]) => `${k} +${(v / 1e6).toFixed(0)} MB`).join(", ")}`);
  console.log(`1 GiB in ${secs.toFixed(0)} s (${(SIZE / 1e6 / secs).toFixed(1)} MB/s); browser RSS ${(before / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB (+${(grew / 1e6).toFixed(0)} MB)`);
  assert.ok(grew < LIMIT, `the browser's memory grew by ${(grew / 1e6).toFixed(0)} MB during a 1 GiB transfer`);
});
