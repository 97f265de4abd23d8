/**
 * The targets, as ratios of medians measured in the same run, per image.
 * Every number here is computed from samples; nothing is assumed.
 */
import type { Group } from './context.ts';
import type { BenchImage } from './images.ts';
import { median, peakRss, type Measurement } from './measure.ts';

export interface TargetRow {
  image: string;
  /** The ratio or rate, undefined when a side was not measured. */
  value?: number;
  /** How the value reads, e.g. `2.31×` or `143k entries/s`. */
  text: string;
  met?: boolean;
  /** Why there is no value. */
  note?: string;
  /** A row that states a fact (e.g. how a peak grows) and is not judged: the verdict ignores it. */
  info?: boolean;
}

export type Verdict = 'met' | 'partly met' | 'not met' | 'not measured';

export interface TargetResult {
  id: string;
  title: string;
  goal: string;
  rows: TargetRow[];
  verdict: Verdict;
}

const MiB = 1024;

/** The largest peak RSS (KiB) over the measurements `${prefix}/${image}` for these prefixes. */
function peakOf(groups: readonly Group[], prefixes: readonly string[], image: string): number | undefined {
  const peaks = prefixes.map((p) => findMeasurement(groups, `${p}/${image}`)).map((m) => (m ? peakRss(m) : undefined));
  const ok = peaks.filter((v): v is number => v !== undefined);
  return ok.length === 0 ? undefined : Math.max(...ok);
}

/**
 * The uai-assemble commands the scale scenario runs, by the ids they have on any image
 * (`build --compression none` from a file is both `build/uai-none` and `s3/local`).
 */
export const SCALE_COMMANDS: ReadonlyArray<[string, readonly string[]]> = [
  ['ls', ['ls/uai']],
  ['tar', ['tar/uai']],
  ['build', ['s3/local', 'build/uai-none']],
  ['build from S3', ['s3/s3']],
];

/**
 * How the peak RSS grows from the rootfs-like bench image to the scale image, over the
 * commands measured on both: the largest peak of each side (the row's value is their
 * ratio) and each command's. Not judged: the ≤ 256 MiB rows judge each image.
 */
export function rssGrowth(groups: readonly Group[], images: readonly BenchImage[]): TargetRow | undefined {
  const big = images.find((i) => i.scenario === 'scale');
  if (!big) return undefined;
  const base = images.find((i) => i.tree === 'rootfs' && i.compressor === 'gzip' && i.scenario === undefined);
  const label = `${base?.name ?? 'rootfs-gzip'} → ${big.name}`;
  if (!base) return { image: label, text: 'n/a', info: true, note: 'the rootfs-like bench image was not measured in this run' };
  const pairs = SCALE_COMMANDS.map(([name, ids]) => ({ name, a: peakOf(groups, ids, base.name), b: peakOf(groups, ids, big.name) })).filter(
    (p): p is { name: string; a: number; b: number } => p.a !== undefined && p.b !== undefined,
  );
  if (pairs.length === 0) return { image: label, text: 'n/a', info: true, note: 'no uai-assemble command was measured on both images' };
  const a = Math.max(...pairs.map((p) => p.a));
  const b = Math.max(...pairs.map((p) => p.b));
  const fmt = (kib: number) => (kib / MiB).toFixed(0);
  const k = (n: number) => `${Math.round(n / 1000)}k`;
  const each = pairs.map((p) => `${p.name} ${fmt(p.a)} → ${fmt(p.b)}`).join(', ');
  return {
    image: label,
    value: b / a,
    text: `${fmt(a)} → ${fmt(b)} MiB, ×${(b / a).toFixed(2)} for ×${(big.listedEntries / base.listedEntries).toFixed(1)} the entries (${k(base.listedEntries)} → ${k(big.listedEntries)}; ${each} MiB)`,
    info: true,
  };
}

export function findMeasurement(groups: readonly Group[], id: string): Measurement | undefined {
  for (const g of groups) for (const m of g.measurements) if (m.id === id) return m;
  return undefined;
}

