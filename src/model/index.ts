// The model domain's public API: reading, checking, fetching, generating, publishing and verifying models.
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
export { readSafetensorsHeader, type ReadSafetensorsHeaderOptions } from "./readSafetensorsHeader.ts";
export {
  parseSafetensorsHeader,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type ParseSafetensorsHeaderOptions,
} from "./parseSafetensorsHeader.ts";
export { SAFETENSORS_DTYPE_BITS, type SafetensorsDtype } from "./safetensorsDtypeBits.ts";
export { encodeSafetensors, type SafetensorsWriteTensor } from "./encodeSafetensors.ts";
export { inspectModelFile, type ModelFileSummary } from "./inspectModelFile.ts";
export { MANIFEST_SCHEMA, type ModelManifest, type ManifestFile, type SignedManifest } from "./modelManifest.ts";
export { canonicalJson } from "./canonicalJson.ts";
export { checkManifestField } from "./checkManifestField.ts";
export { parseManifest } from "./parseManifest.ts";
export { computeWeightsHash } from "./computeWeightsHash.ts";
export { hashModelFingerprint, FINGERPRINT_HASH_TAG } from "./hashModelFingerprint.ts";
export { manifestTypedData, MANIFEST_TYPES } from "./manifestTypedData.ts";
export { signManifest, type ManifestSigner } from "./signManifest.ts";
export { verifyManifestSignature, type ManifestExpectations } from "./verifyManifestSignature.ts";
export { storeManifest, type StoredManifest } from "./storeManifest.ts";
export { loadManifest } from "./loadManifest.ts";
export { findLocalManifest } from "./findLocalManifest.ts";
export { listModelFiles, type ModelFileEntry, type ModelFileList } from "./listModelFiles.ts";
export { describeModelFiles, type ModelDescription } from "./describeModelFiles.ts";
export { hashModelFiles, type HashModelFilesOptions } from "./hashModelFiles.ts";
export { readRegisteredModel, type RegisteredModel } from "./readRegisteredModel.ts";
export { publishModel, type PublishModelOptions, type PublishModelResult } from "./publishModel.ts";
export { registerModel, type RegisterModelOptions } from "./registerModel.ts";
export { verifyModel, type VerifyModelOptions, type VerifyModelResult, type ModelCheck } from "./verifyModel.ts";
