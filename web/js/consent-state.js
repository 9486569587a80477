// @ts-check
/**
 * Consent requests (SHR-1..8; the `consent` channel, wire/src/channels.rs
 * `ConsentMessage`) as a pure book: no DOM, no channels, no media. Functions
 * take the book and return the next book plus the message to send, if any.
 *
 * Each request is keyed by the peer at the other end, who asked (`out`: we
 * did, `in`: they did) and its request id. We pick ids for our own requests;
 * theirs are theirs, so the two directions never clash.
 *
 *   out: pending --decision(true)--> allowed --stop/revoke--> (gone)
 *        pending --decision(false)-> refused (kept for the page to say so)
 *   in:  pending --decide(true)----> allowed --stop/revoke--> (gone)
 *        pending --decide(false)---> (gone)
 */

/** @typedef {import('../types/wire.js').ConsentMessage} ConsentMessage */
/** @typedef {import('../types/wire.js').Capability} Capability */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */

/**
 * @typedef {object} ConsentRequest
 * @property {ParticipantId} peer the other end
 * @property {'out' | 'in'} dir out: we asked; in: they asked, we decide
 * @property {number} id request id (the requester's)
 * @property {Capability} capability
 * @property {Surface} surface the whole desktop or one application window: from
 *   the capability for `view_*` / `control_*`; for `share_*`, which the requester
 *   chose (this page's own note: the wire does not say, so incoming ones are `desktop`)
 * @property {'pending' | 'allowed' | 'refused'} status
 */

/** @typedef {'desktop' | 'application'} Surface */

/**
 * @typedef {object} ConsentBook
 * @property {number} nextId our next request id
 * @property {ConsentRequest[]} requests
 */

/**
 * What happened, for the shell to act on (start or stop sharing, show a prompt).
 * @typedef {{ kind: 'prompt', request: ConsentRequest }
 *   | { kind: 'allowed', request: ConsentRequest }
 *   | { kind: 'refused', request: ConsentRequest }
 *   | { kind: 'ended', request: ConsentRequest, by: 'peer' | 'us' }
 *   | null} ConsentEvent
 */

/** @returns {ConsentBook} */
export function emptyBook() {
  return { nextId: 1, requests: [] };
}

/**
 * Whether the approving side sends the screen once allowed (`view_*`, `control_*`);
 * otherwise the requester does (`share_*`). Mirrors `Capability::approver_sends_screen`.
 * @param {Capability} capability
 */
export function approverSendsScreen(capability) {
  return capability !== "share_view" && capability !== "share_control";
}

/**
 * Whether the capability is about control: the requester controls the
 * approver (`control_*`) or the approver controls the requester (`share_control`).
 * @param {Capability} capability
 */
export function grantsControl(capability) {
  return capability === "control_desktop" || capability === "control_application" || capability === "share_control";
}

/**
 * The surface a capability names, `desktop` for `share_*` unless told otherwise.
 * @param {Capability} capability
 * @param {Surface} [share] for `share_*`: what the requester shares
 * @returns {Surface}
 */
export function surfaceOf(capability, share = "desktop") {
  if (capability === "view_application" || capability === "control_application") return "application";
  if (capability === "share_view" || capability === "share_control") return share;
  return "desktop";
}

/**
 * The participants this side may send control input to now: those who
 * allowed our `control_*` request, and those whose `share_control` we allowed.
 * @param {ConsentBook} book
 * @returns {Set<ParticipantId>}
 */
export function controlTargets(book) {
  const targets = new Set();
  for (const r of book.requests) {
    if (r.status !== "allowed") continue;
    const ours = r.dir === "out" && (r.capability === "control_desktop" || r.capability === "control_application");
    const theirs = r.dir === "in" && r.capability === "share_control";
    if (ours || theirs) targets.add(r.peer);
  }
  return targets;
}

/**
 * Whether `peer` may show us its screen now: it allowed our `view_*` or
 * `control_*` request, or we allowed its `share_*`. A screen track from a
 * peer without such a grant shows nothing the person asked to see (a native
 * peer keeps its track and only stops sending when consent ends).
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 */
export function showsUsScreen(book, peer) {
  return book.requests.some((r) => r.peer === peer && r.status === "allowed" && (r.dir === "out" ? ASKED_SCREEN : OFFERED_SCREEN).has(r.capability));
}

// Named one by one rather than "not share_*": capabilities about other things may come.
/** What we ask a peer for that has it send us its screen once allowed. */
const ASKED_SCREEN = new Set(["view_desktop", "control_desktop", "view_application", "control_application"]);
/** What a peer offers that has it send us its screen once we allow it. */
const OFFERED_SCREEN = new Set(["share_view", "share_control"]);

/**
 * A live (pending or allowed) request of ours, by peer, capability and surface.
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {Capability} capability
 * @param {Surface} surface
 */
