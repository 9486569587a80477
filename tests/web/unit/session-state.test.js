import { test } from "node:test";
import assert from "node:assert/strict";
import { admitted, initialState, isPrimaryCsr, lobby, peerPlan, reduce, requesterName } from "../../../web/js/session-state.js";

const session = { session_id: "f788c486ddbce07636c3cd8e8325a1df", session_number: "571700568", display_number: "571 700 568" };
const CSR = "d62a49985528fb60";
const ANN = "85c5732df9f614ba";
const WENDY = "cd2d33ea56fe99ed";
/** @param {any} msg */
const server = (msg) => ({ type: /** @type {const} */ ("server"), msg: { v: 1, ...msg } });
/** @param {any[]} actions */
const run = (actions, state = initialState()) => actions.reduce(reduce, state);

const created = server({
  type: "session_created", session, participant_id: CSR, resume_token: "3TYZ8DZBxiT4P0syWf0Oog",
  invite_token: "4VTM-f9eYgusIGpHx6SdZg", invite_link: "http://x/join/571700568#invite=4VTM-f9eYgusIGpHx6SdZg", ice_servers: [],
});
const list = (/** @type {any[]} */ ps) => server({ type: "participants", participants: ps });

test("CSR: created, a customer waits in the lobby, is admitted", () => {
  let s = run([created]);
  assert.equal(s.phase, "in_session");
  assert.equal(s.role, "primary_csr");
  assert.equal(s.inviteLink, "http://x/join/571700568#invite=4VTM-f9eYgusIGpHx6SdZg");
  assert.ok(isPrimaryCsr(s));
  s = reduce(s, list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "Ann", role: "waiting", connected: true },
  ]));
  assert.deepEqual(lobby(s).map((p) => p.id), [ANN]);
  assert.deepEqual(peerPlan(s), [], "nobody to connect to while Ann waits");
  s = reduce(s, list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "Ann", role: "primary_customer", connected: true },
  ]));
  assert.deepEqual(lobby(s), []);
  assert.deepEqual(admitted(s).map((p) => p.name), ["Carla", "Ann"]);
  // Ann's id is smaller: she makes the offer, the CSR answers.
  assert.deepEqual(peerPlan(s), [{ id: ANN, offerer: false }]);
});

test("offerer rule: the smaller participant id offers; disconnected peers are skipped", () => {
  let s = run([created, list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "Ann", role: "primary_customer", connected: true },
    { id: WENDY, name: "Wendy", role: "secondary_customer", connected: true },
  ])]);
  // "85c5…" < "cd2d…" < "d62a…": both customers offer to the CSR.
  assert.deepEqual(peerPlan(s), [{ id: ANN, offerer: false }, { id: WENDY, offerer: false }]);
  s = reduce(s, list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "Ann", role: "primary_customer", connected: false },
  ]));
  assert.deepEqual(peerPlan(s), []);
});

test("customer: lobby, joined, participants; the role follows the list (promotion)", () => {
  let s = run([server({ type: "lobby", session_number: "571700568", participant_id: WENDY, resume_token: "5YWAWM6s_zdNrPqGkcqxLw" })]);
  assert.equal(s.phase, "lobby");
  assert.equal(s.sessionNumber, "571700568");
  assert.equal(s.resumeToken, "5YWAWM6s_zdNrPqGkcqxLw");
  assert.equal(reduce(s, list([{ id: CSR, name: "Carla", role: "primary_csr", connected: true }])).participants.length, 0,
    "a waiting customer ignores lists");
  s = run([
    server({ type: "joined", session, participant_id: WENDY, role: "secondary_customer", resume_token: "5YWAWM6s_zdNrPqGkcqxLw", ice_servers: [] }),
    list([
      { id: CSR, name: "Carla", role: "primary_csr", connected: true },
      { id: WENDY, name: "Wendy", role: "primary_customer", connected: true },
    ]),
  ], s);
  assert.equal(s.phase, "in_session");
  assert.equal(s.role, "primary_customer");
  assert.deepEqual(peerPlan(s), [{ id: CSR, offerer: true }], "Wendy's id is smaller than the CSR's");
});

