// What the pages say about each consent request: every capability, both
// directions, every status has a line, and the end button names what ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { promptKey, statusKey, stopKey } from "../../../web/js/consent-text.js";
import { surfaceOf } from "../../../web/js/consent-state.js";
import { CAPABILITIES } from "../../../web/js/channel-codec.js";
import en from "../../../web/js/catalogs/en.js";

const req = (dir, capability, status, surface = surfaceOf(capability)) => ({ peer: "p", dir, id: 1, capability, surface, status });

test("every request has a line and every live one an end button, all in the catalog", () => {
  for (const capability of CAPABILITIES) {
    assert.ok(promptKey(capability) in en, capability);
    for (const dir of ["out", "in"]) {
      for (const status of ["pending", "allowed", "refused"]) {
        for (const surface of ["desktop", "application"]) {
          const r = req(dir, capability, status, surface);
          assert.ok(statusKey(r) in en, `${dir} ${capability} ${status} ${surface}`);
          const stop = stopKey(r);
          if (status === "refused") assert.equal(stop, null);
          else assert.ok(stop && stop in en);
        }
      }
    }
  }
});

test("the words match who shows, who controls and what is waited for", () => {
  assert.equal(promptKey("share_control"), "consent.ask_share_control");
  assert.equal(promptKey("view_application"), "consent.ask_view_application");
  assert.equal(promptKey("view_desktop"), "consent.ask_view_desktop");
  assert.equal(statusKey(req("out", "view_desktop", "pending")), "consent.waiting_view");
  assert.equal(statusKey(req("out", "control_desktop", "allowed")), "consent.controlling_theirs");
  assert.equal(statusKey(req("out", "control_desktop", "refused")), "consent.refused_control");
  assert.equal(statusKey(req("out", "control_application", "refused")), "consent.refused_control");
  assert.equal(statusKey(req("out", "share_view", "refused")), "consent.refused");
  assert.equal(statusKey(req("out", "share_view", "pending", "application")), "consent.waiting_share_app");
  assert.equal(statusKey(req("out", "share_control", "allowed")), "consent.they_control_yours");
  assert.equal(statusKey(req("in", "share_control", "allowed")), "consent.you_control_theirs");
  assert.equal(statusKey(req("in", "view_desktop", "allowed")), "consent.showing_yours");
  assert.equal(statusKey(req("in", "share_view", "allowed")), "consent.viewing_theirs");
  assert.equal(stopKey(req("out", "view_desktop", "allowed")), "consent.stop_viewing");
  assert.equal(stopKey(req("in", "view_desktop", "allowed")), "consent.stop_sharing");
  assert.equal(stopKey(req("out", "share_view", "allowed")), "consent.stop_sharing");
  assert.equal(stopKey(req("in", "share_view", "allowed")), "consent.stop_viewing");
  assert.equal(stopKey(req("in", "share_control", "allowed")), "consent.stop_control");
  assert.equal(stopKey(req("out", "control_desktop", "pending")), "consent.cancel");
});
