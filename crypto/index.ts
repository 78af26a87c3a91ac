// Public surface of crypto/: SM4, SM3, HMAC-SM3, HKDF-SM3, data keys, envelopes, blind index, integrity MAC.
export { blindIndex, normalizeForIndex } from "./blind-index.js";
export { type DataKey, deriveDataKey, deriveSubkeys } from "./data-key.js";
export {
  decryptEnvelopes,
  encryptDet,
  encryptRnd,
  envelopeFromText,
  envelopeKeyId,
  envelopeToText,
  isEnvelopeText,
  type RndOptions,
} from "./envelope.js";
export { CryptoError, type CryptoErrorCode } from "./errors.js";
export { type BlockCipher, FF1_MIN_DOMAIN, Ff1 } from "./ff1.js";
export { FPE_FORMATS, type FpeFormatName, type FpeOptions, ff1Sm4, fpeDecrypt, fpeEncrypt } from "./fpe/index.js";
export { hkdfSm3 } from "./hkdf-sm3.js";
export { HmacSm3 } from "./hmac-sm3.js";
export { encodeRowKey, integrityMac } from "./integrity-mac.js";
export { SM2_DEFAULT_USER_ID, sm2Decrypt, sm2Encrypt, sm2GenerateKeyPair, sm2Sign, sm2Verify } from "./sm2.js";
export { sm3 } from "./sm3.js";
export { sm4Ctr, sm4EcbDecrypt, sm4EcbEncrypt } from "./sm4.js";
export { sm4CtrBatch } from "./sm4-ctr-batch.js";
