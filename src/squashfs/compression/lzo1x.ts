/**
 * A bounds-checked LZO1X decoder, written from the description of the format in the
 * Linux kernel's Documentation/staging/lzo.rst and the behaviour of
 * `lzo1x_decompress_safe` (every read checked against the input end, every write
 * against the output limit, every match distance against the bytes produced so far).
 * It throws a plain `Error` with the reason and byte position; `lzo.ts` wraps it.
 *
 * The stream is a sequence of instructions. `state` is the number of literals the last
 * instruction copied (4 standing for "4 or more"); it decides what a byte 0..15 means:
 *   state 0     0000LLLL            literal run of 3+L bytes (L=0: 18 + 255·zeros + byte)
 *   state 1..3  0000DDSS HHHHHHHH   2-byte match at distance (H<<2)+D+1
 *   state 4     0000DDSS HHHHHHHH   3-byte match at distance (H<<2)+D+2049
 *   any         0001HLLL  D16le     match 2+L (L=0: 9 + 255·zeros + byte), distance
 *                                   16384+(H<<14)+(D>>2); distance 16384 ends the stream
 *   any         001LLLLL  D16le     match 2+L (L=0: 33 + 255·zeros + byte), distance (D>>2)+1
 *   any         01LDDDSS  HHHHHHHH  match 3+L at distance (H<<3)+D+1
 *   any         1LLDDDSS  HHHHHHHH  match 5+L at distance (H<<3)+D+1
 * After a match, S (the low two bits of its last distance byte, or of the instruction
 * byte) literals follow directly and become the new state. A first byte above 17 is a
 * literal run of byte-17 bytes.
 */

export function lzo1xDecompress(input: Uint8Array, maxOutput: number): Uint8Array {
  const out = new Uint8Array(maxOutput);
  const inEnd = input.length;
  let ip = 0;
  let op = 0;
  let state = 0;

  const need = (n: number): void => {
    if (ip + n > inEnd) throw new Error(`input overrun at byte ${ip} (needs ${n} more of ${inEnd})`);
  };
  const room = (n: number): void => {
    if (op + n > maxOutput) throw new Error(`output overrun at byte ${op} (${n} more would pass the limit of ${maxOutput})`);
  };
  const literals = (n: number): void => {
    need(n);
    room(n);
    if (n < 32) {
      for (let i = 0; i < n; i++) out[op++] = input[ip++]!;
    } else {
      out.set(input.subarray(ip, ip + n), op);
      ip += n;
      op += n;
    }
  };
  const match = (distance: number, length: number): void => {
    if (distance > op) throw new Error(`match distance ${distance} reaches before the output start at byte ${op}`);
    room(length);
    let from = op - distance;
    if (length >= 32 && distance >= length) {
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Byte by byte: short copies, and overlapping ones that repeat a pattern.
      for (let i = 0; i < length; i++) out[op++] = out[from++]!;
    }
  };
  /** The length extension: zero bytes add 255 each, the first non-zero byte ends it. */
  const extended = (base: number): number => {
    let n = base;
    for (;;) {
      need(1);
      const b = input[ip++]!;
      if (b !== 0) return n + b;
      n += 255;
      // No block is larger than 1 MiB; a longer run of zeros is damage, not data.
      if (n > maxOutput + 255) throw new Error(`length run past the output limit at byte ${ip}`);
    }
  };

  need(1);
  if (input[0]! > 17) {
    const t = input[ip++]! - 17;
    literals(t);
    state = t < 4 ? t : 4;
  }

  for (;;) {
    need(1);
    const t = input[ip++]!;
    if (t < 16) {
      if (state === 0) {
        literals((t === 0 ? extended(15) : t) + 3);
        state = 4;
        continue;
      }
      need(1);
      const h = input[ip++]!;
      if (state === 4) match((h << 2) + (t >> 2) + 2049, 3);
      else match((h << 2) + (t >> 2) + 1, 2);
      state = t & 3;
    } else if (t >= 64) {
      need(1);
      const h = input[ip++]!;
      match((h << 3) + ((t >> 2) & 7) + 1, (t >> 5) + 1);
      state = t & 3;
    } else if (t >= 32) {
      const length = (t & 31) === 0 ? extended(31) : t & 31;
      need(2);
      const d = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
      match((d >> 2) + 1, length + 2);
      state = d & 3;
    } else {
      const length = (t & 7) === 0 ? extended(7) : t & 7;
      need(2);
      const d = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
      const distance = ((t & 8) << 11) + (d >> 2);
      if (distance === 0) {
        // End of stream: exactly 0x11 0x00 0x00, and nothing after it.
        if (length !== 1 || (d & 3) !== 0) throw new Error(`malformed end-of-stream marker at byte ${ip - 3}`);
        if (ip !== inEnd) throw new Error(`${inEnd - ip} bytes after the end-of-stream marker`);
        return op === maxOutput ? out : out.slice(0, op);
      }
      match(distance + 16384, length + 2);
      state = d & 3;
    }
    if (state > 0) literals(state);
  }
}
