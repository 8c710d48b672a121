#!/usr/bin/env node
// Compiles contracts/src/*.sol with the `solc` npm package and writes src/chain/contracts.generated.ts:
// one `<Name>Artifact` per deployable contract, `{ contractName, abi, bytecode, deployedBytecode,
// immutables }`, with the ABI `as const` so viem infers argument and return types. The runtime code
// and the byte ranges its immutables fill in at construction let `gotong deploy` check what a chain
// holds at an address (eth_getCode) against this build.
//
//   node scripts/compile-contracts.mjs           write the file
//   node scripts/compile-contracts.mjs --check   exit 1 (saying why) if the committed file differs
//                                                from a fresh compile
//
// The compiler input mirrors what Forge sends (same settings, remapping and source names, see
// contracts/foundry.toml), so the bytecode here is the bytecode `forge test` measures. The output is
// deterministic: no timestamps or absolute paths reach it.

import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const contractsDir = path.join(root, "contracts");
const srcDir = path.join(contractsDir, "src");
const outFile = path.join(root, "src", "chain", "contracts.generated.ts");
const outFileRelative = path.relative(root, outFile);

/** Compiler settings; keep in sync with contracts/foundry.toml. */
const OZ_REMAPPING_PREFIX = "@openzeppelin/contracts/";
const OZ_UNIT_PREFIX = "../node_modules/@openzeppelin/contracts/";
const SETTINGS = {
  remappings: [`${OZ_REMAPPING_PREFIX}=${OZ_UNIT_PREFIX}`],
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  viaIR: false,
  metadata: { bytecodeHash: "ipfs", appendCBOR: true, useLiteralContent: false },
  libraries: {},
};

/** Where @openzeppelin/contracts is installed (wherever npm put it). */
function openZeppelinDir() {
  return path.dirname(require.resolve("@openzeppelin/contracts/package.json"));
}

/** Resolves a source unit name (relative to contracts/, as Forge names them) to a file. */
function resolveUnit(unitName, ozDir) {
  if (unitName.startsWith(OZ_UNIT_PREFIX)) return path.join(ozDir, unitName.slice(OZ_UNIT_PREFIX.length));
  if (unitName.startsWith(OZ_REMAPPING_PREFIX)) return path.join(ozDir, unitName.slice(OZ_REMAPPING_PREFIX.length));
  return path.resolve(contractsDir, unitName);
}

/** Compiles every contract in contracts/src and returns the generated TypeScript. */
function compile() {
  const solc = require("solc");
  const ozDir = openZeppelinDir();
  // The x402 batch-settlement contracts live in src/x402/ and are installed, not deployed, on a
  // devnet (their runtime code at the canonical addresses), so their runtime code is needed too.
  const files = [
    ...fs
      .readdirSync(srcDir)
      .filter((name) => name.endsWith(".sol"))
      .sort(),
    "x402/X402BatchSettlement.sol",
    "x402/ERC3009DepositCollector.sol",
  ];
  if (files.length === 0) throw new Error(`no .sol files in ${path.relative(root, srcDir)}`);

  const sources = {};
  const outputSelection = {};
  for (const file of files) {
    const unit = `src/${file}`;
    sources[unit] = { content: fs.readFileSync(path.join(srcDir, file), "utf8") };
    outputSelection[unit] = { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"] };
  }
  const input = { language: "Solidity", sources, settings: { ...SETTINGS, outputSelection } };

  const findImports = (unitName) => {
    const file = resolveUnit(unitName, ozDir);
    try {
      return { contents: fs.readFileSync(file, "utf8") };
    } catch {
      return { error: `File not found: ${unitName} (looked at ${file})` };
    }
  };

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  // 2394: "transient storage can break composability" — raised for OpenZeppelin's transient
  // reentrancy guard, which clears its slot at the end of every call (the safe use). Forge ignores it too.
  const ignoredWarnings = new Set(["2394"]);
  const diagnostics = (output.errors ?? []).filter((d) => !ignoredWarnings.has(d.errorCode));
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity !== "error") process.stderr.write(`${diagnostic.formattedMessage ?? diagnostic.message}\n`);
  }
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    const message = errors.map((d) => d.formattedMessage ?? d.message).join("\n");
    throw new Error(`solc reported ${errors.length} error(s):\n${message}`);
  }

  const artifacts = [];
  for (const file of files) {
    const contracts = output.contracts?.[`src/${file}`] ?? {};
    for (const name of Object.keys(contracts).sort()) {
      const bytecode = contracts[name].evm?.bytecode?.object ?? "";
      if (bytecode.length === 0) continue; // interfaces and abstract contracts cannot be deployed
      const runtime = contracts[name].evm.deployedBytecode;
      // solc keys the ranges by the immutable's AST id; only the byte ranges matter to a check.
      const immutables = Object.values(runtime.immutableReferences ?? {})
        .flat()
        .map(({ start, length }) => ({ start, length }))
        .sort((a, b) => a.start - b.start);
      artifacts.push({ name, abi: contracts[name].abi, bytecode: `0x${bytecode}`, deployedBytecode: `0x${runtime.object}`, immutables });
    }
  }
  return render(artifacts, solc.version());
}

