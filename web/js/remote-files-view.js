// @ts-check
/**
 * The dashboard's "Advanced file transfer" section (TOOL-5) and its system
 * information (TOOL-7): for the chosen customer, Request file transfer, a
 * two-pane browser (left: the customer's folders with breadcrumbs and a
 * listing of name, size, modified time and type; right: the transfers with
 * progress bars, bytes, speed and time left, Cancel and Retry), Download,
 * Upload files, Upload folder, End file transfer; and System information as
 * a definition list. Every name and value from the customer's computer goes
 * in as text (el() makes text nodes), never as HTML.
 */

import { byId, el } from "./dom.js";
import { formatBytes, formatDuration } from "./format.js";
import { isMessageKey } from "./i18n.js";
import { breadcrumbs, joinPath } from "./remote-files-codec.js";
import { admitted } from "./session-state.js";
import { reportRows } from "./system-info.js";

/** @typedef {import('./session-state.js').SessionState} SessionState */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */
/** @typedef {import('./remote-files.js').RemoteFiles} RemoteFiles */
/** @typedef {import('./remote-files.js').Transfer} Transfer */
/** @typedef {import('./remote-files.js').Host} Host */
/** @typedef {import('../types/wire.js').DirEntry} DirEntry */

/**
 * @param {RemoteFiles} remote
 * @param {() => Translate} currentT
 * @param {() => SessionState} currentState
 */
