/**
 * The benchmark images: two trees (rootfs-like, large files) × four compressors, built
 * under bench/work/<scale>/ with mksquashfs once and reused while their recipe is
 * unchanged (a JSON file next to the images records the recipe and the tree's numbers).
 * Plus the scale scenario's image: a rootfs-like tree of 600k entries in gzip only, whose
 * tree is written to tmpfs when it fits and deleted once the image is built.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { registryStorageBase } from './registry.ts';
import { TMPFS_MAGIC } from './scenario-build.ts';
import { writeLargeTree, writeRootfsTree, type TreeStats } from './tree.ts';

export const COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4'] as const;
export type Compressor = (typeof COMPRESSORS)[number];
export type Scale = 'full' | 'quick' | 'smoke';
export type TreeKind = 'rootfs' | 'large';

const MiB = 1024 * 1024;
/** Bump to rebuild every tree and image after a change to the generators. */
const RECIPE_VERSION = 4;

/**
 * `scaleEntries`: the scale scenario's rootfs-like tree; 600k is the upper end of a compute
 * rootfs (issue 6), ~5.9× the bench rootfs, and the other scales keep about that ratio.
 */
export const SCALES: Record<Scale, { rootfsEntries: number; largeBytes: number; scaleEntries: number }> = {
  full: { rootfsEntries: 102_000, largeBytes: 1088 * MiB, scaleEntries: 600_000 },
  quick: { rootfsEntries: 10_000, largeBytes: 96 * MiB, scaleEntries: 30_000 },
  smoke: { rootfsEntries: 400, largeBytes: 4 * MiB, scaleEntries: 2_000 },
};

/** The scale tree's seed: 7, the seed of the 600k-entry image docs/performance.md (session 4) measured by hand. */
export const SCALE_SEED = 7;

/** The scale scenario's image at a scale, named by its entries: `rootfs600k-gzip` at full scale. */
export function scaleImageName(scale: Scale): string {
  return `rootfs${SCALES[scale].scaleEntries / 1000}k-gzip`;
}

