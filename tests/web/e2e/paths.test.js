// Network path visibility in real Chromium (issue 5; NET-2): a CSR and a
// customer connect on loopback; both pages read the selected candidate pair
// from getStats and send `path_report`; the dashboard shows the customer's
// path ("Direct (host/udp)"), the session report and /metrics hold it, the
// customer's page shows none. Then fresh TURN credentials
// (`refresh_ice_servers`) reach every live peer connection's configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CSR_NAME, CSR_PASSWORD, startWorld, until } from "./harness.js";
import { joinAndAdmit, startSession } from "./flows.js";

test("the selected path is reported, shown on the dashboard and kept in the report; refreshed TURN credentials reach the connections", async (t) => {
  const world = await startWorld();
  t.after(() => world.close());
  const { csr, shown } = await startSession(world);
  const ann = await joinAndAdmit(world, csr, shown, "Ann");
  const selfId = (/** @type {any} */ p) => p.page.evaluate(() => globalThis.tandemRuntime.state.selfId);
  const csrId = await selfId(csr);
  const annId = await selfId(ann);
  const sessionId = await csr.page.evaluate(() => globalThis.tandemRuntime.state.session.session_id);

  // --- The dashboard shows Ann's path, from both ends' reports (the server also sends the CSR its own).
  const annPath = csr.page.locator(`#participants li[data-participant="${annId}"] .path`);
  await until("the path in Ann's row on the dashboard", async () => (await annPath.allTextContents())[0] === "Direct (host/udp)");
  const direct = { local: "host", remote: "host", protocol: "udp" };
  const paths = await until("both ends' reports on the dashboard", async () => {
    const list = await csr.page.evaluate(() => globalThis.tandemRuntime.state.paths);
    return list.length === 2 ? list : null;
  });
  assert.deepEqual(
    paths.toSorted((/** @type {any} */ a, /** @type {any} */ b) => a.from.localeCompare(b.from)),
    [
      { from: csrId, with: annId, ...direct },
      { from: annId, with: csrId, ...direct },
    ].toSorted((a, b) => a.from.localeCompare(b.from)),
  );
  assert.equal(await csr.page.locator(`#participants li[data-participant="${csrId}"] .path`).count(), 0, "no path for the CSR's own row");
  assert.equal(await ann.page.locator("#participants .path").count(), 0, "customers are not told paths");

  // --- The session report holds both, once each; /metrics counts the session as direct.
  const signin = await fetch(`${world.url}/api/v1/signin`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: CSR_NAME, password: CSR_PASSWORD }),
  });
  const { token } = await signin.json();
  const reported = await until("both paths in the report", async () => {
    const res = await fetch(`${world.url}/api/v1/reports/${sessionId}`, { headers: { Authorization: `Bearer ${token}` } });
    const rep = res.ok ? await res.json() : null;
    return rep?.paths?.length === 2 ? rep.paths : null;
  });
  for (const [from, to] of [
    [annId, csrId],
    [csrId, annId],
  ]) {
    const p = reported.find((/** @type {any} */ x) => x.from === from && x.with === to);
    assert.ok(p, `the report has ${from} → ${to}: ${JSON.stringify(reported)}`);
    assert.deepEqual({ local: p.local, remote: p.remote, protocol: p.protocol }, direct);
    assert.equal(typeof p.reported_at, "number");
  }
  const metrics = await (await fetch(`${world.url}/metrics`)).text();
  assert.match(metrics, /^tandem_live_sessions_by_path\{path="host"\} 1$/m);

  // --- Fresh TURN credentials (username `<expiry>:<participant id>`) go to every live connection.
  for (const [p, id, other] of [
    [csr, csrId, annId],
    [ann, annId, csrId],
  ]) {
    const turnUser = (/** @type {any[]} */ servers) => servers.find((s) => s.urls.some((/** @type {string} */ u) => u.startsWith("turn:")))?.username;
    const before = turnUser(await p.page.evaluate(() => globalThis.tandemRuntime.state.iceServers));
    assert.match(before ?? "", new RegExp(`^\\d+:${id}$`), "the harness server runs the embedded relay: a TURN credential");
    assert.equal(turnUser((await p.page.evaluate(() => globalThis.tandemRuntime.connectionIceServers()))[other]), before, "the connection holds it");
    // The expiry has one-second resolution: a credential minted in a later second differs.
    const mintedAt = Number(before.split(":")[0]) - 600;
    await until("a second after the first credential", () => Date.now() / 1000 >= mintedAt + 1.5);
    await p.page.evaluate(() => globalThis.tandemRuntime.send({ type: "refresh_ice_servers" }));
    const after = await until("a fresh credential in the state", async () => {
      const user = turnUser(await p.page.evaluate(() => globalThis.tandemRuntime.state.iceServers));
      return user !== before ? user : null;
    });
    assert.ok(Number(after.split(":")[0]) > Number(before.split(":")[0]), `later expiry: ${before} → ${after}`);
    await until("the connection holds the fresh credential", async () => turnUser((await p.page.evaluate(() => globalThis.tandemRuntime.connectionIceServers()))[other]) === after);
  }
  // The chat still works over the same connection.
  await csr.page.getByLabel("Message").fill("Still there?");
  await csr.page.getByLabel("Message").press("Enter");
  await until("Ann gets the line", async () => (await ann.page.locator("#chat-log .chat-line").allTextContents()).includes(`${CSR_NAME}: Still there?`));

  for (const p of [csr, ann]) {
    assert.deepEqual(p.dialogs, [], "no JavaScript dialog fired");
    assert.deepEqual(p.errors, [], "no page errors");
  }
});
