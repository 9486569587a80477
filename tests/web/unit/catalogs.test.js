// Catalog completeness: every catalog has exactly the English keys, with the
// same placeholders; every key the HTML pages use exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LANGUAGES, pickLanguage, translator } from "../../../web/js/i18n.js";
import en from "../../../web/js/catalogs/en.js";

const webDir = fileURLToPath(new URL("../../../web/", import.meta.url));
const placeholders = (/** @type {string} */ s) => [...s.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();

test("the six languages of the spec are there", () => {
  assert.deepEqual(LANGUAGES.map((l) => l.tag), ["en", "fr", "ro", "nl", "sr-Latn", "pt"]);
});

for (const { tag, catalog } of LANGUAGES) {
  test(`catalog ${tag} has every key, no extra key, same placeholders`, () => {
    const missing = Object.keys(en).filter((k) => !(k in catalog));
    const extra = Object.keys(catalog).filter((k) => !(k in en));
    assert.deepEqual(missing, [], `${tag} misses keys`);
    assert.deepEqual(extra, [], `${tag} has keys English does not`);
    for (const [key, text] of Object.entries(catalog)) {
      assert.equal(typeof text, "string", `${tag} ${key}`);
      assert.ok(text.trim().length > 0, `${tag} ${key} is empty`);
      assert.deepEqual(placeholders(text), placeholders(en[/** @type {keyof typeof en} */ (key)]), `${tag} ${key} placeholders`);
    }
  });
}

test("non-English catalogs are translated, not copies of English", () => {
  for (const { tag, catalog } of LANGUAGES.filter((l) => l.tag !== "en")) {
    const same = Object.keys(en).filter((k) => catalog[k] === en[k] && !/\{|^Tandem$|^Chat$|^Session|Console|Participants|Assistant|Message|Desktop/.test(en[k]));
    assert.ok(same.length <= 3, `${tag} leaves these in English: ${same.join(", ")}`);
  }
});

test("every data-i18n key used in the HTML pages exists", () => {
  const pages = readdirSync(webDir).filter((f) => f.endsWith(".html"));
  assert.ok(pages.length >= 2, "dashboard and join page");
  for (const page of pages) {
    const html = readFileSync(webDir + page, "utf8");
    const keys = [
      ...[...html.matchAll(/data-i18n="([^"]+)"/g)].map((m) => m[1]),
      ...[...html.matchAll(/data-i18n-attr="([^"]+)"/g)].flatMap((m) => m[1].split(";").map((p) => p.split(":")[1].trim())),
    ];
    for (const key of keys) assert.ok(key in en, `${page} uses unknown key ${key}`);
  }
});

test("language choice: stored choice, exact tag, primary language, English", () => {
  assert.equal(pickLanguage(["de-DE", "fr-CA", "en"]), "fr");
  assert.equal(pickLanguage(["pt-BR"]), "pt");
  assert.equal(pickLanguage(["sr"]), "sr-Latn");
  assert.equal(pickLanguage(["sr-latn-RS"]), "sr-Latn");
  assert.equal(pickLanguage(["nl-BE"], "ro"), "ro");
  assert.equal(pickLanguage(["nl-BE"], "xx"), "nl");
  assert.equal(pickLanguage(["de", "ja"]), "en");
  assert.equal(pickLanguage([]), "en");
});

test("translator fills placeholders in the chosen language", () => {
  assert.equal(translator("fr")("session.details", { number: "123 456 789" }), "Session 123 456 789");
  assert.equal(translator("nl")("lobby.admit_named", { name: "Ann" }), "Ann toelaten");
  assert.equal(translator("zz")("join.submit"), "Join");
});
