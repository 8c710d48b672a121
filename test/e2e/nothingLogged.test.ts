import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { generatePrivateKey } from "viem/accounts";
import { spawnGotong, type CliProcess } from "../helpers/cli.ts";
import { startChatNetwork, type ChatNetwork } from "../helpers/network.ts";
import { freePort } from "../helpers/ports.ts";
import { postChat } from "../helpers/postChat.ts";

/** The text of a chat answer: a JSON completion's messages, or a stream's deltas joined. */
function answerText(body: string, stream: boolean): string {
  if (!stream) return (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices.map((c) => c.message.content).join("");
  type Chunk = { choices?: { delta?: { content?: string } }[] };
  const events = body.split("\n\n").filter((e) => e.startsWith("data: {"));
  return events.map((e) => (JSON.parse(e.slice("data: ".length)) as Chunk).choices?.map((c) => c.delta?.content ?? "").join("") ?? "").join("");
}

/**
 * Pieces of an answer distinctive enough to search for: runs of 16 characters, at least 8 of them
 * letters, that a log, a JSON file or a database would hold as they are (none that JSON escapes);
 * at most 5.
 */
function fragmentsOf(text: string): string[] {
  return [...text.matchAll(/[A-Za-z0-9 ,.;:!?'()-]{16,}/g)]
    .map((m) => m[0].trim().slice(0, 16))
    .filter((f) => f.length === 16 && (f.match(/[A-Za-z]/g)?.length ?? 0) >= 8)
    .slice(0, 5);
}

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
    const answerWords: string[] = [];
    for (const stream of [false, true]) {
      const res = await postChat(gatewayUrl, net.model.name, `Say ${canary} please`, { max_tokens: 24, stream });
      expect(res.status).toBe(200);
      const fragments = fragmentsOf(answerText(await res.text(), stream));
      // Without text to look for, the check of the completion below would pass checking nothing.
      expect(fragments.length, `the ${stream ? "streamed" : "JSON"} answer has text to look for`).toBeGreaterThan(0);
      answerWords.push(...fragments);
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
