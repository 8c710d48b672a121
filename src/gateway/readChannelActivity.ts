import Database from "better-sqlite3";
import type { Hex } from "viem";

/**
 * When the gateway last did anything on each of its channels (a paid receipt, a deposit, a read of
 * the chain before a request), in ms since the epoch: the `updated_at` the gateway store keeps on
 * every channel row. Opened read-only beside the store the gateway writes (SQLite WAL allows both).
 *
 * @param path The gateway store's file (`gatewayStorePath`).
 * @returns A reader; `close()` when done.
 * @example const activity = openChannelActivity(path); activity.lastUsed().get(channelId)
 */
export function openChannelActivity(path: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  const select = db.prepare("SELECT channel_id, updated_at FROM channels");
  return {
    lastUsed(): Map<Hex, number> {
      return new Map((select.all() as { channel_id: string; updated_at: number }[]).map((r) => [r.channel_id as Hex, r.updated_at]));
    },
    close(): void {
      db.close();
    },
  };
}
