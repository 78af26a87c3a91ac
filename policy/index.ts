// Public surface of policy/: configuration, policy loading, compiled decisions, masks, hot reload, signatures.
export { type CidrSet, normalizeAddress, parseCidr } from "./cidr.js";
export {
  type CompiledPolicy,
  compilePolicy,
  type Decision,
  type Subject,
  type SubjectAccess,
  type TableDecision,
} from "./compile.js";
export {
  CONFIG_DEFAULTS,
  ConfigError,
  type KeystoreConfig,
  type ListenerConfig,
  loadConfig,
  parseConfig,
  type SmgateConfig,
} from "./config.js";
export { compilePolicyText, PolicyHolder, type ReloadResult, type SignatureRequirement } from "./holder.js";
export { applyMask, applyMaskBatch, type MaskHasher, type MaskSpec, maskToString, parseMask } from "./masks.js";
export { loadPolicy, PolicyError, parsePolicy } from "./policy-loader.js";
export {
  type AccessRule,
  type ColumnProtection,
  FPE_FORMATS,
  OPS,
  type Op,
  POLICY_DEFAULTS,
  type PolicyDoc,
  type TablePolicy,
} from "./policy-types.js";
export {
  readSm2PrivateKey,
  readSm2PublicKey,
  signaturePathFor,
  signPolicyBytes,
  verifyPolicyBytes,
} from "./signature.js";
export { formatProblem, type SourceProblem } from "./yaml-source.js";
