import { bigintAsString } from "./bigintJson.ts";

/**
 * A small structured logger on stderr. It is handed only metadata (ids, counts, amounts, hashes):
 * no prompt or completion text is ever passed to it, at any level, so none can reach a log.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type Logger = {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
};

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Creates a logger writing `time level [scope] message key=value…` lines to stderr. */
export function createLogger(options: { level?: LogLevel; scope?: string; write?: (line: string) => void } = {}): Logger {
  const level = options.level ?? ((process.env.GOTONG_LOG_LEVEL as LogLevel | undefined) ?? "info");
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const scope = options.scope;
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[at] < order[level]) return;
    const parts = [new Date().toISOString(), at.padEnd(5), scope ? `[${scope}]` : "", message];
    for (const [key, value] of Object.entries(fields ?? {})) parts.push(`${key}=${formatValue(value)}`);
    write(parts.filter(Boolean).join(" "));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (child) => createLogger({ level, write, scope: scope ? `${scope}:${child}` : child }),
  };
}

function formatValue(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "string") return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value, bigintAsString);
}