test("refused, ended and left clear the session and the resume token", () => {
  const waiting = run([server({ type: "lobby", session_number: "571700568", participant_id: WENDY, resume_token: "5YWAWM6s_zdNrPqGkcqxLw" })]);
  const refused = reduce(waiting, server({ type: "refused" }));
  assert.equal(refused.phase, "refused");
  assert.equal(refused.resumeToken, null);
  const ended = run([created, server({ type: "session_ended", reason: "ended_by_csr" })]);
  assert.equal(ended.phase, "ended");
  assert.equal(ended.endReason, "ended_by_csr");
  assert.equal(ended.resumeToken, null);
  assert.equal(ended.session?.session_number, "571700568", "the page can still say which session ended");
  const left = run([created, { type: "left" }]);
  assert.equal(left.phase, "left");
  assert.equal(reduce(left, server({ type: "session_ended", reason: "ended_by_csr" })).phase, "left");
});

test("errors are kept; resume_failed ends the session for this client", () => {
  let s = reduce(initialState(), server({ type: "error", code: "session_unavailable", message: "x", in_reply_to: "join" }));
  assert.equal(s.phase, "idle");
  assert.deepEqual(s.lastError, { code: "session_unavailable", inReplyTo: "join" });
  s = reduce(s, { type: "dismiss_error" });
  assert.equal(s.lastError, null);
  s = run([created, server({ type: "error", code: "resume_failed", message: "x", in_reply_to: "resume" })]);
  assert.equal(s.phase, "ended");
  assert.equal(s.resumeToken, null);
});

test("chat lines carry the sender's name, recipients and who sent them", () => {
  let s = run([created, list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "<b>Ann</b>", role: "primary_customer", connected: true },
  ])]);
  s = reduce(s, { type: "chat_received", from: ANN, msg: { type: "chat", text: "hi", to: [], sent_at: 5 } });
  s = reduce(s, { type: "chat_sent", msg: { type: "chat", text: "hello", to: [ANN], sent_at: 6 } });
  assert.deepEqual(s.chat, [
    { from: ANN, fromName: "<b>Ann</b>", text: "hi", to: [], sentAt: 5, mine: false },
    { from: CSR, fromName: "Carla", text: "hello", to: [ANN], sentAt: 6, mine: true },
  ]);
  const idle = reduce(initialState(), { type: "chat_received", from: ANN, msg: { type: "chat", text: "x", to: [], sent_at: 1 } });
  assert.deepEqual(idle.chat, [], "no chat outside a session");
});

test("unknown server messages and signals leave the state unchanged", () => {
  const s = run([created]);
  assert.equal(reduce(s, server({ type: "surprise" })), s);
  assert.equal(reduce(s, server({ type: "offer", from: ANN, sdp: "v=0" })), s);
});

test("audio: everyone is asked once in the session; the answer resets with the next session", () => {
  let s = run([created]);
  assert.equal(s.audio, "prompt");
  s = reduce(s, { type: "audio", status: "joining" });
  s = reduce(s, { type: "audio", status: "joined" });
  assert.equal(s.audio, "joined");
  assert.equal(reduce(initialState(), { type: "audio", status: "joined" }).audio, "prompt", "no audio outside a session");
  s = run([server({ type: "session_ended", reason: "ended_by_csr" }), created], s);
  assert.equal(s.audio, "prompt");
});