function okMedian(m: Measurement | undefined): number | undefined {
  if (!m || m.status !== 'ok' || m.samples.length === 0) return undefined;
  return median(m.samples.map((s) => s.wallMs));
}

function why(...ms: Array<Measurement | undefined>): string {
  const bad = ms.find((m) => !m || m.status !== 'ok' || m.samples.length === 0);
  if (!bad) return '';
  return bad.note ? `${bad.id}: ${bad.note}` : `${bad.id}: not run`;
}

/** `slower / faster` for one image: how many times faster `fast` is than `slow`. */
export function speedup(groups: readonly Group[], slowId: string, fastId: string): { value?: number; note?: string } {
  const slow = findMeasurement(groups, slowId);
  const fast = findMeasurement(groups, fastId);
  const a = okMedian(slow);
  const b = okMedian(fast);
  if (a === undefined || b === undefined) return { note: why(slow, fast) || 'not measured' };
  return { value: a / b };
}

function verdict(all: readonly TargetRow[]): Verdict {
  const rows = all.filter((r) => !r.info);
  const judged = rows.filter((r) => r.met !== undefined);
  if (judged.length === 0) return 'not measured';
  const met = judged.filter((r) => r.met).length;
  if (met === judged.length) return judged.length === rows.length ? 'met' : 'partly met';
  return met === 0 ? 'not met' : 'partly met';
}

/**
 * The CPU a run needed on the machine: its own processes' (user + sys) plus, for a push,
 * the registry's (it shares the cores), median over the runs. Undefined when not recorded.
 */
export function runCpuMs(m: Measurement | undefined): number | undefined {
  if (!m || m.status !== 'ok') return undefined;
  const cpu = m.samples
    .filter((s) => s.cpuMs !== undefined)
    .map((s) => s.cpuMs! + (typeof s.extra?.['registryCpuMs'] === 'number' ? (s.extra['registryCpuMs'] as number) : 0));
  return cpu.length === 0 ? undefined : median(cpu);
}

/**
 * The best speed-up the fast side could show at the CPU it used: the slow side's median
 * over the fast side's CPU spread perfectly over `cores` (no run is shorter than its CPU
 * time divided by the cores). Below the goal, the goal needs less CPU, not better overlap.
 */
export function cpuCeiling(groups: readonly Group[], slowId: string, fastId: string, cores: number): number | undefined {
  const slow = okMedian(findMeasurement(groups, slowId));
  const cpu = runCpuMs(findMeasurement(groups, fastId));
  if (slow === undefined || cpu === undefined || cpu <= 0 || cores <= 0) return undefined;
  return slow / (cpu / cores);
}

function ratioTarget(
  groups: readonly Group[],
  images: readonly BenchImage[],
  t: { id: string; title: string; goal: string; slow: string; fast: string; atLeast?: number; atMost?: number },
  cores: number | undefined,
): TargetResult {
  // The scale image runs only some commands (no seed pipeline): no row where it ran neither side.
  const measured = (image: BenchImage) =>
    image.scenario === undefined || [t.slow, t.fast].some((id) => findMeasurement(groups, `${id}/${image.name}`) !== undefined);
  const rows = images.filter(measured).map((image): TargetRow => {
    const r = speedup(groups, `${t.slow}/${image.name}`, `${t.fast}/${image.name}`);
    if (r.value === undefined) return { image: image.name, text: 'n/a', note: r.note };
    const met = t.atLeast !== undefined ? r.value >= t.atLeast : r.value <= t.atMost!;
    const ceiling = t.atLeast !== undefined && cores !== undefined ? cpuCeiling(groups, `${t.slow}/${image.name}`, `${t.fast}/${image.name}`, cores) : undefined;
    const bound = ceiling === undefined ? '' : ` (at most ${ceiling.toFixed(2)}× on ${cores} cores at the CPU it used)`;
    return { image: image.name, value: r.value, text: `${r.value.toFixed(2)}×${bound}`, met };
  });
  return { id: t.id, title: t.title, goal: t.goal, rows, verdict: verdict(rows) };
}

