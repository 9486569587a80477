// @ts-check
/**
 * Which network path a peer connection takes (NET-2), as pure functions:
 * - `pathFromStats` reads the selected ICE candidate pair out of a
 *   `getStats()` report (W3C webrtc-stats: `transport.selectedCandidatePairId`,
 *   https://www.w3.org/TR/webrtc-stats/#dom-rtctransportstats-selectedcandidatepairid;
 *   `candidateType`, `protocol` and `relayProtocol` of the candidates,
 *   https://www.w3.org/TR/webrtc-stats/#icecandidate-dict*) and turns it into
 *   the fields of the `path_report` message (docs/protocol.md);
 * - `describeLink` chooses the catalog text a dashboard shows for the link
 *   between two participants, from the `path_reported` messages of both ends.
 * peers.js feeds the first one and sends the reports; views.js shows the second.
 */

/** @typedef {import('../types/wire.js').CandidateType} CandidateType */
/** @typedef {import('../types/wire.js').PathProtocol} PathProtocol */
/** @typedef {import('../types/wire.js').ParticipantId} ParticipantId */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */

/**
 * The selected candidate pair as `path_report` carries it: the candidate
 * types of both ends, and how the local end sends (for a relay candidate:
 * how it reaches the relay).
 * @typedef {{ local: CandidateType, remote: CandidateType, protocol: PathProtocol }} Path
 */

/**
 * One known path (`path_reported`): participant `from`'s connection with `with`.
 * @typedef {Path & { from: ParticipantId, with: ParticipantId }} ReportedPath
 */

/** @type {ReadonlyArray<CandidateType>} */
const CANDIDATE_TYPES = ["host", "srflx", "prflx", "relay"];
/** @type {ReadonlyArray<PathProtocol>} transports of a non-relay candidate */
const CANDIDATE_PROTOCOLS = ["udp", "tcp"];
/** @type {ReadonlyArray<PathProtocol>} how a relay candidate reaches its TURN server */
const RELAY_PROTOCOLS = ["udp", "tcp", "tls"];

/**
 * The selected candidate pair of a connection, or null when there is none
 * yet or a field is missing or unknown. Takes the pair the `transport` stats
 * name; without one (older browsers), a `candidate-pair` that is `selected`,
 * or else nominated and `succeeded`.
 * @param {ReadonlyMap<string, any>} stats a `getStats()` report (stats by id)
 * @returns {Path | null}
 */
export function pathFromStats(stats) {
  const pair = selectedPair(stats);
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  if (!local || !remote) return null;
  const localType = candidateType(local.candidateType);
  const remoteType = candidateType(remote.candidateType);
  if (!localType || !remoteType) return null;
  const protocol =
    localType === "relay"
      ? RELAY_PROTOCOLS.find((p) => p === local.relayProtocol)
      : CANDIDATE_PROTOCOLS.find((p) => p === local.protocol);
  return protocol ? { local: localType, remote: remoteType, protocol } : null;
}

/**
 * Two paths are the same report.
 * @param {Path | null} a
 * @param {Path | null} b
 */
export function samePath(a, b) {
  return a === b || (!!a && !!b && a.local === b.local && a.remote === b.remote && a.protocol === b.protocol);
}

/**
 * What to show for the link between participant `self` and participant
 * `other`: "relayed via TURN" (with how the relayed end reaches the relay,
 * when known), "through NAT" (server or peer reflexive) or "direct" (host to
 * host). The other end's own report comes first (it knows its side); ours
 * fills in what it does not say. Null before either end reported.
 * @param {ReadonlyArray<ReportedPath>} paths
 * @param {ParticipantId} self
 * @param {ParticipantId} other
 * @returns {{ key: MessageKey, params: Record<string, string> } | null}
 */
export function describeLink(paths, self, other) {
  const theirs = paths.find((p) => p.from === other && p.with === self);
  const mine = paths.find((p) => p.from === self && p.with === other);
  if (!theirs && !mine) return null;
  // Each end: its candidate type, and its protocol if it reported itself.
  const far = theirs ? { type: theirs.local, protocol: theirs.protocol } : { type: mine?.remote, protocol: null };
  const near = mine ? { type: mine.local, protocol: mine.protocol } : { type: theirs?.remote, protocol: null };
  const relayed = [far, near].filter((end) => end.type === "relay");
  if (relayed.length > 0) {
    const protocol = relayed.find((end) => end.protocol)?.protocol;
    return protocol ? { key: "path.relayed", params: { protocol } } : { key: "path.relayed_unknown", params: {} };
  }
  const natted = [far, near].find((end) => end.type === "srflx" || end.type === "prflx");
  if (natted?.type) return { key: "path.nat", params: { type: natted.type } };
  // One end reported, so one protocol is known.
  const protocol = far.protocol ?? near.protocol ?? "udp";
  return { key: "path.direct", params: { protocol } };
}

/**
 * @param {ReadonlyMap<string, any>} stats
 * @returns {any} the selected `candidate-pair` stats, or undefined
 */
function selectedPair(stats) {
  for (const s of stats.values()) {
    if (s?.type === "transport" && typeof s.selectedCandidatePairId === "string") {
      const pair = stats.get(s.selectedCandidatePairId);
      if (pair?.type === "candidate-pair") return pair;
    }
  }
  const pairs = [...stats.values()].filter((s) => s?.type === "candidate-pair");
  return pairs.find((p) => p.selected === true) ?? pairs.find((p) => p.nominated === true && p.state === "succeeded");
}

/**
 * @param {unknown} value
 * @returns {CandidateType | undefined}
 */
function candidateType(value) {
  return CANDIDATE_TYPES.find((t) => t === value);
}
