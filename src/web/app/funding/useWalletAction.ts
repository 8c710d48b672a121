import { useContext, useState } from "preact/hooks";
import { getJson } from "../lib/api.ts";
import { AppContext } from "../lib/context.ts";
import type { Wallet } from "../wallet/wallet.ts";

/** The token transfers a mined transaction made, as the token recorded them (`/gotong/web/tx/HASH`). */
export type Transfers = { from: string; to: string; amount: string }[];

/**
 * One wallet action at a time on the funding page: connects the wallet if needed, says what it is
 * doing while it waits, and keeps the outcome (a notice, or the error to show). `run` returns
 * what the action returned, or undefined when it failed (the error is kept for the page to show).
 */
export function useWalletAction() {
  const { wallet, connect } = useContext(AppContext);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const run = async <T>(action: (w: Wallet, say: (what: string) => void) => Promise<T>): Promise<T | undefined> => {
    setError(undefined);
    setNotice(undefined);
    try {
      const w = wallet ?? (await connect());
      return await action(w, setBusy);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, error, notice, setError, setNotice, run };
}

/** The sum of the token transfers of a transaction to `account`, from the token's own record. */
export async function receivedBy(hash: string, account: string): Promise<bigint> {
  const { transfers } = await getJson<{ transfers: Transfers }>(`/gotong/web/tx/${hash}`);
  return transfers.filter((t) => t.to.toLowerCase() === account.toLowerCase()).reduce((sum, t) => sum + BigInt(t.amount), 0n);
}
