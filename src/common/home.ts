import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { GotongError } from "./errors.ts";

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
  /** Lock files of the running processes, one per identity and per chain (see `lockState`). */
  locks: string;
  /** Pid file of the Anvil this home's devnet started, so a leftover one can be found and stopped. */
  anvilPidFile: string;
};

/** The provider name whose key, HPKE key and database keep the original paths (`keys/`, `provider/`). */
export const DEFAULT_PROVIDER_NAME = "default";

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
    locks: join(root, "locks"),
    anvilPidFile: join(root, "chain", "anvil.pid.json"),
  };
  for (const dir of [home.root, home.keys, home.models, home.chain, home.provider, home.gateway, home.locks]) {
    // Keys live here: keep the whole tree private to the user.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  return home;
}

/**
 * The data folder as a named provider sees it: its own signing key, HPKE key and database under
 * `GOTONG_HOME/providers/NAME` (`keys/provider.key`, `keys/provider-hpke.pem`, `provider-0x….db`),
 * sharing the chain, models, manifests and locks of the home. The default name keeps today's paths.
 *
 * @example const home = providerHome(resolveHome(), "second"); // GOTONG_HOME/providers/second/...
 */
export function providerHome(home: GotongHome, name: string = DEFAULT_PROVIDER_NAME): GotongHome {
  if (name === DEFAULT_PROVIDER_NAME) return home;
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
    throw new GotongError(`Invalid provider name "${name}"`, { code: "invalid_arguments", hint: "Use lower-case letters, digits, - and _ (up to 64), e.g. --name gpu-2." });
  }
  const root = join(home.root, "providers", name);
  const named = { ...home, keys: join(root, "keys"), provider: root };
  for (const dir of [named.keys, named.provider]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return named;
}