/** Renders the artifacts as a TypeScript module. */
function render(artifacts, compilerVersion) {
  const lines = [
    "// Generated by scripts/compile-contracts.mjs from contracts/src. Do not edit.",
    "// Regenerate with `npm run build:contracts`; `node scripts/compile-contracts.mjs --check` verifies it.",
    `// Compiler: solc ${compilerVersion}, optimizer on (200 runs), evm cancun.`,
    "",
  ];
  for (const { name, abi, bytecode, deployedBytecode, immutables } of artifacts) {
    const abiSource = JSON.stringify(abi, null, 2).replace(/\n/g, "\n  ");
    lines.push(
      `/** ABI, creation and runtime bytecode of the \`${name}\` contract (contracts/src); \`immutables\`: runtime byte ranges set at construction. */`,
      `export const ${name}Artifact = {`,
      `  contractName: ${JSON.stringify(name)},`,
      `  abi: ${abiSource} as const,`,
      `  bytecode: ${JSON.stringify(bytecode)},`,
      `  deployedBytecode: ${JSON.stringify(deployedBytecode)},`,
      `  immutables: ${JSON.stringify(immutables)},`,
      "} as const;",
      "",
    );
  }
  return lines.join("\n");
}

/** Names the artifacts whose rendered text differs between two generated files. */
function changedArtifacts(before, after) {
  const split = (text) => {
    const map = new Map();
    for (const match of text.matchAll(/export const (\w+)Artifact = \{[\s\S]*?\n\} as const;/g)) {
      map.set(match[1], match[0]);
    }
    return map;
  };
  const a = split(before);
  const b = split(after);
  const names = new Set([...a.keys(), ...b.keys()]);
  const changes = [];
  for (const name of [...names].sort()) {
    if (!a.has(name)) changes.push(`${name}: missing from the committed file`);
    else if (!b.has(name)) changes.push(`${name}: no longer in contracts/src`);
    else if (a.get(name) !== b.get(name)) changes.push(`${name}: ABI or bytecode changed`);
  }
  if (changes.length === 0) changes.push("header or formatting changed");
  return changes;
}

function main() {
  const check = process.argv.includes("--check");
  const generated = compile();

  if (check) {
    let committed;
    try {
      committed = fs.readFileSync(outFile, "utf8");
    } catch {
      console.error(`${outFileRelative} does not exist. Run \`npm run build:contracts\` and commit it.`);
      process.exit(1);
    }
    if (committed !== generated) {
      console.error(
        `${outFileRelative} is out of date with contracts/src:\n` +
          changedArtifacts(committed, generated)
            .map((line) => `  - ${line}`)
            .join("\n") +
          "\nRun `npm run build:contracts` and commit the result.",
      );
      process.exit(1);
    }
    console.log(`${outFileRelative} is up to date.`);
    return;
  }

  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const previous = fs.existsSync(outFile) ? fs.readFileSync(outFile, "utf8") : undefined;
  if (previous === generated) {
    console.log(`${outFileRelative} is already up to date.`);
    return;
  }
  fs.writeFileSync(outFile, generated);
  console.log(`Wrote ${outFileRelative}.`);
}

try {
  main();
} catch (error) {
  console.error(`compile-contracts: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
