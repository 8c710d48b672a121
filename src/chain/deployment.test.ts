import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Address } from "viem";
import { isGotongError } from "../common/errors.ts";
import { readDeployment, writeDeployment, type Deployment } from "./deployment.ts";

const at = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
const deployment: Deployment = {
  chainId: 31337,
  rpcUrl: "http://127.0.0.1:8545",
  startBlock: "12",
  token: { address: at(1), symbol: "USDG", decimals: 6 },
  modelRegistry: at(2),
  providerRegistry: at(3),
  paymentChannels: at(4),
  fundingPool: at(5),
  quadraticFunding: at(5),
  protocolFeeBps: 100,
  challengePeriod: 3600,
  minStake: "100000000",
};

describe("deployment files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "gotong-deployment-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = (path: string) => {
    try {
      readDeployment(path);
    } catch (error) {
      if (isGotongError(error)) return error;
      throw error;
    }
    throw new Error("expected a refusal");
  };

  it("reads back what it wrote, and leaves no temporary file", () => {
    const path = join(dir, "deployment.json");
    writeDeployment(path, deployment);
    expect(readDeployment(path)).toEqual(deployment);
    expect(existsSync(`${path}.tmp`)).toBe(false);
    expect(readFileSync(path, "utf8").endsWith("}\n")).toBe(true);
  });

  it("replaces a file as a whole: a second write leaves only the new deployment", () => {
    const path = join(dir, "deployment.json");
    writeDeployment(path, { ...deployment, agentWalletFactory: at(9) });
    writeDeployment(path, deployment);
    expect(readDeployment(path)).toEqual(deployment);
  });

  it("refuses a missing file with deployment_missing and says how to get one", () => {
    const error = refusal(join(dir, "nope.json"));
    expect(error.code).toBe("deployment_missing");
    expect(error.message).toBe(`No deployment file at ${join(dir, "nope.json")}`);
    expect(error.hint).toContain("gotong devnet");
    expect(error.hint).toContain("--deployment");
  });

  it("refuses a file that is not JSON, keeping the parser's error as the cause", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, '{"chainId": 31337,');
    const error = refusal(path);
    expect(error).toMatchObject({ code: "deployment_invalid", message: `The deployment file ${path} is not valid JSON` });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("names the first required field a file lacks", () => {
    for (const key of ["chainId", "rpcUrl", "token", "modelRegistry", "providerRegistry", "paymentChannels", "fundingPool"] as const) {
      const path = join(dir, `${key}.json`);
      const { [key]: _dropped, ...rest } = deployment;
      writeFileSync(path, JSON.stringify(rest));
      expect(refusal(path), key).toMatchObject({ code: "deployment_invalid", message: `The deployment file ${path} has no "${key}"` });
    }
  });

  it("accepts a file written before the optional contracts existed", () => {
    const path = join(dir, "old.json");
    const { quadraticFunding: _qf, ...old } = deployment;
    writeFileSync(path, JSON.stringify(old));
    expect(readDeployment(path).quadraticFunding).toBeUndefined();
    expect(readDeployment(path).paymentChannels).toBe(at(4));
  });

  describe("several RPC endpoints", () => {
    const saved = process.env.GOTONG_RPC_URLS;
    afterEach(() => {
      if (saved === undefined) delete process.env.GOTONG_RPC_URLS;
      else process.env.GOTONG_RPC_URLS = saved;
    });

    it("reads the file's rpcUrls, and GOTONG_RPC_URLS replaces them on one host, first URL first", () => {
      const path = join(dir, "many.json");
      writeDeployment(path, { ...deployment, rpcUrls: ["http://127.0.0.1:8545", "https://rpc.example/v1"] });
      delete process.env.GOTONG_RPC_URLS;
      expect(readDeployment(path).rpcUrls).toEqual(["http://127.0.0.1:8545", "https://rpc.example/v1"]);
      process.env.GOTONG_RPC_URLS = " https://a.example , https://b.example,https://a.example ";
      expect(readDeployment(path)).toMatchObject({ rpcUrl: "https://a.example", rpcUrls: ["https://a.example", "https://b.example"] });
    });

    it("refuses an endpoint that is not an http(s) URL, naming it and where it came from", () => {
      const path = join(dir, "bad.json");
      writeDeployment(path, { ...deployment, rpcUrls: ["http://127.0.0.1:8545", "ws://127.0.0.1:8546"] });
      delete process.env.GOTONG_RPC_URLS;
      expect(refusal(path).message).toBe(`rpcUrls of ${path}: "ws://127.0.0.1:8546" is not an http(s) URL`);
      writeFileSync(path, JSON.stringify({ ...deployment, rpcUrls: "http://127.0.0.1:8545" }));
      expect(refusal(path)).toMatchObject({ code: "deployment_invalid", message: `The deployment file ${path} has "rpcUrls" that is not a list of URLs` });
      process.env.GOTONG_RPC_URLS = "http://ok.example,not a url";
      expect(refusal(path).message).toBe('GOTONG_RPC_URLS: "not a url" is not an http(s) URL');
    });
  });
});
