// @ts-check
/**
 * Small DOM helpers. Text always goes in through textContent (text nodes),
 * never innerHTML: names, chat lines and file names come from other people.
 */

import { LANGUAGES, pickLanguage, translatePage, translator } from "./i18n.js";

/**
 * Creates an element with attributes and text/element children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean>} [attrs] `true` sets an empty attribute, `false` omits it
 * @param {...(Node | string)} children strings become text nodes
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) node.setAttribute(name, "");
    else if (value !== false) node.setAttribute(name, value);
  }
  for (const c of children) node.append(typeof c === "string" ? document.createTextNode(c) : c);
  return node;
}

/**
 * The element with this id, of the expected type; throws when the page lacks it.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`page has no #${id} of the expected type`);
  return node;
}

/**
 * Shows exactly one of the views (elements with `data-view`).
 * @param {string} name
 */
export function showView(name) {
  for (const v of document.querySelectorAll("[data-view]")) {
    if (v instanceof HTMLElement) v.hidden = v.dataset.view !== name;
  }
}

const LANG_STORAGE_KEY = "tandem.lang";

/**
 * Sets up the language switcher (`<select id="lang">`): picks the language
 * from the stored choice or `navigator.languages`, translates the page, and
 * calls `onChange` with the new translator when the user switches.
 * @param {(t: import('./i18n.js').Translate, tag: string) => void} onChange
 * @returns {{ t: import('./i18n.js').Translate, tag: string }}
 */
export function setUpLanguage(onChange) {
  const select = byId("lang", HTMLSelectElement);
  let stored = null;
  try {
    stored = localStorage.getItem(LANG_STORAGE_KEY);
  } catch {
    // Storage may be disabled; the browser's languages still apply.
  }
  const tag = pickLanguage(navigator.languages ?? [navigator.language], stored);
  for (const l of LANGUAGES) {
    select.append(el("option", { value: l.tag, lang: l.tag, selected: l.tag === tag }, l.name));
  }
  const apply = (/** @type {string} */ chosen) => {
    const t = translator(chosen);
    document.documentElement.lang = chosen;
    translatePage(document, t);
    return t;
  };
  select.addEventListener("change", () => {
    try {
      localStorage.setItem(LANG_STORAGE_KEY, select.value);
    } catch {
      // Not remembered; fine.
    }
    onChange(apply(select.value), select.value);
  });
  return { t: apply(tag), tag };
}
