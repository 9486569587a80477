// NET-2: the selected candidate pair read out of getStats() reports (shaped
// as Chromium and Firefox give them), and the text a dashboard shows for a link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeLink, pathFromStats, samePath } from "../../../web/js/network-path.js";

/** A stats report (RTCStatsReport is a read-only map of stats by id). */
const report = (/** @type {any[]} */ stats) => new Map(stats.map((s) => [s.id, s]));
const local = (/** @type {any} */ fields) => ({ id: "L1", type: "local-candidate", candidateType: "host", protocol: "udp", ...fields });
const remote = (/** @type {any} */ fields) => ({ id: "R1", type: "remote-candidate", candidateType: "host", protocol: "udp", ...fields });
const pair = (/** @type {any} */ fields) => ({ id: "P1", type: "candidate-pair", localCandidateId: "L1", remoteCandidateId: "R1", state: "succeeded", nominated: true, ...fields });
const transport = { id: "T1", type: "transport", selectedCandidatePairId: "P1", dtlsState: "connected" };

test("host to host over UDP, through the transport's selected pair", () => {
  assert.deepEqual(pathFromStats(report([transport, pair({}), local({}), remote({})])), { local: "host", remote: "host", protocol: "udp" });
});

test("the transport's pair wins over other succeeded, nominated pairs", () => {
  const stats = report([
    transport,
    pair({ id: "P0", localCandidateId: "L0", remoteCandidateId: "R1" }),
    local({ id: "L0", candidateType: "relay", relayProtocol: "udp" }),
    pair({}),
    local({ candidateType: "srflx" }),
    remote({ candidateType: "prflx" }),
  ]);
  assert.deepEqual(pathFromStats(stats), { local: "srflx", remote: "prflx", protocol: "udp" });
});

test("relay: the protocol is how we reach the relay (relayProtocol), not the candidate's transport", () => {
  for (const relayProtocol of ["udp", "tcp", "tls"]) {
    const stats = report([transport, pair({}), local({ candidateType: "relay", protocol: "udp", relayProtocol }), remote({ candidateType: "srflx" })]);
    assert.deepEqual(pathFromStats(stats), { local: "relay", remote: "srflx", protocol: relayProtocol });
  }
});

test("a host candidate over TCP; prflx on either end", () => {
  assert.deepEqual(pathFromStats(report([transport, pair({}), local({ protocol: "tcp" }), remote({ candidateType: "prflx", protocol: "tcp" })])), {
    local: "host",
    remote: "prflx",
    protocol: "tcp",
  });
  assert.deepEqual(pathFromStats(report([transport, pair({}), local({ candidateType: "prflx" }), remote({})])), { local: "prflx", remote: "host", protocol: "udp" });
});

test("without a transport's selected pair: the `selected` pair (Firefox), else nominated and succeeded", () => {
  const firefox = report([
    pair({ id: "P0", localCandidateId: "L0", selected: false, nominated: true }),
    local({ id: "L0", candidateType: "relay", relayProtocol: "tls" }),
    pair({ selected: true, nominated: false }),
    local({ candidateType: "srflx" }),
    remote({}),
  ]);
  assert.deepEqual(pathFromStats(firefox), { local: "srflx", remote: "host", protocol: "udp" });
  const nominated = report([
    pair({ id: "P0", localCandidateId: "L0", state: "in-progress" }),
    local({ id: "L0", candidateType: "relay", relayProtocol: "tls" }),
    pair({}),
    local({}),
    remote({}),
  ]);
  assert.deepEqual(pathFromStats(nominated), { local: "host", remote: "host", protocol: "udp" });
});

test("no pair selected yet, or a field missing or unknown: no report", () => {
  const cases = {
    "empty report": [],
    "transport without a pair, no pair succeeded": [{ ...transport, selectedCandidatePairId: undefined }, pair({ state: "in-progress" }), local({}), remote({})],
    "pair not nominated": [pair({ nominated: false }), local({}), remote({})],
    "the selected pair id names nothing": [transport, local({}), remote({})],
    "local candidate missing": [transport, pair({}), remote({})],
    "remote candidate missing": [transport, pair({}), local({})],
    "no candidateType": [transport, pair({}), local({ candidateType: undefined }), remote({})],
    "unknown candidateType": [transport, pair({}), local({}), remote({ candidateType: "mdns" })],
    "relay without relayProtocol": [transport, pair({}), local({ candidateType: "relay" }), remote({})],
    "relay with an unknown relayProtocol": [transport, pair({}), local({ candidateType: "relay", relayProtocol: "dtls" }), remote({})],
    "host without protocol": [transport, pair({}), local({ protocol: undefined }), remote({})],
    "host over TLS (only a relay leg can be TLS)": [transport, pair({}), local({ protocol: "tls" }), remote({})],
  };
  for (const [what, stats] of Object.entries(cases)) assert.equal(pathFromStats(report(stats)), null, what);
});

test("samePath compares the three fields", () => {
  const a = { local: "host", remote: "host", protocol: "udp" };
  assert.ok(samePath(/** @type {any} */ (a), /** @type {any} */ ({ ...a })));
  assert.ok(!samePath(/** @type {any} */ (a), /** @type {any} */ ({ ...a, protocol: "tcp" })));
  assert.ok(!samePath(/** @type {any} */ (a), null));
  assert.ok(samePath(null, null));
});

const ME = "d62a49985528fb60";
const ANN = "85c5732df9f614ba";
const WENDY = "cd2d33ea56fe99ed";
/** @returns {any} */
const reported = (/** @type {string} */ from, /** @type {string} */ to, /** @type {string} */ local, /** @type {string} */ remote, protocol = "udp") => ({ from, with: to, local, remote, protocol });

test("describeLink: direct, through NAT, relayed with the relayed end's protocol", () => {
  assert.equal(describeLink([], ME, ANN), null, "nothing reported yet");
  assert.equal(describeLink([reported(ANN, WENDY, "relay", "host")], ME, ANN), null, "a link between two others");
  assert.deepEqual(describeLink([reported(ANN, ME, "host", "host")], ME, ANN), { key: "path.direct", params: { protocol: "udp" } });
  assert.deepEqual(describeLink([reported(ME, ANN, "host", "host", "tcp")], ME, ANN), { key: "path.direct", params: { protocol: "tcp" } });
  assert.deepEqual(describeLink([reported(ANN, ME, "srflx", "host")], ME, ANN), { key: "path.nat", params: { type: "srflx" } });
  assert.deepEqual(describeLink([reported(ANN, ME, "host", "prflx")], ME, ANN), { key: "path.nat", params: { type: "prflx" } });
  // The customer reaches the relay over TLS: that is what the CSR wants to know.
  assert.deepEqual(describeLink([reported(ANN, ME, "relay", "srflx", "tls")], ME, ANN), { key: "path.relayed", params: { protocol: "tls" } });
  // Our own end is relayed over TCP; Ann sees only that her peer is a relay.
  assert.deepEqual(describeLink([reported(ANN, ME, "host", "relay"), reported(ME, ANN, "relay", "host", "tcp")], ME, ANN), {
    key: "path.relayed",
    params: { protocol: "tcp" },
  });
  // Only our report, and it says Ann is relayed: how she reaches the relay is not known.
  assert.deepEqual(describeLink([reported(ME, ANN, "host", "relay")], ME, ANN), { key: "path.relayed_unknown", params: {} });
});
