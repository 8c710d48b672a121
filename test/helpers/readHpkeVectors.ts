import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** One section of the vectors: field name → lowercase hex (or decimal, for ids and counters). */
export type HpkeVectorFields = Map<string, string>;

/** RFC 9180 Appendix A for Gotong's suite in base mode: the setup, every encryption, every export. */
export type HpkeVectors = { setup: HpkeVectorFields; encryptions: HpkeVectorFields[]; exports: HpkeVectorFields[] };

// Kept beside the project (../shared/vectors/ from its root), not in it.
const VECTORS = fileURLToPath(new URL("../../../shared/vectors/hpke-base-x25519-sha256-chacha20poly1305.txt", import.meta.url));

/**
 * Reads RFC 9180's test vectors for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305,
 * for the tests of src/privacy and src/web/crypto.
 *
 * @returns the parsed vectors, or undefined (with a warning) when the file is absent, so tests skip
 * @example const vectors = readHpkeVectors(); describe.skipIf(!vectors)("RFC 9180", () => { … });
 */
export function readHpkeVectors(): HpkeVectors | undefined {
  if (!existsSync(VECTORS)) {
    console.warn(`skipping the RFC 9180 vectors: ${VECTORS} is absent`);
    return undefined;
  }
  return parseVectors(readFileSync(VECTORS, "utf8"));
}

/** Parses the RFC's text: `name: hex`, with long hex values wrapped onto the following lines. */
function parseVectors(text: string): HpkeVectors {
  const entries: [string, string][] = [];
  let section = "";
  const sections: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#")) {
      section = line.replace(/^#+\s*/, "");
      continue;
    }
    if (line === "" || line === "~~~") continue;
    const field = /^([A-Za-z_ ]+):\s*([0-9a-fA-F]*)$/.exec(line);
    if (field) {
      entries.push([field[1]!, field[2]!.toLowerCase()]);
      sections.push(section);
    } else if (/^[0-9a-fA-F]+$/.test(line) && entries.length > 0) {
      entries[entries.length - 1]![1] += line.toLowerCase();
    } else {
      throw new Error(`unparsed vector line: ${raw}`);
    }
  }
  const setup: HpkeVectorFields = new Map();
  const encryptions: HpkeVectorFields[] = [];
  const exports: HpkeVectorFields[] = [];
  entries.forEach(([name, value], i) => {
    const where = sections[i]!;
    if (where.startsWith("Encryptions")) {
      if (name === "sequence number") encryptions.push(new Map());
      encryptions[encryptions.length - 1]!.set(name, value);
    } else if (where.startsWith("Exported Values")) {
      if (name === "exporter_context") exports.push(new Map());
      exports[exports.length - 1]!.set(name, value);
    } else if (where.startsWith("Base Setup Information")) {
      setup.set(name, value);
    }
  });
  return { setup, encryptions, exports };
}