export function remoteFilesPanel(remote, currentT, currentState) {
  const target = byId("rf-target", HTMLSelectElement);
  const request = byId("rf-request", HTMLButtonElement);
  const end = byId("rf-end", HTMLButtonElement);
  const status = byId("rf-status", HTMLElement);
  const browser = byId("rf-browser", HTMLElement);
  const rootSelect = byId("rf-root", HTMLSelectElement);
  const crumbs = byId("rf-crumbs", HTMLElement);
  const listing = byId("rf-listing", HTMLTableSectionElement);
  const listNote = byId("rf-list-note", HTMLElement);
  const download = byId("rf-download", HTMLButtonElement);
  const uploadFiles = byId("rf-upload-files", HTMLInputElement);
  const uploadFolder = byId("rf-upload-folder", HTMLInputElement);
  const overwrite = byId("rf-overwrite", HTMLInputElement);
  const transfers = byId("rf-transfers", HTMLUListElement);
  const infoButton = byId("sysinfo-request", HTMLButtonElement);
  const infoStatus = byId("sysinfo-status", HTMLElement);
  const infoReport = byId("sysinfo-report", HTMLDListElement);

  /** The customer this section acts on. */
  let chosen = "";
  let optionsKey = "";
  /** The selected entry's name in the folder shown. */
  let selected = "";
  let listingKey = "";
  let infoKey = "";
  /** @type {Map<number, HTMLLIElement>} rows kept between renders so focus and progress stay put */
  const rows = new Map();

  const rerender = () => render(currentState());
  const hostOf = () => (chosen ? remote.host(chosen) : null);

  target.addEventListener("change", () => {
    chosen = target.value;
    selected = "";
    rerender();
  });
  request.addEventListener("click", () => chosen && remote.open(chosen));
  end.addEventListener("click", () => chosen && remote.close(chosen));
  infoButton.addEventListener("click", () => chosen && remote.requestSystemInfo(chosen));
  rootSelect.addEventListener("change", () => {
    selected = "";
    if (chosen) remote.list(chosen, { root: Number(rootSelect.value), path: "" });
  });

  /** Opens a folder of the listing, or selects a file. @param {DirEntry} e */
  const activate = (e) => {
    const h = hostOf();
    if (!h?.cwd) return;
    if (e.kind === "dir") {
      const path = joinPath(h.cwd.path, e.name);
      if (path === null) return;
      selected = "";
      remote.list(h.peer, { root: h.cwd.root, path });
      // Keyboard focus goes to where the new folder is named.
      crumbs.focus();
    } else {
      selected = e.name;
      rerender();
    }
  };

  download.addEventListener("click", () => {
    const h = hostOf();
    if (!h?.cwd) return;
    const entry = h.listing?.entries.find((e) => e.name === selected);
    if (entry) {
      // Links and special files too: the host follows a link that stays below the root, and refuses the rest with its code.
      const path = joinPath(h.cwd.path, entry.name);
      if (path !== null) remote.download(h.peer, { root: h.cwd.root, path }, entry.name);
    } else {
      // Nothing selected: the folder shown, whole.
      const root = h.roots.find((r) => r.root_id === h.cwd?.root);
      remote.download(h.peer, h.cwd, h.cwd.path.split("/").pop() || root?.label || "");
    }
  });

  /** @param {HTMLInputElement} input @param {boolean} folder */
  const onPick = (input, folder) => {
    input.addEventListener("change", () => {
      const h = hostOf();
      const picked = [...(input.files ?? [])];
      input.value = "";
      if (!h?.cwd || picked.length === 0) return;
      remote.upload(h.peer, h.cwd, picked.map((file) => ({ file, path: folder && file.webkitRelativePath ? file.webkitRelativePath : file.name })), overwrite.checked);
    });
  };
  onPick(uploadFiles, false);
  onPick(uploadFolder, true);

  /** @param {SessionState} state */
  function render(state) {
    const t = currentT();
    const size = (/** @type {number} */ n) => formatBytes(n, t);
    const customers = admitted(state).filter((p) => (p.role === "primary_customer" || p.role === "secondary_customer") && p.connected);
    if (!customers.some((p) => p.id === chosen)) chosen = customers[0]?.id ?? "";
    const key = JSON.stringify(customers.map((p) => [p.id, p.name]));
    if (key !== optionsKey) {
      optionsKey = key;
      target.replaceChildren(...customers.map((p) => el("option", { value: p.id }, p.name)));
    }
    target.value = chosen;
    target.disabled = customers.length === 0;
    const name = customers.find((p) => p.id === chosen)?.name ?? "";
    const h = chosen ? remote.hosts.get(chosen) ?? null : null;
    const st = h?.status ?? "none";

    request.disabled = !chosen || st === "connecting" || st === "asking" || st === "open";
    end.disabled = !(st === "asking" || st === "open");
    infoButton.disabled = !chosen || h?.info.status === "asking";
    status.dataset.status = st;
    status.textContent = !chosen ? t("desktop.no_customer") : statusText(t, h, name);

    const open = st === "open" && h !== null;
    browser.hidden = !open;
    if (open && h) renderBrowser(t, h, size);
    renderTransfers(t, chosen, size);
    renderInfo(t, h, name, size);
  }

  /** @param {Translate} t @param {Host} h @param {(n: number) => string} size */
  function renderBrowser(t, h, size) {
    const rootKey = JSON.stringify(h.roots);
    if (rootSelect.dataset.key !== rootKey) {
      rootSelect.dataset.key = rootKey;
      rootSelect.replaceChildren(...h.roots.map((r) => el("option", { value: String(r.root_id) }, r.label)));
    }
    if (h.cwd) rootSelect.value = String(h.cwd.root);
    const l = h.listing;
    const k = JSON.stringify([document.documentElement.lang, l?.listId, l?.entries.length, l?.done, l?.error]);
    const cwd = h.cwd;
    download.disabled = !cwd || !l?.done || l.error !== null;
    uploadFiles.disabled = uploadFolder.disabled = overwrite.disabled = !cwd || l?.error != null;
    const chosenEntry = l?.entries.find((e) => e.name === selected);
    download.textContent = chosenEntry ? t("rf.download_named", { name: chosenEntry.name }) : t("rf.download_folder");
    if (k !== listingKey) {
      listingKey = k;
      renderListing(t, h, size);
    }
    // Selection changes only attributes: the rows stay (focus, double-clicks). One tab stop
    // for the whole grid, on the selected row (WAI-ARIA grid pattern); arrows move between rows.
    const rowsNow = [...listing.rows];
    const current = rowsNow.find((r) => r.dataset.name === selected) ?? rowsNow[0];
    for (const row of rowsNow) {
      row.setAttribute("aria-selected", String(row.dataset.name === selected));
      row.tabIndex = row === current ? 0 : -1;
    }
  }

  /** @param {Translate} t @param {Host} h @param {(n: number) => string} size */
  function renderListing(t, h, size) {
    const l = h.listing;
    const cwd = h.cwd;
    const root = h.roots.find((r) => r.root_id === cwd?.root);
    crumbs.replaceChildren(
      ...breadcrumbs(root?.label ?? "", cwd?.path ?? "").flatMap((c, i, all) => {
        const last = i === all.length - 1;
        const b = el("button", { type: "button", class: "crumb", "aria-current": last ? "location" : false }, c.label);
        b.addEventListener("click", () => {
          selected = "";
          if (cwd) remote.list(h.peer, { root: cwd.root, path: c.path });
        });
        return i === 0 ? [b] : [el("span", { "aria-hidden": "true" }, " / "), b];
      }),
    );
    if (!l || !l.done) {
      listing.replaceChildren();
      listNote.textContent = l ? t("rf.loading") : "";
      return;
    }
    if (l.error) {
      listing.replaceChildren();
      listNote.textContent = t("rf.list_failed", { reason: reason(t, l.error) });
      return;
    }
    const entries = l.sorted();
    listNote.textContent = entries.length === 0 ? t("rf.empty") : l.unlisted > 0 ? t("rf.unlisted", { count: l.unlisted }) : "";
    listing.replaceChildren(
      ...entries.map((e) => {
        const kind = t(/** @type {MessageKey} */ (`rf.kind.${e.kind}`));
        const row = el(
          "tr",
          { tabindex: "-1", "data-name": e.name, "data-kind": e.kind, "aria-selected": "false" },
          el("td", { class: "rf-name" }, e.name),
          el("td", { class: "rf-size" }, e.kind === "dir" ? "" : size(e.size)),
          el("td", { class: "rf-modified" }, e.modified !== undefined ? new Date(e.modified).toLocaleString(document.documentElement.lang) : ""),
          el("td", { class: "rf-kind" }, kind),
        );
        row.addEventListener("click", () => {
          selected = e.name;
          rerender();
        });
        row.addEventListener("focus", () => {
          if (selected === e.name) return;
          selected = e.name;
          rerender();
        });
        row.addEventListener("dblclick", () => activate(e));
        row.addEventListener("keydown", (ev) => {
          if (ev.key === "Enter") {
            ev.preventDefault();
            activate(e);
          } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
            ev.preventDefault();
            const next = ev.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
            if (next instanceof HTMLElement) next.focus();
          } else if (ev.key === "Backspace" && cwd && cwd.path !== "") {
            ev.preventDefault();
            const up = breadcrumbs("", cwd.path);
            remote.list(h.peer, { root: cwd.root, path: up[up.length - 2].path });
          }
        });
        return row;
      }),
    );
  }

  /** @param {Translate} t @param {string} peer @param {(n: number) => string} size */
  function renderTransfers(t, peer, size) {
    const list = peer ? remote.transfersWith(peer) : [];
    const ids = new Set(list.map((x) => x.id));
    for (const id of [...rows.keys()]) if (!ids.has(id)) rows.delete(id);
    if (list.length === 0) {
      transfers.replaceChildren(el("li", { class: "empty" }, t("rf.no_transfers")));
      return;
    }
    transfers.replaceChildren(
      ...list.map((x) => {
        let row = rows.get(x.id);
        if (!row) {
          const cancel = el("button", { type: "button", class: "secondary rf-cancel" }, t("rf.cancel"));
          cancel.addEventListener("click", () => remote.cancel(x.id));
          const retry = el("button", { type: "button", class: "rf-retry" }, t("rf.retry"));
          retry.addEventListener("click", () => remote.retry(x.id));
          row = el(
            "li",
            { "data-transfer": String(x.id), "data-direction": x.direction },
            el("span", { class: "rf-direction" }, ""),
            " ",
            el("span", { class: "file-name" }, x.name),
            el(
              "div",
              { class: "file-progress" },
              el("progress", { max: "1", value: "0" }),
              " ",
              el("span", { class: "file-status", role: "status" }, ""),
              " ",
              cancel,
              " ",
              retry,
            ),
            el("ul", { class: "rf-saved" }),
          );
          rows.set(x.id, row);
        }
        updateTransferRow(t, row, x, size);
        return row;
      }),
    );
  }

  /** @param {Translate} t @param {HTMLLIElement} row @param {Transfer} x @param {(n: number) => string} size */
  function updateTransferRow(t, row, x, size) {
    const q = (/** @type {string} */ s) => /** @type {HTMLElement} */ (row.querySelector(s));
    q(".rf-direction").textContent = t(x.direction === "download" ? "rf.from_customer" : "rf.to_customer");
    const bar = /** @type {HTMLProgressElement} */ (q("progress"));
    bar.max = Math.max(x.total, 1);
    bar.value = x.status === "done" ? bar.max : x.confirmed;
    bar.setAttribute("aria-label", t("rf.progress_named", { name: x.name }));
    const cancel = /** @type {HTMLButtonElement} */ (q(".rf-cancel"));
    const retry = /** @type {HTMLButtonElement} */ (q(".rf-retry"));
    const live = x.status === "asking" || x.status === "running" || x.status === "interrupted";
    cancel.hidden = !live;
    cancel.setAttribute("aria-label", t("rf.cancel_named", { name: x.name }));
    retry.hidden = !(x.status === "failed" || x.status === "cancelled" || x.status === "interrupted");
    retry.setAttribute("aria-label", t("rf.retry_named", { name: x.name }));
    const s = remote.stats(x);
    let text = "";
    if (x.status === "asking") text = t("rf.t_asking");
    else if (x.status === "running")
      text = t("files.progress", { done: size(x.confirmed), total: size(x.total), speed: size(Math.round(s.bytesPerSec)), eta: s.etaSecs === null ? "…" : formatDuration(s.etaSecs) });
    else if (x.status === "interrupted") text = t("rf.t_interrupted");
    else if (x.status === "done") text = t(x.direction === "download" ? "rf.t_done_download" : "rf.t_done_upload", { files: x.fileCount, total: size(x.total) });
    else if (x.status === "cancelled") text = t("rf.t_cancelled");
    else text = t("rf.t_failed", { reason: reason(t, x.error ?? "other") });
    if (x.skipped > 0 && x.status === "done") text += ` ${t("rf.skipped", { count: x.skipped })}`;
    q(".file-status").textContent = text;
    row.dataset.status = x.status;
    row.dataset.error = x.error ?? "";
    row.dataset.confirmed = String(x.confirmed);
    const saved = q(".rf-saved");
    if (saved.childElementCount !== x.saved.length) {
      saved.replaceChildren(
        ...x.saved.map((f) => {
          const name = f.path.split("/").pop() ?? f.path;
          const link = el("a", { class: "save", href: f.url, download: name, "aria-label": t("files.save_named", { name: f.path }) }, t("files.save"));
          return el("li", { "data-path": f.path, "data-sha256": f.sha256 }, el("span", { class: "rf-path" }, f.path), " ", el("span", { class: "file-size" }, size(f.file.size)), " ", link);
        }),
      );
    }
  }

  /** @param {Translate} t @param {Host | null} h @param {string} name @param {(n: number) => string} size */
  function renderInfo(t, h, name, size) {
    const info = h?.info;
    const st = info?.status ?? "none";
    infoStatus.dataset.status = st;
    infoStatus.textContent =
      st === "asking" ? t("sysinfo.asking", { name })
      : st === "refused" ? t("sysinfo.refused", { name, reason: t(/** @type {MessageKey} */ (`sysinfo.reason.${info?.reason ?? "other"}`)) })
      : st === "unavailable" ? t("sysinfo.unavailable", { name })
      : st === "done" ? t("sysinfo.received", { name })
      : "";
    const k = JSON.stringify([document.documentElement.lang, st, info?.requestId, info?.answers]);
    if (k === infoKey) return;
    infoKey = k;
    const report = st === "done" ? info?.report : null;
    infoReport.hidden = !report;
    infoReport.replaceChildren(
      ...(report ? reportRows(report, t, size).flatMap((r) => [el("dt", {}, r.label), el("dd", { "data-field": r.key.replace("sysinfo.", "") }, r.value)]) : []),
    );
  }

  return render;
}

/**
 * What the section says about file transfer with the chosen customer.
 * @param {Translate} t @param {Host | null} h @param {string} name
 */
function statusText(t, h, name) {
  switch (h?.status ?? "none") {
    case "connecting":
    case "asking":
      return t("rf.asking", { name });
    case "open":
      return t("rf.open", { name });
    case "unavailable":
      return t("rf.unavailable", { name });
    case "lost":
      return t("rf.lost");
    case "closed":
      return h?.code === "ended" ? t("rf.ended") : h?.code === "denied" ? t("rf.denied", { name }) : t("rf.closed", { reason: reason(t, h?.code ?? "other") });
    default:
      return t("rf.explain");
  }
}

/** An error code for people. @param {Translate} t @param {string} code */
export function reason(t, code) {
  const key = `rf.error.${code}`;
  return isMessageKey(key) ? t(key) : t("rf.error.other");
}
