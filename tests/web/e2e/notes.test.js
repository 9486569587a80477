// Notes and ending a session in real Chromium (issue 4; TOOL-6, SES-10):
// a customer leaves without ending the session; the CSR saves notes (the
// server confirms, the report holds them); at End session the dialog offers
// the notes once more, the edited notes go with `end_session`, both
// remaining pages show the end and the report holds the final notes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { joinAndAdmit, startSession } from "./flows.js";

test("a customer leaves, the session goes on; notes saved during the session and edited at the end reach the report", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  const ann = await joinAndAdmit(world, csr, shown, "Ann");
  const bob = await joinAndAdmit(world, csr, shown, "Bob");
  const sessionId = await csr.page.evaluate(() => globalThis.tandemRuntime.state.session.session_id);

  const signin = await fetch(`${world.url}/api/v1/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: CSR_NAME, password: CSR_PASSWORD }),
  });
  const { token } = await signin.json();
  const report = async () => {
    const res = await fetch(`${world.url}/api/v1/reports/${sessionId}`, { headers: { Authorization: `Bearer ${token}` } });
    return res.ok ? res.json() : null;
  };

  // --- SES-10: Ann leaves; the session goes on for the CSR and Bob.
  await ann.page.getByRole("button", { name: "Leave session" }).click();
  await until("Ann's page says she left", () => ann.page.getByRole("heading", { name: "You left the session." }).isVisible());
  await until("Ann gone from the CSR's list", async () => !(await csr.page.locator("#participants").textContent())?.includes("Ann"));
  assert.equal(await bob.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible(), true, "Bob is still in the session");
  assert.equal(await csr.page.locator("#session-h").textContent(), `Session ${shown}`);
  // Chat still works between those who stayed.
  await csr.page.getByLabel("Message").fill("Still here?");
  await csr.page.getByLabel("Message").press("Enter");
  await until("Bob gets the line", async () => (await bob.page.locator("#chat-log .chat-line").allTextContents()).includes(`${CSR_NAME}: Still here?`));

  // --- TOOL-6: notes saved during the session.
  const notes = "Printer jammed.\nAsked <b>Bob</b> to open tray 2 & restart.";
  await csr.page.getByRole("textbox", { name: "Notes for the session report" }).fill(notes);
  assert.equal(await csr.page.locator("#notes-status").textContent(), "Not saved yet.");
  await csr.page.getByRole("button", { name: "Save notes" }).click();
  await until("the saved time", async () => /^Saved at .+\.$/.test((await csr.page.locator("#notes-status").textContent()) ?? ""));
  await until("the report holds the saved notes", async () => (await report())?.notes === notes);

  // --- SES-10: End session offers the notes once more; the edited notes are sent with end_session.
  await csr.page.getByRole("tab", { name: "Session" }).click();
  await csr.page.getByRole("button", { name: "End session" }).click();
  const dialog = csr.page.getByRole("dialog", { name: "End the session?" });
  await until("the end dialog", () => dialog.isVisible());
  const last = dialog.getByRole("textbox", { name: "Notes for the session report" });
  assert.equal(await last.inputValue(), notes, "the dialog shows the notes");
  // Cancel keeps the session (and the edit).
  await last.fill(`${notes}\nFirst edit.`);
  await dialog.getByRole("button", { name: "Keep the session" }).click();
  assert.equal(await dialog.isVisible(), false);
  assert.equal(await bob.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible(), true, "still running");
  await csr.page.getByRole("button", { name: "End session" }).click();
  await until("the end dialog again", () => dialog.isVisible());
  assert.equal(await last.inputValue(), `${notes}\nFirst edit.`);
  const final = `${notes}\nFixed: the roller was dirty.`;
  await last.fill(final);
  await dialog.getByRole("button", { name: "End session" }).click();

  await until("the CSR's page says it ended", () => csr.page.getByRole("heading", { name: "The session has ended" }).isVisible());
  await until("Bob's page says it ended", () => bob.page.getByText("The support representative ended the session.").isVisible());
  const r = await until("the report holds the final notes", async () => {
    const rep = await report();
    return rep?.notes === final && rep.end_reason ? rep : null;
  });
  assert.equal(r.end_reason, "ended_by_csr");
  assert.equal(await ann.page.getByRole("heading", { name: "You left the session." }).isVisible(), true, "Ann's page stays on 'left'");

  for (const p of [csr, ann, bob]) {
    assert.deepEqual(p.dialogs, [], "no JavaScript dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
