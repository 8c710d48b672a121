import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Every folder and file Gotong keeps, all under one data folder (`GOTONG_HOME`, default `~/.gotong`). */
export type GotongHome = {
  root: string;
  keys: string;
  models: string;
  /** Signed model manifests, content-addressed (`storeManifest`, `loadManifest`). */
  manifests: string;
  chain: string;
  anvilState: string;
  deployment: string;
  provider: string;
  gateway: string;
  upFile: string;
};

/** Resolves the data folder from an explicit path, `GOTONG_HOME`, or `~/.gotong`, and creates it. */
export function resolveHome(explicit?: string): GotongHome {
  const root = resolve(explicit ?? process.env.GOTONG_HOME ?? join(homedir(), ".gotong"));
  const home: GotongHome = {
    root,
    keys: join(root, "keys"),
    models: join(root, "models"),
    manifests: join(root, "manifests"),
    chain: join(root, "chain"),
    anvilState: join(root, "chain", "anvil-state.json"),
    deployment: join(root, "chain", "deployment.json"),
    provider: join(root, "provider"),
    gateway: join(root, "gateway"),
    upFile: join(root, "up.json"),
  };
  for (const dir of [home.root, home.keys, home.models, home.chain, home.provider, home.gateway]) {
    // Keys live here: keep the whole tree private to the user.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return home;
}
