import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { encodePacked, keccak256, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { computeCost, type Price } from "../../src/payments/price.ts";
import { encodeReceiptHeader, receiptToJson, signReceipt, type SignedReceipt } from "../../src/protocol/receipt.ts";
import { decodeVoucherHeader, signVoucher, type VoucherDomain } from "../../src/protocol/voucher.ts";
import { HEADERS, PROTOCOL_VERSION } from "../../src/protocol/wire.ts";
import type { GatewayStore } from "../../src/gateway/createGatewayStore.ts";
import type { Offer } from "../../src/gateway/discoverOffers.ts";
import type { GatewayChannels } from "../../src/gateway/core/createGateway.ts";

/**
 * Fake providers for in-process gateway tests, with no chain and no model: each a real HTTP server
 * on 127.0.0.1 that answers as told (an error before any output, a whole answer, a stream, an
 * overcharging or other-version answer) and signs real receipts; and a channel manager whose
 * channels live in the gateway's own store, so `spent` is what the gateway would put in its next
 * voucher.
 */

/** The PaymentChannels domain the fakes sign receipts for. */
export const domain: VoucherDomain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000000c1" };
/** The registered weights of the fakes' model. */
export const WEIGHTS = `0x${"ab".repeat(32)}` as Hex;
export const MODEL_ID = 7n;
/** What every serving fake bills: 5 input and 3 output tokens ("Hello" and "!" hold at most 8). */
export const INPUT_TOKENS = 5n;
export const OUTPUT_TOKENS = 3n;

/** How a fake provider answers `POST /v1/chat/completions`. */
export type Behaviour = "500" | "429" | "402" | "400" | "epoch" | "json" | "sse" | "overcharge" | "version";

/** A running fake provider; `hits` counts the requests it was sent. */
export type FakeProvider = { account: PrivateKeyAccount; server: Server; url: string; hits: number; price: Price; behaviour: Behaviour };

const ERRORS: Record<string, [number, string]> = {
  "500": [500, "engine_failed"],
  "429": [429, "rate_limited"],
  "402": [402, "payment_required"],
  "400": [400, "invalid_parameter"],
  // Says the channel moved to another epoch on every request: the gateway reads it again and resends, each time.
  epoch: [409, "voucher_wrong_epoch"],
};

async function receiptFor(p: FakeProvider, req: IncomingMessage, overcharge = false): Promise<SignedReceipt> {
  const voucher = decodeVoucherHeader(String(req.headers[HEADERS.voucher]))!;
  const cost = computeCost(p.price, { inputTokens: Number(INPUT_TOKENS), outputTokens: Number(OUTPUT_TOKENS) }) + (overcharge ? 1n : 0n);
  return signReceipt(p.account, domain, {
    requestId: req.headers[HEADERS.requestId] as Hex,
    channelId: voucher.channelId,
    weightsHash: WEIGHTS,
    inputTokens: INPUT_TOKENS,
    outputTokens: OUTPUT_TOKENS,
    cost,
    cumulativeOwed: voucher.cumulativeAmount + cost,
    requestHash: `0x${"01".repeat(32)}`,
    responseHash: `0x${"02".repeat(32)}`,
  });
}

async function answer(p: FakeProvider, req: IncomingMessage, res: ServerResponse) {
  for await (const _ of req);
  p.hits++;
  if (p.behaviour === "version") {
    // A provider of a later protocol version: it says so on its answer, which the gateway must not read.
    res.writeHead(200, { "content-type": "application/json", [HEADERS.protocolVersion]: String(PROTOCOL_VERSION + 1) });
    return res.end("{}");
  }
  const error = ERRORS[p.behaviour];
  if (error) {
    res.writeHead(error[0], { "content-type": "application/json" });
    return res.end(JSON.stringify({ error: { message: `fake ${p.behaviour}`, type: "server_error", code: error[1], param: null } }));
  }
  const receipt = await receiptFor(p, req, p.behaviour === "overcharge");
  if (p.behaviour === "sse") {
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (content: string, gotong: Record<string, unknown>) => `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }], gotong })}\n\n`;
    res.write(chunk("Hello", { outputTokens: 2 }));
    // The receipt comes a moment later, in its own write, as a real provider's does.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return res.end(chunk("!", { outputTokens: 3, receipt: receiptToJson(receipt) }) + "data: [DONE]\n\n");
  }
  res.writeHead(200, { "content-type": "application/json", [HEADERS.receipt]: encodeReceiptHeader(receipt) });
  res.end(JSON.stringify({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }] }));
}

/** Starts a fake provider; input costs `pricePerMillion` base units per million tokens, output twice that. */
export async function startFakeProvider(behaviour: Behaviour, pricePerMillion: bigint): Promise<FakeProvider> {
  const p = { account: privateKeyToAccount(generatePrivateKey()), hits: 0, behaviour, price: { pricePerMillionInput: pricePerMillion, pricePerMillionOutput: 2n * pricePerMillion } } as FakeProvider;
  p.server = createServer((req, res) => {
    // Receipt lookups: none of these fakes left a request unsettled.
    if (req.method === "GET") return void res.writeHead(404).end();
    void answer(p, req, res);
  });
  p.server.listen(0, "127.0.0.1");
  await once(p.server, "listening");
  p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}`;
  return p;
}

/** The on-chain offer of a fake provider's model (chat only, no HPKE key: tests run unsealed). */
export const offerOf = (p: FakeProvider): Offer => ({
  provider: p.account.address,
  endpoint: p.url,
  hpkePublicKey: `0x${"00".repeat(32)}`,
  stake: 1n,
  modelId: MODEL_ID,
  modelName: "m",
  weightsHash: WEIGHTS,
  royaltyBps: 0,
  price: p.price,
  capabilities: ["chat"],
});

/** A channel manager whose channels live in the gateway store, deposited once, large; `width` channels per provider and model. */
export function fakeChannels(store: GatewayStore, width = 1): GatewayChannels & { opened: Address[] } {
  const sender = privateKeyToAccount(generatePrivateKey());
  const opened: Address[] = [];
  const lanes = new Map<Hex, number>();
  const channelIdFor = (provider: Address, modelId: bigint, lane = 0) => {
    const id = keccak256(encodePacked(["address", "address", "uint256", "uint256"], [sender.address, provider, modelId, BigInt(lane)]));
    lanes.set(id, lane);
    return id;
  };
  return {
    opened,
    channelIdFor,
    channelsPerPair: width,
    laneOf: (channelId) => lanes.get(channelId) ?? 0,
    isOpen: (channelId) => store.getChannel(channelId) !== undefined,
    async ensureChannel(provider, modelId, _needed, lane = 0) {
      const channelId = channelIdFor(provider, modelId, lane);
      if (!store.getChannel(channelId)) {
        opened.push(provider);
        store.putChannel({ channelId, provider, modelId, salt: BigInt(lane), epoch: 0n, deposit: 10n ** 18n, spent: 0n });
      }
      return store.getChannel(channelId)!;
    },
    voucherFor: (channel) => signVoucher(sender, domain, { channelId: channel.channelId, epoch: channel.epoch, cumulativeAmount: channel.spent }),
    forget: () => {},
  };
}

/** What a serving fake bills for one request: INPUT_TOKENS and OUTPUT_TOKENS at its price. */
export const costOf = (p: FakeProvider) => computeCost(p.price, { inputTokens: Number(INPUT_TOKENS), outputTokens: Number(OUTPUT_TOKENS) });
