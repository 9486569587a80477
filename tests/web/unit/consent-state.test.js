// The consent book: request, decision, stop and revoke from both ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { approverSendsScreen, ask, controlTargets, decide, emptyBook, end, forgetPeer, grantsControl, liveRequest, receive, showsUsScreen, surfaceOf } from "../../../web/js/consent-state.js";

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
  assert.deepEqual(ended.event, { kind: "ended", request: { peer: CUST, dir: "out", id: 1, capability: "view_desktop", surface: "desktop", status: "allowed" }, by: "peer" });
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

test("surfaces: from the capability, or as the requester chose for share_*; refusals are replaced per surface", () => {
  assert.equal(surfaceOf("view_application"), "application");
  assert.equal(surfaceOf("control_desktop"), "desktop");
  assert.equal(surfaceOf("share_control"), "desktop");
  assert.equal(surfaceOf("share_view", "application"), "application");
  // An incoming share_* cannot say: desktop.
  const got = receive(emptyBook(), CSR, { type: "request", request_id: 3, capability: "share_control" });
  assert.equal(got.event?.request.surface, "desktop");

  let csr = ask(emptyBook(), CUST, "share_view", "application").book;
  assert.equal(csr.requests[0].surface, "application");
  csr = receive(csr, CUST, { type: "decision", request_id: 1, allowed: false }).book;
  csr = ask(csr, CUST, "share_view", "desktop").book;
  assert.deepEqual(csr.requests.map((r) => [r.surface, r.status]), [["application", "refused"], ["desktop", "pending"]], "a desktop ask keeps the window refusal");
  assert.equal(liveRequest(csr, CUST, "share_view", "application"), null, "a refusal is not live");
  assert.equal(liveRequest(csr, CUST, "share_view", "desktop")?.id, 2);
  csr = ask(csr, CUST, "share_view", "application").book;
  assert.deepEqual(csr.requests.map((r) => [r.surface, r.status]), [["desktop", "pending"], ["application", "pending"]]);
});

test("control targets: our allowed control_*, and their share_control we allowed; nothing else", () => {
  assert.equal(grantsControl("control_application"), true);
  assert.equal(grantsControl("share_control"), true);
  assert.equal(grantsControl("share_view"), false);
  // The CSR asks control of the customer's desktop and view of another's.
  let csr = ask(emptyBook(), CUST, "control_desktop").book;
  csr = ask(csr, "cccccccccccccccc", "view_desktop").book;
  assert.deepEqual([...controlTargets(csr)], [], "nothing before an answer");
  csr = receive(csr, CUST, { type: "decision", request_id: 1, allowed: true }).book;
  csr = receive(csr, "cccccccccccccccc", { type: "decision", request_id: 2, allowed: true }).book;
  assert.deepEqual([...controlTargets(csr)], [CUST], "view grants no control");
  csr = receive(csr, CUST, { type: "revoke", request_id: 1 }).book;
  assert.deepEqual([...controlTargets(csr)], [], "revoked");

  // The customer allows the CSR's share_control: the customer may control the CSR.
  let cust = receive(emptyBook(), CSR, { type: "request", request_id: 5, capability: "share_control" }).book;
  assert.deepEqual([...controlTargets(cust)], [], "not while the prompt waits");
  cust = decide(cust, CSR, 5, true).book;
  assert.deepEqual([...controlTargets(cust)], [CSR]);
  // The other way round gives the customer nothing: its own share_control lets the CSR in, not itself.
  let other = ask(emptyBook(), CSR, "share_control").book;
  other = receive(other, CSR, { type: "decision", request_id: 1, allowed: true }).book;
  assert.deepEqual([...controlTargets(other)], []);
  assert.deepEqual([...controlTargets(forgetPeer(cust, CSR).book)], [], "a peer leaving ends control");
});

test("whose screen may show: a peer that allowed our view or control, or whose share we allowed; not while pending, refused or ended", () => {
  // The CSR asks the customer for control.
  let csr = ask(emptyBook(), CUST, "control_desktop").book;
  assert.equal(showsUsScreen(csr, CUST), false, "pending");
  csr = receive(csr, CUST, { type: "decision", request_id: 1, allowed: true }).book;
  assert.equal(showsUsScreen(csr, CUST), true, "allowed");
  assert.equal(showsUsScreen(csr, CSR), false, "another peer");
  csr = receive(csr, CUST, { type: "revoke", request_id: 1 }).book;
  assert.equal(showsUsScreen(csr, CUST), false, "revoked");
  csr = ask(csr, CUST, "view_desktop").book;
  csr = receive(csr, CUST, { type: "decision", request_id: 2, allowed: false }).book;
  assert.equal(showsUsScreen(csr, CUST), false, "refused");
  // Our own share allowed by the peer shows our screen to them, not theirs to us.
  csr = ask(csr, CUST, "share_view").book;
  csr = receive(csr, CUST, { type: "decision", request_id: 3, allowed: true }).book;
  assert.equal(showsUsScreen(csr, CUST), false, "our share_view");

  // The customer allows the CSR's share_view: the CSR's screen may show; not before.
  let cust = receive(emptyBook(), CSR, { type: "request", request_id: 7, capability: "share_view" }).book;
  assert.equal(showsUsScreen(cust, CSR), false, "prompting");
  cust = decide(cust, CSR, 7, true).book;
  assert.equal(showsUsScreen(cust, CSR), true, "their share allowed");
  cust = receive(cust, CSR, { type: "stop", request_id: 7 }).book;
  assert.equal(showsUsScreen(cust, CSR), false, "stopped by the sharer");
  // A view request we allowed sends our screen, it does not show theirs.
  cust = receive(cust, CSR, { type: "request", request_id: 8, capability: "view_desktop" }).book;
  cust = decide(cust, CSR, 8, true).book;
  assert.equal(showsUsScreen(cust, CSR), false, "their view of us");
});
