// A whole session in real Chromium against the real server (issue 4):
// the CSR signs in and starts a session; Ann joins by number, waits in the
// lobby and is admitted; Bob joins by the invite link; chat both ways and to a
// chosen recipient; a hostile display name stays text; Ann leaves; the CSR
// ends the session and every page says so.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";

const HOSTILE = "<img src=x onerror=alert(1)>";

test("CSR and customers: lobby, admit, invite link, chat, hostile name, leave, end", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());

  // --- CSR signs in and starts a session (SES-1).
  const csr = await world.newPage("csr");
  await csr.page.goto(`${world.url}/`);
  await csr.page.getByLabel("Name").fill(CSR_NAME);
  await csr.page.getByLabel("Password").fill(CSR_PASSWORD);
  await csr.page.getByRole("button", { name: "Sign in" }).click();
  await csr.page.getByLabel("Session type (optional)").fill("Printer");
  await csr.page.getByLabel("Tracking code (optional)").fill("T-42");
  await csr.page.getByRole("button", { name: "Start session" }).click();

  const shown = await until("the session number on the dashboard", async () => {
    const text = await csr.page.locator("#session-number").textContent();
    return text && /^\d{3} \d{3} \d{3}$/.test(text) ? text : null;
  });
  const digits = shown.replace(/ /g, "");
  const link = await csr.page.getByLabel("Invitation link").inputValue();
  assert.match(link, new RegExp(`^${world.url}/join/${digits}#invite=[A-Za-z0-9_-]{22}$`));
  assert.equal(await csr.page.locator("#phone-text").textContent(),
    `Please go to ${new URL(world.url).host} and enter the session number ${shown}.`);
  const mailto = await csr.page.getByRole("link", { name: "Invite with my own e-mail program" }).getAttribute("href");
  assert.ok(mailto?.startsWith("mailto:?subject=Your%20support%20session&body="), mailto ?? "");
  assert.ok(decodeURIComponent(mailto.split("body=")[1]).includes(link), "the e-mail carries the link");

  // --- Ann joins by number (with spaces, as read out) and waits in the lobby (SES-3).
  const ann = await world.newPage("ann");
  await ann.page.goto(`${world.url}/join.html`);
  await ann.page.getByLabel("Session number").fill(shown);
  await ann.page.getByLabel("Your name").fill(HOSTILE);
  await ann.page.getByRole("button", { name: "Join" }).click();
  await until("Ann sees the lobby", () => ann.page.getByText("Please wait: the support representative will let you in shortly.").isVisible());

  // The CSR sees her name as text in the lobby, and admits her.
  const lobbyEntry = csr.page.locator("#lobby li", { hasText: HOSTILE });
  await until("Ann in the CSR's lobby", () => lobbyEntry.isVisible());
  assert.equal(await lobbyEntry.locator(".name").textContent(), HOSTILE);
  await csr.page.getByRole("button", { name: `Admit ${HOSTILE}` }).click();
  await until("Ann's support page", () => ann.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible());
  await until("the lobby empties", async () => (await csr.page.locator("#lobby").textContent())?.includes("Nobody is waiting."));

  // --- Bob follows the invite link and is admitted directly.
  const bob = await world.newPage("bob");
  await bob.page.goto(link);
  await until("the invitation is recognised", () => bob.page.getByText(`You are invited to session ${shown}.`).isVisible());
  assert.equal(await bob.page.getByLabel("Session number").inputValue(), shown);
  // The language switcher translates the page at once (and back).
  await bob.page.getByLabel("Language").selectOption("fr");
  await until("the French join page", () => bob.page.getByRole("heading", { name: "Rejoindre une session d’assistance" }).isVisible());
  assert.equal(await bob.page.evaluate(() => document.documentElement.lang), "fr");
  await bob.page.getByLabel("Langue").selectOption("en");
  await until("the English join page", () => bob.page.getByRole("heading", { name: "Join a support session" }).isVisible());
  await bob.page.getByLabel("Your name").fill("Bob");
  await bob.page.getByRole("button", { name: "Join" }).click();
  await until("Bob's support page", () => bob.page.getByRole("heading", { name: `Support session ${shown}` }).isVisible());

  // --- Peer connections: everyone's chat channel to everyone opens (one RTCPeerConnection per pair).
  for (const [who, p] of Object.entries({ csr, ann, bob })) {
    await until(`${who}'s chat channels to both others`, async () => (await p.page.locator("#participants li[data-chat=open]").count()) === 2);
  }

  // --- Chat both ways (TOOL-1); text is shown as text.
  const send = async (p, text) => {
    await p.page.getByLabel("Message").fill(text);
    await p.page.getByLabel("Message").press("Enter");
  };
  const chatLines = (p) => p.page.locator("#chat-log .chat-line").allTextContents();
  await send(csr, "Hello <b>there</b>");
  for (const [who, p] of Object.entries({ ann, bob })) {
    await until(`${who} gets the CSR's line`, async () => (await chatLines(p)).includes(`${CSR_NAME}: Hello <b>there</b>`));
  }
  assert.equal(await ann.page.locator("#chat-log b").count(), 0, "no markup from chat");
  await send(ann, "My printer is jammed");
  await until("the CSR gets Ann's line", async () => (await chatLines(csr)).includes(`${HOSTILE}: My printer is jammed`));
  assert.deepEqual(await chatLines(ann), [`${CSR_NAME}: Hello <b>there</b>`, "You: My printer is jammed"]);

  // To a chosen recipient only: Bob gets it, Ann never does (a later public line proves the order).
  await csr.page.getByRole("checkbox", { name: "Bob" }).check();
  assert.equal(await csr.page.getByRole("checkbox", { name: "Everyone" }).isChecked(), false);
  await send(csr, "Just for Bob");
  await until("Bob gets the private line", async () => (await chatLines(bob)).includes(`${CSR_NAME} (to Bob): Just for Bob`));
  await csr.page.getByRole("checkbox", { name: "Everyone" }).check();
  await send(csr, "For all again");
  await until("Ann gets the next public line", async () => (await chatLines(ann)).includes(`${CSR_NAME}: For all again`));
  assert.ok(!(await chatLines(ann)).some((l) => l.includes("Just for Bob")), "Ann never got Bob's line");

  // --- Audio (TOOL-2): everyone is asked; the CSR and Ann join (fake microphones), Bob says not now.
  for (const p of [csr, ann, bob]) {
    await until("the audio question", () => p.page.getByText("Join the audio call? Your microphone will be used.").isVisible());
  }
  await csr.page.getByRole("button", { name: "Join audio" }).click();
  await ann.page.getByRole("button", { name: "Join audio" }).click();
  await bob.page.getByRole("button", { name: "Not now" }).click();
  assert.equal(await bob.page.getByRole("button", { name: "Join audio" }).isVisible(), true, "Bob can still join later");
  const audioIn = (p) => p.page.evaluate(() => globalThis.tandemRuntime.audioPacketsReceived());
  for (const [who, p] of Object.entries({ csr, ann })) {
    await until(`${who} in the audio call`, () => p.page.getByText("You are in the audio call.").isVisible());
    const first = await until(`${who} receives audio packets`, async () => (await audioIn(p)) > 0 && audioIn(p));
    await until(`${who}'s audio packets keep coming`, async () => (await audioIn(p)) > first + 20);
  }

  // --- The hostile name is text everywhere; no dialog fired, no image element was made.
  for (const p of [csr, bob]) {
    assert.ok((await p.page.locator("#participants").textContent())?.includes(HOSTILE));
    assert.equal(await p.page.locator("main img").count(), 0);
  }

  // --- Ann leaves (SES-10: customers can leave at any time); the session goes on.
  await ann.page.getByRole("button", { name: "Leave session" }).click();
  await until("Ann's page says she left", () => ann.page.getByRole("heading", { name: "You left the session." }).isVisible());
  await until("Ann gone from the CSR's list", async () => !(await csr.page.locator("#participants").textContent())?.includes(HOSTILE));
  assert.ok((await csr.page.locator("#participants").textContent())?.includes("Bob"));

  // --- The CSR ends the session from the Session tab; both remaining pages say it ended.
  await csr.page.getByRole("tab", { name: "Session" }).click();
  assert.ok((await csr.page.locator("#session-details").textContent())?.includes("Tracking code: T-42"));
  await csr.page.getByRole("button", { name: "End session" }).click();
  // The last chance to edit the notes (SES-10), then end.
  await csr.page.getByRole("dialog", { name: "End the session?" }).getByRole("button", { name: "End session" }).click();
  await until("the CSR's page says it ended", () => csr.page.getByRole("heading", { name: "The session has ended" }).isVisible());
  await until("Bob's page says it ended", () => bob.page.getByText("The support representative ended the session.").isVisible());
  assert.equal(await ann.page.getByRole("heading", { name: "You left the session." }).isVisible(), true, "Ann's page stays on 'left'");

  for (const p of [csr, ann, bob]) {
    assert.deepEqual(p.dialogs, [], "no dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
