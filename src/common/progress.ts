/**
 * Progress reporting shared by every long operation (downloads, hashing, model loading).
 *
 * Library functions take an `onProgress` callback and never print; the CLI turns that callback into
 * a line on stderr with `createProgressBar`. stdout stays clean for the command's real output.
 */

/** Called as a long operation advances: `done` units so far out of `total` (undefined when unknown). */
export type ProgressCallback = (done: number, total: number | undefined) => void;

/** A progress line on a terminal; `update` is cheap to call on every chunk. */
export type ProgressBar = {
  /** Report `done` units so far; `total` may be learnt late (e.g. from an HTTP response). */
  update: (done: number, total?: number) => void;
  /** Print the final state and end the line. Further calls are ignored. */
  done: () => void;
};

/** Options of `createProgressBar`. */
export type ProgressBarOptions = {
  /** Where to draw. Default `process.stderr`. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Units being counted: `"bytes"` formats as KiB/MiB/GiB with a rate. Default `"bytes"`. */
  unit?: "bytes" | "items";
  /** On a terminal, redraw at most this often. Default 100 ms. */
  ttyIntervalMs?: number;
  /** Off a terminal (CI logs, pipes), print a line at most this often. Default 5000 ms. */
  logIntervalMs?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
};

/** A stderr progress line for CLIs: bytes, percent and rate, redrawn in place on a TTY, sparse lines otherwise. */
export function createProgressBar(label: string, total?: number, options: ProgressBarOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const isTTY = (stream as { isTTY?: boolean }).isTTY === true;
  const unit = options.unit ?? "bytes";
  const now = options.now ?? Date.now;
  const interval = isTTY ? (options.ttyIntervalMs ?? 100) : (options.logIntervalMs ?? 5000);
  const startedAt = now();
  let lastDrawAt = -Infinity;
  let current = 0;
  let knownTotal = total;
  let finished = false;
  // The rate is taken over a short sliding window so that a stall shows as a falling rate
  // instead of being averaged away by the fast start of the transfer.
  let windowStartAt = startedAt;
  let windowStartDone = 0;
  let rate = 0;

  const format = (value: number) => (unit === "bytes" ? formatBytes(value) : String(value));

  const render = (): string => {
    const parts = [label];
    if (knownTotal !== undefined && knownTotal > 0) {
      const percent = Math.min(100, (current / knownTotal) * 100);
      parts.push(`${format(current)} / ${format(knownTotal)}`, `${percent.toFixed(1)}%`);
    } else {
      parts.push(format(current));
    }
    if (rate > 0) parts.push(unit === "bytes" ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)}/s`);
    return parts.join("  ");
  };

  const draw = (final: boolean) => {
    const line = render();
    if (isTTY) {
      const columns = (stream as { columns?: number }).columns ?? 80;
      // Clear to end of line so a shorter line does not leave the tail of a longer one behind.
      stream.write(`\r${line.slice(0, Math.max(10, columns - 1))}\x1b[K${final ? "\n" : ""}`);
    } else {
      stream.write(`${line}\n`);
    }
  };

  return {
    update(done: number, newTotal?: number) {
      if (finished) return;
      current = done;
      if (newTotal !== undefined) knownTotal = newTotal;
      const t = now();
      if (t - windowStartAt >= 1000) {
        rate = ((current - windowStartDone) * 1000) / (t - windowStartAt);
        windowStartAt = t;
        windowStartDone = current;
      } else if (rate === 0 && t > startedAt) {
        rate = (current * 1000) / (t - startedAt);
      }
      if (t - lastDrawAt >= interval) {
        lastDrawAt = t;
        draw(false);
      }
    },
    done() {
      if (finished) return;
      finished = true;
      const elapsed = now() - startedAt;
      if (elapsed > 0) rate = (current * 1000) / elapsed;
      draw(true);
    },
  };
}

/** 1536 → "1.5 KiB": binary units, as file managers and `ls -h` show sizes. */
function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024;
    index += 1;
  }
  return index === 0 ? `${value} B` : `${value.toFixed(1)} ${units[index]}`;
}
