// A batch of resultset row packets offered to a ResultsetTransformer: values are exposed in text form, changed
// values are re-encoded for the protocol of the resultset (text rows: length-encoded strings; binary rows:
// NULL bitmap + type-specific encodings per the column definitions shown to the client), untouched values are
// copied byte for byte, hidden columns are dropped. The whole batch is framed into one buffer (encodeBatch).
// Per row nothing is allocated unless asked for: text rows are located with offsets in one typed array, changed
// values are kept in one flat array (row × column).
import { readBinaryValueAsText, skipBinaryValue, writeBinaryValueFromText } from "./binary-values.js";
import type { ColumnDefinition } from "./column-definition.js";
import { ColFlag, MAX_PACKET_PAYLOAD } from "./constants.js";
import type { RowBatch } from "./hooks.js";
import { framePacket } from "./packets.js";
import { MalformedPacketError, PayloadReader, PayloadWriter } from "./wire.js";

/** Offsets of a text row's values not located yet. */
const UNPARSED = -2;
/** Offset of a NULL value. */
const NULL_AT = -1;

export class RowBatchImpl implements RowBatch {
  private readonly rows: Buffer[] = [];
  bytes = 0;
  private readonly n: number;
  /** Text rows: value c of row r is rows[r][at[2(rn+c)], at[2(rn+c)+1]) (start NULL_AT for NULL, UNPARSED). */
  private at = new Int32Array(0);
  /** Binary rows: per-column binary encodings, decoded on first use. */
  private decoded: ((Buffer | null)[] | undefined)[] = [];
  /** Values set by the transformer, row × column (undefined: unchanged). */
  private over: (Buffer | null | undefined)[] = [];
  /** Rows with at least one value set. */
  private changedRows: boolean[] = [];
  /** Binary rows: columns shown with another type than the server's, re-encoded even when untouched. */
  private readonly retyped = new Set<number>();
  private readonly hiddenCols: boolean[];

  constructor(
    /** Column definitions as the server sent them (decode side). */
    private readonly inColumns: ColumnDefinition[],
    /** Column definitions shown to the client (encode side). */
    private readonly outColumns: ColumnDefinition[],
    private readonly binary: boolean,
    private readonly hidden: Set<number>,
  ) {
    this.n = inColumns.length;
    this.hiddenCols = inColumns.map((_, i) => hidden.has(i));
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
    return this.n;
  }

  add(payload: Buffer): void {
    const r = this.rows.length;
    this.rows.push(payload);
    this.changedRows[r] = false;
    this.bytes += payload.length;
    if (this.binary) this.decoded[r] = undefined;
    else {
      const need = 2 * (r + 1) * this.n;
      if (this.at.length < need) {
        const grown = new Int32Array(Math.max(need, 2 * this.at.length, 64));
        grown.set(this.at);
        this.at = grown;
      }
      this.at[2 * r * this.n] = UNPARSED;
    }
  }

  clear(): void {
    const used = this.rows.length * this.n;
    this.rows.length = 0;
    this.decoded.length = 0;
    if (this.over.length > 0) this.over.fill(undefined, 0, Math.min(used, this.over.length));
    this.bytes = 0;
  }

  /** Locate the values of text row `row` (once). */
  private locate(row: number): void {
    const base = 2 * row * this.n;
    const at = this.at;
    if (at[base] !== UNPARSED) return;
    const payload = this.rows[row];
    const end = payload.length;
    let p = 0;
    for (let c = 0; c < this.n; c++) {
      if (p >= end) throw new MalformedPacketError("truncated packet reading text row value");
      const first = payload[p];
      let len: number;
      if (first < 0xfb) {
        len = first;
        p += 1;
      } else if (first === 0xfb) {
        at[base + 2 * c] = NULL_AT;
        at[base + 2 * c + 1] = 0;
        p += 1;
        continue;
      } else {
        // 2-, 3- and 8-byte lengths: rare on rows of a batch, decoded by the bounds-checked reader
        const r = new PayloadReader(payload, p, end);
        len = r.lenenc("text row value");
        p = r.pos;
      }
      if (p + len > end) throw new MalformedPacketError("truncated packet reading text row value");
      at[base + 2 * c] = p;
      at[base + 2 * c + 1] = p + len;
      p += len;
    }
    if (p !== end) throw new MalformedPacketError("text row longer than its columns");
  }

  /** Binary rows: per-column binary encodings. */
  private slices(row: number): (Buffer | null)[] {
    let d = this.decoded[row];
    if (d) return d;
    const payload = this.rows[row];
    const n = this.n;
    d = new Array(n);
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
    this.decoded[row] = d;
    return d;
  }

