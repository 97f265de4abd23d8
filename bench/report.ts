/**
 * Writes the benchmark report (docs/benchmarks.md for a full run) and the raw results as
 * JSON. The Markdown is generated; the hand-written analysis lives in docs/benchmarks.md's
 * "Analysis" section, which this writer keeps when it regenerates the file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Group } from './context.ts';
import type { BenchImage } from './images.ts';
import type { Machine } from './machine.ts';
import { median, peakRss, wallStats, type Measurement, type Stats } from './measure.ts';
import type { BenchOptions } from './options.ts';
import type { ProfileSummary } from './profile.ts';
import type { TargetResult } from './targets.ts';
import { ladderSection, phasesSection, profileSection } from './report-time.ts';
import { methodSection } from './report-method.ts';

export interface Results {
  machine: Machine;
  options: Omit<BenchOptions, 'only'> & { only: string[] };
  command: string;
  images: BenchImage[];
  groups: Group[];
  targets: TargetResult[];
  /** `uai-assemble --version`: the fixed cost of every CLI run. */
  startup?: Stats;
  profiles: Array<{ image: string; summary: ProfileSummary | string }>;
  notes: string[];
  durationMs: number;
}

export const ANALYSIS_START = '<!-- analysis:start -->';
export const ANALYSIS_END = '<!-- analysis:end -->';

export const sec = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
export const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const size = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

function rate(group: Group, ms: number): string {
  const perSecond = group.unit.perRun / (ms / 1000);
  if (group.unit.kind === 'bytes') return `${(perSecond / 1e6).toFixed(perSecond < 1e7 ? 1 : 0)} MB/s`;
  return perSecond < 10_000 ? `${perSecond.toFixed(0)} entries/s` : `${(perSecond / 1000).toFixed(0)}k entries/s`;
}

function measurementRow(group: Group, m: Measurement): string {
  const s = wallStats(m);
  if (!s) return `| ${m.label} | ${m.status === 'unavailable' ? 'not available yet' : m.status} | | | | | | | ${m.note ?? ''} |`;
  const cpu = m.samples.map((x) => (x.cpuMs ?? NaN) / x.wallMs).filter(Number.isFinite);
  const rss = peakRss(m);
  const registryCpu = m.samples.map((x) => x.extra?.['registryCpuMs']).filter((v): v is number => typeof v === 'number');
  const note = registryCpu.length ? `registry used ${sec(median(registryCpu))} of CPU` : '';
  return `| ${m.label} | ${m.samples.length} | ${sec(s.median)} | ${sec(s.min)} | ${sec(s.max)} | ${rate(group, s.median)} | ${cpu.length ? median(cpu).toFixed(2) : '?'} | ${rss === undefined ? '?' : mib(rss)} | ${note} |`;
}

function targetsSection(targets: TargetResult[]): string[] {
  const out = ['## Targets', '', 'Ratios of medians measured in this run, per image.', '', '| target | goal | verdict | per image |', '|---|---|---|---|'];
  for (const t of targets) {
    const rows = t.rows.map((r) => `${r.image}: ${r.text}${r.met === undefined ? '' : r.met ? ' ✓' : ' ✗'}`).join('<br>');
    out.push(`| ${t.title} | ${t.goal} | **${t.verdict}** | ${rows || 'no image in this run'} |`);
  }
  const why = targets.flatMap((t) => t.rows.filter((r) => r.note).map((r) => `- ${t.title}, ${r.image}: ${r.note}`));
  if (why.length > 0) out.push('', 'Not measured:', '', ...[...new Set(why)]);
  return out;
}

function machineSection(r: Results): string[] {
  const m = r.machine;
  const out = [
    '## Machine',
    '',
    `- ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB memory, Linux ${m.kernel}, Node ${m.node}`,
    `- commit ${m.commit}; run started ${m.date}, took ${sec(r.durationMs)}`,
    `- load average (1/5/15 min) at start ${m.loadStart.join(' / ')}, at end ${m.loadEnd?.join(' / ') ?? '?'} — the machine is shared, so absolute times are noisy; ratios come from alternated runs`,
    `- command: \`${r.command}\` (scale ${r.options.scale}, ${r.options.reps} repetitions, ${r.options.slowReps} for the slow baselines${r.options.scaleReps === undefined ? '' : `, ${r.options.scaleReps} for the scale runs`})`,
  ];
  for (const [tool, v] of Object.entries(m.tools)) out.push(`- ${tool}: ${v}`);
  return out;
}

