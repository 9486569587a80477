// Advanced file transfer and system information from the dashboard in real
// Chromium to a native customer (issue 7 points 4 and 5; TOOL-5, TOOL-7):
// the real `tandem-peer join ... --files-root <tmpdir> --max-transfer-bytes`
// on a private Xvfb, whose consent window asks the customer; the test
// answers with real clicks (xdotool) on Allow or Deny.
//
// - File transfer denied: nothing is listed. Allowed: the customer's root is
//   listed (folders, files, names that look like markup: all text, no element
//   made of them); a folder opens; the breadcrumbs lead back.
// - A download denied: nothing arrives; Retry asks again. A 200 MB download
//   allowed, with bytes, speed and time left shown: the file the page wrote to
//   its origin private file system has the customer's SHA-256 (hashed again
//   in the page with SubtleCrypto).
// - A 60 MB download whose channel the page gives up at about 50 % resumes on
//   a new channel: every byte taken once, at most one window (4 MiB) sent again.
// - An upload denied: nothing on the customer's disk. A 100 MB upload: the
//   file under the root has the original's SHA-256, nothing else was added.
//   Errors shown: `exists` (the host), `too_large` (the host's cap, refused
//   before anything is sent). An upload cancelled half way leaves no partial
//   file. A folder upload and a folder download keep their trees.
// - System information: a Deny click gives the refusal; after an Allow click
//   the report arrives (not before). Every value is text: a report with a
//   host name `<img src=x onerror=alert(1)>` (a real host name cannot be
//   that, so the test hands such a report to the page's own decoder and view)
//   shows as that text, and no element is made of it.
// - A customer in a browser (which closes channels it does not know): the
//   dashboard says file transfer and system information need the Tandem app.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { PROMPT, buildNativePeer, clickUntil, spawnNativePeer } from "./drivers/native-peer.js";
import { startXvfb, waitForWindow } from "./drivers/x11.js";
import { joinAndAdmit, startSession } from "./flows.js";

const ORGANISATION = "Example Support";
/** The stable starts of the consent window's titles (peer/src/ui/catalog.rs `prompt_title`). */
const ASKS = `Tandem: ${CSR_NAME} (${ORGANISATION}) asks`;
const BROWSE = `${ASKS} to browse`;
const COPY = `${ASKS} to copy`;
const SYSINFO = `${ASKS} for this computer's system information`;
const MARKUP = "<img src=x onerror=alert(1)>.txt";
/** A folder whose name looks like markup (no "/": that would make two names). */
const FOLDER = "tree <b>x";
const DOWN_BYTES = 200 * 1000 * 1000;
const UP_BYTES = 100 * 1000 * 1000;
const MID_BYTES = 60 * 1000 * 1000;
const UP_FOLDER = "up <i>folder";
/** The customer's cap on one transfer. */
const MAX_TRANSFER = 250 * 1000 * 1000;
/** The sender's window (docs/file-transfer.md §4): what a resume may send again at most. */
const WINDOW = 4 * 1024 * 1024;
const sha = (b) => createHash("sha256").update(b).digest("hex");

