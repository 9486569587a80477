import { test } from "node:test";
import assert from "node:assert/strict";
import { fill, groupNumber, mailtoLink, parseJoinLocation, parseSessionNumber, siteAddress } from "../../../web/js/format.js";

test("session numbers: nine digits, spaces and dashes allowed between them", () => {
  assert.equal(parseSessionNumber("571700568"), "571700568");
  assert.equal(parseSessionNumber(" 571 700 568 "), "571700568");
  assert.equal(parseSessionNumber("571-700-568"), "571700568");
  assert.equal(parseSessionNumber("57170056"), null);
  assert.equal(parseSessionNumber("5717005681"), null);
  assert.equal(parseSessionNumber("071700568"), null, "the first digit is never 0");
  assert.equal(parseSessionNumber("57170056x"), null);
  assert.equal(parseSessionNumber(""), null);
});

test("numbers are grouped for reading out", () => {
  assert.equal(groupNumber("123456789"), "123 456 789");
});

test("join location: number from the path, invite token from the fragment", () => {
  assert.deepEqual(parseJoinLocation("/join/571700568", "#invite=4VTM-f9eYgusIGpHx6SdZg"), {
    number: "571700568",
    inviteToken: "4VTM-f9eYgusIGpHx6SdZg",
  });
  assert.deepEqual(parseJoinLocation("/join/571700568", ""), { number: "571700568", inviteToken: null });
  assert.deepEqual(parseJoinLocation("/join.html", ""), { number: null, inviteToken: null });
  assert.deepEqual(parseJoinLocation("/join/12", "#invite=short"), { number: null, inviteToken: null });
  assert.equal(parseJoinLocation("/join/571700568", "#invite=<script>alert(1)</script>").inviteToken, null);
});

test("mailto: subject and body are percent-encoded with CRLF line breaks (RFC 6068)", () => {
  const link = mailtoLink({ subject: "Your session & more", body: "Hello,\nline 2 ?x=1" });
  assert.equal(link, "mailto:?subject=Your%20session%20%26%20more&body=Hello%2C%0D%0Aline%202%20%3Fx%3D1");
});

test("site address drops the scheme; placeholders are filled, unknown ones kept", () => {
  assert.equal(siteAddress("https://support.example.com"), "support.example.com");
  assert.equal(fill("{a} and {b}", { a: "x" }), "x and {b}");
  assert.equal(fill("{n}", { n: 3 }), "3");
});

test("byte counts and durations for people", async () => {
  const { formatBytes, formatDuration } = await import("../../../web/js/format.js");
  const t = (/** @type {string} */ key, /** @type {Record<string, string>} */ p) => `${p.n} ${key.slice(5)}`;
  assert.equal(formatBytes(0, t), "0 b");
  assert.equal(formatBytes(999, t), "999 b");
  assert.equal(formatBytes(52_428_800, t), "52.4 mb");
  assert.equal(formatBytes(150_000_000, t), "150 mb");
  assert.equal(formatBytes(1_073_741_824, t), "1.1 gb");
  assert.equal(formatBytes(5e15, t), "5000000 gb");
  assert.equal(formatDuration(0.2), "1 s");
  assert.equal(formatDuration(185), "3 min 5 s");
  assert.equal(formatDuration(3720), "1 h 2 min");
});