/**
 * `startupMs`: median wall time of `uai-assemble --version`, the fixed cost of every run;
 * the `ls` rate is judged on the walk alone (ls minus that), and shown both ways.
 * `cores`: the machine's; speed-up rows then also say the most the CPU used allows.
 */
export function evaluateTargets(groups: readonly Group[], images: readonly BenchImage[], startupMs?: number, cores?: number): TargetResult[] {
  const gzip = images.filter((i) => i.compressor === 'gzip');
  const others = images.filter((i) => i.compressor !== 'gzip');
  const results: TargetResult[] = [
    ratioTarget(groups, gzip, { id: 'tar-gzip', title: 'tar throughput vs sqfs2tar, gzip', goal: '≥ 1.5×', slow: 'tar/sqfs2tar', fast: 'tar/uai', atLeast: 1.5 }, cores),
    ratioTarget(groups, others, { id: 'tar-other', title: 'tar throughput vs sqfs2tar, xz/zstd/lz4', goal: '≥ 1.2×', slow: 'tar/sqfs2tar', fast: 'tar/uai', atLeast: 1.2 }, cores),
    ratioTarget(groups, gzip, { id: 'build-none', title: 'build --compression none vs seed pipeline', goal: '≥ 10× faster', slow: 'build/seed', fast: 'build/uai-none', atLeast: 10 }, cores),
    ratioTarget(groups, gzip, { id: 'build-gzip', title: 'build --compression gzip vs seed pipeline', goal: '≥ 4× faster', slow: 'build/seed', fast: 'build/uai-gzip', atLeast: 4 }, cores),
    // A time ratio: s3 / local must stay ≤ 1.25 ("fast" = the local build here).
    ratioTarget(groups, gzip, { id: 's3', title: 'build from S3 vs from a local file', goal: '≤ 1.25× the local time', slow: 's3/s3', fast: 's3/local', atMost: 1.25 }, cores),
  ];

  const lsRows = images
    .filter((i) => i.tree === 'rootfs')
    .map((image): TargetRow => {
      const m = findMeasurement(groups, `ls/uai/${image.name}`);
      const t = okMedian(m);
      if (t === undefined) return { image: image.name, text: 'n/a', note: why(m) || 'not measured' };
      const fmt = (r: number) => (r < 10_000 ? `${Math.round(r)} entries/s` : `${Math.round(r / 1000)}k entries/s`);
      const withStart = image.listedEntries / (t / 1000);
      const walkMs = startupMs === undefined ? undefined : t - startupMs;
      if (walkMs === undefined || walkMs <= 0) {
        return { image: image.name, value: withStart, text: `${fmt(withStart)} (process start included)`, met: withStart >= 100_000 };
      }
      const walk = image.listedEntries / (walkMs / 1000);
      return { image: image.name, value: walk, text: `${fmt(walk)} (${fmt(withStart)} with process start)`, met: walk >= 100_000 };
    });
  results.push({ id: 'ls', title: 'metadata walk (`ls` minus process start)', goal: '≥ 100k entries/s', rows: lsRows, verdict: verdict(lsRows) });

  const rssRows = images.map((image): TargetRow => {
    const peaks = groups
      .flatMap((g) => g.measurements)
      .filter((m) => (m.id.includes('/uai') || m.id.startsWith('s3/')) && m.id.endsWith(`/${image.name}`))
      .map((m) => peakRss(m))
      .filter((v): v is number => v !== undefined);
    if (peaks.length === 0) return { image: image.name, text: 'n/a', note: 'no uai-assemble run measured on this image' };
    const peak = Math.max(...peaks);
    return { image: image.name, value: peak / MiB, text: `${(peak / MiB).toFixed(0)} MiB`, met: peak <= 256 * MiB };
  });
  const growth = rssGrowth(groups, images);
  if (growth) rssRows.push(growth);
  results.push({ id: 'rss', title: 'peak RSS of every uai-assemble run, per image', goal: '≤ 256 MiB', rows: rssRows, verdict: verdict(rssRows) });
  return results;
}
