/**
 * Where the time goes inside `uai-assemble`: one run under `node --cpu-prof` (every thread
 * writes its own .cpuprofile), summarised by self time per function, per src/ area and per
 * stage (read, decompress, metadata, tar encode, hash, compress, network). A sample is
 * charged to the nearest src/ frame on its stack, so time in node:zlib or node:crypto
 * called from src/layer counts for the layer; under Node's module loader it is start-up.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runMeasured } from './measure.ts';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, uaiArgv } from './uai-cli.ts';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of all sampled non-idle time, all threads. */
  pct: number;
}

export interface ProfileSummary {
  command: string;
  wallMs: number;
  threads: Array<{ file: string; sampledMs: number; idleMs: number }>;
  stages: Share[];
  areas: Share[];
  top: Array<Share & { where: string; area: string }>;
}

/** The sources, and the compiled copy the CLI runs (dist/ mirrors src/). */
const SRC_PREFIXES = ['src', 'dist'].map((dir) => `${pathToFileURL(join(REPO_ROOT, dir)).href}/`);

/** `file:///…/src/layer/tar/header.ts` (or `…/dist/layer/tar/header.js`) → `layer/tar` (`.` for files directly in src/). */
export function areaOfUrl(url: string): string | undefined {
  const prefix = SRC_PREFIXES.find((p) => url.startsWith(p));
  if (prefix === undefined) return undefined;
  const rel = url.slice(prefix.length);
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '.' : rel.slice(0, cut);
}

function otherArea(url: string, fn: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm ${pkg[1]}`;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === '(idle)') return 'idle';
  if (url.startsWith('wasm://')) return 'wasm (Node type stripping, zstd/lz4 codecs…)';
  return url ? url : `native ${fn || '(anonymous)'}`;
}

/** The context marker for samples under Node's module loader (start-up, type stripping). */
export const LOADING = '(module loading)';

function isLoaderFrame(url: string): boolean {
  return url.startsWith('node:internal/modules/') || url.startsWith('wasm://') || url.includes('/amaro/');
}

/** Where a sample has no src/ frame on its stack (callbacks from libuv), its own frame decides. */
function stageWithoutSrc(selfUrl: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (selfUrl.startsWith('node:zlib')) return 'zlib callbacks (no src/ frame on the stack)';
  if (selfUrl.startsWith('node:buffer') || selfUrl.startsWith('node:internal/buffer')) return 'buffer allocation and copies';
  if (selfUrl.startsWith('node:fs') || selfUrl.startsWith('node:internal/fs') || /^(read|write|writeBuffers|writeBuffer|writev|open|close|fstat)$/.test(fn)) return 'fs I/O';
  if (selfUrl.startsWith('node:internal/streams') || selfUrl.startsWith('node:stream')) return 'stream plumbing';
  if (/node:internal\/(async_hooks|process\/task_queues|process\/promises)/.test(selfUrl)) return 'promise and async plumbing';
  if (/undici|node:net|node:http|node:internal\/(net|http)/.test(selfUrl)) return 'network (HTTP client)';
  return 'other (event loop, native)';
}

/** The stage a sample belongs to, from its own frame and its context (nearest src/ area or the loader). */
export function stageOf(area: string | undefined, selfUrl: string, fn: string): string {
  if (/crypto\/hash|node:crypto/.test(selfUrl) || (/^(update|digest)$/.test(fn) && selfUrl === '')) return 'hash (sha256)';
  if (area === LOADING) return 'start-up: module loading and type stripping';
  if (area === undefined) return stageWithoutSrc(selfUrl, fn);
  if (area.startsWith('source')) return 'read (source)';
  if (area.startsWith('squashfs/compression')) return 'decompress';
  if (area.startsWith('squashfs')) return 'squashfs metadata and walk';
  if (area.startsWith('layer/compression')) return 'compress (layer)';
  if (area.startsWith('layer')) return 'tar encode (layer)';
  if (area.startsWith('image')) return 'image config/manifest';
  if (area.startsWith('destination')) return 'network/destination';
  if (area.startsWith('cray')) return 'read (CSM/S3 client)';
  return `orchestration (${area})`;
}

function share(map: Map<string, number>, total: number, limit = 50): Share[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: us / 1000, pct: total > 0 ? (100 * us) / total : 0 }));
}

export function summarizeProfiles(files: Array<{ name: string; profile: CpuProfile }>, command: string, wallMs: number): ProfileSummary {
  const stages = new Map<string, number>();
  const areas = new Map<string, number>();
  const fns = new Map<string, { us: number; where: string; area: string; name: string }>();
  const threads: ProfileSummary['threads'] = [];
  let busy = 0;
  for (const { name, profile } of files) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const nearestSrc = new Map<number, string | undefined>();
    const srcArea = (id: number): string | undefined => {
      if (nearestSrc.has(id)) return nearestSrc.get(id);
      const url = byId.get(id)?.callFrame.url ?? '';
      const own = isLoaderFrame(url) ? LOADING : areaOfUrl(url);
      const p = parent.get(id);
      const found = own ?? (p === undefined ? undefined : srcArea(p));
      nearestSrc.set(id, found);
      return found;
    };
    let sampled = 0;
    let idle = 0;
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i + 1] ?? 0;
      const node = byId.get(id);
      if (!node) return;
      const { functionName: fn, url, lineNumber } = node.callFrame;
      sampled += us;
      if (fn === '(idle)') {
        idle += us;
        return;
      }
      busy += us;
      const area = srcArea(id);
      const stage = stageOf(area, url, fn);
      stages.set(stage, (stages.get(stage) ?? 0) + us);
      const areaName = areaOfUrl(url) !== undefined ? `src/${areaOfUrl(url)}` : otherArea(url, fn);
      areas.set(areaName, (areas.get(areaName) ?? 0) + us);
      const where = url ? `${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}` : '(native)';
      const key = `${fn}@${where}`;
      const entry = fns.get(key) ?? { us: 0, where, area: areaName, name: fn || '(anonymous)' };
      entry.us += us;
      fns.set(key, entry);
    });
    threads.push({ file: name, sampledMs: sampled / 1000, idleMs: idle / 1000 });
  }
  const top = [...fns.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, 20)
    .map((f) => ({ name: f.name, where: f.where, area: f.area, ms: f.us / 1000, pct: busy > 0 ? (100 * f.us) / busy : 0 }));
  return { command, wallMs, threads, stages: share(stages, busy), areas: share(areas, busy, 15), top };
}

/** Runs `uai-assemble ARGS` once under the CPU profiler and summarises it. */
export async function profileCli(args: string[], workDir: string, label: string): Promise<ProfileSummary | string> {
  const dir = join(workDir, 'cpu-profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [cmd, argv] = uaiArgv(args, { cpuProfDir: dir });
  const r = await runMeasured(cmd, argv, { stdout: '/dev/null' });
  if (r.exitCode !== 0) return `profiled run failed (exit ${r.exitCode}): ${r.stderrTail.split('\n').slice(-2).join(' | ')}`;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => ({ name: f, profile: JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile }));
  if (files.length === 0) return 'node --cpu-prof wrote no profile';
  return summarizeProfiles(files, label, r.wallMs);
}
