import { join } from "node:path";
import { generateTestModel, TEST_MODEL_FILE_NAME } from "../../src/model/generateTestModel.ts";
import { sharedModel } from "../fixtures/model/sharedModels.ts";

/** A model file to chat with, and the name it is published under. */
export type ChatModel = { path: string; name: string; real: boolean };

/**
 * A model for end-to-end chat: stories260K (real text) when the shared models are here, otherwise
 * the project's own generated test model (random weights, still real llama.cpp generation).
 */
export async function chatModel(dir: string): Promise<ChatModel> {
  const stories = sharedModel("stories260K");
  if (stories) return { path: stories, name: "stories260K", real: true };
  const path = join(dir, TEST_MODEL_FILE_NAME);
  await generateTestModel(path);
  return { path, name: "gotong-test-model", real: false };
}
