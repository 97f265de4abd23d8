/**
 * The benchmark images: two trees (rootfs-like, large files) × four compressors, built
 * under bench/work/<scale>/ with mksquashfs once and reused while their recipe is
 * unchanged (a JSON file next to the images records the recipe and the tree's numbers).
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLargeTree, writeRootfsTree, type TreeStats } from './tree.ts';

export const COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4'] as const;
export type Compressor = (typeof COMPRESSORS)[number];
export type Scale = 'full' | 'quick' | 'smoke';
export type TreeKind = 'rootfs' | 'large';

const MiB = 1024 * 1024;
/** Bump to rebuild every tree and image after a change to the generators. */
const RECIPE_VERSION = 4;

export const SCALES: Record<Scale, { rootfsEntries: number; largeBytes: number }> = {
  full: { rootfsEntries: 102_000, largeBytes: 1088 * MiB },
  quick: { rootfsEntries: 10_000, largeBytes: 96 * MiB },
  smoke: { rootfsEntries: 400, largeBytes: 4 * MiB },
};

export interface BenchImage {
  /** e.g. `rootfs-gzip`. */
  name: string;
  tree: TreeKind;
  compressor: Compressor;
  path: string;
  /** Size of the .sqfs file. */
  imageBytes: number;
  /** The tree the image was made from (also kept on disk, for rebuilding). */
  stats: TreeStats;
  /** Bytes of `sqfs2tar IMAGE`: the throughput base for every tar-producing run. */
  tarBytes: number;
  /** Entries `unsquashfs -l` lists (the root not counted): the base for `ls` rates. */
  listedEntries: number;
}

interface Recipe {
  version: number;
  tree: TreeKind;
  size: number;
  seed: number;
}

interface TreeRecord {
  recipe: Recipe;
  stats: TreeStats;
  tarBytes: number;
  listedEntries: number;
  images: Partial<Record<Compressor, number>>;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err = (err + String(b)).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

/** Counts the bytes a command writes on stdout without keeping them. */
function countStdout(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let n = 0;
    child.stdout.on('data', (b: Buffer) => (n += b.length));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

function listedEntries(image: string): number {
  const out = execFileSync('unsquashfs', ['-l', '-d', '', image], { maxBuffer: 1 << 30 }).toString('utf8');
  // With an empty destination the root is an empty line and every other entry is '/path'.
  return out.split('\n').filter((l) => l.startsWith('/')).length;
}

/**
 * Builds (or reuses) the images of `scale` for the given trees and compressors, logging
 * what it does. mksquashfs runs under `nice -n 5` (UAI_BENCH_NICE) so building disturbs
 * neighbours less.
 */
export async function prepareImages(
  workDir: string,
  scale: Scale,
  wanted: { trees: readonly TreeKind[]; compressors: readonly Compressor[]; names?: ReadonlySet<string> },
  log: (line: string) => void = () => {},
): Promise<BenchImage[]> {
  const base = join(workDir, scale);
  mkdirSync(join(base, 'trees'), { recursive: true });
  mkdirSync(join(base, 'images'), { recursive: true });
  const images: BenchImage[] = [];
  for (const tree of wanted.trees) {
    const recipe: Recipe = {
      version: RECIPE_VERSION,
      tree,
      size: tree === 'rootfs' ? SCALES[scale].rootfsEntries : SCALES[scale].largeBytes,
      seed: tree === 'rootfs' ? 1 : 2,
    };
    const recordPath = join(base, 'images', `${tree}.json`);
    const treeDir = join(base, 'trees', tree);
    let record: TreeRecord | undefined = existsSync(recordPath) ? (JSON.parse(readFileSync(recordPath, 'utf8')) as TreeRecord) : undefined;
    if (!record || JSON.stringify(record.recipe) !== JSON.stringify(recipe) || !existsSync(treeDir)) {
      log(`writing the ${tree} tree (${scale}) in ${treeDir}`);
      rmSync(treeDir, { recursive: true, force: true });
      for (const c of COMPRESSORS) rmSync(join(base, 'images', `${tree}-${c}.sqfs`), { force: true });
      const started = Date.now();
      const stats =
        tree === 'rootfs'
          ? writeRootfsTree(treeDir, { entries: recipe.size, seed: recipe.seed })
          : writeLargeTree(treeDir, { bytes: recipe.size, seed: recipe.seed });
      log(`  ${stats.entries} entries, ${(stats.fileBytes / MiB).toFixed(0)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      record = { recipe, stats, tarBytes: 0, listedEntries: 0, images: {} };
    }
    for (const compressor of wanted.compressors) {
      if (wanted.names && !wanted.names.has(`${tree}-${compressor}`)) continue;
      const path = join(base, 'images', `${tree}-${compressor}.sqfs`);
      if (!existsSync(path) || record.images[compressor] !== statSync(path).size) {
        log(`mksquashfs ${tree} -comp ${compressor}`);
        const started = Date.now();
        await run('nice', ['-n', process.env.UAI_BENCH_NICE ?? '5', 'mksquashfs', treeDir, path, '-comp', compressor, '-noappend', '-no-progress', '-quiet']);
        record.images[compressor] = statSync(path).size;
        log(`  ${(statSync(path).size / MiB).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
      if (record.tarBytes === 0) {
        record.tarBytes = await countStdout('sqfs2tar', [path]);
        record.listedEntries = listedEntries(path);
      }
      writeFileSync(recordPath, JSON.stringify(record, null, 2) + '\n');
      images.push({
        name: `${tree}-${compressor}`,
        tree,
        compressor,
        path,
        imageBytes: record.images[compressor]!,
        stats: record.stats,
        tarBytes: record.tarBytes,
        listedEntries: record.listedEntries,
      });
    }
  }
  return images;
}
