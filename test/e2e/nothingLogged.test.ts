import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { generatePrivateKey } from "viem/accounts";
import { spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    return stat.isDirectory() ? filesUnder(path) : stat.isFile() ? [path] : [];
  });
}

describe("nothing logged", () => {
  let net: ChatNetwork;
  const children: CliProcess[] = [];
  let gatewayUrl: string;

  beforeAll(async () => {
    net = await startChatNetwork();
    const keyFile = join(net.home.keys, "canary-provider.key");
    writeFileSync(keyFile, generatePrivateKey(), { mode: 0o600 });
    const env = { GOTONG_LOG_LEVEL: "debug" }; // the most talkative level must still say nothing of content
    const provider = spawnGotong(["provider", "start", "--model", net.model.path, "--home", net.home.root, "--key", keyFile, "--port", String(await freePort()), "--threads", "1", "--verbose"], env);
    children.push(provider);
    await provider.waitFor(/serving/);
    const port = await freePort();
    const gateway = spawnGotong(["gateway", "start", "--home", net.home.root, "--port", String(port), "--verbose"], env);
    children.push(gateway);
    await gateway.waitFor(/gateway at/);
    gatewayUrl = `http://127.0.0.1:${port}/v1`;
  });
  afterAll(async () => {
    for (const c of children) {
      c.child.kill("SIGTERM");
      await c.exited;
    }
    await net?.stop();
  });

  it("keeps no trace of a prompt or its answer in GOTONG_HOME, logs, stdout or stderr", async () => {
    const canary = `canary-${randomBytes(12).toString("hex")}`;
    let answer = "";
    for (const stream of [false, true]) {
      const res = await postChat(gatewayUrl, net.model.name, `Say ${canary} please`, { max_tokens: 24, stream });
      expect(res.status).toBe(200);
      answer += await res.text();
    }
    // A malformed request containing the canary, and one refused for a bad parameter, must not echo it to logs either.
    await fetch(`${gatewayUrl}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"model":"${net.model.name}","messages":[{"role":"user","content":"${canary}"}` });
    await postChat(gatewayUrl, net.model.name, canary, { n: 9 });
    // Stop both processes (gateway first, so its last voucher reaches the provider) and wait for them
    // to exit: then every byte they would write to GOTONG_HOME, stdout and stderr has been written.
    for (const c of [...children].reverse()) {
      c.child.kill("SIGTERM");
      await c.exited;
    }

    // Words of the model's answer long enough to be distinctive, to check the completion too.
    const answerWords = [...answer.matchAll(/"content":"([^"]{12,})"/g)].map((m) => m[1]!).slice(0, 5);
    const haystacks: [string, Buffer][] = filesUnder(net.home.root).map((f) => [f, readFileSync(f)]);
    for (const c of children) haystacks.push(["stdout", Buffer.from(c.stdout())], ["stderr", Buffer.from(c.stderr())]);
    expect(children.every((c) => c.stderr().length > 0)).toBe(true); // logs were on, at debug level
    for (const [where, bytes] of haystacks) {
      expect(bytes.includes(canary), `canary found in ${where}`).toBe(false);
      expect(bytes.includes(Buffer.from(canary).toString("base64").slice(0, 20)), `base64 canary found in ${where}`).toBe(false);
      for (const word of answerWords) expect(bytes.includes(word), `completion text found in ${where}`).toBe(false);
    }
  });
});
