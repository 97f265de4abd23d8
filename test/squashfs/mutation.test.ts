/**
 * Seeded mutation test of the reader and the codecs: thousands of damaged copies of the
 * fixture images (bit flips, byte overwrites, truncations, corrupted superblock pointers
 * and counts, damaged metadata, spliced ranges), each opened, a few paths looked up, stats
 * counted, walked and every file read.
 * Every case must end in a result or a SquashfsError (`UAI_SQFS_*`): never another
 * exception, never a hang, never unbounded memory. Cases run in child processes so one
 * bad case cannot take the runner down; a watchdog kills a child that stops reporting.
 *
 *   MUTATIONS=20000 npx vitest run test/squashfs/mutation.test.ts    more cases
 *   MUTATION_SEED=123 ...                                            another seed
 *   MUTATION_CASE=1234 ...                                           only one case (to debug)
 */
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, fixturePath } from '../support/fixtures.ts';
import { spawnTied } from '../support/process.ts';

const CASES = Number(process.env.MUTATIONS ?? 3000);
const SEED = Number(process.env.MUTATION_SEED ?? 20261125);
const ONLY = process.env.MUTATION_CASE === undefined ? undefined : Number(process.env.MUTATION_CASE);
const CHILDREN = 2;
/** A case that takes longer than this is a hang (the reader must honour its AbortSignal). */
const CASE_MS = 20_000;
/** A child that prints nothing for this long is stuck in synchronous code: killed. */
const WATCHDOG_MS = 60_000;
/** Peak RSS of a child (20,000 cases peaked at ~400 MiB). */
const RSS_LIMIT = 768 * 1024 * 1024;

/** Several compressors and layouts; the small rootfs images get most cases. */
const IMAGES = [
  ...['gzip', 'lzma', 'lzo', 'xz', 'lz4', 'zstd', 'xz-bcj-4k', 'uncompressed'].map((c) => `uai-rootfs-${c}.sqfs`),
  'tree-uncompressed.sqfs',
  'tree-lz4-hc.sqfs',
  'tree-zstd-1m-allfrag.sqfs',
  // squashfs-tools-ng's writer: its own lzma and xz encoders and table layout.
  'ng-tree-lzma.sqfs',
  'ng-tree-xz.sqfs',
];