  /** The value as the server sent it (text rows: its bytes; binary rows: its binary encoding). */
  private raw(row: number, col: number): Buffer | null {
    if (this.binary) return this.slices(row)[col];
    this.locate(row);
    const k = 2 * (row * this.n + col);
    const s = this.at[k];
    return s === NULL_AT ? null : this.rows[row].subarray(s, this.at[k + 1]);
  }

  get(row: number, col: number): Buffer | null {
    if (this.changedRows[row]) {
      const o = this.over[row * this.n + col];
      if (o !== undefined) return o;
    }
    const raw = this.raw(row, col);
    if (raw === null || !this.binary) return raw;
    const def = this.inColumns[col];
    return readBinaryValueAsText(new PayloadReader(raw), def.type, (def.flags & ColFlag.UNSIGNED) !== 0, def.decimals);
  }

  set(row: number, col: number, value: Buffer | null): void {
    if (this.binary) this.slices(row);
    else this.locate(row);
    this.over[row * this.n + col] = value;
    this.changedRows[row] = true;
  }

  /** True when row `row` goes to the client as it came. */
  private untouched(row: number): boolean {
    return !this.changedRows[row] && this.hidden.size === 0 && this.retyped.size === 0;
  }

  /** Encode row `row` for the client (unchanged rows without hidden columns are returned as they came). */
  encode(row: number): Buffer {
    if (this.untouched(row)) return this.rows[row];
    const w = new PayloadWriter(this.rows[row].length + 64);
    this.writeRow(w, row);
    return w.finish();
  }

  /** Every row of the batch framed from sequence id `seq`, in one buffer; nextSeq follows the last packet. */
  encodeBatch(seq: number): { bytes: Buffer; nextSeq: number } {
    const count = this.rows.length;
    let size = this.bytes + 4 * count + 64;
    for (let r = 0; r < count; r++) {
      if (!this.changedRows[r]) continue;
      for (let c = 0, k = r * this.n; c < this.n; c++, k++) {
        const v = this.over[k];
        if (v) size += v.length + 9;
      }
    }
    const w = new PayloadWriter(size);
    let s = seq & 0xff;
    for (let r = 0; r < count; r++) {
      const start = w.length;
      w.zeros(4);
      if (this.untouched(r)) w.bytes(this.rows[r]);
      else this.writeRow(w, r);
      const len = w.length - start - 4;
      if (len < MAX_PACKET_PAYLOAD) {
        w.u24At(start, len);
        w.orAt(start + 3, s);
        s = (s + 1) & 0xff;
        continue;
      }
      // a row of 16 MiB or more: split into 0xFFFFFF-byte packets like framePacket
      const f = framePacket(Buffer.from(w.view(start + 4)), s);
      w.truncate(start).bytes(f.bytes);
      s = f.nextSeq;
    }
    return { bytes: w.finish(), nextSeq: s };
  }

  private writeRow(w: PayloadWriter, row: number): void {
    const n = this.n;
    const changed = this.changedRows[row];
    const base = row * n;
    if (!this.binary) {
      this.locate(row);
      const payload = this.rows[row];
      const at = this.at;
      for (let c = 0; c < n; c++) {
        if (this.hiddenCols[c]) continue;
        const o = changed ? this.over[base + c] : undefined;
        if (o !== undefined) {
          if (o === null) w.u8(0xfb);
          else w.lenencBytes(o);
          continue;
        }
        const s = at[2 * (base + c)];
        if (s === NULL_AT) w.u8(0xfb);
        else w.lenencBytes(payload.subarray(s, at[2 * (base + c) + 1]));
      }
      return;
    }
    const vals = this.slices(row);
    let visible = 0;
    for (let c = 0; c < n; c++) if (!this.hiddenCols[c]) visible++;
    w.u8(0x00);
    const bitmapAt = w.length;
    w.zeros((visible + 9) >> 3);
    let i = 0;
    for (let c = 0; c < n; c++) {
      if (this.hiddenCols[c]) continue;
      const o = changed ? this.over[base + c] : undefined;
      const overridden = o !== undefined || this.retyped.has(c);
      const v = o !== undefined ? o : this.retyped.has(c) ? this.get(row, c) : vals[c];
      if (v === null) {
        const bit = i + 2;
        w.orAt(bitmapAt + (bit >> 3), 1 << (bit & 7));
      } else if (overridden) {
        const def = this.outColumns[c];
        writeBinaryValueFromText(w, def.type, (def.flags & ColFlag.UNSIGNED) !== 0, v);
      } else {
        w.bytes(v);
      }
      i++;
    }
  }
}
