// @ts-check
/**
 * Message catalogs and language choice. Every UI string comes from a catalog;
 * English (`catalogs/en.js`) is the reference, the others must have exactly
 * its keys (tests/web/unit/catalogs.test.js).
 *
 * HTML marks translatable text with `data-i18n="key"` (sets textContent) and
 * attributes with `data-i18n-attr="attr:key;attr:key"`.
 */

import en from "./catalogs/en.js";
import fr from "./catalogs/fr.js";
import ro from "./catalogs/ro.js";
import nl from "./catalogs/nl.js";
import srLatn from "./catalogs/sr-Latn.js";
import pt from "./catalogs/pt.js";
import { fill } from "./format.js";

/** @typedef {keyof typeof en} MessageKey */
/** @typedef {Record<MessageKey, string>} Catalog */
/** @typedef {(key: MessageKey, params?: Record<string, string | number>) => string} Translate */

/** @type {ReadonlyArray<{ tag: string, name: string, catalog: Catalog }>} */
export const LANGUAGES = [
  { tag: "en", name: "English", catalog: en },
  { tag: "fr", name: "Français", catalog: fr },
  { tag: "ro", name: "Română", catalog: ro },
  { tag: "nl", name: "Nederlands", catalog: nl },
  { tag: "sr-Latn", name: "Srpski (latinica)", catalog: srLatn },
  { tag: "pt", name: "Português", catalog: pt },
];

export const DEFAULT_LANGUAGE = "en";

/**
 * Picks the catalog for the user's preferred languages (`navigator.languages`,
 * best first). A stored explicit choice wins. Matches the whole tag first
 * (`sr-Latn`), then the primary language (`pt-BR` → `pt`, `sr` → `sr-Latn`).
 * @param {readonly string[]} preferred
 * @param {string | null} [stored]
 * @returns {string} a tag from LANGUAGES
 */
export function pickLanguage(preferred, stored = null) {
  const tags = LANGUAGES.map((l) => l.tag);
  if (stored && tags.includes(stored)) return stored;
  for (const wanted of preferred) {
    const lower = wanted.toLowerCase();
    const exact = tags.find((t) => t.toLowerCase() === lower);
    if (exact) return exact;
    const primary = lower.split("-")[0];
    // Serbian in Cyrillic script is not translated yet; Latin is readable by the same users.
    const byPrimary = tags.find((t) => t.toLowerCase().split("-")[0] === primary);
    if (byPrimary) return byPrimary;
  }
  return DEFAULT_LANGUAGE;
}

/**
 * A translator for one language; falls back to English for a missing key
 * (which the catalog test forbids, but a page must still show something).
 * @param {string} tag
 * @returns {Translate}
 */
export function translator(tag) {
  const catalog = LANGUAGES.find((l) => l.tag === tag)?.catalog ?? en;
  return (key, params) => fill(catalog[key] ?? en[key] ?? key, params);
}

/**
 * Whether `key` is a message key (for keys read from HTML attributes).
 * @param {string} key
 * @returns {key is MessageKey}
 */
export function isMessageKey(key) {
  return Object.prototype.hasOwnProperty.call(en, key);
}

/**
 * Translates the static text of a page: elements with `data-i18n` get their
 * textContent, `data-i18n-attr` lists `attribute:key` pairs.
 * @param {ParentNode} root
 * @param {Translate} t
 */
export function translatePage(root, t) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    const key = el.getAttribute("data-i18n") ?? "";
    if (isMessageKey(key)) el.textContent = t(key);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of (el.getAttribute("data-i18n-attr") ?? "").split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key && isMessageKey(key)) el.setAttribute(attr, t(key));
    }
  }
}
