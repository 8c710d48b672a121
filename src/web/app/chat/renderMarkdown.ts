import DOMPurify from "dompurify";
import { Marked } from "marked";

/**
 * The tags an answer may use: what Markdown produces, nothing that runs, loads or styles. Images
 * are left out on purpose: a model's answer must not make the browser fetch anything (the page's
 * policy would block another origin anyway).
 */
const ALLOWED_TAGS = ["p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "input"];
const ALLOWED_ATTR = ["href", "title", "class", "start", "type", "checked", "disabled", "align"];

/** Markdown as a chat renders it: GitHub's flavour, a single newline is a line break, raw HTML shown as text. */
const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    // An answer's own HTML is text to read, never markup: `<script>` shows as "<script>".
    html: ({ text }) => escapeHtml(text),
  },
});

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * An answer's Markdown as safe HTML: rendered by marked (raw HTML escaped), then sanitised by
 * DOMPurify to the tags above, links limited to http(s) and mailto and opened without access to
 * this page, and each code block given a copy button (`data-copy`), which {@link copyFromClick}
 * serves. The result is meant for `dangerouslySetInnerHTML`: nothing in it can run.
 *
 * @example renderMarkdown("**hi** `x`") // "<p><strong>hi</strong> <code>x</code></p>\n"
 */
export function renderMarkdown(markdown: string): string {
  const html = marked.parse(markdown) as string;
  const fragment = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const a of fragment.querySelectorAll("a")) {
    // A link whose address was refused (javascript:, data:) is only its text, not a dead link.
    if (!a.hasAttribute("href")) {
      a.replaceWith(...a.childNodes);
      continue;
    }
    a.setAttribute("rel", "noopener noreferrer nofollow");
    a.setAttribute("target", "_blank");
  }
  // Task-list checkboxes are shown, never ticked from here.
  for (const input of fragment.querySelectorAll("input")) {
    if (input.getAttribute("type") !== "checkbox") input.remove();
    else input.setAttribute("disabled", "");
  }
  for (const [i, pre] of [...fragment.querySelectorAll("pre")].entries()) {
    const wrapper = document.createElement("div");
    wrapper.className = "code-block";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link copy-code";
    button.dataset.copy = String(i);
    button.textContent = "Copy code";
    pre.replaceWith(wrapper);
    wrapper.append(button, pre);
  }
  const holder = document.createElement("div");
  holder.append(fragment);
  return holder.innerHTML;
}

/**
 * Copies the code block whose copy button was clicked (a click delegated to the answer), and says
 * so on the button for a moment. @returns whether the click was a copy button's
 */
export function copyFromClick(event: MouseEvent): boolean {
  const button = (event.target as Element | null)?.closest?.("button.copy-code") as HTMLButtonElement | null;
  const code = button?.parentElement?.querySelector("pre")?.textContent;
  if (!button || code === undefined || code === null) return false;
  void navigator.clipboard.writeText(code).then(
    () => (button.textContent = "Copied"),
    () => (button.textContent = "Copy failed: select the code instead"),
  );
  setTimeout(() => (button.textContent = "Copy code"), 2_000);
  return true;
}
