/**
 * Runs the whole harness at its tiny "smoke" scale (what CI runs) and checks the report:
 * every section is there, the baselines really ran, the images are what they claim, and
 * every ratio in the report is the ratio of the medians of the samples it recorded.
 * No timing threshold: the machine may be busy.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Results } from '../../bench/report.ts';
import { median, peakRss } from '../../bench/measure.ts';
import { scaleTmpfsName } from '../../bench/images.ts';
import { spawnTied } from '../support/process.ts';

const work = mkdtempSync(join(tmpdir(), 'uai-bench-smoke-'));
const out = join(work, 'benchmarks.md');
const json = join(work, 'results.json');
let exitCode: number | null = null;
let stderr = '';
let report = '';
let results: Results;

function bytesOf(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawnTied(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let n = 0;
    child.stdout!.on('data', (b: Buffer) => (n += b.length));
    child.once('error', reject);
    child.once('close', () => resolve(n));
  });
}

beforeAll(async () => {
  const child = spawnTied(process.execPath, ['bench/run.ts', '--smoke', '--work', work, '--out', out, '--json', json], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + String(b)).slice(-20_000)));
  exitCode = await new Promise<number | null>((resolve) => child.once('close', resolve));
  report = readFileSync(out, 'utf8');
  results = JSON.parse(readFileSync(json, 'utf8')) as Results;
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const medianOf = (id: string) => {
  const m = results.groups.flatMap((g) => g.measurements).find((x) => x.id === id);
  return m && m.status === 'ok' && m.samples.length > 0 ? median(m.samples.map((s) => s.wallMs)) : undefined;
};

describe('npm run bench -- --smoke', () => {
  it('finishes and writes a report with every section', () => {
    expect(exitCode, stderr).toBe(0);
    for (const heading of ['# Benchmarks', '## Analysis', '## Targets', '## Machine', '## Benchmark images', '## Measurements', '## Peak RSS per image', '## Where the time goes', '### Stage ladder', '### CPU profile', '## Notes']) {
      expect(report).toContain(`${heading}\n`);
    }
    expect(report).toContain(`${results.machine.nproc} cores`);
    expect(results.options.scale).toBe('smoke');
  });

  it('built the rootfs tree in four compressors, the large one and the scale one in gzip, and the numbers about them are right', async () => {
    expect(results.images.map((i) => i.name).sort()).toEqual(['large-gzip', 'rootfs-gzip', 'rootfs-lz4', 'rootfs-xz', 'rootfs-zstd', 'rootfs2k-gzip']);
    for (const image of results.images) {
      expect(image.tarBytes).toBe(await bytesOf('sqfs2tar', [image.path]));
      if (image.tree === 'rootfs') expect(image.listedEntries).toBe(image.stats.entries);
    }
  });

  it('ran the baselines for real on every image', () => {
    const all = results.groups.flatMap((g) => g.measurements);
    const baselines = all.filter((m) => /^(tar\/sqfs2tar|ls\/unsquashfs|build\/skopeo)\//.test(m.id));
    // sqfs2tar on every image (the scale one included), unsquashfs -lls on the four rootfs, skopeo on the two gzip.
    expect(baselines.length).toBe(6 + 4 + 2);
    for (const m of baselines) {
      expect(m.status, `${m.id}: ${m.note}`).toBe('ok');
      expect(m.samples).toHaveLength(1);
      expect(m.samples[0]!.wallMs).toBeGreaterThan(0);
      expect(m.samples[0]!.peakRssKiB).toBeGreaterThan(0);
    }
    // The skopeo baseline reports its steps.
    const skopeo = all.find((m) => m.id === 'build/skopeo/rootfs-gzip')!;
    expect(Object.keys(skopeo.samples[0]!.phases!)).toEqual(['sqfs2tar > file', 'sha256sum', 'skopeo copy']);
    // Pushes record the registry's own CPU (it hashes every byte it receives), and the report shows it.
    const registryCpu = skopeo.samples[0]!.extra?.['registryCpuMs'];
    expect(typeof registryCpu).toBe('number');
    expect(registryCpu as number).toBeGreaterThanOrEqual(0); // 10 ms ticks: a tiny smoke push may round to 0
    expect(report).toMatch(/\| registry used \d+\.\d+ s of CPU \|/);
  });

  it('runs each uai-assemble command that exists, and says which do not yet', () => {
    for (const m of results.groups.flatMap((g) => g.measurements).filter((x) => x.id.includes('/uai'))) {
      if (m.status === 'unavailable') expect(m.note).toMatch(/not available yet/);
      else expect(m.status, `${m.id}: ${m.note}`).toBe('ok');
    }
  });

  it('computes every ratio from the medians it recorded', () => {
    const pairs: Record<string, [string, string]> = {
      'tar-gzip': ['tar/sqfs2tar', 'tar/uai'],
      'tar-other': ['tar/sqfs2tar', 'tar/uai'],
      'build-none': ['build/seed', 'build/uai-none'],
      'build-gzip': ['build/seed', 'build/uai-gzip'],
      s3: ['s3/s3', 's3/local'],
    };
    let checked = 0;
    for (const t of results.targets) {
      const pair = pairs[t.id];
      if (!pair) continue;
      for (const row of t.rows) {
        const a = medianOf(`${pair[0]}/${row.image}`);
        const b = medianOf(`${pair[1]}/${row.image}`);
        if (a === undefined || b === undefined) {
          expect(row.value).toBeUndefined();
          expect(row.note).toBeTruthy();
          continue;
        }
        expect(row.value).toBeCloseTo(a / b, 10);
        expect(report).toContain(`${row.image}: ${(a / b).toFixed(2)}×`);
        checked++;
      }
    }
    // The tar baseline always runs, so as soon as `uai-assemble tar` exists there are ratios.
    const tarAvailable = results.groups.some((g) => g.measurements.some((m) => m.id.startsWith('tar/uai/') && m.status === 'ok'));
    if (tarAvailable) expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('runs the scale scenario once on its 2k-entry image, deletes its tree, and judges its peak RSS from the samples', () => {
    const image = results.images.find((i) => i.scenario === 'scale')!;
    expect(image).toMatchObject({ name: 'rootfs2k-gzip', compressor: 'gzip', listedEntries: 2000 });
    expect(image.stats.entries).toBe(2000);
    expect(image.listedEntries).toBeGreaterThan(results.images.find((i) => i.name === 'rootfs-gzip')!.listedEntries);
    expect(existsSync(join('/dev/shm', scaleTmpfsName(work, 'smoke')))).toBe(false);
    expect(existsSync(join(work, 'smoke', 'trees', 'rootfs2k'))).toBe(false);
    expect(existsSync(join(work, 'smoke', 'images', 'rootfs2k.json'))).toBe(true);

    const groups = results.groups.filter((g) => g.scenario === 'scale');
    expect(groups.map((g) => g.title)).toEqual(['scale: ls rootfs2k-gzip (2,000 entries)', 'scale: tar and build rootfs2k-gzip (2,000 entries)']);
    const ms = groups.flatMap((g) => g.measurements);
    expect(ms.map((m) => m.id)).toEqual(['ls/uai/rootfs2k-gzip', 'tar/uai/rootfs2k-gzip', 'tar/sqfs2tar/rootfs2k-gzip', 's3/s3/rootfs2k-gzip', 's3/local/rootfs2k-gzip']);
    for (const m of ms) {
      expect(m.status, `${m.id}: ${m.note}`).toBe('ok');
      expect(m.samples).toHaveLength(1);
      expect(m.samples[0]!.peakRssKiB).toBeGreaterThan(0);
    }
    for (const g of groups) expect(report).toContain(`### ${g.title}\n`);

    // Its own peak-RSS row: the largest peak of its uai-assemble runs (sqfs2tar is not one).
    const rss = results.targets.find((t) => t.id === 'rss')!;
    const uaiPeak = Math.max(...ms.filter((m) => !m.id.startsWith('tar/sqfs2tar/')).map((m) => peakRss(m)!));
    expect(rss.rows.find((r) => r.image === 'rootfs2k-gzip')!.value).toBeCloseTo(uaiPeak / 1024, 10);
    // And how the peak grows from rootfs-gzip, over the commands run on both.
    const peak = (prefixes: string[], name: string) =>
      Math.max(...prefixes.map((p) => results.groups.flatMap((g) => g.measurements).find((m) => m.id === `${p}/${name}`)).map((m) => (m ? (peakRss(m) ?? 0) : 0)));
    const common = [['ls/uai'], ['tar/uai'], ['s3/local', 'build/uai-none'], ['s3/s3']];
    const from = Math.max(...common.map((c) => peak(c, 'rootfs-gzip')));
    const to = Math.max(...common.map((c) => peak(c, 'rootfs2k-gzip')));
    const growth = rss.rows.find((r) => r.image === 'rootfs-gzip → rootfs2k-gzip')!;
    expect(growth.value).toBeCloseTo(to / from, 10);
    expect(report).toContain(`rootfs-gzip → rootfs2k-gzip: ${(from / 1024).toFixed(0)} → ${(to / 1024).toFixed(0)} MiB, ×${(to / from).toFixed(2)} for ×5.0 the entries`);
  });

  it('on Ctrl-C stops its commands and still writes the partial report (exit 130)', async () => {
    const partial = join(work, 'partial.md');
    const child = spawnTied(process.execPath, ['bench/run.ts', '--smoke', '--only', 'tar', '--work', work, '--out', partial, '--json', join(work, 'partial.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    await new Promise<void>((resolve) =>
      child.stderr!.on('data', (b: Buffer) => {
        log += String(b);
        if (/tar\/sqfs2tar\/rootfs-gzip #1/.test(log)) resolve();
      }),
    );
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code, log).toBe(130);
    const text = readFileSync(partial, 'utf8');
    expect(text).toContain('Interrupted during tar.');
    expect(text).toContain('**Partial report**');
    expect(text).toContain('### tar: rootfs-gzip');
  });
});