/** The child: runs the cases given on argv and reports one JSON line per case. */
const CHILD = `
import { readFileSync } from 'node:fs';
const [root, imagesJson, seedText, casesJson, caseMsText, mode] = process.argv.slice(1);
const { MemorySource } = await import(new URL('src/source/index.ts', root));
const { SquashfsImage } = await import(new URL('src/squashfs/index.ts', root));
const { stopDecoderWorkers } = await import(new URL('src/squashfs/compression/index.ts', root));
const images = JSON.parse(imagesJson).map((p) => readFileSync(p));
const seed = Number(seedText);
const caseMs = Number(caseMsText);

function prng(s) {
  s = (s >>> 0) || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}
const INTERESTING = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x1fff, 0x2000, 0x7fff, 0x8000, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xffffffff];

function mutate(index) {
  const rand = prng(seed * 100003 + index * 7919 + 1);
  const int = (n) => Math.floor(rand() * n);
  const which = index % images.length;
  const src = images[which];
  const img = new Uint8Array(src);
  const view = new DataView(img.buffer);
  const used = Math.min(img.length, Number(view.getBigUint64(40, true)));
  const kind = int(8);
  let what;
  switch (kind) {
    case 0: { const n = 1 + int(8); for (let i = 0; i < n; i++) img[int(used)] ^= 1 << int(8); what = n + ' bit flips'; break; }
    case 1: { const n = 1 + int(16); for (let i = 0; i < n; i++) img[int(used)] = int(256); what = n + ' byte overwrites'; break; }
    case 2: { const len = int(img.length); what = 'truncated to ' + len; return { which, kind, what, bytes: img.subarray(0, len) }; }
    case 3: {
      const at = [32, 40, 48, 56, 64, 72, 80, 88][int(8)];
      const old = view.getBigUint64(at, true);
      const r = int(4);
      const v = r === 0 ? BigInt(int(img.length * 2)) : r === 1 ? old + BigInt(int(64) - 32) : r === 2 ? 0xffffffffffffffffn : BigInt(INTERESTING[int(INTERESTING.length)]);
      view.setBigUint64(at, BigInt.asUintN(64, v), true);
      what = 'superblock u64 at ' + at + ' = ' + BigInt.asUintN(64, v);
      break;
    }
    case 4: {
      const [at, size] = [[4, 4], [12, 4], [16, 4], [20, 2], [22, 2], [24, 2], [26, 2], [28, 2]][int(8)];
      const v = rand() < 0.5 ? INTERESTING[int(INTERESTING.length)] : int(2 ** (8 * size));
      if (size === 4) view.setUint32(at, v >>> 0, true); else view.setUint16(at, v & 0xffff, true);
      what = 'superblock field at ' + at + ' = ' + v;
      break;
    }
    case 5: {
      // Damage inside the metadata tables (inode table to the end), where the parsers live.
      const start = Math.min(used - 1, Number(view.getBigUint64(64, true)));
      const n = 1 + int(4);
      for (let i = 0; i < n; i++) img[start + int(used - start)] ^= 1 << int(8);
      what = n + ' bit flips in the tables from ' + start;
      break;
    }
    case 6: {
      const at = int(Math.max(1, used - 4));
      const v = INTERESTING[int(INTERESTING.length)];
      view.setUint32(at, v >>> 0, true);
      what = 'u32 at ' + at + ' = ' + v;
      break;
    }
    default: {
      const len = 1 + int(256);
      const from = int(Math.max(1, used - len));
      const to = int(Math.max(1, used - len));
      img.copyWithin(to, from, from + len);
      what = 'spliced ' + len + ' bytes from ' + from + ' to ' + to;
    }
  }
  return { which, kind, what, bytes: img };
}

async function run(bytes, signal, index) {
  if (mode === 'selftest') {
    // Proves the harness sees each kind of failure: a foreign exception, a promise that
    // never settles, a synchronous endless loop.
    if (index === 0) throw new TypeError('selftest: not a SquashfsError');
    if (index === 1) return await new Promise(() => {});
    if (index === 2) for (;;) {}
  }
  const image = await SquashfsImage.open(new MemorySource(bytes), { signal, limits: { maxOutputBytes: 256 * 1024 * 1024, maxEntries: 200000 } });
  let entries = 0, bytesRead = 0;
  try {
    // Path lookups (symlinks followed inside the image), stats and the inode-table pass first: a SquashfsError
    // there is a fine ending for that call, anything else fails the case.
    for (const [path, followLast] of [['/usr/bin/uai-ssh.sh', false], ['/bin/sh', true], ['/lib64', true], ['/etc/security/limits.d/99-slingshot-network.conf', false]]) {
      try {
        const entry = await image.lookup(path, { followLast, signal });
        if (entry.type === 'file') for await (const chunk of image.readFile(entry, { signal })) bytesRead += chunk.length;
      } catch (err) {
        if (!(err && err.name === 'SquashfsError')) throw err;
      }
    }
    try {
      await image.stats({ signal });
    } catch (err) {
      if (!(err && err.name === 'SquashfsError')) throw err;
    }
    try {
      image.inodeTotals();
    } catch (err) {
      if (!(err && err.name === 'SquashfsError')) throw err;
    }
    for await (const item of image.walkWithData({ signal })) {
      entries++;
      if (item.data) for await (const chunk of item.data) bytesRead += chunk.length;
    }
  } finally {
    await image.close();
  }
  return { entries, bytesRead };
}

let peak = 0;
for (const index of JSON.parse(casesJson)) {
  const m = mutate(index);
  process.stdout.write(JSON.stringify({ start: index }) + '\\n');
  const t0 = Date.now();
  const report = { index, image: m.which, kind: m.kind, what: m.what };
  try {
    const r = await run(m.bytes, AbortSignal.timeout(caseMs), index);
    Object.assign(report, { outcome: 'ok' }, r);
  } catch (err) {
    const code = err && typeof err.code === 'string' ? err.code : undefined;
    if (err && err.name === 'SquashfsError' && code && code.startsWith('UAI_SQFS_')) Object.assign(report, { outcome: 'error', code });
    else Object.assign(report, { outcome: 'bad', name: err && err.name, code, message: String(err && err.message), stack: String(err && err.stack).split('\\n').slice(0, 6).join(' | ') });
  }
  const rss = process.memoryUsage().rss;
  peak = Math.max(peak, rss);
  Object.assign(report, { ms: Date.now() - t0, rss });
  process.stdout.write(JSON.stringify(report) + '\\n');
}
await stopDecoderWorkers();
process.stdout.write(JSON.stringify({ done: true, peak }) + '\\n');
process.exit(0);
`;

interface Report {
  index: number;
  image: number;
  kind: number;
  what: string;
  outcome: 'ok' | 'error' | 'bad' | 'hang' | 'crash';
  code?: string;
  name?: string;
  message?: string;
  stack?: string;
  ms?: number;
  rss?: number;
}

