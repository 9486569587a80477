// The real `tandem-peer` binary in the end-to-end tests, and its consent
// windows on an X display answered with real clicks.
import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, until } from "../harness.js";
import { clickWindow, waitForWindow, windowVisible } from "./x11.js";

/** Builds the native peer (once per test file; cargo queues behind other builds). */
export function buildNativePeer() {
  if (!process.env.TANDEM_E2E_NO_BUILD) execFileSync("cargo", ["build", "--quiet", "-p", "tandem-peer"], { cwd: ROOT, stdio: "inherit" });
}

/**
 * Starts `tandem-peer` with `args`; `env` is added to this process's
 * environment (DISPLAY, RUST_LOG). Everything it prints is kept.
 * @param {string[]} args
 * @param {Record<string, string>} env
 * @param {string} [stdin] written to its standard input first (a CSR's password)
 */
export function spawnNativePeer(args, env, stdin) {
  const child = spawn(join(ROOT, "target", "debug", "tandem-peer"), args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (out += c));
  if (stdin !== undefined) child.stdin.write(stdin);
  return {
    child,
    /** Everything it printed so far (standard output and error). */
    output: () => out,
    /** Writes a chat line. @param {string} line */
    say: (line) => child.stdin.write(`${line}\n`),
    /** Stops it (SIGKILL: the session's end is not under test here). */
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
        child.once("exit", () => resolve(undefined));
        child.kill("SIGKILL");
      }),
  };
}

/**
 * The consent window's fixed layout (peer/src/ui/layout.rs), in points at
 * scale 1: its width, and the centres of its buttons.
 */
export const PROMPT = { width: 480, allow: { x: 75, y: 168 }, deny: { x: 195, y: 168 }, endAndReport: { x: 370, y: 168 } };
/** The indicator's width and its Stop button's centre (peer/src/ui/layout.rs). */
export const INDICATOR = { width: 520, stop: { x: 469, y: 22 } };
/** A prompt's buttons take clicks only this long after it appears (peer/src/ui/queue.rs ARM_DELAY). */
export const ARM_MS = 500;

/**
 * Clicks `button` (a point of `layout`) in the visible window whose title
 * contains `title`, until `answered()` holds. The first click waits out the
 * arming delay; a later one is made only while the window is still up (so
 * that no click falls through to what lies under it).
 * @param {string} display
 * @param {string} title
 * @param {{ width: number }} layout
 * @param {{ x: number, y: number }} button
 * @param {() => Promise<boolean> | boolean} answered
 */
export async function clickUntil(display, title, layout, button, answered) {
  const win = await waitForWindow(display, title);
  await new Promise((r) => setTimeout(r, ARM_MS + 100));
  const scale = win.width / layout.width;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0 && !windowVisible(display, title)) break;
    clickWindow(display, win.id, button.x * scale, button.y * scale);
    const ok = await until(`the click on ${JSON.stringify(title)} to take effect`, answered, 2000).then(
      () => true,
      () => false,
    );
    if (ok) return win;
  }
  throw new Error(`clicks at ${JSON.stringify(button)} of the window ${JSON.stringify(win.title)} had no effect`);
}
