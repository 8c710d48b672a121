import { getJson } from "../lib/api.ts";

/** A model the chat can pick: its live providers, lowest prices and context, as the gateway lists it. */
export type ModelChoice = {
  model: string;
  /** The registered weights' sha256 (0x…): names the vocabulary the page counts tokens with (see loadTokenCounter). */
  weightsHash: string | undefined;
  providers: number;
  input: bigint;
  output: bigint;
  contextLength: number | undefined;
  capabilities: string[];
};

/** A model as `GET /v1/models` lists it (the fields the chat reads). */
type ListedModel = {
  id: string;
  context_length: number | null;
  gotong?: { weightsHash?: string; providers: number; sealed: boolean; capabilities: string[]; pricePerMillionInput: string; pricePerMillionOutput: string };
};

/**
 * The chat models on offer, from the gateway's `GET /v1/models`: how many providers of each are
 * live now (not merely registered on-chain), their lowest prices, and the largest context a live
 * provider states, which bounds the answer length and the history sent with each turn.
 *
 * @throws GotongError when the gateway cannot be reached or refuses (401 without an API key)
 */
export async function loadModels(): Promise<ModelChoice[]> {
  const { data } = await getJson<{ data: ListedModel[] }>("/v1/models");
  return data
    .filter((m) => m.gotong && (m.gotong.capabilities.length === 0 || m.gotong.capabilities.includes("chat")))
    .map((m) => ({
      model: m.id,
      weightsHash: m.gotong!.weightsHash,
      providers: m.gotong!.providers,
      input: BigInt(m.gotong!.pricePerMillionInput),
      output: BigInt(m.gotong!.pricePerMillionOutput),
      contextLength: m.context_length ?? undefined,
      capabilities: m.gotong!.capabilities,
    }));
}
