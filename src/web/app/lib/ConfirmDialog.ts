import { h, type ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

let dialogs = 0;

/**
 * A modal confirmation (the native `<dialog>`: focus stays inside, Escape cancels) for an action
 * that moves money. Focus starts on Cancel, so a stray Enter sends nothing.
 */
export function ConfirmDialog(props: { title: string; children?: ComponentChildren; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useRef(`confirm-${++dialogs}`).current;
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return h(
    "dialog",
    {
      ref,
      class: "confirm",
      "aria-labelledby": `${id}-title`,
      "aria-describedby": `${id}-body`,
      onCancel: (e: Event) => {
        e.preventDefault();
        props.onCancel();
      },
    },
    h("h2", { id: `${id}-title` }, props.title),
    h("div", { id: `${id}-body`, class: "confirm-body" }, props.children),
    h(
      "div",
      { class: "confirm-actions" },
      h("button", { type: "button", class: "button", autoFocus: true, onClick: props.onCancel }, "Cancel"),
      h("button", { type: "button", class: "button primary", onClick: props.onConfirm }, props.confirmLabel),
    ),
  );
}
