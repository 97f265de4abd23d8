/**
 * The build scenario, on the gzip image of each tree, every run against a fresh local
 * registry: `uai-assemble build IMAGE docker://127.0.0.1:PORT/…` with `--compression none`
 * and `gzip`, vs the seed pipeline (unsquashfs + tar + podman import + podman push) and
 * vs `sqfs2tar` + `skopeo copy`.
 */
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { alternate, sampleOf, unavailable, type Measurement, type Variant } from './measure.ts';
import { warmPageCache, withJson, type BenchContext } from './context.ts';
import { registryStorageBase, withFreshRegistry } from './registry.ts';
import { preparePodman, seedPipelineVariant } from './seed-pipeline.ts';
import { skopeoPipelineVariant } from './skopeo-pipeline.ts';
import { uaiArgv, type CliCapabilities } from './uai-cli.ts';

/**
 * The flags `uai-assemble build` needs to push to a plain-HTTP registry, from its usage
 * text; UAI_BENCH_BUILD_FLAGS (space-separated) overrides the guess.
 */
export function plainHttpFlags(cli: CliCapabilities, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.UAI_BENCH_BUILD_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  for (const flag of ['--plain-http', '--insecure', '--tls-verify', '--dest-tls-verify']) {
    if (cli.hasOption('build', flag)) return flag.endsWith('verify') ? [`${flag}=false`] : [flag];
  }
  return [];
}

/** A `uai-assemble build` variant; the source string and extra flags make the S3 variant too. */
export function uaiBuildVariant(
  ctx: BenchContext,
  id: string,
  source: string,
  compression: 'none' | 'gzip',
  host: () => string,
  extra: { flags?: string[]; env?: NodeJS.ProcessEnv; label?: string } = {},
): Variant {
  const json = ctx.cli.hasOption('build', '--json');
  return {
    id,
    label: extra.label ?? `uai-assemble build IMAGE docker://127.0.0.1:PORT/… --compression ${compression}`,
    async run(rep) {
      const args = ['build', source, `docker://${host()}/bench/uai:${compression}-${rep}`, '--compression', compression];
      args.push(...plainHttpFlags(ctx.cli), ...(extra.flags ?? []), ...(json ? ['--json'] : []));
      const [cmd, argv] = uaiArgv(args);
      const env = extra.env ? { ...process.env, ...extra.env } : undefined;
      return withJson(await sampleOf(cmd, argv, { name: 'uai-assemble build', stdout: json ? 'capture' : '/dev/null', signal: ctx.signal, env }));
    },
  };
}

/**
 * Where the baselines write their scratch files (extracted tree, tar, podman storage, OCI
 * layout): /dev/shm when it is a tmpfs with room for them, like the registry's storage,
 * else the work dir. On this VM's ext4 (mounted with `discard`) creating 100k files got
 * slower after every delete cycle: `unsquashfs -d` of rootfs took 4.5, 38.8, 67.0 and
 * 90.0 s in a row, almost all of it system time, so the seed's second rootfs run always
 * took ~2x its first; on tmpfs it takes 3.8 s every time. This favours the baselines (a
 * real admin extracts to disk). The name is fixed, so a run that was killed before its
 * clean-up leaves nothing behind past the next run.
 */
export const TMPFS_MAGIC = 0x01021994;
export const SCRATCH_NAME = 'uai-bench-scratch';

export function baselineScratch(workDir: string, needBytes: number, base = registryStorageBase()): { dir: string; onTmpfs: boolean; remove(): void } {
  const onDisk = { dir: workDir, onTmpfs: false, remove() {} };
  if (base === undefined) return onDisk;
  const dir = join(base, SCRATCH_NAME);
  rmSync(dir, { recursive: true, force: true });
  const fs = statfsSync(base);
  if (fs.type !== TMPFS_MAGIC || fs.bavail * fs.bsize < needBytes) return onDisk;
  mkdirSync(dir);
  return { dir, onTmpfs: true, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function buildScenario(ctx: BenchContext): Promise<void> {
  // The extracted tree, its tar and podman's copy of it, with room to spare.
  const largest = Math.max(0, ...ctx.images.filter((i) => i.compressor === 'gzip').map((i) => i.tarBytes));
  const scratch = baselineScratch(ctx.options.workDir, 4 * largest);
  try {
    await buildScenarioIn(ctx, scratch.dir);
  } finally {
    scratch.remove();
  }
  ctx.notes.push(
    scratch.onTmpfs
      ? 'The seed and skopeo pipelines write their scratch files (extracted tree, tar, podman storage, OCI layout) to /dev/shm: on this VM\'s ext4 each delete-and-recreate cycle of 100k files got slower (`unsquashfs -d` of rootfs: 4.5, 38.8, 67.0, 90.0 s in a row).'
      : `The seed and skopeo pipelines write their scratch files under ${ctx.options.workDir} (no tmpfs /dev/shm with room for them).`,
  );
}

async function buildScenarioIn(ctx: BenchContext, workDir: string): Promise<void> {
  const missing = ctx.cli.missing('build');
  const podman = preparePodman(workDir, { install: ctx.options.installPodman, log: ctx.log });
  if (typeof podman === 'string') ctx.notes.push(`Seed pipeline not run: ${podman}.`);
  else ctx.notes.push(...podman.notes.map((n) => `Seed pipeline: ${n}.`));
  for (const image of ctx.images.filter((i) => i.compressor === 'gzip')) {
    ctx.log(`build: ${image.name}`);
    warmPageCache(image.path);
    const variants: Array<Variant | Measurement> = [];
    for (const compression of ['none', 'gzip'] as const) {
      const id = `build/uai-${compression}/${image.name}`;
      variants.push(
        missing
          ? unavailable(id, `uai-assemble build … --compression ${compression}`, missing)
          : withFreshRegistry((host) => uaiBuildVariant(ctx, id, image.path, compression, host)),
      );
    }
    const seedId = `build/seed/${image.name}`;
    variants.push(
      typeof podman === 'string'
        ? unavailable(seedId, 'seed pipeline (podman)', podman)
        : { ...withFreshRegistry((host) => seedPipelineVariant(seedId, image.path, workDir, podman, host)), maxReps: ctx.options.slowReps },
    );
    variants.push({
      ...withFreshRegistry((host) => skopeoPipelineVariant(`build/skopeo/${image.name}`, image.path, workDir, host)),
      maxReps: ctx.options.slowReps,
    });
    ctx.groups.push({
      scenario: 'build',
      title: `build: ${image.name}`,
      image,
      unit: { kind: 'bytes', perRun: image.tarBytes },
      measurements: await alternate(variants, Math.max(ctx.options.reps, ctx.options.slowReps), { signal: ctx.signal, log: ctx.log }),
    });
  }
}
