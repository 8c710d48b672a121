import { getLlama, type Llama, type LlamaModel } from "node-llama-cpp";
import { GotongError } from "../common/errors.ts";

/**
 * Loads a GGUF into embedded llama.cpp (CPU unless `gpu: "auto"`; never builds llama.cpp at run time), for
 * the chat and the embedding engine alike. A file it cannot load is a `model_load_failed` that says why.
 */
export async function loadLlamaModel(options: { modelPath: string; gpu?: "auto" | false }): Promise<{ llama: Llama; model: LlamaModel }> {
  const llama = await getLlama({ gpu: options.gpu ?? false, build: "never", logLevel: "error" as never, logger: () => {} });
  try {
    return { llama, model: await llama.loadModel({ modelPath: options.modelPath }) };
  } catch (cause) {
    throw new GotongError(`llama.cpp could not load ${options.modelPath}: ${(cause as Error).message}`, {
      code: "model_load_failed",
      hint: "Check that the file is a complete GGUF model supported by this llama.cpp version.",
      cause,
    });
  }
}
