// The consent book: request, decision, stop and revoke from both ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { approverSendsScreen, ask, decide, emptyBook, end, forgetPeer, receive } from "../../../web/js/consent-state.js";

const CUST = "bbbbbbbbbbbbbbbb";
const CSR = "aaaaaaaaaaaaaaaa";

test("a view request allowed, then revoked by the approver", () => {
  // The CSR's side.
  let csr = emptyBook();
  const asked = ask(csr, CUST, "view_desktop");
  csr = asked.book;
  assert.deepEqual(asked.msg, { type: "request", request_id: 1, capability: "view_desktop" });
  // The customer's side: a prompt.
  let cust = emptyBook();
  const got = receive(cust, CSR, asked.msg);
  cust = got.book;
  assert.equal(got.event?.kind, "prompt");
  assert.equal(got.event?.request.dir, "in");
  // A duplicate request id is ignored.
  assert.equal(receive(cust, CSR, asked.msg).event, null);
  const d = decide(cust, CSR, 1, true);
  cust = d.book;
  assert.deepEqual(d.msg, { type: "decision", request_id: 1, allowed: true });
  assert.equal(cust.requests[0].status, "allowed");
  const allowed = receive(csr, CUST, /** @type {any} */ (d.msg));
  csr = allowed.book;
  assert.equal(allowed.event?.kind, "allowed");
  // A second decision changes nothing.
  assert.equal(receive(csr, CUST, { type: "decision", request_id: 1, allowed: false }).event, null);
  // The customer stops it.
  const r = end(cust, CSR, "in", 1);
  assert.deepEqual(r.msg, { type: "revoke", request_id: 1 });
  assert.equal(r.book.requests.length, 0);
  const ended = receive(csr, CUST, /** @type {any} */ (r.msg));
  assert.deepEqual(ended.event, { kind: "ended", request: { peer: CUST, dir: "out", id: 1, capability: "view_desktop", status: "allowed" }, by: "peer" });
  assert.equal(ended.book.requests.length, 0);
});

test("a refusal is kept for the requester to see, and shares nothing", () => {
  let csr = ask(emptyBook(), CUST, "view_desktop").book;
  let cust = receive(emptyBook(), CSR, { type: "request", request_id: 1, capability: "view_desktop" }).book;
  const d = decide(cust, CSR, 1, false);
  assert.deepEqual(d.msg, { type: "decision", request_id: 1, allowed: false });
  assert.equal(d.book.requests.length, 0, "nothing live on the approver's side");
  const refused = receive(csr, CUST, /** @type {any} */ (d.msg));
  assert.equal(refused.event?.kind, "refused");
  csr = refused.book;
  assert.equal(csr.requests[0].status, "refused");
  // Asking again replaces the refusal, with a new id.
  const again = ask(csr, CUST, "view_desktop");
  assert.equal(again.msg.request_id, 2);
  assert.deepEqual(again.book.requests.map((r) => r.status), ["pending"]);
  // A revoke of a refused request is ignored; forgetting a refusal sends nothing.
  assert.equal(receive(csr, CUST, { type: "revoke", request_id: 1 }).event, null);
  assert.equal(end(csr, CUST, "out", 1).msg, null);
});

test("the requester stops; unknown ids are ignored; a peer leaving ends everything", () => {
  let cust = receive(emptyBook(), CSR, { type: "request", request_id: 9, capability: "share_view" }).book;
  cust = decide(cust, CSR, 9, true).book;
  assert.equal(receive(cust, CSR, { type: "stop", request_id: 8 }).event, null, "unknown id");
  assert.equal(receive(cust, CSR, { type: "revoke", request_id: 9 }).event, null, "revoke comes from the approver only");
  assert.equal(receive(cust, "cccccccccccccccc", { type: "stop", request_id: 9 }).event, null, "another peer's id");
  const stopped = receive(cust, CSR, { type: "stop", request_id: 9 });
  assert.equal(stopped.event?.kind, "ended");
  assert.equal(stopped.book.requests.length, 0);

  let csr = ask(emptyBook(), CUST, "view_desktop").book;
  csr = ask(csr, CUST, "share_view").book;
  const gone = forgetPeer(csr, CUST);
  assert.equal(gone.ended.length, 2);
  assert.equal(gone.book.requests.length, 0);
});

test("who sends the screen", () => {
  assert.equal(approverSendsScreen("view_desktop"), true);
  assert.equal(approverSendsScreen("control_application"), true);
  assert.equal(approverSendsScreen("share_view"), false);
  assert.equal(approverSendsScreen("share_control"), false);
});
