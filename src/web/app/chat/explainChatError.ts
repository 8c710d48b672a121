import { describeError } from "../lib/api.ts";

/** An error as the chat page words it: for a person chatting, not for whoever runs the gateway. */
export type ChatProblem = { message: string; hint?: string; code: string };

/**
 * Rewords the errors whose gateway or provider text speaks the API's language (`max_tokens`,
 * "prepare again") into what a person in the chat can act on; the code stays, for tests and
 * support. Anything else passes through as describeError gives it.
 */
export function explainChatError(error: unknown): ChatProblem {
  const e = describeError(error);
  switch (e.code) {
    case "context_length_exceeded":
      return {
        code: e.code,
        message: "This message and the answer's length are too long for this model's context.",
        hint: "Lower “Longest answer”, shorten the message, or start a new chat. Nothing was charged.",
      };
    case "provider_unavailable":
      return { code: e.code, message: "The provider chosen for this message could not take it.", hint: "Ask again: another provider may answer. Nothing was charged." };
    case "request_replayed":
      return { code: e.code, message: "This message was delivered to the provider by someone else first.", hint: "Ask again: it is sent afresh." };
    case "missing_api_key":
    case "invalid_api_key":
    case "api_key_not_found":
      return { code: e.code, message: "This gateway needs an API key.", hint: "Enter the key its operator gave you in the Gateway API key field." };
    default:
      return e;
  }
}
