// The model domain's public API: reading, checking, fetching and generating model files.
export { readGgufHeader, type ReadGgufHeaderOptions } from "./readGgufHeader.ts";
export {
  parseGgufHeader,
  GGUF_VALUE_TYPES,
  type GgufHeader,
  type GgufTensorInfo,
  type GgufMetadataEntry,
  type GgufArray,
  type GgufScalar,
  type GgufValueType,
  type ParseGgufHeaderOptions,
} from "./parseGgufHeader.ts";
export { ggmlTypeInfo, type GgmlTypeInfo } from "./ggmlTypeInfo.ts";
export { hashFile, type HashFileOptions } from "./hashFile.ts";
export { sha256Hex } from "./sha256Hex.ts";
export { pullModel, type PullModelOptions, type PullModelResult } from "./pullModel.ts";
export { detectModelFormat, type ModelFormat } from "./detectModelFormat.ts";
export { encodeGguf, type GgufWriteSpec, type GgufWriteTensor, type GgufWriteValue } from "./encodeGguf.ts";
export { writeGguf } from "./writeGguf.ts";
export {
  generateTestModel,
  TEST_MODEL_FILE_NAME,
  TEST_MODEL_NAME,
  TEST_MODEL_DESCRIPTION,
  TEST_MODEL_SHA256,
  TEST_MODEL_BYTES,
  TEST_MODEL_SHAPE,
  type GenerateTestModelResult,
} from "./generateTestModel.ts";
