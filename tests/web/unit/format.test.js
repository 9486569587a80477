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
