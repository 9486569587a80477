// A private X display for an end-to-end test and the X clients that watch
// it: Xvfb on a free display number, `xev` on a window that logs the
// pointer buttons and keys the X server delivers, `xdotool` for a real
// pointer (XTest, as a person's mouse), and `xwd` screenshots read into
// pixels (and written out as PNG for a person to look at).
//
// Everything started here is stopped by the `close()` it returns; tests
// call it in `t.after` (also on failure). Xvfb gets SIGTERM so that it
// removes its socket and lock file.
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { deflateSync, crc32 } from "node:zlib";
import { until } from "../harness.js";

/** Resolves when `child` has exited, killing it with `signal` (SIGKILL after 5 s). */
function stop(child, signal = "SIGTERM") {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    child.once("exit", () => resolve(undefined));
    child.kill(signal);
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  });
}

/**
 * Starts Xvfb with one screen of `width`x`height`x24 on a display number it
 * picks itself (`-displayfd`: it writes the number once it accepts
 * connections; its lock files make this race-free among tests starting at once).
 * @param {number} width
 * @param {number} height
 * @returns {Promise<{ display: string, width: number, height: number, close: () => Promise<void> }>}
 */
export async function startXvfb(width, height) {
  const child = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp", "-noreset"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.setEncoding("utf8").on("data", (c) => (log += c));
  let out = "";
  child.stdout.setEncoding("utf8");
  const number = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s:\n${log}`)), 10_000);
    child.stdout.on("data", (c) => {
      out += c;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    child.once("error", (err) => reject(new Error(`Xvfb: ${err.message} (is the xvfb package installed?)`)));
    child.once("exit", (code) => reject(new Error(`Xvfb exited with ${code}:\n${log}`)));
  }).catch(async (err) => {
    await stop(child, "SIGKILL");
    throw err;
  });
  return { display: `:${number}`, width, height, close: () => stop(child) };
}

/**
 * Runs `xdotool` on `display` and returns its standard output.
 * @param {string} display
 * @param {string[]} args
 */
export function xdotool(display, ...args) {
  return execFileSync("xdotool", args, { env: { ...process.env, DISPLAY: display }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The pointer's position on the screen now. @param {string} display */
export function pointer(display) {
  const out = xdotool(display, "getmouselocation", "--shell");
  const get = (k) => Number.parseInt(/** @type {RegExpExecArray} */ (new RegExp(`^${k}=(\\d+)`, "m").exec(out))[1], 10);
  return { x: get("X"), y: get("Y") };
}

/**
 * Waits for a mapped (visible) window whose title contains `name` (plain text); returns
 * its id, title and geometry on the screen.
 * @param {string} display
 * @param {string} name
 * @param {number} [deadlineMs]
 */
export async function waitForWindow(display, name, deadlineMs) {
  const id = await until(`a visible window named ${JSON.stringify(name)} on ${display}`, () => {
    try {
      return xdotool(display, "search", "--onlyvisible", "--name", literal(name)).split("\n")[0].trim() || null;
    } catch {
      return null; // xdotool exits 1 when nothing matches
    }
  }, deadlineMs).catch((err) => {
    throw new Error(`${err.message}; visible windows: ${JSON.stringify(visibleWindowNames(display))}`);
  });
  return { id, title: windowName(display, id), ...windowGeometry(display, id) };
}

/** `xdotool search --name` takes a regular expression: this one matches `text` as it is. @param {string} text */
function literal(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The titles of the mapped windows, for messages. @param {string} display */
export function visibleWindowNames(display) {
  try {
    const ids = xdotool(display, "search", "--onlyvisible", "--name", "").split("\n").filter(Boolean);
    return ids.map((id) => windowName(display, id)).filter(Boolean);
  } catch {
    return [];
  }
}

/** Whether a window with this title is mapped now. @param {string} display @param {string} name */
export function windowVisible(display, name) {
  try {
    return xdotool(display, "search", "--onlyvisible", "--name", literal(name)).trim() !== "";
  } catch {
    return false;
  }
}

/** @param {string} display @param {string} id */
export function windowName(display, id) {
  return xdotool(display, "getwindowname", id).trim();
}

/** Position on the screen and size of a window. @param {string} display @param {string} id */
export function windowGeometry(display, id) {
  const out = xdotool(display, "getwindowgeometry", "--shell", id);
  const get = (k) => Number.parseInt(/** @type {RegExpExecArray} */ (new RegExp(`^${k}=(-?\\d+)`, "m").exec(out))[1], 10);
  return { x: get("X"), y: get("Y"), width: get("WIDTH"), height: get("HEIGHT") };
}

/**
 * A real click (XTest) at (`x`, `y`) of a window, in its own pixels.
 * @param {string} display @param {string} id @param {number} x @param {number} y
 */
export function clickWindow(display, id, x, y) {
  xdotool(display, "mousemove", "--window", id, String(Math.round(x)), String(Math.round(y)), "click", "1");
}

/**
 * @typedef {object} Screenshot
 * @property {number} width
 * @property {number} height
 * @property {Uint32Array} pixels 0xRRGGBB, row by row
 */

/**
 * The whole screen as the X server shows it now (`xwd -root`), like
 * ImageMagick's `import -window root`.
 * @param {string} display
 * @returns {Screenshot}
 */
export function screenshot(display) {
  const xwd = execFileSync("xwd", ["-root", "-silent", "-display", display], { maxBuffer: 64 << 20 });
  return parseXwd(xwd);
}

/**
 * Reads an XWD file (X11/XWDFile.h: a big-endian header of 25 CARD32s, the
 * window name, `ncolors` colour entries, then the pixels) of a TrueColor
 * ZPixmap with 32 or 24 bits per pixel, as Xvfb's 24-bit screens give.
 * @param {Buffer} data
 * @returns {Screenshot}
 */
export function parseXwd(data) {
  const field = (i) => data.readUInt32BE(i * 4);
  const [headerSize, version, format, , width, height, , byteOrder, , , , bitsPerPixel, bytesPerLine] = Array.from({ length: 13 }, (_, i) => field(i));
  const [redMask, greenMask, blueMask] = [field(14), field(15), field(16)];
  const ncolors = field(19);
  // 32 bits per pixel from a plain screen; 24 (packed) when windows with other visuals are on it.
  if (version !== 7 || format !== 2 || (bitsPerPixel !== 32 && bitsPerPixel !== 24)) {
    throw new Error(`unexpected XWD: version ${version}, format ${format}, ${bitsPerPixel} bits per pixel`);
  }
  const bytes = bitsPerPixel / 8;
  const start = headerSize + ncolors * 12;
  const shift = (mask) => 31 - Math.clz32(mask & -mask);
  const channel = (v, mask) => ((v & mask) >>> shift(mask)) & 0xff;
  const pixels = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = start + y * bytesPerLine + x * bytes;
      const v = byteOrder === 0 ? data.readUIntLE(at, bytes) : data.readUIntBE(at, bytes);
      pixels[y * width + x] = (channel(v, redMask) << 16) | (channel(v, greenMask) << 8) | channel(v, blueMask);
    }
  }
  return { width, height, pixels };
}

/**
 * A rectangle of a screenshot.
 * @param {Screenshot} shot
 * @param {{ x: number, y: number, width: number, height: number }} r
 * @returns {Screenshot}
 */
export function crop(shot, r) {
  const pixels = new Uint32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) {
    pixels.set(shot.pixels.subarray((r.y + y) * shot.width + r.x, (r.y + y) * shot.width + r.x + r.width), y * r.width);
  }
  return { width: r.width, height: r.height, pixels };
}

/** How many different colours a picture has (a blank window: one or two; drawn text: dozens). @param {Screenshot} shot */
export function colourCount(shot) {
  return new Set(shot.pixels).size;
}

/**
 * Writes a screenshot as an 8-bit RGB PNG (https://www.w3.org/TR/png/).
 * @param {Screenshot} shot
 * @param {string} path
 */
export function writePng(shot, path) {
  const raw = Buffer.alloc((shot.width * 3 + 1) * shot.height);
  for (let y = 0; y < shot.height; y++) {
    const row = y * (shot.width * 3 + 1);
    for (let x = 0; x < shot.width; x++) {
      const p = shot.pixels[y * shot.width + x];
      raw.writeUIntBE(p, row + 1 + x * 3, 3);
    }
  }
  const chunk = (type, body) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(shot.width, 0);
  ihdr.writeUInt32BE(shot.height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  writeFileSync(path, Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]));
}

/**
 * @typedef {object} XEvent
 * @property {string} type `ButtonPress`, `ButtonRelease`, `KeyPress`, `KeyRelease`
 * @property {{ x: number, y: number } | null} root where on the screen the pointer was
 * @property {number | null} button
 * @property {string | null} text what the key typed (XLookupString), if anything
 */

/**
 * `xev` on a window of `width`x`height` at (`x`, `y`) of the screen (default
 * its top-left corner), logging the buttons and keys the X server delivers
 * to it, parsed event by event. Resolves once the window is on screen
 * (viewable). Its background is white.
 * @param {string} display
 * @param {number} width
 * @param {number} height
 * @param {number} [x]
 * @param {number} [y]
 */
export async function startXev(display, width, height, x = 0, y = 0) {
  const child = spawn("xev", ["-display", display, "-geometry", `${width}x${height}+${x}+${y}`, "-event", "keyboard", "-event", "button"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (log += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (log += c));
  const close = () => stop(child);
  try {
    await until("the xev window is viewable", () => {
      const out = execFileSync("xwininfo", ["-display", display, "-name", "Event Tester"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return out.includes("IsViewable");
    });
  } catch (err) {
    await close();
    throw new Error(`${err.message}; xev said:\n${log}`);
  }
  return {
    close,
    /** Everything xev printed so far. */
    text: () => log,
    /** @returns {XEvent[]} */
    events: () => parseXev(log),
  };
}

/**
 * Splits xev's output into events (each starts at an unindented line
 * "TypeName event, serial ...").
 * @param {string} log
 * @returns {XEvent[]}
 */
export function parseXev(log) {
  const blocks = log.split(/\n(?=\S)/);
  /** @type {XEvent[]} */
  const events = [];
  for (const block of blocks) {
    const head = /^(\w+) event,/.exec(block);
    if (!head) continue;
    const root = /root:\((\d+),(\d+)\)/.exec(block);
    const button = /button (\d+),/.exec(block);
    const text = /XLookupString gives \d+ bytes: (?:\(([0-9a-f ]+)\) )?"(.*)"/.exec(block);
    events.push({
      type: head[1],
      root: root ? { x: Number(root[1]), y: Number(root[2]) } : null,
      button: button ? Number(button[1]) : null,
      text: text && text[2] !== "" ? text[2] : null,
    });
  }
  return events;
}
