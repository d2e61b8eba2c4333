// The attribute validation walk's ASCII check (attribute-walk.ts, any-value-walk.ts): the walk accepts only
// ASCII text, which the eager decoder is sure to decode the same way, and leaves any other text to it.
//
// ASCII checks read the middle of a string four bytes at a time, through a Uint32Array over the bytes'
// ArrayBuffer: checking key and value strings byte by byte was most of the walk's time (issue 13), and the
// walk runs over every attribute of every span. The view is made once per buffer and dropped after each
// decode (releaseWordView), so it never keeps a request's bytes alive.
let wordsOf: Uint8Array | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** Byte offset of wordsOf[0] in its ArrayBuffer (whose word i holds bytes 4i..4i+3). */
let wordsOffset = 0;
/** Strings shorter than this are checked byte by byte (the view's set-up and edges cost more). */
const MIN_WORD_CHECK_BYTES = 12;

/** Whether buf[start, stop) is all ASCII (every byte below 0x80). */
export function isAscii(buf: Uint8Array, start: number, stop: number): boolean {
  let bits = 0;
  let i = start;
  if (stop - start >= MIN_WORD_CHECK_BYTES) {
    if (buf !== wordsOf) {
      wordsOf = buf;
      words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
      wordsOffset = buf.byteOffset;
    }
    // Bytes up to the first word boundary, then whole words, then the bytes after the last whole word.
    for (; ((wordsOffset + i) & 3) !== 0; i++) bits |= buf[i];
    const last = (wordsOffset + stop) >>> 2;
    let wordBits = 0;
    for (let w = (wordsOffset + i) >>> 2; w < last; w++) wordBits |= words[w];
    if ((wordBits & 0x80808080) !== 0) return false;
    i = (last << 2) - wordsOffset;
  }
  for (; i < stop; i++) bits |= buf[i];
  return bits < 0x80;
}

/** Drops the word view of the last buffer checked (called after each decode). */
export function releaseWordView(): void {
  wordsOf = undefined;
  words = new Uint32Array(0);
}
