import { useEffect, useState } from "preact/hooks";

/**
 * `value`, or while it keeps changing faster than `delayMs`, the value it had when it last stood
 * still that long: for work too slow to redo on every keystroke. With `delayMs` 0 it is `value`
 * itself, at once.
 *
 * @example const counted = useSettled(draft, draft.length > 20_000 ? 250 : 0);
 */
export function useSettled<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    if (delayMs <= 0) {
      setSettled(value);
      return;
    }
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return delayMs <= 0 ? value : settled;
}
