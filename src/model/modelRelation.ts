import { GotongError } from "../common/errors.ts";

/**
 * How a model was made from a parent, as the manifest names it and `ModelRegistry.registerDerivative`
 * stores it (`Parent.relation`, a uint8): the numbers are the contract's and never change.
 */
export const RELATION_CODES = { "fine-tune": 1, merge: 2, quantisation: 3, distillation: 4, adapter: 5 } as const;

/** A relation between a derivative and one parent. */
export type ModelRelation = keyof typeof RELATION_CODES;

/** The relations, in the contract's order. */
export const MODEL_RELATIONS = Object.keys(RELATION_CODES) as ModelRelation[];

// Spellings people type; the manifest only ever holds the canonical one.
const ALIASES: Record<string, ModelRelation> = { finetune: "fine-tune", fine_tune: "fine-tune", quantization: "quantisation", quant: "quantisation", distillation: "distillation", distil: "distillation", distill: "distillation", lora: "adapter" };

/**
 * The canonical relation for what a user typed (`quantization` → `quantisation`), or a
 * `invalid_arguments` error listing the relations.
 *
 * @example parseRelation("quantization") // "quantisation"
 */
export function parseRelation(text: string): ModelRelation {
  const lower = text.trim().toLowerCase();
  if (Object.hasOwn(RELATION_CODES, lower)) return lower as ModelRelation;
  const alias = ALIASES[lower];
  if (alias !== undefined) return alias;
  throw new GotongError(`"${text.slice(0, 40)}" is not a model relation.`, { code: "invalid_arguments", param: "relation", hint: `Use one of: ${MODEL_RELATIONS.join(", ")}.` });
}

/** The relation the registry recorded as `code`, or undefined for a code this version does not know. */
export function relationOfCode(code: number): ModelRelation | undefined {
  return MODEL_RELATIONS.find((r) => RELATION_CODES[r] === code);
}