/** Every file and folder below `dir`: relative path → "dir" or the file's SHA-256. */
function diskTree(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) {
        out[rel] = "dir";
        walk(p);
      } else out[rel] = sha(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** The paths below `dir`, sorted (what is there, not what it holds). */
function diskNames(dir) {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

/** The same for a download's folder in the page's origin private file system, hashed there with SubtleCrypto. */
function opfsTree(page, folder) {
  return page.evaluate(async (folder) => {
    const top = await (await navigator.storage.getDirectory()).getDirectoryHandle("tandem-remote");
    const dir = await top.getDirectoryHandle(folder);
    /** @type {Record<string, string>} */
    const out = {};
    const walk = async (d, prefix) => {
      // @ts-ignore entries() is there in Chromium
      for await (const [name, h] of d.entries()) {
        const p = prefix ? `${prefix}/${name}` : name;
        if (h.kind === "directory") {
          out[p] = "dir";
          await walk(h, p);
        } else {
          const digest = await crypto.subtle.digest("SHA-256", await (await h.getFile()).arrayBuffer());
          out[p] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
        }
      }
    };
    await walk(dir, "");
    return out;
  }, folder);
}

test("advanced file transfer and system information with a native customer: consent by real clicks, 200 MB down and 100 MB up with equal SHA-256, a folder's tree, names and values as text", async (t) => {
  buildNativePeer();
  const root = mkdtempSync(join(tmpdir(), "tandem-rf-root-"));
  const local = mkdtempSync(join(tmpdir(), "tandem-rf-local-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  t.after(() => rmSync(local, { recursive: true, force: true }));
  const big = randomBytes(DOWN_BYTES);
  writeFileSync(join(root, "big.bin"), big);
  writeFileSync(join(root, MARKUP), "not markup\n");
  const mid = randomBytes(MID_BYTES);
  writeFileSync(join(root, "mid.bin"), mid);
  mkdirSync(join(root, FOLDER, "sub", "deeper"), { recursive: true });
  mkdirSync(join(root, FOLDER, "empty"));
  writeFileSync(join(root, FOLDER, "a.txt"), "alpha\n");
  writeFileSync(join(root, FOLDER, "sub", "b.bin"), randomBytes(300_000));
  writeFileSync(join(root, FOLDER, "sub", "deeper", "c.txt"), "");
  const up = randomBytes(UP_BYTES);
  writeFileSync(join(local, "up.bin"), up);
  writeFileSync(join(local, "denied.txt"), "must not arrive\n");
  writeFileSync(join(local, "cancel.bin"), randomBytes(40 * 1000 * 1000));
  // Over the host's cap (--max-transfer-bytes), sparse: nothing is read.
  writeFileSync(join(local, "huge.bin"), "");
  truncateSync(join(local, "huge.bin"), MAX_TRANSFER + 1);
  const upFolder = join(local, UP_FOLDER);
  mkdirSync(join(upFolder, "sub", "deeper"), { recursive: true });
  writeFileSync(join(upFolder, "one.txt"), "one\n");
  writeFileSync(join(upFolder, "sub", "two.bin"), randomBytes(200_000));
  writeFileSync(join(upFolder, "sub", "deeper", "three.txt"), "");
  const before = diskTree(root);

  const world = await startWorld({ config: `organisation = "${ORGANISATION}"\n` });
  t.after(() => world.close());
  const xvfb = await startXvfb(1280, 720);
  t.after(() => xvfb.close());
  const display = xvfb.display;

  const csr = await world.newPage("csr");
  await csr.page.goto(`${world.url}/`);
  // Media permission for the page (fake devices): Chromium then offers host addresses, not mDNS names.
  await csr.page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => s.getTracks().forEach((x) => x.stop())));
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByRole("button", { name: "Start session" }).click();
  const link = await until("the invitation link", async () => (await csr.page.getByLabel("Invitation link").inputValue()) || null);
  const native = spawnNativePeer(["join", link, "--name", "Nate", "--files-root", root, "--max-transfer-bytes", String(MAX_TRANSFER), "--audio-out", "none"], { DISPLAY: display, RUST_LOG: "warn,tandem_peer::session=debug" });
  t.after(() => native.close());
  const said = () => `\nthe native peer said:\n${native.output().slice(-4000)}`;
  const orSay = (err) => {
    throw new Error(`${err.message}${said()}`);
  };
  await until("the native customer's channels", async () => (await csr.page.locator("#participants li[data-chat=open]", { hasText: "Nate" }).count()) === 1, 30_000).catch(orSay);

  const page = csr.page;
  const status = page.locator("#rf-status");
  const rows = page.locator("#rf-listing tr");
  const names = () => page.locator("#rf-listing .rf-name").allTextContents();

  // --- Denied: nothing is listed.
  await page.getByRole("button", { name: "Request file transfer" }).click();
  await clickUntil(display, BROWSE, PROMPT, PROMPT.deny, async () => (await status.getAttribute("data-status")) === "closed").catch(orSay);
  assert.equal(await status.textContent(), "Nate did not allow file transfer.");
  assert.equal(await page.locator("#rf-browser").isVisible(), false, "no browser without the yes");
  assert.equal(await rows.count(), 0, "nothing listed");

  // --- Allowed: the root is listed, names as text.
  await page.getByRole("button", { name: "Request file transfer" }).click();
  const browsePrompt = await waitForWindow(display, BROWSE).catch(orSay);
  assert.ok(browsePrompt.title.includes(root), `the prompt names the folder: ${JSON.stringify(browsePrompt.title)}`);
  await clickUntil(display, BROWSE, PROMPT, PROMPT.allow, async () => (await status.getAttribute("data-status")) === "open").catch(orSay);
  await until("the root's listing", async () => (await rows.count()) === 4);
  assert.deepEqual(await names(), [FOLDER, MARKUP, "big.bin", "mid.bin"], "folders first, then files by name, each name as text");
  assert.deepEqual(await page.locator("#rf-listing tr").evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-kind"), tr.querySelector(".rf-kind")?.textContent])), [["dir", "Folder"], ["file", "File"], ["file", "File"], ["file", "File"]]);
  assert.equal(await page.locator("#rf-listing tr[data-name='big.bin'] .rf-size").textContent(), "200 MB");
  assert.notEqual(await page.locator("#rf-listing tr[data-name='big.bin'] .rf-modified").textContent(), "", "a modified time");
  assert.equal(await page.locator("main img, main b").count(), 0, "no element made of a name");

  // A folder opens (double-click), the breadcrumbs lead back.
  await rows.filter({ hasText: FOLDER }).dblclick();
  await until("the folder's listing", async () => JSON.stringify(await names()) === JSON.stringify(["empty", "sub", "a.txt"]));
  assert.deepEqual(await page.locator("#rf-crumbs .crumb").allTextContents(), [root, FOLDER]);
  await page.locator("#rf-crumbs .crumb").first().click();
  await until("back at the root", async () => (await rows.count()) === 4 && (await names())[0] === FOLDER);

  const transferRow = (name) => page.locator("#rf-transfers li[data-transfer]", { hasText: name }).last();
  const waitOver = (row, what, ms = 120_000) =>
    until(what, async () => ["done", "failed", "cancelled"].includes((await row.getAttribute("data-status")) ?? ""), ms).catch(orSay);

  // --- A download denied: nothing arrives.
  await rows.filter({ hasText: "big.bin" }).click();
  await page.getByRole("button", { name: "Download big.bin" }).click();
  await clickUntil(display, COPY, PROMPT, PROMPT.deny, async () => (await transferRow("big.bin").getAttribute("data-status")) === "failed").catch(orSay);
  assert.equal(await transferRow("big.bin").getAttribute("data-error"), "denied");
  assert.equal(await transferRow("big.bin").getAttribute("data-confirmed"), "0");
  assert.equal(await transferRow("big.bin").locator(".file-status").textContent(), "Failed: the customer said no.");

  // --- 200 MB download allowed, with progress (bytes, speed, time left).
  await transferRow("big.bin").getByRole("button", { name: "Retry the transfer of big.bin" }).click();
  const copyPrompt = await waitForWindow(display, COPY).catch(orSay);
  assert.ok(copyPrompt.title.includes('"big.bin"') && copyPrompt.title.includes("from this computer"), `the prompt names the file and the direction: ${copyPrompt.title}`);
  const t0 = Date.now();
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow("big.bin").getAttribute("data-status")) !== "asking").catch(orSay);
  const down = transferRow("big.bin");
  const shown = new Set();
  await until("the 200 MB download", async () => {
    const text = await down.locator(".file-status").textContent();
    if (text && /^[1-9][0-9.]* [kM]?B of 200 MB · [0-9][0-9.]* [kM]?B\/s · [0-9]+( min [0-9]+)? s left$/.test(text)) shown.add(text);
    return ["done", "failed", "cancelled"].includes((await down.getAttribute("data-status")) ?? "");
  }, 180_000).catch(orSay);
  const downSecs = (Date.now() - t0) / 1000;
  assert.equal(await down.getAttribute("data-status"), "done", `${await down.locator(".file-status").textContent()}${said()}`);
  assert.ok(shown.size >= 1, "bytes, speed and time left were shown while it ran");
  const downId = Number(await down.getAttribute("data-transfer"));
  const downFolder = await page.evaluate((id) => globalThis.tandemRemoteFiles.transfers.get(id).folder, downId);
  assert.deepEqual(await opfsTree(page, downFolder), { "big.bin": sha(big) }, "the page's file has the customer's SHA-256");
  assert.equal(await down.locator(".rf-saved li").getAttribute("data-sha256"), sha(big));
  assert.equal(await down.getByRole("link", { name: "Save big.bin" }).count(), 1, "offered for saving");
  console.log(`200 MB download: ${downSecs.toFixed(1)} s, ${(DOWN_BYTES / 1e6 / downSecs).toFixed(1)} MB/s (not asserted)`);

  // --- A download whose channel is given up at about 50 % resumes on a new one (same id, `resume`):
  // the page's position and prefix hash; at most one window of bytes comes again.
  await rows.filter({ hasText: "mid.bin" }).click();
  await page.getByRole("button", { name: "Download mid.bin" }).click();
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow("mid.bin").getAttribute("data-status")) !== "asking").catch(orSay);
  const midRow = transferRow("mid.bin");
  const midId = Number(await midRow.getAttribute("data-transfer"));
  await until("the download at half", async () => Number(await midRow.getAttribute("data-confirmed")) >= MID_BYTES / 2, 60_000).catch(orSay);
  const cut = await page.evaluate((id) => {
    const rf = globalThis.tandemRemoteFiles;
    const before = rf.transfers.get(id).receivedBytes;
    rf.interrupt(id);
    return before;
  }, midId);
  await waitOver(midRow, "the resumed download");
  assert.equal(await midRow.getAttribute("data-status"), "done", `${await midRow.locator(".file-status").textContent()}${said()}`);
  const midT = await page.evaluate((id) => {
    const x = globalThis.tandemRemoteFiles.transfers.get(id);
    return { resumes: x.resumes, received: x.receivedBytes, discarded: x.discardedBytes, folder: x.folder };
  }, midId);
  assert.equal(midT.resumes, 1, "one new channel");
  assert.equal(midT.received, MID_BYTES, "on the transfer's channels, every byte came once: the resume started at the page's position");
  // What the host sent on the given-up channel after the page stopped reading it is all it sent twice.
  const resent = midT.discarded;
  assert.ok(resent <= WINDOW, `bytes sent again: ${resent} (at most one window, ${WINDOW})`);
  assert.deepEqual(await opfsTree(page, midT.folder), { "mid.bin": sha(mid) }, "the resumed file has the customer's SHA-256");
  console.log(`resume: channel given up after ${cut} bytes of ${MID_BYTES}; ${resent} bytes sent again (at most one window asserted)`);

  // --- An upload denied: nothing is created on the customer's disk.
  await page.locator("#rf-upload-files").setInputFiles(join(local, "denied.txt"));
  await clickUntil(display, COPY, PROMPT, PROMPT.deny, async () => (await transferRow("denied.txt").getAttribute("data-status")) === "failed").catch(orSay);
  assert.equal(await transferRow("denied.txt").getAttribute("data-error"), "denied");
  assert.deepEqual(diskTree(root), before, "nothing created, nothing changed under the root");

  // --- 100 MB upload allowed: the file under the root has the original's SHA-256.
  await page.locator("#rf-upload-files").setInputFiles(join(local, "up.bin"));
  const upPrompt = await waitForWindow(display, COPY).catch(orSay);
  assert.ok(upPrompt.title.includes('"up.bin"') && upPrompt.title.includes("to this computer"), `the prompt names the file and the direction: ${upPrompt.title}`);
  const t1 = Date.now();
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow("up.bin").getAttribute("data-status")) !== "asking").catch(orSay);
  await waitOver(transferRow("up.bin"), "the 100 MB upload");
  const upSecs = (Date.now() - t1) / 1000;
  assert.equal(await transferRow("up.bin").getAttribute("data-status"), "done", `${await transferRow("up.bin").locator(".file-status").textContent()}${said()}`);
  assert.equal(sha(readFileSync(join(root, "up.bin"))), sha(up), "the uploaded file's SHA-256 on the customer's disk");
  assert.deepEqual(diskTree(root), { ...before, "up.bin": sha(up) }, "only that file was added (no partial files left)");
  await until("the upload listed in the folder shown", async () => (await names()).includes("up.bin"));
  console.log(`100 MB upload: ${upSecs.toFixed(1)} s, ${(UP_BYTES / 1e6 / upSecs).toFixed(1)} MB/s (not asserted)`);

  // --- Errors the page shows: a file already there (the host refuses before asking), one over the host's cap (refused here).
  await page.locator("#rf-upload-files").setInputFiles(join(local, "up.bin"));
  await waitOver(transferRow("up.bin"), "the second upload of up.bin");
  assert.equal(await transferRow("up.bin").locator(".file-status").textContent(), "Failed: a file with that name is already there.");
  // With "Replace files already there" the customer is asked so; denied, the file stays as it was.
  await page.getByLabel("Replace files already there").check();
  await page.locator("#rf-upload-files").setInputFiles(join(local, "up.bin"));
  const replacePrompt = await waitForWindow(display, COPY).catch(orSay);
  assert.ok(replacePrompt.title.includes("replacing existing files"), `the customer is told files would be replaced: ${replacePrompt.title}`);
  await clickUntil(display, COPY, PROMPT, PROMPT.deny, async () => (await transferRow("up.bin").getAttribute("data-status")) === "failed").catch(orSay);
  await page.getByLabel("Replace files already there").uncheck();
  await page.locator("#rf-upload-files").setInputFiles(join(local, "huge.bin"));
  await waitOver(transferRow("huge.bin"), "the upload over the cap");
  assert.equal(await transferRow("huge.bin").locator(".file-status").textContent(), "Failed: too large.");

  // --- An upload cancelled half way: the customer's computer removes its partial file.
  await page.locator("#rf-upload-files").setInputFiles(join(local, "cancel.bin"));
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow("cancel.bin").getAttribute("data-status")) === "running").catch(orSay);
  await until("some of it sent", async () => Number(await transferRow("cancel.bin").getAttribute("data-confirmed")) > 0, 30_000);
  await transferRow("cancel.bin").getByRole("button", { name: "Cancel the transfer of cancel.bin" }).click();
  assert.equal(await transferRow("cancel.bin").getAttribute("data-status"), "cancelled");
  const wantNames = JSON.stringify([...Object.keys(before), "up.bin"].sort());
  await until("no partial file left on the customer's disk", () => JSON.stringify(diskNames(root)) === wantNames).catch((err) => {
    throw new Error(`${err.message}: ${JSON.stringify(diskNames(root))}`);
  });

  // --- A folder upload (a folder input) keeps its tree.
  await page.locator("#rf-upload-folder").setInputFiles(upFolder);
  const folderPrompt = await waitForWindow(display, COPY).catch(orSay);
  assert.ok(folderPrompt.title.includes(`"${UP_FOLDER}" (3 files,`), `the prompt names the folder and counts its files: ${folderPrompt.title}`);
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow(UP_FOLDER).getAttribute("data-status")) !== "asking").catch(orSay);
  await waitOver(transferRow(UP_FOLDER), "the folder upload");
  assert.equal(await transferRow(UP_FOLDER).getAttribute("data-status"), "done", await transferRow(UP_FOLDER).locator(".file-status").textContent());
  assert.deepEqual(diskTree(join(root, UP_FOLDER)), diskTree(upFolder), "the same folders and files, with the same SHA-256, on the customer's disk");

  // --- A folder download keeps its tree.
  await rows.filter({ hasText: FOLDER }).click();
  await page.getByRole("button", { name: `Download ${FOLDER}` }).click();
  await clickUntil(display, COPY, PROMPT, PROMPT.allow, async () => (await transferRow(FOLDER).getAttribute("data-status")) !== "asking").catch(orSay);
  await waitOver(transferRow(FOLDER), "the folder download");
  assert.equal(await transferRow(FOLDER).getAttribute("data-status"), "done", await transferRow(FOLDER).locator(".file-status").textContent());
  const treeId = Number(await transferRow(FOLDER).getAttribute("data-transfer"));
  const treeFolder = await page.evaluate((id) => globalThis.tandemRemoteFiles.transfers.get(id).folder, treeId);
  const want = Object.fromEntries(Object.entries(before).filter(([p]) => p.startsWith(FOLDER)));
  assert.deepEqual(await opfsTree(page, treeFolder), want, "the same folders (the empty one too) and files with the same SHA-256");
  assert.deepEqual((await transferRow(FOLDER).locator(".rf-path").allTextContents()).sort(), [`${FOLDER}/a.txt`, `${FOLDER}/sub/b.bin`, `${FOLDER}/sub/deeper/c.txt`].sort());
  const shots = join(tmpdir(), "tandem-e2e-shots");
  mkdirSync(shots, { recursive: true });
  await page.locator("section.remote-files").screenshot({ path: join(shots, "remote-files.png") });

  // --- System information: only after the Allow click; every value as text.
  const info = page.locator("#sysinfo-report");
  const infoStatus = page.locator("#sysinfo-status");
  await page.getByRole("button", { name: "System information" }).click();
  await clickUntil(display, SYSINFO, PROMPT, PROMPT.deny, async () => (await infoStatus.getAttribute("data-status")) === "refused").catch(orSay);
  assert.equal(await infoStatus.textContent(), "Nate sent no system information: they said no.");
  assert.equal(await info.locator("dd").count(), 0, "nothing after a no");
  await page.getByRole("button", { name: "System information" }).click();
  await waitForWindow(display, SYSINFO).catch(orSay);
  assert.equal(await infoStatus.getAttribute("data-status"), "asking");
  assert.equal(await info.isVisible(), false, "no report while the customer is asked");
  assert.equal(await info.locator("dd").count(), 0);
  await clickUntil(display, SYSINFO, PROMPT, PROMPT.allow, async () => (await infoStatus.getAttribute("data-status")) === "done").catch(orSay);
  const fields = await info.locator("dd").evaluateAll((dds) => dds.map((d) => [d.getAttribute("data-field"), d.textContent, d.childElementCount]));
  assert.ok(fields.some(([f]) => f === "os") && fields.some(([f]) => f === "memory") && fields.some(([f]) => f === "display"), `a report with OS, memory and this X display: ${JSON.stringify(fields)}`);
  assert.ok(fields.every(([, , children]) => children === 0), "every value is a text node, nothing else");
  assert.ok(fields.find(([f]) => f === "display")?.[1]?.startsWith("1280 × 720"), "the customer's X screen");
  // The page's decoder and view with a host name a real computer cannot have.
  const peer = await page.evaluate(() => [...globalThis.tandemRemoteFiles.hosts.keys()][0]);
  await page.evaluate(
    ([peer, name]) => {
      const rf = globalThis.tandemRemoteFiles;
      const report = { collected_at: 1700000000000, host_name: name, os_name: "<script>alert(2)</script>", memory: { total_bytes: 1, available_bytes: 1, swap_total_bytes: 0, swap_free_bytes: 0 }, disks: [], displays: [], interfaces: [] };
      // Another request id: dropped.
      rf.onInfoMessage(peer, JSON.stringify({ v: 1, type: "report", request_id: rf.host(peer).info.requestId + 1, report }));
      // The id of the request the customer answered: taken.
      rf.onInfoMessage(peer, JSON.stringify({ v: 1, type: "report", request_id: rf.host(peer).info.requestId, report }));
    },
    [peer, "<img src=x onerror=alert(1)>"],
  );
  await until("the crafted report shown", async () => (await info.locator("dd[data-field=host_name]").textContent()) === "<img src=x onerror=alert(1)>");
  assert.equal(await info.locator("dd[data-field=os]").textContent(), "<script>alert(2)</script>");
  assert.equal(await page.locator("main img, #sysinfo-report script").count(), 0, "no element made of a value");
  assert.deepEqual(csr.dialogs, [], "no alert ran");

  // --- End file transfer.
  await page.getByRole("button", { name: "End file transfer" }).click();
  await until("file transfer ended", async () => (await status.textContent()) === "File transfer has ended.");
  assert.deepEqual(csr.errors, [], "no page errors");
});

test("a customer in a browser has no advanced file transfer: the dashboard says it needs the Tandem app", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  await joinAndAdmit(world, csr, shown, "Ann");
  const page = csr.page;
  await page.getByRole("button", { name: "Request file transfer" }).click();
  // The browser closes a channel it does not know at once.
  await until("the answer", async () => (await page.locator("#rf-status").getAttribute("data-status")) === "unavailable");
  assert.equal(await page.locator("#rf-status").textContent(), "Ann cannot share files: that needs the Tandem app on their computer.");
  assert.equal(await page.locator("#rf-browser").isVisible(), false);
  await page.getByRole("button", { name: "System information" }).click();
  await until("the answer", async () => (await page.locator("#sysinfo-status").getAttribute("data-status")) === "unavailable");
  assert.equal(await page.locator("#sysinfo-status").textContent(), "Ann cannot send system information: that needs the Tandem app on their computer.");
  assert.deepEqual(csr.errors, [], "no page errors");
});
