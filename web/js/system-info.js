// @ts-check
/**
 * System information (TOOL-7), the pure part: the `system-info` channel's
 * messages decoded with the bounds of wire/src/channels/system_info.rs
 * (docs/file-transfer.md §10), and a report turned into rows of label and
 * value for the page. Every value stays a string the page puts in a text
 * node: a host name like `<img src=x onerror=alert(1)>` is text.
 */

import { MAX_CHANNEL_MESSAGE_BYTES } from "./channel-codec.js";

/** @typedef {import('../types/wire.js').SystemInfoMessage} SystemInfoMessage */
/** @typedef {import('../types/wire.js').SystemReport} SystemReport */
/** @typedef {import('../types/wire.js').InfoRefusal} InfoRefusal */
/** @typedef {import('./i18n.js').Translate} Translate */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */

export const MAX_DISKS = 16;
export const MAX_DISPLAYS = 16;
export const MAX_INTERFACES = 16;
export const MAX_ADDRESSES = 16;
export const MAX_INFO_CHARS = 128;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `InfoText`: 1-128 characters, no control characters. @param {unknown} s @returns {s is string} */
export function validInfoText(s) {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_INFO_CHARS * 2 || CONTROL.test(s)) return false;
  return [...s].length <= MAX_INFO_CHARS;
}

/** @param {unknown} n */
const isU32 = (n) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
/** @param {unknown} n a u64 (a large one loses precision, which is fine for showing it) */
const isCount = (n) => typeof n === "number" && Number.isFinite(n) && Number.isInteger(n) && n >= 0;
/** @param {unknown} v */
const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/** @param {unknown} v */
const optText = (v) => v === undefined || validInfoText(v);

/**
 * @param {unknown} v
 * @returns {SystemReport | null}
 */
function report(v) {
  if (!isObject(v)) return null;
  const r = /** @type {Record<string, any>} */ (v);
  if (!isCount(r.collected_at)) return null;
  for (const k of ["host_name", "os_name", "os_version", "kernel_version", "architecture"]) if (!optText(r[k])) return null;
  if (r.uptime_seconds !== undefined && !isCount(r.uptime_seconds)) return null;
  if (r.cpu !== undefined) {
    const c = r.cpu;
    if (!isObject(c) || !optText(c.brand) || !optText(c.vendor) || !isU32(c.logical_cores)) return null;
    if ((c.physical_cores !== undefined && !isU32(c.physical_cores)) || (c.frequency_mhz !== undefined && !isCount(c.frequency_mhz))) return null;
  }
  const m = r.memory;
  if (!isObject(m) || !["total_bytes", "available_bytes", "swap_total_bytes", "swap_free_bytes"].every((k) => isCount(m[k]))) return null;
  if (!Array.isArray(r.disks) || r.disks.length > MAX_DISKS) return null;
  for (const d of r.disks) {
    if (!isObject(d) || !optText(d.name) || !optText(d.mount_point) || !optText(d.file_system)) return null;
    if (typeof d.kind !== "string" || typeof d.removable !== "boolean" || !isCount(d.total_bytes) || !isCount(d.available_bytes)) return null;
    if (d.kind !== "hdd" && d.kind !== "ssd") d.kind = "unknown";
  }
  if (!Array.isArray(r.displays) || r.displays.length > MAX_DISPLAYS) return null;
  for (const d of r.displays) {
    if (!isObject(d) || !isU32(d.width) || !isU32(d.height)) return null;
    if ((d.width_mm !== undefined && !isU32(d.width_mm)) || (d.height_mm !== undefined && !isU32(d.height_mm))) return null;
  }
  if (!Array.isArray(r.interfaces) || r.interfaces.length > MAX_INTERFACES) return null;
  for (const i of r.interfaces) {
    if (!isObject(i) || !validInfoText(i.name)) return null;
    if (i.mac !== undefined && !(typeof i.mac === "string" && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(i.mac))) return null;
    if (!Array.isArray(i.addresses) || i.addresses.length > MAX_ADDRESSES) return null;
    for (const a of i.addresses) {
      if (!isObject(a) || typeof a.address !== "string" || !/^[0-9A-Fa-f:.]{2,45}$/.test(a.address)) return null;
      if (!Number.isInteger(a.prefix) || a.prefix < 0 || a.prefix > 128) return null;
    }
  }
  return /** @type {SystemReport} */ (r);
}

