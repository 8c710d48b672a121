import { z } from "zod";

/**
 * The conversation arguments of an MCP `chat` tool (the agent's and the provider's): a prompt, or
 * the messages instead. One definition, so both tools take a conversation the same way.
 */
export const chatConversationInput = {
  prompt: z.string().optional().describe("The user message (or give messages)."),
  messages: z
    .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }))
    .optional()
    .describe("The conversation, instead of a prompt."),
};