export interface BenchImage {
  /** e.g. `rootfs-gzip`. */
  name: string;
  tree: TreeKind;
  compressor: Compressor;
  path: string;
  /** Size of the .sqfs file. */
  imageBytes: number;
  /** The tree the image was made from (kept on disk for rebuilding, except the scale image's). */
  stats: TreeStats;
  /** Bytes of `sqfs2tar IMAGE`: the throughput base for every tar-producing run. */
  tarBytes: number;
  /** Entries `unsquashfs -l` lists (the root not counted): the base for `ls` rates. */
  listedEntries: number;
  /** Set on the scale scenario's image: only that scenario runs on it. */
  scenario?: 'scale';
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

/**
 * Room the rootfs-like tree takes on tmpfs, per entry, with a margin: the 600k-entry tree
 * takes ~6.3 GB there (~10.5 kB an entry: files of a few KiB fill whole pages), so 7.4 GB
 * are asked for (16 KiB asked for 9.8 GB, more than this 23 GiB VM had free while a
 * registry and s3rver held a 600k image, and the tree went to the slow ext4).
 */
export const TREE_BYTES_PER_ENTRY = 12 * 1024;
/** Memory left to everything else while the tree sits on tmpfs (this VM has no swap). */
const KEEP_FREE = 2 * 1024 * MiB;

/** The scale tree's directory name on tmpfs: fixed for a work dir and scale. */
export function scaleTmpfsName(workDir: string, scale: Scale): string {
  return `uai-bench-scale-tree-${scale}-${createHash('sha256').update(workDir).digest('hex').slice(0, 8)}`;
}

/**
 * Where to write the scale tree: on /dev/shm when it is a tmpfs with room for it and the
 * machine has the memory (tmpfs pages are RAM), else under the work dir. On this VM's
 * ext4, creating and deleting hundreds of thousands of files gets slower each time
 * (docs/performance.md, session 3), and the 600k tree takes ~40 s to write on tmpfs. The
 * name is fixed per work dir and scale, so a run killed before its clean-up leaves nothing
 * behind past the next run, and two work dirs never share a tree.
 */
export function scaleTreeDir(
  workDir: string,
  scale: Scale,
  entries: number,
  base: string | undefined = registryStorageBase(),
  freeBytes: number = freemem(),
): { dir: string; onTmpfs: boolean } {
  const onDisk = { dir: join(workDir, scale, 'trees', scaleImageName(scale).replace(/-gzip$/, '')), onTmpfs: false };
  if (base === undefined) return onDisk;
  const dir = join(base, scaleTmpfsName(workDir, scale));
  rmSync(dir, { recursive: true, force: true });
  const need = entries * TREE_BYTES_PER_ENTRY;
  const fs = statfsSync(base);
  if (fs.type !== TMPFS_MAGIC || fs.bavail * fs.bsize < need || freeBytes - KEEP_FREE < need) return onDisk;
  return { dir, onTmpfs: true };
}

/**
 * Builds (or reuses) the scale scenario's image, bench/work/<scale>/images/rootfs600k-gzip.sqfs
 * at full scale, with its record (recipe, tree numbers, tar bytes, listed entries) beside
 * it in rootfs600k.json. Only gzip is built, so the tree is deleted once the image is
 * made: a changed recipe writes it again. A record whose tar bytes are still 0 gets them
 * (and the listed entries) measured from the image.
 */
export async function prepareScaleImage(workDir: string, scale: Scale, log: (line: string) => void = () => {}): Promise<BenchImage> {
  const name = scaleImageName(scale);
  const images = join(workDir, scale, 'images');
  mkdirSync(images, { recursive: true });
  const recipe: Recipe = { version: RECIPE_VERSION, tree: 'rootfs', size: SCALES[scale].scaleEntries, seed: SCALE_SEED };
  const recordPath = join(images, `${name.replace(/-gzip$/, '')}.json`);
  const path = join(images, `${name}.sqfs`);
  let record: TreeRecord | undefined = existsSync(recordPath) ? (JSON.parse(readFileSync(recordPath, 'utf8')) as TreeRecord) : undefined;
  if (!record || JSON.stringify(record.recipe) !== JSON.stringify(recipe) || !existsSync(path) || record.images.gzip !== statSync(path).size) {
    rmSync(path, { force: true });
    rmSync(recordPath, { force: true });
    const tree = scaleTreeDir(workDir, scale, recipe.size);
    try {
      rmSync(tree.dir, { recursive: true, force: true });
      mkdirSync(join(tree.dir, '..'), { recursive: true });
      log(`writing the ${name} tree (${recipe.size} entries, seed ${recipe.seed}) in ${tree.dir}${tree.onTmpfs ? ' (tmpfs)' : ''}`);
      let started = Date.now();
      const stats = writeRootfsTree(tree.dir, { entries: recipe.size, seed: recipe.seed });
      log(`  ${stats.entries} entries, ${(stats.fileBytes / MiB).toFixed(0)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      log(`mksquashfs ${name} -comp gzip`);
      started = Date.now();
      await run('nice', ['-n', process.env.UAI_BENCH_NICE ?? '5', 'mksquashfs', tree.dir, path, '-comp', 'gzip', '-noappend', '-no-progress', '-quiet']);
      log(`  ${(statSync(path).size / MiB).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      record = { recipe, stats, tarBytes: 0, listedEntries: 0, images: { gzip: statSync(path).size } };
      writeFileSync(recordPath, JSON.stringify(record, null, 2) + '\n');
    } finally {
      log(`deleting the ${name} tree`);
      rmSync(tree.dir, { recursive: true, force: true });
    }
  }
  if (record.tarBytes === 0) {
    log(`measuring ${name}: sqfs2tar bytes and unsquashfs -l entries`);
    record.tarBytes = await countStdout('sqfs2tar', [path]);
    record.listedEntries = listedEntries(path);
    writeFileSync(recordPath, JSON.stringify(record, null, 2) + '\n');
  }
  return {
    name,
    tree: 'rootfs',
    compressor: 'gzip',
    path,
    imageBytes: record.images.gzip!,
    stats: record.stats,
    tarBytes: record.tarBytes,
    listedEntries: record.listedEntries,
    scenario: 'scale',
  };
}
