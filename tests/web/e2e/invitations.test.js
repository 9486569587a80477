// Invitations from the dashboard in real Chromium (issue 4, SES-2): the
// prepared mailto: message and the phone text in the CSR's language, the
// link copied for instant messages, "send by e-mail" disabled with a reason
// when the server has no SMTP, and sent through the server (to a local SMTP
// sink) in the chosen language when it has.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorld, until } from "./harness.js";
import { startSmtpSink } from "./smtp-sink.js";
import { startSession } from "./flows.js";

test("without SMTP: mailto and phone text in the CSR's language, copy link, e-mail disabled with a reason", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  await csr.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: world.url });
  const link = await csr.page.getByLabel("Invitation link").inputValue();

  // Copy link for instant messages.
  await csr.page.getByRole("button", { name: "Copy link" }).click();
  await until("copied", () => csr.page.getByText("Link copied.").isVisible());
  assert.equal(await csr.page.evaluate(() => navigator.clipboard.readText()), link);

  // Send by e-mail is off, and says why.
  assert.equal(await csr.page.getByRole("button", { name: "Send invitation" }).isDisabled(), true);
  assert.equal(await csr.page.getByRole("textbox", { name: "E-mail address" }).isDisabled(), true);
  assert.ok(await csr.page.getByText("This server cannot send e-mail (not set up by its administrator).", { exact: false }).isVisible());

  // In French: the mailto: subject and body, and the phone text.
  await csr.page.locator("#lang").selectOption("fr");
  await until("the French dashboard", () => csr.page.getByRole("link", { name: "Inviter avec mon propre logiciel de messagerie" }).isVisible());
  const href = await csr.page.getByRole("link", { name: "Inviter avec mon propre logiciel de messagerie" }).getAttribute("href");
  const url = new URL(href ?? "");
  assert.equal(url.protocol, "mailto:");
  assert.equal(decodeURIComponent(/subject=([^&]*)/.exec(href ?? "")?.[1] ?? ""), "Votre session d’assistance");
  const body = decodeURIComponent(/body=([^&]*)/.exec(href ?? "")?.[1] ?? "");
  assert.ok(body.startsWith("Bonjour"), body);
  assert.ok(body.includes(link) && body.includes(shown), body);
  assert.equal(await csr.page.locator("#phone-text").textContent(), `Allez sur ${new URL(world.url).host} et saisissez le numéro de session ${shown}.`);
  assert.deepEqual(csr.errors, []);
});

test("with SMTP: the server sends the invitation in the chosen language", async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const world = await startWorld({
    config: `[smtp]\nhost = "127.0.0.1"\nport = ${sink.port}\nfrom = "Tandem Support <support@tandem.test>"\nsecurity = "none"\n`,
  });
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  const link = await csr.page.getByLabel("Invitation link").inputValue();
  const send = csr.page.getByRole("button", { name: "Send invitation" });
  await until("e-mail enabled", async () => !(await send.isDisabled()));
  assert.equal(await csr.page.locator("#email-disabled").isVisible(), false);

  await csr.page.getByRole("textbox", { name: "E-mail address" }).fill("ann@example.test");
  await csr.page.getByLabel("Language of the e-mail").selectOption("fr");
  await send.click();
  await until("sent", () => csr.page.getByText("Invitation sent to ann@example.test.").isVisible());
  const mail = await until("the sink got the e-mail", () => sink.messages[0]);
  assert.match(mail.to.join(), /ann@example\.test/);
  const [head, ...rest] = mail.data.split("\r\n\r\n");
  assert.match(head, /^Subject: Votre session =\?utf-8\?b\?/im);
  const text = Buffer.from(rest.join("\r\n\r\n").replace(/\s+/g, ""), "base64").toString("utf8");
  assert.ok(text.startsWith("Bonjour"), text);
  assert.ok(text.includes(link), "the join link is in the e-mail");
  assert.ok(text.includes(shown), "and the number");

  // Another CSR, in English.
  await csr.page.getByRole("textbox", { name: "E-mail address" }).fill("bea@example.test");
  await csr.page.getByLabel("Who").selectOption("csr");
  await csr.page.getByLabel("Language of the e-mail").selectOption("en");
  await send.click();
  await until("sent to Bea", () => csr.page.getByText("Invitation sent to bea@example.test.").isVisible());
  const second = await until("the second e-mail", () => sink.messages[1]);
  assert.match(second.data, /^Subject: Please assist in support session/im);
  assert.deepEqual(csr.errors, []);
});
