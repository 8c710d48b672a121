import { resolveChatWrapper, GeneralChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";

/** What a prompt is made of: a chat conversation or a plain completion prompt. */
export type PromptInput =
  | { kind: "chat"; messages: readonly { role: "system" | "user" | "assistant"; content: string }[] }
  | { kind: "completion"; prompt: string };

/** The tokens a model evaluates for a prompt, and the strings that end its answer (chat templates' end markers). */
export type RenderedPrompt = { tokens: Token[]; stopTriggers: string[] };

/**
 * Renders a prompt into tokens the way the model's own chat template (from its GGUF) does. The
 * provider evaluates exactly these tokens and bills them as input; a gateway that has the same GGUF
 * at hand renders the same tokens, so it can check the bill's input count exactly.
 */
export function createPromptRenderer(model: LlamaModel): (input: PromptInput) => RenderedPrompt {
  let chatWrapper: ChatWrapper;
  try {
    chatWrapper = resolveChatWrapper(model) ?? new GeneralChatWrapper();
  } catch {
    chatWrapper = new GeneralChatWrapper();
  }
  return (input) => {
    if (input.kind === "completion") {
      const bos = model.tokens.bos;
      const prefix = bos !== null && model.tokens.shouldPrependBosToken ? [bos] : [];
      return { tokens: [...prefix, ...model.tokenize(input.prompt)], stopTriggers: [] };
    }
    const history: ChatHistoryItem[] = input.messages.map((m) =>
      m.role === "system"
        ? { type: "system", text: m.content }
        : m.role === "user"
          ? { type: "user", text: m.content }
          : { type: "model", response: [m.content] },
    );
    history.push({ type: "model", response: [] });
    const state = chatWrapper.generateContextState({ chatHistory: history });
    return {
      tokens: state.contextText.tokenize(model.tokenizer),
      stopTriggers: state.stopGenerationTriggers.map((t) => t.toString()).filter((t) => t.length > 0),
    };
  };
}
