// @ts-check
/**
 * The files panel (TOOL-4): publish files (if the page has #files-publish),
 * the published list, files others offer with Download, progress (bytes,
 * speed, time left) and the SHA-256 check. File names are text nodes.
 */

import { byId, el } from "./dom.js";
import { formatBytes, formatDuration } from "./format.js";
import { nameOf } from "./session-state.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./session-runtime.js').Runtime} Runtime */

/**
 * @param {Runtime} runtime
 * @param {() => Translate} currentT
 */
export function filesPanel(runtime, currentT) {
  const input = document.getElementById("files-publish");
  const published = document.getElementById("files-published");
  const offered = byId("files-offered", HTMLUListElement);
  const files = runtime.files;
  if (input instanceof HTMLInputElement) {
    input.addEventListener("change", () => {
      if (input.files) files.publish([...input.files]);
      input.value = "";
    });
  }
  /** @type {Map<string, HTMLLIElement>} rows kept between renders so focus and progress stay put */
  const rows = new Map();

  /** @param {SessionState} state */
  return function render(state) {
    const t = currentT();
    const size = (/** @type {number} */ n) => formatBytes(n, t);
    if (published instanceof HTMLUListElement) {
      const mine = files.published();
      published.replaceChildren(
        ...(mine.length === 0
          ? [el("li", { class: "empty" }, t("files.none_published"))]
          : mine.map((f) => {
              const withdraw = el("button", { type: "button", class: "secondary", "aria-label": t("files.withdraw_named", { name: f.name }) }, t("files.withdraw"));
              withdraw.addEventListener("click", () => files.withdraw(f.file_id));
              return el("li", { "data-file": String(f.file_id) }, el("span", { class: "file-name" }, f.name), " ", el("span", { class: "file-size" }, size(f.size)), " ", withdraw);
            })),
      );
    }

    const list = files.offered();
    const keys = new Set(list.map(({ from, entry }) => `${from}:${entry.file_id}`));
    for (const k of [...rows.keys()]) if (!keys.has(k)) rows.delete(k);
    if (list.length === 0) {
      offered.replaceChildren(el("li", { class: "empty" }, t("files.none_offered")));
      return;
    }
    offered.replaceChildren(
      ...list.map(({ from, entry }) => {
        const k = `${from}:${entry.file_id}`;
        let row = rows.get(k);
        if (!row) {
          const button = el("button", { type: "button", class: "download", "aria-label": t("files.download_named", { name: entry.name }) }, t("files.download"));
          button.addEventListener("click", () => {
            const d = files.downloads.get(k);
            if (d?.status === "running") files.cancel(from, entry.file_id);
            else void files.download(from, entry.file_id);
          });
          const bar = el("progress", { max: String(Math.max(entry.size, 1)), value: "0", "aria-label": t("files.progress_named", { name: entry.name }) });
          row = el(
            "li",
            { "data-file": k },
            el("span", { class: "file-name" }, entry.name),
            " ",
            el("span", { class: "file-size" }, size(entry.size)),
            " ",
            el("span", { class: "file-from" }, ""),
            " ",
            button,
            el("div", { class: "file-progress", hidden: true }, bar, " ", el("span", { class: "file-status", role: "status" }, "")),
          );
          rows.set(k, row);
        }
        const from_ = row.querySelector(".file-from");
        if (from_) from_.textContent = t("files.from", { name: nameOf(state, from) ?? "" });
        const d = files.downloads.get(k);
        const button = /** @type {HTMLButtonElement} */ (row.querySelector("button.download"));
        const progress = /** @type {HTMLElement} */ (row.querySelector(".file-progress"));
        const bar = /** @type {HTMLProgressElement} */ (row.querySelector("progress"));
        const status = /** @type {HTMLElement} */ (row.querySelector(".file-status"));
        button.textContent = d?.status === "running" ? t("files.cancel") : t("files.download");
        button.setAttribute("aria-label", t(d?.status === "running" ? "files.cancel_named" : "files.download_named", { name: entry.name }));
        progress.hidden = !d;
        row.querySelector("a.save")?.remove();
        if (d) {
          bar.value = d.bytes;
          const s = files.stats(d);
          if (d.status === "running") {
            status.textContent = t("files.progress", {
              done: size(d.bytes),
              total: size(entry.size),
              speed: size(Math.round(s.bytesPerSec)),
              eta: s.etaSecs === null ? "…" : formatDuration(s.etaSecs),
            });
          } else if (d.status === "done") {
            status.textContent = t("files.verified", { sha: (d.sha256 ?? "").slice(0, 16) });
            const save = el("a", { class: "save", href: d.url ?? "", download: entry.name }, t("files.save"));
            save.setAttribute("aria-label", t("files.save_named", { name: entry.name }));
            progress.append(" ", save);
          } else if (d.status === "cancelled") {
            status.textContent = t("files.cancelled");
          } else {
            status.textContent = d.error === "hash_mismatch" ? t("files.hash_mismatch") : t("files.failed");
          }
          row.dataset.status = d.status;
          row.dataset.progressEvents = String(d.progressEvents);
          row.dataset.storage = d.storage ?? "";
        }
        return row;
      }),
    );
  };
}
