/**
 * Command-line options of `npm run bench` (node bench/run.ts).
 */
import { resolve } from 'node:path';
import { SCALES, scaleImageName, type Scale } from './images.ts';
import { REPO_ROOT } from './uai-cli.ts';

export const SCENARIOS = ['tar', 'build', 's3', 'ls', 'scale'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scale: Scale;
  /** Repetitions of each quick variant (tar, ls, uai build). */
  reps: number;
  /** Repetitions of the slow baselines (seed pipeline, sqfs2tar + skopeo, S3 builds). */
  slowReps: number;
  /**
   * Repetitions of each run of the scale scenario: 1, unless --reps or --slow-reps is
   * given (its runs are slow, like the baselines', so they get `slowReps` then).
   */
  scaleReps: number;
  only: Set<Scenario>;
  /** Where trees and images live (gitignored); the baselines' scratch too when /dev/shm cannot hold it. */
  workDir: string;
  /** The Markdown report. */
  out: string;
  /** Every sample as JSON, for tests and later comparison. */
  json: string;
  /** Profile one `uai-assemble tar` run with `node --cpu-prof`. */
  profile: boolean;
  /** Install podman with apt-get when missing (never in smoke mode). */
  installPodman: boolean;
  /** Only build (or check) the images, then stop. */
  imagesOnly: boolean;
  /**
   * Only these images (e.g. `rootfs-gzip`), to fit a run into a time budget; the scale
   * scenario runs only when its image (e.g. `rootfs600k-gzip`) is named too.
   */
  images?: Set<string>;
  /** Re-render the report from a results JSON of an earlier run instead of measuring. */
  reportFrom?: string;
}

export const USAGE = `usage: node bench/run.ts [--quick | --smoke] [--only tar|build|s3|ls|scale[,…]] [--reps N] [--slow-reps N]
                         [--work DIR] [--out FILE.md] [--json FILE.json] [--no-profile] [--images-only]

  (default)  full size: a rootfs-like tree of 102k entries and 1.06 GiB of large files,
             in gzip, xz, zstd and lz4, plus a rootfs-like tree of ${SCALES.full.scaleEntries / 1000}k entries in gzip
             for the scale scenario; 3 repetitions (2 for the slow baselines, 1 for the
             scale runs); writes docs/benchmarks.md
  --quick    small images (10k entries, 96 MiB; scale ${SCALES.quick.scaleEntries / 1000}k entries), 1 repetition;
             writes bench/work/quick/benchmarks.md
  --smoke    tiny images (400 entries, 4 MiB; scale ${SCALES.smoke.scaleEntries / 1000}k entries), 1 repetition,
             no podman install (for CI)
  --only     run only these scenarios (repeatable or comma-separated); scale: ls, tar,
             sqfs2tar and build --compression none from the file and from S3, on the
             ${SCALES.full.scaleEntries / 1000}k-entry image (peak RSS as the entries grow)
  --reps N   repetitions of every variant (slow baselines and scale runs included)
  --slow-reps N  repetitions of the slow baselines (seed pipeline, sqfs2tar + skopeo) and
                 of the scale runs, ≤ --reps
  --images-only  build (or check) the benchmark images of the scale, then stop
  --images A,B   only these images, e.g. rootfs-gzip,large-gzip,rootfs-xz (trees: rootfs, large;
                 compressors: gzip, xz, zstd, lz4); the scale scenario runs only if its image
                 is named too: ${scaleImageName('full')} (${scaleImageName('quick')} with --quick, ${scaleImageName('smoke')} with --smoke)
  --report-from FILE.json  re-render the report (targets included) from an earlier run's JSON
`;

export class BenchUsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions {
  let scale: Scale = 'full';
  let reps: number | undefined;
  let slowReps: number | undefined;
  const only = new Set<Scenario>();
  let workDir = resolve(REPO_ROOT, 'bench', 'work');
  let out: string | undefined;
  let json: string | undefined;
  let profile = true;
  let imagesOnly = false;
  let reportFrom: string | undefined;
  let images: Set<string> | undefined;
  const args = [...argv];
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
    return v;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const get = () => inline ?? value(flag);
    switch (flag) {
      case '--quick':
        scale = 'quick';
        break;
      case '--smoke':
        scale = 'smoke';
        break;
      case '--only':
        for (const s of get().split(',')) {
          if (!(SCENARIOS as readonly string[]).includes(s)) throw new BenchUsageError(`--only: unknown scenario '${s}' (${SCENARIOS.join(', ')})`);
          only.add(s as Scenario);
        }
        break;
      case '--reps': {
        const n = Number(get());
        if (!Number.isInteger(n) || n < 1 || n > 50) throw new BenchUsageError('--reps needs an integer from 1 to 50');
        reps = n;
        break;
      }
      case '--slow-reps': {
        const n = Number(get());
        if (!Number.isInteger(n) || n < 1 || n > 50) throw new BenchUsageError('--slow-reps needs an integer from 1 to 50');
        slowReps = n;
        break;
      }
      case '--work':
        workDir = resolve(get());
        break;
      case '--out':
        out = resolve(get());
        break;
      case '--json':
        json = resolve(get());
        break;
      case '--no-profile':
        profile = false;
        break;
      case '--images-only':
        imagesOnly = true;
        break;
      case '--images':
        images = new Set(get().split(','));
        for (const name of images) {
          if (!/^(rootfs|large)-(gzip|xz|zstd|lz4)$/.test(name) && !/^rootfs\d+k-gzip$/.test(name)) {
            throw new BenchUsageError(`--images: unknown image '${name}' (e.g. rootfs-gzip, large-xz, ${scaleImageName('full')})`);
          }
        }
        break;
      case '--report-from':
        reportFrom = resolve(get());
        break;
      default:
        throw new BenchUsageError(`unknown option '${arg}'`);
    }
  }
  for (const name of images ?? []) {
    if (/^rootfs\d+k-gzip$/.test(name) && name !== scaleImageName(scale)) {
      throw new BenchUsageError(`--images: the scale image at scale ${scale} is ${scaleImageName(scale)}, not ${name}`);
    }
  }
  const full = scale === 'full';
  const finalSlowReps = Math.min(slowReps ?? reps ?? (full ? 2 : 1), reps ?? (full ? 3 : 1));
  const finalOut = out ?? (full ? resolve(REPO_ROOT, 'docs', 'benchmarks.md') : resolve(workDir, scale, 'benchmarks.md'));
  return {
    scale,
    reps: reps ?? (full ? 3 : 1),
    slowReps: finalSlowReps,
    scaleReps: slowReps === undefined && reps === undefined ? 1 : finalSlowReps,
    only: only.size > 0 ? only : new Set(SCENARIOS),
    workDir,
    out: finalOut,
    json: json ?? resolve(workDir, scale, 'results.json'),
    profile,
    installPodman: scale !== 'smoke',
    imagesOnly,
    ...(reportFrom === undefined ? {} : { reportFrom }),
    ...(images === undefined ? {} : { images }),
  };
}