/**
 * A message on `system-info` for the CSR: `report` or `refused`.
 * @param {unknown} data
 * @returns {SystemInfoMessage | null}
 */
export function decodeSystemInfo(data) {
  if (typeof data !== "string" || data.length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  if (new TextEncoder().encode(data).length > MAX_CHANNEL_MESSAGE_BYTES) return null;
  let v;
  try {
    v = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(v) || v.v !== 1 || !isU32(v.request_id)) return null;
  if (v.type === "report") {
    const r = report(v.report);
    return r ? { type: "report", request_id: v.request_id, report: r } : null;
  }
  if (v.type === "refused" && typeof v.reason === "string") {
    const reason = ["denied", "unsupported", "busy"].includes(v.reason) ? /** @type {InfoRefusal} */ (v.reason) : "other";
    return { type: "refused", request_id: v.request_id, reason };
  }
  return null;
}

/**
 * The report as rows of label and value, in reading order; absent fields are left out.
 * @param {SystemReport} r
 * @param {Translate} t
 * @param {(n: number) => string} size bytes for people
 * @returns {{ key: string, label: string, value: string }[]}
 */
export function reportRows(r, t, size) {
  /** @type {{ key: string, label: string, value: string }[]} */
  const rows = [];
  const add = (/** @type {MessageKey} */ key, /** @type {string | undefined} */ value) => {
    if (value !== undefined && value !== "") rows.push({ key, label: t(key), value });
  };
  add("sysinfo.host_name", r.host_name);
  add("sysinfo.os", [r.os_name, r.os_version].filter(Boolean).join(" ") || undefined);
  add("sysinfo.kernel", r.kernel_version);
  add("sysinfo.architecture", r.architecture);
  if (r.uptime_seconds !== undefined) add("sysinfo.uptime", t("sysinfo.uptime_value", { hours: Math.floor(r.uptime_seconds / 3600), minutes: Math.floor((r.uptime_seconds % 3600) / 60) }));
  if (r.cpu) {
    const c = r.cpu;
    const cores = c.physical_cores !== undefined ? t("sysinfo.cores_both", { logical: c.logical_cores, physical: c.physical_cores }) : t("sysinfo.cores", { logical: c.logical_cores });
    add("sysinfo.cpu", [c.brand, c.vendor && c.vendor !== c.brand ? `(${c.vendor})` : "", cores, c.frequency_mhz ? `${c.frequency_mhz} MHz` : ""].filter(Boolean).join(" "));
  }
  add("sysinfo.memory", t("sysinfo.of_free", { total: size(r.memory.total_bytes), free: size(r.memory.available_bytes) }));
  if (r.memory.swap_total_bytes > 0) add("sysinfo.swap", t("sysinfo.of_free", { total: size(r.memory.swap_total_bytes), free: size(r.memory.swap_free_bytes) }));
  for (const d of r.disks) {
    const where = [d.mount_point, d.name ? `(${d.name})` : "", d.file_system ?? "", d.kind !== "unknown" ? d.kind.toUpperCase() : "", d.removable ? t("sysinfo.removable") : ""].filter(Boolean).join(" ");
    add("sysinfo.disk", `${where}: ${t("sysinfo.of_free", { total: size(d.total_bytes), free: size(d.available_bytes) })}`);
  }
  for (const d of r.displays) {
    add("sysinfo.display", `${d.width} × ${d.height}${d.width_mm && d.height_mm ? ` (${d.width_mm} × ${d.height_mm} mm)` : ""}`);
  }
  for (const i of r.interfaces) {
    const addresses = i.addresses.map((a) => `${a.address}/${a.prefix}`).join(", ");
    add("sysinfo.interface", [i.name, i.mac ?? "", addresses].filter(Boolean).join(" "));
  }
  add("sysinfo.collected", new Date(r.collected_at).toISOString());
  return rows;
}