export function liveRequest(book, peer, capability, surface) {
  return book.requests.find((r) => r.peer === peer && r.dir === "out" && r.capability === capability && r.surface === surface && r.status !== "refused") ?? null;
}

/**
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {'out' | 'in'} dir
 * @param {number} id
 */
export function findRequest(book, peer, dir, id) {
  return book.requests.find((r) => r.peer === peer && r.dir === dir && r.id === id) ?? null;
}

/**
 * We ask `peer` for `capability`.
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {Capability} capability
 * @param {Surface} [share] for `share_*`: the desktop (default) or one application window
 * @returns {{ book: ConsentBook, request: ConsentRequest, msg: ConsentMessage }}
 */
export function ask(book, peer, capability, share = "desktop") {
  const surface = surfaceOf(capability, share);
  /** @type {ConsentRequest} */
  const request = { peer, dir: "out", id: book.nextId, capability, surface, status: "pending" };
  // Earlier refusals of the same kind from the same peer are replaced by the new question.
  const kept = book.requests.filter(
    (r) => !(r.peer === peer && r.dir === "out" && r.capability === capability && r.surface === surface && r.status === "refused"),
  );
  return {
    book: { nextId: (book.nextId % 0xffffffff) + 1, requests: [...kept, request] },
    request,
    msg: { type: "request", request_id: request.id, capability },
  };
}

/**
 * A message from `peer` on the consent channel.
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {ConsentMessage} msg
 * @returns {{ book: ConsentBook, event: ConsentEvent }}
 */
export function receive(book, peer, msg) {
  switch (msg.type) {
    case "request": {
      // A live id asked again is a protocol error: ignored.
      if (findRequest(book, peer, "in", msg.request_id)) return { book, event: null };
      /** @type {ConsentRequest} */
      const request = { peer, dir: "in", id: msg.request_id, capability: msg.capability, surface: surfaceOf(msg.capability), status: "pending" };
      return { book: { ...book, requests: [...book.requests, request] }, event: { kind: "prompt", request } };
    }
    case "decision": {
      const r = findRequest(book, peer, "out", msg.request_id);
      if (!r || r.status !== "pending") return { book, event: null };
      /** @type {ConsentRequest} */
      const next = { ...r, status: msg.allowed ? "allowed" : "refused" };
      return { book: replace(book, r, next), event: msg.allowed ? { kind: "allowed", request: next } : { kind: "refused", request: next } };
    }
    case "stop":
    case "revoke": {
      // stop comes from the requester (our incoming request), revoke from the approver (our outgoing one).
      const r = findRequest(book, peer, msg.type === "stop" ? "in" : "out", msg.request_id);
      if (!r || r.status === "refused") return { book, event: null };
      return { book: remove(book, r), event: { kind: "ended", request: r, by: "peer" } };
    }
  }
  return { book, event: null };
}

/**
 * We answer a request `peer` made.
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {number} id
 * @param {boolean} allowed
 * @returns {{ book: ConsentBook, msg: ConsentMessage | null, request: ConsentRequest | null }}
 */
export function decide(book, peer, id, allowed) {
  const r = findRequest(book, peer, "in", id);
  if (!r || r.status !== "pending") return { book, msg: null, request: null };
  const next = { ...r, status: /** @type {const} */ ("allowed") };
  return {
    book: allowed ? replace(book, r, next) : remove(book, r),
    msg: { type: "decision", request_id: id, allowed },
    request: allowed ? next : r,
  };
}

/**
 * We end a request: as requester (`stop`) or as approver (`revoke`).
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @param {'out' | 'in'} dir
 * @param {number} id
 * @returns {{ book: ConsentBook, msg: ConsentMessage | null, request: ConsentRequest | null }}
 */
export function end(book, peer, dir, id) {
  const r = findRequest(book, peer, dir, id);
  if (!r) return { book, msg: null, request: null };
  // A refusal only needs forgetting; anything live tells the other side.
  const msg = r.status === "refused" ? null : /** @type {ConsentMessage} */ ({ type: dir === "out" ? "stop" : "revoke", request_id: id });
  return { book: remove(book, r), msg, request: r };
}

/**
 * The peer is gone (connection closed, left): all its requests end.
 * @param {ConsentBook} book
 * @param {ParticipantId} peer
 * @returns {{ book: ConsentBook, ended: ConsentRequest[] }}
 */
export function forgetPeer(book, peer) {
  const ended = book.requests.filter((r) => r.peer === peer);
  return { book: { ...book, requests: book.requests.filter((r) => r.peer !== peer) }, ended };
}

/** @param {ConsentBook} book @param {ConsentRequest} old @param {ConsentRequest} next */
function replace(book, old, next) {
  return { ...book, requests: book.requests.map((r) => (r === old ? next : r)) };
}

/** @param {ConsentBook} book @param {ConsentRequest} gone */
function remove(book, gone) {
  return { ...book, requests: book.requests.filter((r) => r !== gone) };
}
