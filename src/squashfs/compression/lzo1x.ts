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

function overrun(what: string, at: number): never {
  throw new Error(`${what} at byte ${at}`);
}

// One function with no closures over `ip`/`op`: captured, mutated locals would live in a
// heap context instead of registers, which made this decoder 3-4x slower.
export function lzo1xDecompress(input: Uint8Array, maxOutput: number): Uint8Array {
  const out = new Uint8Array(maxOutput);
  const inEnd = input.length;
  let ip = 0;
  let op = 0;
  let state = 0;

  if (inEnd === 0) overrun('empty input', 0);
  if (input[0]! > 17) {
    const t = input[ip++]! - 17;
    if (ip + t > inEnd) overrun(`input overrun: ${t} literals`, ip);
    if (op + t > maxOutput) overrun(`output overrun: ${t} literals`, op);
    for (let i = 0; i < t; i++) out[op++] = input[ip++]!;
    state = t < 4 ? t : 4;
  }

  for (;;) {
    if (ip >= inEnd) overrun('input overrun reading an instruction', ip);
    const t = input[ip++]!;
    let length: number;
    let distance: number;
    if (t < 16) {
      if (state === 0) {
        // Literal run: 3 + L, or 18 + 255 per zero byte + the first non-zero byte.
        let n = t;
        if (n === 0) {
          n = 15;
          for (;;) {
            if (ip >= inEnd) overrun('input overrun in a length', ip);
            const b = input[ip++]!;
            if (b !== 0) {
              n += b;
              break;
            }
            n += 255;
            if (n > maxOutput) overrun('literal run past the output limit', ip);
          }
        }
        n += 3;
        if (ip + n > inEnd) overrun(`input overrun: ${n} literals`, ip);
        if (op + n > maxOutput) overrun(`output overrun: ${n} literals`, op);
        if (n < 32) {
          for (let i = 0; i < n; i++) out[op++] = input[ip++]!;
        } else {
          out.set(input.subarray(ip, ip + n), op);
          ip += n;
          op += n;
        }
        state = 4;
        continue;
      }
      if (ip >= inEnd) overrun('input overrun in a match', ip);
      const h = input[ip++]!;
      if (state === 4) {
        distance = (h << 2) + (t >> 2) + 2049;
        length = 3;
      } else {
        distance = (h << 2) + (t >> 2) + 1;
        length = 2;
      }
      state = t & 3;
    } else if (t >= 64) {
      if (ip >= inEnd) overrun('input overrun in a match', ip);
      distance = (input[ip++]! << 3) + ((t >> 2) & 7) + 1;
      length = (t >> 5) + 1;
      state = t & 3;
    } else {
      const m4 = t < 32;
      let n = m4 ? t & 7 : t & 31;
      if (n === 0) {
        n = m4 ? 7 : 31;
        for (;;) {
          if (ip >= inEnd) overrun('input overrun in a length', ip);
          const b = input[ip++]!;
          if (b !== 0) {
            n += b;
            break;
          }
          n += 255;
          if (n > maxOutput) overrun('match length past the output limit', ip);
        }
      }
      if (ip + 2 > inEnd) overrun('input overrun in a match distance', ip);
      const d = input[ip]! | (input[ip + 1]! << 8);
      ip += 2;
      length = n + 2;
      state = d & 3;
      if (m4) {
        distance = ((t & 8) << 11) + (d >> 2);
        if (distance === 0) {
          // End of stream: exactly 0x11 0x00 0x00, and nothing after it.
          if (n !== 1 || state !== 0) overrun('malformed end-of-stream marker', ip - 3);
          if (ip !== inEnd) overrun(`${inEnd - ip} bytes after the end-of-stream marker`, ip);
          return op === maxOutput ? out : out.slice(0, op);
        }
        distance += 16384;
      } else {
        distance = (d >> 2) + 1;
      }
    }
    if (distance > op) overrun(`match distance ${distance} reaches before the output start`, op);
    if (op + length > maxOutput) overrun(`output overrun: match of ${length}`, op);
    let from = op - distance;
    if (length >= 32 && distance >= length) {
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Byte by byte: short copies, and overlapping ones that repeat a pattern.
      for (let i = 0; i < length; i++) out[op++] = out[from++]!;
    }
    if (state > 0) {
      if (ip + state > inEnd) overrun(`input overrun: ${state} literals`, ip);
      if (op + state > maxOutput) overrun(`output overrun: ${state} literals`, op);
      for (let i = 0; i < state; i++) out[op++] = input[ip++]!;
    }
  }
}
