// The compact "icon tray" console (issue 4, SES-11) in real Chromium: in a
// small window the dashboard folds into a row of labelled icon buttons; each
// opens its tool (keyboard included); the CSR can switch to the full console
// and back; the console keeps working (admit, chat) in compact mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, startWorld, until } from "./harness.js";
import { startSession } from "./flows.js";

test("a small window gets the icon tray; its buttons open the tools; full console and back", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world, { viewport: { width: 420, height: 720 } });
  const tray = csr.page.getByRole("navigation", { name: "Compact console" });
  await until("the tray in a small window", () => tray.isVisible());
  assert.equal(await csr.page.getByRole("tablist").isVisible(), false, "the tab bar is folded away");
  assert.equal(await csr.page.getByRole("heading", { name: "Participants" }).isVisible(), false);
  assert.equal(await csr.page.getByRole("button", { name: "Full console" }).getAttribute("aria-pressed"), "true");
  assert.deepEqual(
    await tray.getByRole("button").evaluateAll((bs) => bs.map((b) => b.getAttribute("aria-label"))),
    ["Chat", "Join audio", "Video", "Files", "Notes", "Desktop", "Application", "Session"],
    "every icon has a name",
  );

  // A customer joins (the lobby shows in the full console only; admit from there and come back).
  const ann = await world.newPage("ann");
  await ann.page.goto(`${world.url}/join.html`);
  await ann.page.getByLabel("Session number").fill(shown);
  await ann.page.getByLabel("Your name").fill("Ann");
  await ann.page.getByRole("button", { name: "Join" }).click();
  await csr.page.getByRole("button", { name: "Full console" }).click();
  assert.equal(await tray.isVisible(), false);
  assert.equal(await csr.page.getByRole("button", { name: "Compact view" }).getAttribute("aria-pressed"), "false");
  await until("Ann waits", () => csr.page.getByRole("button", { name: "Admit Ann" }).isVisible());
  await csr.page.getByRole("button", { name: "Admit Ann" }).click();
  await until("Ann is in", () => ann.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible());
  await csr.page.getByRole("button", { name: "Compact view" }).click();
  await until("compact again", () => tray.isVisible());

  // Keyboard: the Chat icon opens the chat with focus in the message box; Enter sends.
  await tray.getByRole("button", { name: "Chat" }).focus();
  await csr.page.keyboard.press("Enter");
  const message = csr.page.getByRole("textbox", { name: "Message" });
  await until("the chat opens", () => message.isVisible());
  assert.equal(await message.evaluate((m) => m === document.activeElement), true, "focus is in the message box");
  assert.equal(await csr.page.getByRole("heading", { name: "Invite" }).isVisible(), false, "only the chosen tool shows");
  await until("the chat channel to Ann", async () => (await ann.page.locator("#participants li[data-chat=open]").count()) === 1);
  await csr.page.keyboard.type("From the tray");
  await csr.page.keyboard.press("Enter");
  await until("Ann gets it", async () => (await ann.page.locator("#chat-log .chat-line").allTextContents()).includes(`${CSR_NAME}: From the tray`));

  // The Notes icon, then the Session icon: End session is there.
  await tray.getByRole("button", { name: "Notes" }).click();
  await until("the notes", () => csr.page.getByRole("textbox", { name: "Notes for the session report" }).isVisible());
  assert.equal(await message.isVisible(), false);
  await tray.getByRole("button", { name: "Session" }).click();
  await until("End session in the tray", () => csr.page.getByRole("button", { name: "End session" }).isVisible());
  assert.equal(await tray.getByRole("button", { name: "Session" }).getAttribute("aria-current"), "true");

  // A bigger window with the CSR's choice made stays as chosen; the full console is one click away.
  await csr.page.setViewportSize({ width: 1280, height: 800 });
  assert.equal(await tray.isVisible(), true, "the CSR's choice holds");
  await csr.page.getByRole("button", { name: "Full console" }).click();
  await until("the full console", () => csr.page.getByRole("tablist").isVisible());
  assert.equal(await csr.page.getByRole("heading", { name: "Participants" }).isVisible(), true);
  assert.deepEqual(csr.errors, []);
  assert.deepEqual(ann.errors, []);
});
