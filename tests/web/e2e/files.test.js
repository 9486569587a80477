// Basic file transfer in real Chromium (issue 4, TOOL-4): the CSR publishes
// two files; the customer sees the list (names as text, sizes), downloads a
// 50 MB file over its own data channel with progress (bytes, speed, ETA), the
// page checks the SHA-256, and the saved file has the same SHA-256 as the
// original on disk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CSR_NAME, startWorld, until } from "./harness.js";
import { joinAndAdmit, startSession } from "./flows.js";

const BIG = "big <img src=x onerror=alert(1)>.bin";
const SIZE = 50 * 1024 * 1024;

test("the CSR publishes files; the customer downloads 50 MB with progress and a matching SHA-256", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tandem-files-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = randomBytes(SIZE);
  const want = createHash("sha256").update(bytes).digest("hex");
  writeFileSync(join(dir, BIG), bytes);
  writeFileSync(join(dir, "hello.txt"), "hello\n");

  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  const ann = await joinAndAdmit(world, csr, shown, "Ann");

  // --- The CSR publishes two files.
  await csr.page.getByLabel("Publish files").setInputFiles([join(dir, BIG), join(dir, "hello.txt")]);
  await until("the CSR's published list", async () => (await csr.page.locator("#files-published li[data-file]").count()) === 2);
  assert.deepEqual(await csr.page.locator("#files-published .file-name").allTextContents(), [BIG, "hello.txt"]);

  // --- Ann sees the list: names as text, sizes.
  const rows = ann.page.locator("#files-offered li[data-file]");
  await until("Ann's list of files", async () => (await rows.count()) === 2);
  assert.deepEqual(await ann.page.locator("#files-offered .file-name").allTextContents(), [BIG, "hello.txt"]);
  assert.deepEqual(await ann.page.locator("#files-offered .file-size").allTextContents(), ["52.4 MB", "6 B"]);
  assert.equal(await ann.page.locator("#files-offered .file-from").first().textContent(), `from ${CSR_NAME}`);
  assert.equal(await ann.page.locator("main img").count(), 0, "no markup from a file name");

  // --- Withdrawing a file takes it off Ann's list.
  await csr.page.getByRole("button", { name: "Withdraw hello.txt" }).click();
  await until("hello.txt gone from Ann's list", async () => (await rows.count()) === 1);

  // --- Download with progress; sample what the page shows while it runs.
  const row = rows.first();
  const t0 = Date.now();
  await ann.page.getByRole("button", { name: `Download ${BIG}` }).click();
  const shownProgress = new Set();
  const progressValues = new Set();
  await until(
    "the download is verified",
    async () => {
      const text = await row.locator(".file-status").textContent();
      // "12.3 MB of 52.4 MB · 9.8 MB/s · 5 s left": bytes so far, speed and time left, once some bytes arrived.
      if (text && /^[1-9][0-9.]* [kM]?B of 52\.4 MB · [1-9][0-9.]* [kM]?B\/s · [0-9]+( min [0-9]+)? s left$/.test(text)) shownProgress.add(text);
      const v = await row.locator("progress").evaluate((p) => p.value);
      if (v > 0 && v < SIZE) progressValues.add(v);
      return (await row.getAttribute("data-status")) === "done" || (await row.getAttribute("data-status")) === "failed";
    },
    120_000,
  );
  const elapsed = (Date.now() - t0) / 1000;
  assert.equal(await row.getAttribute("data-status"), "done", await row.locator(".file-status").textContent());
  assert.equal(await row.locator(".file-status").textContent(), `Received and verified (SHA-256 ${want.slice(0, 16)}…).`);
  assert.equal(await row.getAttribute("data-storage"), "disk", "received into the origin private file system, not memory");
  const events = Number(await row.getAttribute("data-progress-events"));
  assert.ok(events >= 100, `progress events: ${events}`);
  assert.ok(progressValues.size >= 2, `the progress bar moved: ${[...progressValues].join(", ")}`);
  assert.ok(shownProgress.size >= 1, "bytes, speed and time left were shown");
  assert.equal(await ann.page.evaluate(() => [...globalThis.tandemRuntime.files.downloads.values()][0].sha256), want, "the page's SHA-256");

  // --- Save: the file on disk is the original, byte for byte.
  const [download] = await Promise.all([ann.page.waitForEvent("download"), ann.page.getByRole("link", { name: `Save ${BIG}` }).click()]);
  // Chromium itself replaces the characters it does not allow in file names (`<`, `>`) on saving.
  assert.match(download.suggestedFilename(), /^big .img src=x onerror=alert\(1\).\.bin$/);
  const saved = readFileSync(await download.path());
  assert.equal(saved.length, SIZE);
  assert.equal(createHash("sha256").update(saved).digest("hex"), want, "same SHA-256 on disk");

  console.log(`50 MiB transfer: ${elapsed.toFixed(1)} s (${(SIZE / 1e6 / elapsed).toFixed(1)} MB/s), ${events} progress events, samples: ${[...shownProgress].slice(0, 2).join(" | ")}`);
  for (const p of [csr, ann]) {
    assert.deepEqual(p.dialogs, [], "no dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
