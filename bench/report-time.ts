/**
 * The "where the time goes" part of the report: a stage ladder from the CLI's own runs
 * (start → ls → tar → build none → build gzip, each step's increment is one stage), the
 * baselines' step timings, any phase timings the CLI's --json output reports, and the CPU
 * profile of one run.
 */
import type { Group } from './context.ts';
import { median, type Measurement } from './measure.ts';
import type { ProfileSummary } from './profile.ts';
import type { Results } from './report.ts';
import { findMeasurement } from './targets.ts';

const sec = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

function med(m: Measurement | undefined): number | undefined {
  if (!m || m.status !== 'ok' || m.samples.length === 0) return undefined;
  return median(m.samples.map((s) => s.wallMs));
}

export function ladderSection(r: Results): string[] {
  const out = [
    '### Stage ladder',
    '',
    'Each CLI command does one more stage than the one above it, so the increase of the median is that stage\'s cost (on the same image, same run).',
  ];
  for (const image of r.images.filter((i) => i.compressor === 'gzip')) {
    const steps: Array<[string, string, number | undefined]> = [
      ['process start', '`uai-assemble --version`', r.startup?.median],
      ['walk metadata', '`ls`', med(findMeasurement(r.groups, `ls/uai/${image.name}`))],
      ['read + decompress data + tar encode', '`tar -o /dev/null`', med(findMeasurement(r.groups, `tar/uai/${image.name}`))],
      // The s3 and scale scenarios run the same command from the file as `s3/local`.
      [
        'sha256 + push to a local registry',
        '`build --compression none`',
        med(findMeasurement(r.groups, `build/uai-none/${image.name}`)) ?? med(findMeasurement(r.groups, `s3/local/${image.name}`)),
      ],
      ['gzip the layer', '`build --compression gzip`', med(findMeasurement(r.groups, `build/uai-gzip/${image.name}`))],
    ];
    if (steps.slice(1).every((s) => s[2] === undefined)) continue;
    out.push('', `${image.name}:`, '', '| stage | command | median | increment |', '|---|---|---|---|');
    let previous: number | undefined;
    for (const [stage, command, ms] of steps) {
      if (ms === undefined) {
        out.push(`| ${stage} | ${command} | not measured | |`);
        continue;
      }
      out.push(`| ${stage} | ${command} | ${sec(ms)} | ${previous === undefined ? '' : `${ms - previous >= 0 ? '+' : ''}${sec(ms - previous)}`} |`);
      previous = ms;
    }
  }
  return out;
}

/** Numeric leaves of the CLI's --json output whose key looks like a duration. */
function timingLeaves(value: unknown, prefix = '', depth = 0): Array<[string, number]> {
  if (depth > 3 || value === null || typeof value !== 'object') return [];
  const out: Array<[string, number]> = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && /(ms|Ms|seconds|time|duration|elapsed)$/i.test(k)) out.push([key, v]);
    else if (typeof v === 'object') out.push(...timingLeaves(v, key, depth + 1));
  }
  return out;
}

export function phasesSection(groups: Group[]): string[] {
  const out = ['### Steps of the baselines and phases the CLI reports', ''];
  let any = false;
  for (const m of groups.flatMap((g) => g.measurements)) {
    const withPhases = m.samples.filter((s) => s.phases);
    const leaves = m.samples.map((s) => timingLeaves(s.extra));
    if (withPhases.length > 0) {
      any = true;
      const names = Object.keys(withPhases[0]!.phases!);
      const total = median(withPhases.map((s) => s.wallMs));
      out.push(`- \`${m.id}\`: ${names.map((n) => `${n} ${sec(median(withPhases.map((s) => s.phases![n] ?? 0)))}`).join(', ')} (total ${sec(total)})`);
    }
    if (leaves.some((l) => l.length > 0)) {
      any = true;
      const keys = [...new Set(leaves.flat().map(([k]) => k))];
      const values = keys.map((k) => `${k} = ${median(leaves.map((l) => l.find(([x]) => x === k)?.[1] ?? NaN).filter(Number.isFinite))}`);
      out.push(`- \`${m.id}\` (--json): ${values.join(', ')}`);
    }
  }
  if (!any) out.push('- none measured in this run');
  return out;
}

/** `CPU.20261125.223127.21770.0.001.cpuprofile` → `thread 0 (main)`. */
function threadName(file: string): string {
  const tid = /^CPU\.\d+\.\d+\.\d+\.(\d+)\./.exec(file)?.[1];
  return tid === undefined ? file : tid === '0' ? 'thread 0 (main)' : `worker thread ${tid}`;
}

function profileTables(image: string, p: ProfileSummary): string[] {
  const out = [
    `#### ${p.command} on ${image} (wall ${sec(p.wallMs)} under the profiler)`,
    '',
    `Threads: ${p.threads.map((t) => `${threadName(t.file)}: ${sec(t.sampledMs)} sampled, ${sec(t.idleMs)} idle`).join('; ')}.`,
    '',
    '| stage (nearest src/ frame on the stack) | self time | share of busy time |',
    '|---|---|---|',
    ...p.stages.map((s) => `| ${s.name} | ${sec(s.ms)} | ${s.pct.toFixed(1)} % |`),
    '',
    '| area of the function itself | self time | share |',
    '|---|---|---|',
    ...p.areas.map((s) => `| ${s.name} | ${sec(s.ms)} | ${s.pct.toFixed(1)} % |`),
    '',
    '| top functions by self time | where | area | self time | share |',
    '|---|---|---|---|---|',
    ...p.top.map((f) => `| \`${f.name}\` | ${f.where} | ${f.area} | ${sec(f.ms)} | ${f.pct.toFixed(1)} % |`),
  ];
  return out;
}

export function profileSection(profiles: Results['profiles']): string[] {
  const out = [
    '### CPU profile',
    '',
    'One run under `node --cpu-prof` (each thread writes its own profile). Native work on the libuv thread pool (zlib streams, fs) is not sampled; it shows as idle time of the JS thread that waits for it.',
  ];
  if (profiles.length === 0) out.push('', '- not profiled in this run');
  for (const { image, summary } of profiles) {
    out.push('');
    if (typeof summary === 'string') out.push(`- ${image}: ${summary}`);
    else out.push(...profileTables(image, summary));
  }
  return out;
}
