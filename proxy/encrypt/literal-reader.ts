// Reads the inputs of companion slots from a statement's own text: literals (decoded by the rewrite engine,
// a unary minus applied) and NULL. Parameters and other sources are the dialect's to refuse (each has its
// own refusal type and wording), so they are passed in.
import type { AnalysedStatement, RewriteEngine } from "../rewrite/engine.js";
import type { ValueSource } from "../rewrite/types.js";
import type { Value } from "./value-transforms.js";

export interface LiteralReaderRefusals {
  /** a parameter in a statement whose parameters are not known here */
  param(src: Extract<ValueSource, { kind: "param" }>): never;
  /** an input that is neither a parameter nor a literal */
  unknown(): never;
}

export function statementLiteralReader(
  engine: RewriteEngine,
  sql: string,
  a: AnalysedStatement,
  refuse: LiteralReaderRefusals,
): (src: ValueSource) => Value {
  return (src: ValueSource): Value => {
    switch (src.kind) {
      case "literal":
        return Buffer.from(engine.literalValue(sql, a, src.ordinal, src.negative === true), "utf8");
      case "null":
        return null;
      case "param":
        return refuse.param(src);
      default:
        return refuse.unknown();
    }
  };
}
