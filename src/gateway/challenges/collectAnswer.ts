import { GotongError } from "../../common/errors.ts";
import type { Completion } from "../core/createGateway.ts";

/** What a challenge's answer came to, read to its end: the answer text and what it cost. */
export type CollectedAnswer = {
  /** The single choice's text as relayed: message content for chat, `text` for completions. */
  text: string;
  /** What the request cost the gateway, base units (its summary's, copies delivered by others included). */
  cost: bigint;
};

/**
 * Reads a completion to its end and gives its single choice's text, as the provider hashed it into
 * its receipt's `responseHash` (the generated pieces in order), and its cost. Challenges ask for
 * one choice and no tools, so the text is the whole answer.
 *
 * @throws GotongError `challenge_answer_unusable` when the stream failed or the answer holds no text
 *   (a tool call, several choices): no evidence can be built from it.
 * @example const { text, cost } = await collectAnswer(own.completion);
 */
export async function collectAnswer(completion: Completion): Promise<CollectedAnswer> {
  if (completion.kind === "answer") {
    const choices = completion.body.choices as { message?: { content?: unknown }; text?: unknown }[] | undefined;
    if (!Array.isArray(choices) || choices.length !== 1) throw unusable(`it has ${Array.isArray(choices) ? choices.length : "no"} choices, not one`);
    const text = choices[0]!.message !== undefined ? choices[0]!.message.content : choices[0]!.text;
    if (typeof text !== "string") throw unusable("its choice holds no text");
    return { text, cost: BigInt(completion.summary.cost) };
  }
  let text = "";
  for await (const event of completion.events) {
    if (event.type === "failed") throw unusable(`the stream failed: ${event.error.error.message}`);
    for (const chunk of event.type === "chunks" ? event.chunks : [event.chunk]) {
      for (const choice of chunk.choices ?? []) {
        if ((choice.index ?? 0) !== 0) throw unusable("it streamed more than one choice");
        const piece = choice.delta ? choice.delta.content : choice.text;
        if (typeof piece === "string") text += piece;
        if (choice.delta?.tool_calls !== undefined) throw unusable("it streamed a tool call");
      }
    }
    if (event.type === "finished") return { text, cost: BigInt(event.summary.cost) };
  }
  throw unusable("the stream ended without its receipt");
}

const unusable = (why: string) => new GotongError(`A challenge's answer cannot be used as evidence: ${why}`, { code: "challenge_answer_unusable" });
