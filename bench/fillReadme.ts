import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const README = join(import.meta.dirname, "..", "README.md");

/** Replaces what README.md holds between `<!-- NAME:start -->` and `<!-- NAME:end -->` with `content`; without those markers it changes nothing. */
export function fillReadme(name: string, content: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const readme = readFileSync(README, "utf8");
  writeFileSync(README, readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => `${start}\n${content}\n${end}`));
}