test("hello's features are kept across sessions; an older server offers none", () => {
  const hello = (/** @type {any} */ features) => server({ type: "hello", server: "t", protocol: 1, max_message_bytes: 65536, keepalive_secs: 20, ...(features ? { features } : {}) });
  let s = run([hello({ email_invitations: true })]);
  assert.deepEqual(s.features, { email_invitations: true });
  s = run([created, server({ type: "session_ended", reason: "ended_by_csr" }), created], s);
  assert.deepEqual(s.features, { email_invitations: true }, "still known after a session ended and another started");
  assert.deepEqual(run([hello(null)]).features, { email_invitations: false });
  assert.deepEqual(run([hello({ email_invitations: "yes" })]).features, { email_invitations: false });
  assert.equal(initialState().features, null, "unknown before hello");
});

test("prompts name a CSR with the site's organisation from hello, a customer without; kept across sessions", () => {
  const hello = (/** @type {any} */ organisation) => server({ type: "hello", server: "t", protocol: 1, max_message_bytes: 65536, keepalive_secs: 20, ...(organisation ? { organisation } : {}) });
  const people = list([
    { id: CSR, name: "Carla", role: "primary_csr", connected: true },
    { id: ANN, name: "Ann", role: "primary_customer", connected: true },
  ]);
  let s = run([hello("Example Support"), created, people]);
  assert.equal(requesterName(s, CSR), "Carla (Example Support)");
  assert.equal(requesterName(s, ANN), "Ann", "a customer works for nobody here");
  assert.equal(requesterName(s, WENDY), null, "someone not listed");
  s = run([server({ type: "session_ended", reason: "ended_by_csr" }), created, people], s);
  assert.equal(requesterName(s, CSR), "Carla (Example Support)", "still known in the next session");
  assert.equal(requesterName(run([hello(null), created, people]), CSR), "Carla", "no organisation configured");
});

test("notes_saved: the time is kept while in the session and cleared by the next one", () => {
  let s = run([created, server({ type: "notes_saved", saved_at: 1795277030472 })]);
  assert.equal(s.notesSavedAt, 1795277030472);
  s = run([server({ type: "session_ended", reason: "ended_by_csr" })], s);
  assert.equal(s.notesSavedAt, null);
  assert.equal(run([server({ type: "notes_saved", saved_at: 5 })]).notesSavedAt, null, "ignored outside a session");
});

test("path_reported: the latest path per (from, with) is kept in the session, cleared by the next one", () => {
  const path = (/** @type {string} */ from, /** @type {string} */ to, /** @type {string} */ local, protocol = "udp") =>
    server({ type: "path_reported", from, with: to, local, remote: "host", protocol });
  let s = run([created, path(ANN, CSR, "host"), path(CSR, ANN, "srflx"), path(ANN, CSR, "relay", "tls")]);
  assert.deepEqual(s.paths, [
    { from: CSR, with: ANN, local: "srflx", remote: "host", protocol: "udp" },
    { from: ANN, with: CSR, local: "relay", remote: "host", protocol: "tls" },
  ]);
  s = run([server({ type: "session_ended", reason: "ended_by_csr" })], s);
  assert.deepEqual(s.paths, []);
  assert.deepEqual(run([path(ANN, CSR, "host")]).paths, [], "ignored outside a session");
});

test("ice_servers: fresh credentials replace the list in the session", () => {
  const fresh = [{ urls: ["turn:127.0.0.1:3478?transport=udp"], username: "1795278475:d62a49985528fb60", credential: "c" }];
  const s = run([created, server({ type: "ice_servers", ice_servers: fresh })]);
  assert.deepEqual(s.iceServers, fresh);
  assert.deepEqual(run([server({ type: "ice_servers", ice_servers: fresh })]).iceServers, [], "ignored outside a session");
});

test("errors about background requests (path_report, refresh_ice_servers) are not shown", () => {
  const s = run([created]);
  for (const inReplyTo of ["path_report", "refresh_ice_servers"]) {
    assert.equal(reduce(s, server({ type: "error", code: "unknown_participant", message: "x", in_reply_to: inReplyTo })), s, inReplyTo);
  }
  assert.equal(reduce(s, server({ type: "error", code: "not_allowed", message: "x", in_reply_to: "admit" })).lastError?.code, "not_allowed");
});
