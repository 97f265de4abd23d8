#!/usr/bin/env node
/**
 * `npm run bench`: builds (or reuses) the benchmark images, runs every scenario with
 * alternated repetitions, profiles one run, and writes the report (docs/benchmarks.md for
 * a full run) plus the raw samples as JSON. See bench/README.md and docs/benchmarks.md.
 */
import { buildScenario, plainHttpFlags } from './scenario-build.ts';
import { startBenchRegistry } from './registry.ts';
import { lsScenario, tarScenario } from './scenario-tar-ls.ts';
import { s3Scenario } from './scenario-s3.ts';
import { scaleScenario } from './scenario-scale.ts';
import type { BenchContext } from './context.ts';
import { COMPRESSORS, prepareImages, prepareScaleImage, scaleImageName, type BenchImage, type Compressor, type TreeKind } from './images.ts';
import { describeMachine } from './machine.ts';
import { sampleOf, statsOf } from './measure.ts';
import { BenchUsageError, USAGE, parseOptions, type BenchOptions } from './options.ts';
import { profileCli } from './profile.ts';
import { writeResults, type Results } from './report.ts';
import { evaluateTargets } from './targets.ts';
import { buildCli, probeCli, uaiArgv } from './uai-cli.ts';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Smoke runs (CI) keep the large tree to gzip: the build and s3 scenarios need only that. */
const SMOKE_IMAGES = new Set(['rootfs-gzip', 'rootfs-xz', 'rootfs-zstd', 'rootfs-lz4', 'large-gzip']);

/** The trees and compressors of the bench images the scenarios need (not the scale image). */
export function whatToBuild(options: BenchOptions): { trees: TreeKind[]; compressors: Compressor[]; names?: Set<string> } {
  const all = options.only.has('tar') || options.only.has('ls');
  let trees: TreeKind[] =
    options.only.has('tar') || options.only.has('build') || options.only.has('s3') ? ['rootfs', 'large'] : options.only.has('ls') ? ['rootfs'] : [];
  let compressors: Compressor[] = all ? [...COMPRESSORS] : ['gzip'];
  const only = options.images ?? (options.scale === 'smoke' ? SMOKE_IMAGES : undefined);
  if (only) {
    const names = [...only];
    trees = trees.filter((t) => names.some((n) => n.startsWith(`${t}-`)));
    compressors = compressors.filter((c) => names.some((n) => n.endsWith(`-${c}`)));
    return { trees, compressors, names: only };
  }
  return { trees, compressors };
}

