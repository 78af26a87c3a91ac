// A batch of resultset row packets offered to a ResultsetTransformer: values are exposed in text form, changed
// values are re-encoded for the protocol of the resultset (text rows: length-encoded strings; binary rows:
// NULL bitmap + type-specific encodings per the column definitions shown to the client), untouched values are
// copied byte for byte, hidden columns are dropped.
import { readBinaryValueAsText, skipBinaryValue, writeBinaryValueFromText } from "./binary-values.js";
import type { ColumnDefinition } from "./column-definition.js";
import { ColFlag } from "./constants.js";
import type { RowBatch } from "./hooks.js";
import { MalformedPacketError, PayloadReader, PayloadWriter } from "./wire.js";

export class RowBatchImpl implements RowBatch {
  private readonly rows: Buffer[] = [];
  private decoded: ((Buffer | null)[] | undefined)[] = [];
  private overrides: (Map<number, Buffer | null> | undefined)[] = [];
  bytes = 0;
  /** Binary rows: columns shown with another type than the server's, re-encoded even when untouched. */
  private readonly retyped = new Set<number>();

  constructor(
    /** Column definitions as the server sent them (decode side). */
    private readonly inColumns: ColumnDefinition[],
    /** Column definitions shown to the client (encode side). */
    private readonly outColumns: ColumnDefinition[],
    private readonly binary: boolean,
    private readonly hidden: Set<number>,
  ) {
    if (binary) {
      inColumns.forEach((c, i) => {
        const o = outColumns[i];
        if (o && (o.type !== c.type || (o.flags & ColFlag.UNSIGNED) !== (c.flags & ColFlag.UNSIGNED)))
          this.retyped.add(i);
      });
    }
  }

  get size(): number {
    return this.rows.length;
  }

  get columnCount(): number {
    return this.inColumns.length;
  }

  add(payload: Buffer): void {
    this.rows.push(payload);
    this.decoded.push(undefined);
    this.overrides.push(undefined);
    this.bytes += payload.length;
  }

  clear(): void {
    this.rows.length = 0;
    this.decoded = [];
    this.overrides = [];
    this.bytes = 0;
  }

  /** Raw per-column slices: text rows -> value bytes; binary rows -> binary encoding of the value. */
  private slices(row: number): (Buffer | null)[] {
    let d = this.decoded[row];
    if (d) return d;
    const payload = this.rows[row];
    const n = this.inColumns.length;
    d = new Array(n);
    if (!this.binary) {
      const r = new PayloadReader(payload);
      for (let c = 0; c < n; c++) d[c] = r.lenencBytes("text row value");
      if (r.remaining !== 0) throw new MalformedPacketError("text row longer than its columns");
    } else {
      const r = new PayloadReader(payload, 1);
      const bitmap = r.bytes((n + 9) >> 3, "NULL bitmap");
      for (let c = 0; c < n; c++) {
        const bit = c + 2;
        if (bitmap[bit >> 3] & (1 << (bit & 7))) {
          d[c] = null;
          continue;
        }
        const start = r.pos;
        skipBinaryValue(r, this.inColumns[c].type);
        d[c] = payload.subarray(start, r.pos);
      }
    }
    this.decoded[row] = d;
    return d;
  }

  get(row: number, col: number): Buffer | null {
    const o = this.overrides[row];
    if (o?.has(col)) return o.get(col) ?? null;
    const raw = this.slices(row)[col];
    if (raw === null || !this.binary) return raw;
    const def = this.inColumns[col];
    return readBinaryValueAsText(new PayloadReader(raw), def.type, (def.flags & ColFlag.UNSIGNED) !== 0, def.decimals);
  }

  set(row: number, col: number, value: Buffer | null): void {
    this.slices(row);
    let o = this.overrides[row];
    if (!o) {
      o = new Map();
      this.overrides[row] = o;
    }
    o.set(col, value);
  }

  /** Encode row `row` for the client (unchanged rows without hidden columns are returned as they came). */
  encode(row: number): Buffer {
    const o = this.overrides[row];
    if (!o && this.hidden.size === 0 && this.retyped.size === 0) return this.rows[row];
    const vals = this.slices(row);
    const n = vals.length;
    const w = new PayloadWriter(this.rows[row].length + 64);
    if (!this.binary) {
      for (let c = 0; c < n; c++) {
        if (this.hidden.has(c)) continue;
        const v = o?.has(c) ? (o.get(c) ?? null) : vals[c];
        if (v === null) w.u8(0xfb);
        else w.lenencBytes(v);
      }
      return w.finish();
    }
    const visible: number[] = [];
    for (let c = 0; c < n; c++) if (!this.hidden.has(c)) visible.push(c);
    const bitmap = Buffer.alloc((visible.length + 9) >> 3);
    const body = new PayloadWriter(this.rows[row].length + 64);
    visible.forEach((c, i) => {
      const overridden = o?.has(c) || this.retyped.has(c);
      const v = o?.has(c) ? (o.get(c) ?? null) : this.retyped.has(c) ? this.get(row, c) : vals[c];
      if (v === null) {
        const bit = i + 2;
        bitmap[bit >> 3] |= 1 << (bit & 7);
        return;
      }
      if (overridden) {
        const def = this.outColumns[c];
        writeBinaryValueFromText(body, def.type, (def.flags & ColFlag.UNSIGNED) !== 0, v);
      } else {
        body.bytes(v);
      }
    });
    return w.u8(0x00).bytes(bitmap).bytes(body.finish()).finish();
  }
}
