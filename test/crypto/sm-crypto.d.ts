// Minimal typings for the `sm-crypto` devDependency, used only as an independent oracle in tests.
declare module "sm-crypto" {
  interface Sm4Options {
    padding?: "pkcs#7" | "pkcs#5" | "none";
    mode?: "ecb" | "cbc";
    iv?: number[] | Uint8Array | string;
    output?: "string" | "array";
  }
  export const sm4: {
    encrypt(input: number[] | Uint8Array | string, key: number[] | Uint8Array | string, options?: Sm4Options): number[];
    decrypt(input: number[] | Uint8Array | string, key: number[] | Uint8Array | string, options?: Sm4Options): number[];
  };
  export function sm3(
    input: string | number[] | Uint8Array,
    options?: { key: string | number[] | Uint8Array; mode?: "hmac" },
  ): string;
  export const sm2: {
    generateKeyPairHex(): { privateKey: string; publicKey: string };
    doEncrypt(msg: string | number[] | Uint8Array, publicKey: string, cipherMode?: 0 | 1): string;
    doDecrypt(
      enc: string,
      privateKey: string,
      cipherMode?: 0 | 1,
      options?: { output?: "string" | "array" },
    ): string | number[];
    doSignature(
      msg: string | number[] | Uint8Array,
      privateKey: string,
      options?: { der?: boolean; hash?: boolean; publicKey?: string; userId?: string },
    ): string;
    doVerifySignature(
      msg: string | number[] | Uint8Array,
      sig: string,
      publicKey: string,
      options?: { der?: boolean; hash?: boolean; userId?: string },
    ): boolean;
  };
}
