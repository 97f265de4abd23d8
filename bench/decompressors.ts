/**
 * Measures the codecs on real mksquashfs data blocks: MB/s of decompressed output, one
 * thread (sync) and with 4 async calls in flight; for lz4 also lz4-napi, and how each lz4
 * decoder treats damaged blocks. Usage: node bench/decompressors.ts [corpus-MB]
 * Writes nothing but bench/work/ (gitignored); prints a Markdown table.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDecompressor, stopDecoderWorkers, type Decompressor } from '../src/squashfs/compression/index.ts';
import { ROOT, mksquashfs, parseSuperblock, singleFileBlocks, type RawBlock } from '../test/support/fixtures.ts';

const WORK = join(ROOT, 'bench', 'work');
const MB = Number(process.argv[2] ?? 48);

function corpus(): Buffer {
  // Shared libraries and text from this machine: what a compute rootfs is made of.
  const parts: Buffer[] = [];
  let total = 0;
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/usr/share/doc', '/usr/share/perl5']) {
    const stack = [dir];
    while (stack.length && total < MB << 20) {
      const d = stack.pop()!;
      let names: string[] = [];
      try {
        names = readdirSync(d).sort();
      } catch {
        continue;
      }
      for (const n of names) {
        const p = join(d, n);
        try {
          const st = statSync(p);
          if (st.isDirectory()) stack.push(p);
          else if (st.isFile() && st.size < 8 << 20 && total < ((MB << 20) * (dir.includes('lib/x86') ? 0.6 : 1))) {
            const b = readFileSync(p);
            parts.push(b);
            total += b.length;
          }
        } catch {
          /* unreadable: skip */
        }
      }
    }
  }
  return Buffer.concat(parts).subarray(0, MB << 20);
}

async function inFlight<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

function rate(bytes: number, ms: number): string {
  return ((bytes / (1 << 20)) / (ms / 1000)).toFixed(0);
}

async function main(): Promise<void> {
  mkdirSync(join(WORK, 'tree'), { recursive: true });
  const content = corpus();
  writeFileSync(join(WORK, 'tree', 'data'), content);
  console.log(`corpus: ${(content.length / (1 << 20)).toFixed(1)} MiB, Node ${process.version}\n`);
  console.log('| codec | block | ratio | sync MB/s | 4 async MB/s |');
  console.log('|---|---|---|---|---|');
  const lz4Blocks: Array<RawBlock & { expected: Uint8Array }> = [];
  for (const [label, args] of [
    ['gzip', ['-comp', 'gzip']],
    ['lzma', ['-comp', 'lzma']],
    ['lzo', ['-comp', 'lzo']],
    ['xz', ['-comp', 'xz']],
    ['xz -Xbcj x86', ['-comp', 'xz', '-Xbcj', 'x86']],
    ['lz4', ['-comp', 'lz4']],
    ['lz4 -Xhc', ['-comp', 'lz4', '-Xhc']],
    ['zstd', ['-comp', 'zstd']],
    ['zstd 1M', ['-comp', 'zstd', '-b', '1M']],
  ] as Array<[string, string[]]>) {
    const image = join(WORK, `${label.replace(/\W+/g, '-')}.sqfs`);
    mksquashfs(join(WORK, 'tree'), image, [...args, '-no-fragments']);
    const bytes = readFileSync(image);
    const sb = parseSuperblock(bytes);
    const dec: Decompressor = createDecompressor(sb.compression);
    const blocks = singleFileBlocks(bytes, (b) => dec.decompressSync(b.data, 8192), content).filter((b) => !b.stored);
    if (label === 'lz4') lz4Blocks.push(...blocks);
    const out = blocks.reduce((n, b) => n + b.exactLength!, 0);
    let t = performance.now();
    for (const b of blocks) dec.decompressSync(b.data, b.maxLength);
    const sync = performance.now() - t;
    t = performance.now();
    await inFlight(blocks, 4, (b) => dec.decompress(b.data, b.maxLength));
    const par = performance.now() - t;
    console.log(`| ${label} | ${sb.blockSize >> 10} KiB | ${(bytes.length / content.length).toFixed(2)} | ${rate(out, sync)} | ${rate(out, par)} |`);
  }
  // lz4-napi on the same blocks: speed, and what it does with damage.
  const lz4napi = await import('lz4-napi');
  const withPrefix = (b: Uint8Array, max: number): Buffer => {
    const p = Buffer.alloc(4 + b.length);
    p.writeUInt32LE(max, 0);
    p.set(b, 4);
    return p;
  };
  const prefixed = lz4Blocks.map((b) => withPrefix(b.data, b.maxLength));
  const out = lz4Blocks.reduce((n, b) => n + b.exactLength!, 0);
  let t = performance.now();
  for (const p of prefixed) lz4napi.uncompressSync(p);
  console.log(`\nlz4-napi uncompressSync (size prefix = block size): ${rate(out, performance.now() - t)} MB/s sync`);
  t = performance.now();
  await inFlight(prefixed, 4, (p) => lz4napi.uncompress(p));
  console.log(`lz4-napi uncompress, 4 in flight: ${rate(out, performance.now() - t)} MB/s`);
  let napiOver = 0;
  let napiThrew = 0;
  let napiWrong = 0;
  let oursThrew = 0;
  let oursWrong = 0;
  const ours = createDecompressor(5);
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 3000; n++) {
    const b = lz4Blocks[Math.floor(rnd() * lz4Blocks.length)]!;
    const d = new Uint8Array(b.data);
    d[Math.floor(rnd() * d.length)]! ^= 1 << Math.floor(rnd() * 8);
    try {
      const o = lz4napi.uncompressSync(withPrefix(d, b.maxLength));
      if (o.length > b.maxLength) napiOver++;
      else if (o.length === b.exactLength && !o.equals(b.expected)) napiWrong++;
    } catch {
      napiThrew++;
    }
    try {
      const o = ours.decompressSync(d, b.maxLength);
      if (o.length === b.exactLength && !Buffer.from(o).equals(b.expected)) oursWrong++;
    } catch {
      oursThrew++;
    }
  }
  console.log(`3000 single bit flips: lz4-napi threw ${napiThrew}, right length but wrong bytes ${napiWrong}, over the limit ${napiOver}; ours threw ${oursThrew}, right length but wrong bytes ${oursWrong}`);
  await stopDecoderWorkers();
  execFileSync('true');
}

await main();
