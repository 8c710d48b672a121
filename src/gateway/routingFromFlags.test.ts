import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getAddress } from "viem";
import { challengesFromFlags, routingFromFlags } from "./routingFromFlags.ts";

const A = "0x00000000000000000000000000000000000000aa";

describe("routingFromFlags", () => {
  it("reads a --routing file, with single-field flags winning over it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "routing-")), "routing.json");
    writeFileSync(file, JSON.stringify({ sort: "latency", ignore: [A], max_price: { prompt: 9 } }));
    expect(routingFromFlags({ routing: file }, 6)).toEqual({ sort: "latency", ignore: [getAddress(A)], maxPrice: { prompt: 9_000_000n } });
    expect(routingFromFlags({ routing: file, sort: "price", maxPrice: "0.5,1", providerOrder: `${A}, ` }, 6)).toEqual({
      sort: "price",
      ignore: [getAddress(A)],
      order: [getAddress(A)],
      maxPrice: { prompt: 500_000n, completion: 1_000_000n },
    });
  });

  it("is undefined without flags, and refuses bad ones as invalid arguments naming the field", () => {
    expect(routingFromFlags({}, 6)).toBeUndefined();
    expect(() => routingFromFlags({ sort: "cheap" }, 6)).toThrow(/routing\.sort must be "price", "latency" or "throughput"/);
    expect(() => routingFromFlags({ maxPrice: "1,2,3" }, 6)).toThrow(/--max-price takes PROMPT or PROMPT,COMPLETION/);
    expect(() => routingFromFlags({ routing: "/nonexistent/routing.json" }, 6)).toThrow(/Cannot read the routing file/);
  });
});

describe("challengesFromFlags", () => {
  it("reads --challenge-share and each --validator; without them, the defaults stay", () => {
    expect(challengesFromFlags({})).toEqual({});
    expect(challengesFromFlags({ challengeShare: "0.05", validator: ["http://127.0.0.1:8700", "https://v.example/"] })).toEqual({ challengeShare: 0.05, validators: ["http://127.0.0.1:8700", "https://v.example/"] });
    expect(challengesFromFlags({ challengeShare: "0" })).toEqual({ challengeShare: 0 });
    expect(challengesFromFlags({ challengeShare: "1" })).toEqual({ challengeShare: 1 });
    expect(challengesFromFlags({ challengeShareNew: "0.1" })).toEqual({ challengeShareNew: 0.1 });
  });

  it("refuses a share outside 0..1 or not a plain number, and a validator that is not an http(s) URL, naming the flag", () => {
    for (const bad of ["1.5", "-0.1", "2%", "abc", "", "1e-2", "Infinity"]) expect(() => challengesFromFlags({ challengeShare: bad })).toThrow(`--challenge-share takes a number within 0 and 1, not "${bad}"`);
    expect(() => challengesFromFlags({ challengeShareNew: "5%" })).toThrow('--challenge-share-new takes a number within 0 and 1, not "5%"');
    expect(() => challengesFromFlags({ validator: ["ftp://127.0.0.1:8700"] })).toThrow('--validator takes an http(s) URL, not "ftp://127.0.0.1:8700"');
    expect(() => challengesFromFlags({ validator: ["127.0.0.1:8700"] })).toThrow('--validator takes a URL, not "127.0.0.1:8700"');
    expect(() => challengesFromFlags({ validator: ["not a url"] })).toThrow('--validator takes a URL, not "not a url"');
  });
});
