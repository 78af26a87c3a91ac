// Shape keys: a statement's text with every literal and comment replaced by a marker. Two statements with
// the same shape key differ only inside literals and comments, so they have the same plan; offsets in the
// key map back to offsets in each statement through the replaced segments.

export interface Span {
  start: number;
  end: number;
}

export interface ShapeKey {
  /** Literal-free text (NUL-based markers: NUL cannot occur in wire-protocol query strings). */
  key: string;
  /** Literal token spans (char offsets in the statement), in source order. */
  literals: Span[];
  /** Replaced regions, sorted: statement [start,end) ↔ key [keyStart,keyEnd). */
  segments: { start: number; end: number; keyStart: number; keyEnd: number }[];
  /**
   * The lexer met a construct it does not model exactly (Unicode escapes, unterminated quote or comment,
   * trailing junk after a number): the key must not be used for caching.
   */
  exact: boolean;
}

/** Maps an offset of the statement to the key (the offset must not lie strictly inside a replaced segment). */
export function statementToKeyOffset(shape: ShapeKey, offset: number): number {
  let delta = 0;
  for (const seg of shape.segments) {
    if (seg.end <= offset) delta += seg.keyEnd - seg.keyStart - (seg.end - seg.start);
    else if (seg.start < offset) throw new RangeError("offset inside a literal or comment");
    else break;
  }
  return offset + delta;
}

/** Maps an offset of the key back to the statement. */
export function keyToStatementOffset(shape: ShapeKey, keyOffset: number): number {
  let delta = 0;
  for (const seg of shape.segments) {
    if (seg.keyEnd <= keyOffset) delta += seg.end - seg.start - (seg.keyEnd - seg.keyStart);
    else if (seg.keyStart < keyOffset) throw new RangeError("key offset inside a marker");
    else break;
  }
  return keyOffset + delta;
}