function runChild(cases: number[], mode = 'normal', watchdogMs = WATCHDOG_MS): Promise<{ reports: Report[]; peak: number }> {
  return new Promise((resolve) => {
    const reports: Report[] = [];
    let current: number | undefined;
    let peak = 0;
    let buffer = '';
    let stderr = '';
    const child = spawnTied(
      process.execPath,
      ['--max-old-space-size=1024', '--input-type=module', '-e', CHILD, pathToFileURL(`${ROOT}/`).href, JSON.stringify(IMAGES.map(fixturePath)), String(SEED), JSON.stringify(cases), String(CASE_MS), mode],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let watchdog = setTimeout(kill, watchdogMs);
    function kill(): void {
      child.kill('SIGKILL');
      if (current !== undefined) reports.push({ index: current, image: -1, kind: -1, what: 'no report for too long', outcome: 'hang' });
    }
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(kill, watchdogMs);
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, nl)) as Report & { start?: number; done?: boolean; peak?: number };
        buffer = buffer.slice(nl + 1);
        if (line.start !== undefined) current = line.start;
        else if (line.done) peak = Math.max(peak, line.peak ?? 0);
        else {
          current = undefined;
          reports.push(line);
          peak = Math.max(peak, line.rss ?? 0);
          if (line.ms !== undefined && line.ms > CASE_MS) reports.push({ ...line, outcome: 'hang' });
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (current !== undefined && !reports.some((r) => r.index === current && r.outcome === 'hang')) {
        reports.push({ index: current, image: -1, kind: -1, what: `child exited (${code ?? signal}): ${stderr.slice(-500)}`, outcome: 'crash' });
      } else if (code !== 0 && current === undefined && reports.length < cases.length) {
        reports.push({ index: -1, image: -1, kind: -1, what: `child exited (${code ?? signal}) early: ${stderr.slice(-500)}`, outcome: 'crash' });
      }
      resolve({ reports, peak });
    });
  });
}

describe('seeded mutations', () => {
  it(`${ONLY === undefined ? CASES : 1} damaged images end in a result or a SquashfsError (seed ${SEED})`, { timeout: 900_000 }, async () => {
    const all = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const slices = Array.from({ length: CHILDREN }, (_, c) => all.filter((_, i) => i % CHILDREN === c)).filter((s) => s.length > 0);
    const results = await Promise.all(slices.map((s) => runChild(s)));
    const reports = results.flatMap((r) => r.reports);
    const peak = Math.max(...results.map((r) => r.peak));
    const outcomes: Record<string, number> = {};
    for (const r of reports) {
      const key = r.outcome === 'error' ? r.code! : r.outcome;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    const failures = reports.filter((r) => r.outcome === 'bad' || r.outcome === 'hang' || r.outcome === 'crash');
    const describeFailure = (r: Report): string =>
      `MUTATION_SEED=${SEED} MUTATION_CASE=${r.index}: ${IMAGES[r.image] ?? '?'} ${r.what} → ${r.outcome} ${r.name ?? ''} ${r.code ?? ''} ${r.message ?? ''} ${r.stack ?? ''}`;
    const slowest = reports.reduce<Report | undefined>((a, r) => ((r.ms ?? 0) > (a?.ms ?? -1) ? r : a), undefined);
    console.log(`mutation outcomes (seed ${SEED}, ${reports.length} cases, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB, slowest case ${slowest?.index} ${slowest?.ms} ms):`, outcomes);
    expect(failures.slice(0, 20).map(describeFailure), `${failures.length} failing cases`).toEqual([]);
    expect(reports.filter((r) => r.outcome === 'ok' || r.outcome === 'error').length).toBe(all.length);
    expect(peak).toBeLessThan(RSS_LIMIT);
    if (ONLY === undefined && CASES >= 500) {
      // A sanity check on the generator: both harmless and fatal damage occur.
      expect(outcomes.ok ?? 0).toBeGreaterThan(CASES / 50);
      expect(reports.filter((r) => r.outcome === 'error').length).toBeGreaterThan(CASES / 4);
    }
  });

  it('the harness itself catches a foreign exception, a stuck promise and a synchronous hang', async () => {
    const [foreign, stuck, spinning] = await Promise.all([runChild([0], 'selftest', 5_000), runChild([1], 'selftest', 5_000), runChild([2], 'selftest', 5_000)]);
    expect(foreign.reports).toEqual([expect.objectContaining({ index: 0, outcome: 'bad', name: 'TypeError' })]);
    expect(stuck.reports).toEqual([expect.objectContaining({ index: 1, outcome: 'crash' })]);
    expect(spinning.reports).toEqual([expect.objectContaining({ index: 2, outcome: 'hang' })]);
  });
});
