/**
 * A one-line progress bar on stderr: done/total, images per second and ETA. On a terminal it redraws one line;
 * otherwise it prints one line per update.
 *
 * @module
 */

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Progress of one run. */
export class ProgressBar {
  #start = performance.now();
  #tty: boolean;
  #label: string;
  #write: (s: string) => void;

  /**
   * @param label Shown before the bar.
   * @param write Output (default: stderr).
   * @param tty Redraw in place (default: whether stderr is a terminal).
   */
  constructor(label: string, write?: (s: string) => void, tty?: boolean) {
    this.#label = label;
    const enc = new TextEncoder();
    this.#write = write ?? ((s) => Deno.stderr.writeSync(enc.encode(s)));
    this.#tty = tty ?? (write ? false : Deno.stderr.isTerminal());
  }

  /**
   * Shows the state after `done` of `total` images, `processed` of them in this session.
   *
   * @param done Images finished (including ones skipped as already done).
   * @param total Images in the run.
   * @param processed Images computed in this session.
   * @returns The line shown.
   */
  update(done: number, total: number, processed: number): string {
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = processed > 0 ? processed / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const width = 24;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const line = `${this.#label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${
      rate.toFixed(rate < 1 ? 3 : 2)
    } img/s ETA ${done >= total ? "0s" : formatDuration(eta)}`;
    this.#write(this.#tty ? `\r${line}\x1b[K` : `${line}\n`);
    return line;
  }

  /** Ends the redrawn line. */
  finish(): void {
    if (this.#tty) this.#write("\n");
  }
}
