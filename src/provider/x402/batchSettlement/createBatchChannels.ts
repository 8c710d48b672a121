import * as fs from "node:fs";
import * as path from "node:path";
import type { Address, Hex } from "viem";
import type { ChannelConfig } from "../../../protocol/x402/batchSettlement.ts";

/** The latest voucher a provider holds on a batch-settlement channel: what it claims with. */
export type HeldVoucher = {
  channelId: Hex;
  config: ChannelConfig;
  /** The voucher's cumulative ceiling, in base units. */
  maxClaimableAmount: bigint;
  signature: Hex;
  /** The (provider, model) pair the channel's receiver is the X402Splitter payee of. */
  modelId: bigint;
  /** What the chain had claimed on the channel when last read or claimed. */
  claimed: bigint;
};

/**
 * The provider's batch-settlement channels: the latest voucher of each (kept on disk before the
 * request it pays runs, so a restarted provider still claims it), and which channels have a
 * request in flight (one at a time per channel, as the published server allows).
 */
export type BatchChannels = {
  get(channelId: Hex): HeldVoucher | undefined;
  /** Keeps `voucher` as the channel's latest, durably. */
  hold(voucher: HeldVoucher): void;
  /** Records what the chain has claimed on a channel. */
  setClaimed(channelId: Hex, claimed: bigint): void;
  all(): HeldVoucher[];
  /** Takes the channel for one request; false when one is in flight on it. */
  take(channelId: Hex): boolean;
  free(channelId: Hex): void;
};

type Stored = Omit<HeldVoucher, "maxClaimableAmount" | "modelId" | "claimed"> & { maxClaimableAmount: string; modelId: string; claimed: string };

/**
 * Creates the channel book, read from and written to `file` (JSON, replaced atomically) when given.
 *
 * @example const channels = createBatchChannels(path.join(home.state, "x402-batch-channels.json"));
 */
export function createBatchChannels(file?: string): BatchChannels {
  const held = new Map<string, HeldVoucher>();
  const busy = new Set<string>();
  const key = (id: Hex) => id.toLowerCase();
  if (file && fs.existsSync(file)) {
    for (const s of JSON.parse(fs.readFileSync(file, "utf8")) as Stored[]) {
      held.set(key(s.channelId), { ...s, maxClaimableAmount: BigInt(s.maxClaimableAmount), modelId: BigInt(s.modelId), claimed: BigInt(s.claimed) });
    }
  }
  const save = () => {
    if (!file) return;
    const rows: Stored[] = [...held.values()].map((v) => ({ ...v, maxClaimableAmount: v.maxClaimableAmount.toString(), modelId: v.modelId.toString(), claimed: v.claimed.toString() }));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, JSON.stringify(rows));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  };
  return {
    get: (id) => held.get(key(id)),
    hold(voucher) {
      const current = held.get(key(voucher.channelId));
      held.set(key(voucher.channelId), { ...voucher, claimed: current && current.claimed > voucher.claimed ? current.claimed : voucher.claimed });
      save();
    },
    setClaimed(id, claimed) {
      const current = held.get(key(id));
      if (!current || current.claimed >= claimed) return;
      held.set(key(id), { ...current, claimed });
      save();
    },
    all: () => [...held.values()],
    take(id) {
      if (busy.has(key(id))) return false;
      busy.add(key(id));
      return true;
    },
    free: (id) => void busy.delete(key(id)),
  };
}

/** The payer a held voucher's channel belongs to. */
export const payerOf = (v: HeldVoucher): Address => v.config.payer;
