/**
 * A bounds-checked decoder for one raw LZ4 block (the LZ4 block format description in
 * lz4/doc/lz4_Block_format.md), the layout SquashFS stores with `LZ4_compress_default`
 * or `LZ4_compress_HC` (-Xhc): no frame, no size header. Every read is checked against
 * the input end, every write against `maxOutput`, every offset against the bytes
 * produced so far. Throws a plain `Error` with the reason; `lz4.ts` wraps it.
 *
 * Sequence: token (high nibble literal length, low nibble match length − 4; 15 means
 * "add the following bytes until one is not 255"), literals, u16le offset (not 0), match.
 * The last sequence is literals only and ends exactly at the end of the input.
 */
export function lz4BlockDecompress(input: Uint8Array, maxOutput: number): Uint8Array {
  const out = new Uint8Array(maxOutput);
  const inEnd = input.length;
  let ip = 0;
  let op = 0;
  if (inEnd === 0) throw new Error('empty LZ4 block');

  const length = (base: number): number => {
    let n = base;
    if (base !== 15) return n;
    for (;;) {
      if (ip >= inEnd) throw new Error(`length runs past the input end at byte ${ip}`);
      const b = input[ip++]!;
      n += b;
      if (b !== 255) return n;
      if (n > maxOutput) throw new Error(`length ${n} at byte ${ip} is over the output limit ${maxOutput}`);
    }
  };

  for (;;) {
    if (ip >= inEnd) throw new Error(`sequence token missing at byte ${ip}`);
    const token = input[ip++]!;
    const lit = length(token >>> 4);
    if (ip + lit > inEnd) throw new Error(`${lit} literals at byte ${ip} run past the input end ${inEnd}`);
    if (op + lit > maxOutput) throw new Error(`${lit} literals at output byte ${op} pass the limit ${maxOutput}`);
    out.set(input.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip === inEnd) return op === maxOutput ? out : out.slice(0, op);
    if (ip + 2 > inEnd) throw new Error(`match offset truncated at byte ${ip}`);
    const offset = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Error(`match offset ${offset} at byte ${ip - 2} is outside the ${op} bytes produced`);
    const len = length(token & 15) + 4;
    if (op + len > maxOutput) throw new Error(`match of ${len} at output byte ${op} passes the limit ${maxOutput}`);
    let from = op - offset;
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      for (let i = 0; i < len; i++) out[op++] = out[from++]!;
    }
  }
}
