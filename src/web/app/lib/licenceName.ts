/**
 * The names of the SPDX licences open models are most often published under. An id not listed
 * here is shown as it is (it is still the exact SPDX id, and the page links nothing).
 */
const NAMES: Record<string, string> = {
  "Apache-2.0": "Apache License 2.0",
  MIT: "MIT License",
  "BSD-2-Clause": "BSD 2-Clause License",
  "BSD-3-Clause": "BSD 3-Clause License",
  ISC: "ISC License",
  "MPL-2.0": "Mozilla Public License 2.0",
  "GPL-2.0-only": "GNU GPL v2.0 only",
  "GPL-2.0-or-later": "GNU GPL v2.0 or later",
  "GPL-3.0-only": "GNU GPL v3.0 only",
  "GPL-3.0-or-later": "GNU GPL v3.0 or later",
  "LGPL-2.1-only": "GNU LGPL v2.1 only",
  "LGPL-2.1-or-later": "GNU LGPL v2.1 or later",
  "LGPL-3.0-only": "GNU LGPL v3.0 only",
  "LGPL-3.0-or-later": "GNU LGPL v3.0 or later",
  "AGPL-3.0-only": "GNU AGPL v3.0 only",
  "AGPL-3.0-or-later": "GNU AGPL v3.0 or later",
  "CC0-1.0": "Creative Commons Zero v1.0 Universal",
  "CC-BY-4.0": "Creative Commons Attribution 4.0",
  "CC-BY-SA-4.0": "Creative Commons Attribution-ShareAlike 4.0",
  "CC-BY-NC-4.0": "Creative Commons Attribution-NonCommercial 4.0",
  "CC-BY-NC-SA-4.0": "Creative Commons Attribution-NonCommercial-ShareAlike 4.0",
  "CC-BY-ND-4.0": "Creative Commons Attribution-NoDerivatives 4.0",
  "CC-BY-NC-ND-4.0": "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
  "OpenRAIL": "Open RAIL License",
  "CreativeML-OpenRAIL-M": "CreativeML Open RAIL-M",
  "BigScience-OpenRAIL-M": "BigScience Open RAIL-M",
  "BigScience-BLOOM-RAIL-1.0": "BigScience BLOOM RAIL 1.0",
  Unlicense: "The Unlicense",
  "BSL-1.0": "Boost Software License 1.0",
  Zlib: "zlib License",
  "Artistic-2.0": "Artistic License 2.0",
  "LLVM-exception": "LLVM Exception",
};

/** SPDX's operators, as a sentence says them. */
const OPERATORS: Record<string, string> = { OR: "or", AND: "and", WITH: "with" };

/**
 * A manifest's SPDX licence expression in words: each known id by its name, the operators as
 * words, `NOASSERTION` as "not stated"; anything unknown stays as written.
 *
 * @example licenceName("MIT OR Apache-2.0") // "MIT License or Apache License 2.0"
 */
export function licenceName(expression: string): string {
  const text = expression.trim();
  if (text === "" || text === "NOASSERTION" || text === "NONE") return "not stated";
  return text
    .split(/(\s+|\(|\))/)
    .filter((part) => part !== "" && !/^\s+$/.test(part))
    .map((part) => {
      if (part === "(" || part === ")") return part;
      if (OPERATORS[part]) return OPERATORS[part];
      // "GPL-2.0+" (the old "or later" form) names the same licence as "-or-later".
      const plus = part.endsWith("+") ? part.slice(0, -1) : undefined;
      if (plus && NAMES[`${plus}-or-later`]) return NAMES[`${plus}-or-later`];
      return NAMES[part] ?? part;
    })
    .join(" ")
    .replace(/\( /g, "(")
    .replace(/ \)/g, ")");
}