function imagesSection(images: BenchImage[]): string[] {
  const out = ['## Benchmark images', '', '| image | entries | files | dirs | symlinks | hard links | xattr files | file data | tar | .sqfs | ratio |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const i of images) {
    const s = i.stats;
    out.push(`| ${i.name}${i.scenario ? ` (${i.scenario} scenario only)` : ''} | ${i.listedEntries} | ${s.files} | ${s.dirs} | ${s.symlinks} | ${s.hardlinks} | ${s.xattrFiles} | ${size(s.fileBytes)} | ${size(i.tarBytes)} | ${size(i.imageBytes)} | ${(i.tarBytes / i.imageBytes).toFixed(2)} |`);
  }
  return out;
}

function measurementsSection(groups: Group[]): string[] {
  const out = ['## Measurements', '', 'Wall time per run (variants alternated A B A B …). Throughput = tar bytes (or entries) / median. CPU = (user + sys) / wall, i.e. cores used.'];
  for (const g of groups) {
    out.push('', `### ${g.title}`, '', '| variant | runs | median | min | max | throughput | CPU | peak RSS | note |', '|---|---|---|---|---|---|---|---|---|');
    for (const m of g.measurements) out.push(measurementRow(g, m));
  }
  return out;
}

function rssSection(groups: Group[], images: BenchImage[]): string[] {
  const ids = [...new Set(groups.flatMap((g) => g.measurements.map((m) => m.id.split('/').slice(0, 2).join('/'))))];
  const out = ['## Peak RSS per image', '', 'Largest peak RSS over the runs of each command (for pipelines: the largest process).', ''];
  out.push(`| command | ${images.map((i) => `${i.name} (${size(i.tarBytes)})`).join(' | ')} |`, `|---|${images.map(() => '---|').join('')}`);
  for (const id of ids) {
    const cells = images.map((i) => {
      const m = groups.flatMap((g) => g.measurements).find((x) => x.id === `${id}/${i.name}`);
      const v = m ? peakRss(m) : undefined;
      return v === undefined ? '' : mib(v);
    });
    if (cells.some((c) => c)) out.push(`| ${id} | ${cells.join(' | ')} |`);
  }
  // Growth with image size: the same command on the smallest and the largest tar.
  const tar = images
    .map((i) => ({ i, m: groups.flatMap((g) => g.measurements).find((x) => x.id === `tar/uai/${i.name}`) }))
    .map(({ i, m }) => ({ i, rss: m ? peakRss(m) : undefined }))
    .filter((x): x is { i: BenchImage; rss: number } => x.rss !== undefined)
    .sort((a, b) => a.i.tarBytes - b.i.tarBytes);
  const first = tar[0];
  const last = tar[tar.length - 1];
  if (first && last && first !== last) {
    out.push('', `Growth: \`uai-assemble tar\` peaks at ${mib(first.rss)} on ${first.i.name} (${size(first.i.tarBytes)} of tar) and ${mib(last.rss)} on ${last.i.name} (${size(last.i.tarBytes)}): ×${(last.rss / first.rss).toFixed(2)} for ×${(last.i.tarBytes / first.i.tarBytes).toFixed(1)} the data.`);
  }
  return out;
}

function keptAnalysis(path: string): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const a = text.indexOf(ANALYSIS_START);
  const b = text.indexOf(ANALYSIS_END);
  return a >= 0 && b > a ? text.slice(a + ANALYSIS_START.length, b).trim() : '';
}

export function renderReport(r: Results, analysis = ''): string {
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts); see bench/README.md for how it measures. Scale: **${r.options.scale}**.`,
    '',
    '## Analysis',
    '',
    ANALYSIS_START,
    analysis || '_No hand-written analysis yet for this run._',
    ANALYSIS_END,
    '',
    ...targetsSection(r.targets),
    '',
    ...machineSection(r),
    '',
    ...imagesSection(r.images),
    '',
    ...measurementsSection(r.groups),
    '',
    ...rssSection(r.groups, r.images),
    '',
    '## Where the time goes',
    '',
    ...ladderSection(r),
    '',
    ...phasesSection(r.groups),
    '',
    ...profileSection(r.profiles),
    '',
    '## Notes',
    '',
    ...(r.notes.length > 0 ? r.notes.map((n) => `- ${n}`) : ['- none']),
    '',
    ...methodSection(),
    '',
  ];
  return lines.join('\n');
}

export function writeResults(r: Results, out: string, json: string): void {
  mkdirSync(dirname(out), { recursive: true });
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(out, renderReport(r, keptAnalysis(out)));
  writeFileSync(json, JSON.stringify(r, null, 1) + '\n');
}