export async function runBench(argv: readonly string[], signal?: AbortSignal): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  if (options.reportFrom) {
    const earlier = JSON.parse(readFileSync(options.reportFrom, 'utf8')) as Results;
    earlier.targets = evaluateTargets(earlier.groups, earlier.images, earlier.startup?.median, earlier.machine.nproc);
    const json = argv.includes('--json') ? options.json : options.reportFrom;
    writeResults(earlier, options.out, json);
    log(`re-rendered ${options.out} from ${options.reportFrom}`);
    return 0;
  }
  const machine = describeMachine();
  log('compiling the CLI (tsc -p tsconfig.build.json → dist/)');
  buildCli();
  const cli = probeCli();
  log(`scale ${options.scale}, ${options.reps} reps (${options.slowReps} for slow baselines, ${options.scaleReps} for scale runs), scenarios: ${[...options.only].join(', ')}`);
  log(`uai-assemble commands available: ${[...cli.commands].join(', ') || 'none'}`);

  const wanted = whatToBuild(options);
  const notes: string[] = [];
  const images = await prepareImages(options.workDir, options.scale, wanted, log);
  // The scale scenario's image, beside the others: only that scenario runs on it.
  let scaleImage: BenchImage | undefined;
  if (options.only.has('scale')) {
    if (options.images && !options.images.has(scaleImageName(options.scale))) {
      notes.push(`scale: not run (--images does not name ${scaleImageName(options.scale)}).`);
    } else {
      scaleImage = await prepareScaleImage(options.workDir, options.scale, log);
    }
  }
  const allImages = scaleImage ? [...images, scaleImage] : images;
  if (options.imagesOnly) {
    for (const i of allImages) log(`${i.name}: ${i.path} (${(i.imageBytes / 2 ** 20).toFixed(1)} MiB, ${i.listedEntries} entries)`);
    return 0;
  }
  const ctx: BenchContext = { options, images, cli, log, signal, notes, groups: [] };
  let startup: Results['startup'];
  const profiles: Results['profiles'] = [];

  /** Writes the report with what is measured so far; called after every step. */
  const report = (pending: string[]): Results => {
    const extra = ctx.groups.flatMap((g) =>
      g.measurements
        .filter((m) => m.status !== 'ok')
        .map((m) => `${m.id} (${m.label}): ${m.status === 'unavailable' ? 'not available yet' : 'failed'} — ${m.note ?? ''}`),
    );
    if (pending.length > 0) extra.push(`**Partial report**: not measured (yet): ${pending.join(', ')}.`);
    machine.loadEnd = loadavg().map((x) => Math.round(x * 100) / 100);
    const results: Results = {
      machine,
      options: { ...options, only: [...options.only] },
      command: `node bench/run.ts ${argv.join(' ')}`.trim(),
      images: allImages,
      groups: ctx.groups,
      targets: evaluateTargets(ctx.groups, allImages, startup?.median, machine.nproc),
      startup,
      profiles,
      notes: [...notes, ...extra],
      durationMs: Date.now() - started,
    };
    writeResults(results, options.out, options.json);
    return results;
  };

  const steps: Array<[string, () => Promise<void>]> = [
    ['start-up', async () => {
      const samples = [];
      for (let i = 0; i < Math.max(options.scale === 'smoke' ? 1 : 3, options.reps); i++) {
        const [cmd, args] = uaiArgv(['--version']);
        samples.push((await sampleOf(cmd, args, { name: 'uai-assemble --version', signal })).wallMs);
      }
      startup = statsOf(samples);
    }],
  ];
  if (options.only.has('tar')) steps.push(['tar', () => tarScenario(ctx)]);
  if (options.only.has('ls')) steps.push(['ls', () => lsScenario(ctx)]);
  if (options.profile && (options.only.has('tar') || options.only.has('build'))) {
    steps.push(['profile', () => profileStep(ctx, profiles)]);
  }
  if (options.only.has('build')) steps.push(['build', () => buildScenario(ctx)]);
  if (options.only.has('s3')) steps.push(['s3', () => s3Scenario(ctx)]);
  if (scaleImage) {
    const image = scaleImage;
    steps.push(['scale', () => scaleScenario(ctx, image)]);
  }

  let results: Results | undefined;
  for (const [i, [name, step]] of steps.entries()) {
    try {
      await step();
    } catch (err) {
      if (!signal?.aborted) {
        notes.push(`${name} stopped with an error: ${err instanceof Error ? err.message : String(err)}`);
      } else {
        notes.push(`Interrupted during ${name}.`);
        report(steps.slice(i).map(([n]) => n));
        log(`interrupted: wrote the partial report to ${options.out}`);
        return 130;
      }
    }
    results = report(steps.slice(i + 1).map(([n]) => n));
  }
  for (const t of results?.targets ?? []) log(`target ${t.title} (${t.goal}): ${t.verdict} ${t.rows.map((r) => `${r.image}=${r.text}`).join(' ')}`);
  log(`wrote ${options.out} and ${options.json} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return 0;
}

/**
 * Profiles `tar` on the rootfs-like gzip image (metadata-heavy) and, outside smoke runs,
 * `build --compression gzip` on the large gzip image (every stage: read, decompress, tar,
 * hash, gzip, push).
 */
async function profileStep(ctx: BenchContext, profiles: Results['profiles']): Promise<void> {
  const { cli, images, options, log } = ctx;
  const rootfs = images.find((i) => i.tree === 'rootfs' && i.compressor === 'gzip');
  const large = images.find((i) => i.tree === 'large' && i.compressor === 'gzip');
  if (rootfs && options.only.has('tar')) {
    log(`profiling uai-assemble tar on ${rootfs.name}`);
    const label = 'uai-assemble tar IMAGE -o /dev/null';
    profiles.push({ image: rootfs.name, summary: cli.missing('tar') ?? (await profileCli(['tar', rootfs.path, '-o', '/dev/null'], options.workDir, label)) });
  }
  if (large && options.only.has('build') && options.scale !== 'smoke') {
    log(`profiling uai-assemble build --compression gzip on ${large.name}`);
    const label = 'uai-assemble build IMAGE docker://127.0.0.1:PORT/… --compression gzip';
    const missing = cli.missing('build');
    if (missing) {
      profiles.push({ image: large.name, summary: missing });
      return;
    }
    const registry = await startBenchRegistry();
    try {
      const args = ['build', large.path, `docker://${registry.host}/bench/profile:1`, '--compression', 'gzip', ...plainHttpFlags(cli)];
      profiles.push({ image: large.name, summary: await profileCli(args, options.workDir, label) });
    } finally {
      await registry.stop();
    }
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.exitCode = await runBench(process.argv.slice(2), controller.signal);
}
