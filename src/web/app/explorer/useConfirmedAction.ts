import { h, type ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ConfirmDialog } from "../lib/ConfirmDialog.ts";

/** What a confirmation asks, and the action it guards (returns the notice to show when done). */
export type Confirmation = { title: string; body: ComponentChildren; confirmLabel: string; run(): Promise<string> };

/**
 * One section's confirmed actions: `start(key, prepare)` reads what the action would do (fresh from
 * the chain) and asks; only a confirmation runs it. Cancelling sends nothing. Either way the
 * section's notice says what happened and `onDone` refreshes what the section shows.
 */
export function useConfirmedAction(onDone: () => Promise<void> | void) {
  const [pending, setPending] = useState<Confirmation>();
  const [working, setWorking] = useState<{ key: string; sending: boolean }>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();

  const start = async (key: string, prepare: () => Promise<Confirmation>) => {
    setError(undefined);
    setNotice(undefined);
    setWorking({ key, sending: false });
    try {
      setPending(await prepare());
    } catch (e) {
      setError(e);
      setWorking(undefined);
    }
  };
  const cancel = () => {
    setPending(undefined);
    setWorking(undefined);
    setNotice("Cancelled: nothing was sent.");
  };
  const confirm = async (confirmation: Confirmation) => {
    setPending(undefined);
    setWorking((w) => w && { ...w, sending: true });
    try {
      setNotice(await confirmation.run());
    } catch (e) {
      setError(e);
    } finally {
      setWorking(undefined);
      await onDone();
    }
  };

  return {
    start,
    /** The key of the action being confirmed or sent, if any (every action button is disabled meanwhile). */
    busy: working !== undefined,
    /** Whether the action `key` is being sent now. */
    sending: (key: string) => working?.key === key && working.sending,
    error,
    notice,
    dismiss: () => setError(undefined),
    dialog: pending
      ? h(ConfirmDialog, { title: pending.title, confirmLabel: pending.confirmLabel, onConfirm: () => void confirm(pending), onCancel: cancel }, pending.body)
      : null,
  };
}
