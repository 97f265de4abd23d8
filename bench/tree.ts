/**
 * Writes the two benchmark trees, deterministically from a seed:
 * - a rootfs-like tree: many small files with a log-normal size distribution, deep and wide
 *   directories, symlinks (some dangling), hard links, a few setuid files, other owners,
 *   user xattrs and file capabilities, plus the two files the UAI procedure cares about;
 * - a "large files" tree: a few dozen files of 16–96 MiB of moderately compressible data.
 * Must run as root (chown, setcap), like the seed procedure it is compared with.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, linkSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { Prng, binaryPool, fillFromPool, textPool } from './prng.ts';

export interface TreeStats {
  /** Every entry below the root (the root itself not counted). */
  entries: number;
  dirs: number;
  files: number;
  symlinks: number;
  hardlinks: number;
  xattrFiles: number;
  /** Sum of the regular files' sizes (each hard-linked inode once). */
  fileBytes: number;
}

const BASE_MTIME = 1_700_000_000;
const MiB = 1024 * 1024;
const TOP_DIRS = [
  'etc', 'etc/NetworkManager', 'etc/NetworkManager/conf.d', 'usr', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64',
  'usr/share', 'usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/include', 'opt', 'opt/cray', 'var',
  'var/lib', 'var/log', 'root', 'srv', 'home',
];

/**
 * A stand-in for /usr/bin/bash: an x86-64 ELF header (what the image stage reads to tell
 * the architecture) followed by binary-like bytes, plus `sh -> bash` and the UAI
 * entrypoint /usr/bin/uai-ssh.sh that the seed procedure's ENTRYPOINT names.
 */
function writeShell(dir: string, pool: Buffer, prng: Prng, bytes: number): void {
  const body = Buffer.alloc(bytes);
  fillFromPool(body, pool, prng, 0xba5);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]).copy(body, 0);
  body.writeUInt16LE(3, 16); // ET_DYN (a PIE executable)
  body.writeUInt16LE(0x3e, 18); // EM_X86_64
  body.writeUInt32LE(1, 20); // EV_CURRENT
  const bash = join(dir, 'usr', 'bin', 'bash');
  writeFileSync(bash, body, { mode: 0o755 });
  symlinkSync('bash', join(dir, 'usr', 'bin', 'sh'));
  utimesSync(bash, BASE_MTIME, BASE_MTIME);
  lutimesSync(join(dir, 'usr', 'bin', 'sh'), BASE_MTIME, BASE_MTIME);
  const entrypoint = join(dir, 'usr', 'bin', 'uai-ssh.sh');
  writeFileSync(entrypoint, '#!/bin/bash\n# UAI entrypoint (benchmark stand-in)\nexec /usr/sbin/sshd -D -e\n', { mode: 0o755 });
  utimesSync(entrypoint, BASE_MTIME, BASE_MTIME);
}

/** Writes the rootfs-like tree into `dir` (which must not exist yet). */
export function writeRootfsTree(dir: string, options: { entries: number; seed: number }): TreeStats {
  const prng = new Prng(options.seed);
  const text = textPool(options.seed + 1, 8 * MiB);
  const binary = binaryPool(options.seed + 2, 8 * MiB);
  const scratch = Buffer.alloc(24 * MiB);
  const stats: TreeStats = { entries: 0, dirs: 0, files: 0, symlinks: 0, hardlinks: 0, xattrFiles: 0, fileBytes: 0 };
  const dirs: string[] = [];
  const files: string[] = [];
  const names = new Map<string, Set<string>>();
  const uniqueName = (parent: string, base: string): string => {
    let used = names.get(parent);
    if (!used) names.set(parent, (used = new Set()));
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return name;
  };
  const stamp = () => BASE_MTIME + prng.int(0, 30_000_000);

  mkdirSync(dir, { recursive: false });
  for (const d of TOP_DIRS) {
    mkdirSync(join(dir, d));
    uniqueName(dirname(d) === '.' ? '' : dirname(d), d.split('/').pop()!);
    dirs.push(d);
  }
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  dirs.push('tmp');
  for (const [link, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) {
    symlinkSync(target, join(dir, link));
    stats.symlinks++;
  }

  writeShell(dir, binary, prng, 1_200_000);
  stats.files += 2;
  stats.symlinks++;
  stats.fileBytes += 1_200_000;
  const dirTarget = Math.round(options.entries * 0.12);
  const linkTarget = Math.round(options.entries * 0.08);
  const hardTarget = Math.round(options.entries * 0.01);
  const fileTarget = Math.max(2, options.entries - dirTarget - linkTarget - hardTarget - 2);
  const words = ['lib', 'core', 'net', 'data', 'cray', 'mpi', 'pals', 'perf', 'conf', 'share', 'tools', 'plugins', 'python3', 'site', 'x86_64', 'modules', 'firmware', 'locale', 'kernel', 'drivers'];

  while (dirs.length < dirTarget) {
    const parent = dirs[Math.floor(dirs.length * prng.next() ** 0.7)]!;
    const name = uniqueName(parent, `${prng.pick(words)}${prng.next() < 0.4 ? `-${prng.int(1, 9)}.${prng.int(0, 30)}` : ''}`);
    const path = `${parent}/${name}`;
    mkdirSync(join(dir, path), { mode: prng.next() < 0.05 ? 0o700 : 0o755 });
    dirs.push(path);
  }
  stats.dirs = dirs.length;

  // Files: a few directories get very many (usr/bin, usr/lib64), most get a handful.
  const special: Array<[string, string, number]> = [['etc/NetworkManager/conf.d', '99-slingshot-network.conf', 0o644]];
  for (let i = 0; i < fileTarget; i++) {
    const fixed = special[i];
    const parent = fixed ? fixed[0] : dirs[Math.floor(dirs.length * prng.next() ** 2.5)]!;
    const isBin = /(^|\/)(s?bin|lib64|lib|modules|firmware)(\/|$)/.test(parent);
    const ext = isBin ? prng.pick(['', '.so', '.so.1', '.a', '.ko']) : prng.pick(['', '.conf', '.txt', '.py', '.h', '.gz', '.html', '.json']);
    const name = fixed ? uniqueName(parent, fixed[1]) : uniqueName(parent, `${prng.pick(words)}${prng.int(0, 999)}${ext}`);
    const size = prng.next() < 0.03 ? 0 : Math.min(scratch.length, Math.round(prng.logNormal(isBin ? 4000 : 1500, 1.6)));
    const body = scratch.subarray(0, size);
    fillFromPool(body, isBin ? binary : text, prng, i);
    const r = prng.next();
    const mode = fixed ? fixed[2] : isBin || r < 0.1 ? (r < 0.003 ? 0o4755 : 0o755) : r < 0.15 ? 0o600 : 0o644;
    const path = `${parent}/${name}`;
    const full = join(dir, path);
    writeFileSync(full, body, { mode });
    if (mode & 0o4000) execFileSync('chmod', [mode.toString(8), full]);
    if (prng.next() < 0.02) chownSync(full, 1000 + prng.int(0, 3), 1000 + prng.int(0, 3));
    utimesSync(full, stamp(), stamp());
    files.push(path);
    stats.fileBytes += size;
  }
  stats.files += files.length;

  for (let i = 0; i < linkTarget - 5; i++) {
    const target = prng.next() < 0.02 ? `missing-${i}` : prng.pick(files);
    const parent = prng.pick(dirs);
    const path = `${parent}/${uniqueName(parent, `link${i}${prng.next() < 0.5 ? '.so' : ''}`)}`;
    const rel = target.startsWith('missing-') ? target : relative(parent, target);
    symlinkSync(rel, join(dir, path));
    lutimesSync(join(dir, path), BASE_MTIME, BASE_MTIME);
    stats.symlinks++;
  }
  for (let i = 0; i < hardTarget; i++) {
    const target = prng.pick(files);
    const parent = dirname(target);
    linkSync(join(dir, target), join(dir, `${parent}/${uniqueName(parent, `hard${i}`)}`));
    stats.hardlinks++;
  }

  // Xattrs: user.* on ~0.5% of the files in one setfattr call, capabilities on a few.
  const dump: string[] = [];
  const xattrFiles = new Set<string>();
  for (let i = 0; i < Math.max(1, Math.round(files.length * 0.005)); i++) {
    const f = prng.pick(files);
    if (xattrFiles.has(f)) continue;
    xattrFiles.add(f);
    dump.push(`# file: ${f}\nuser.bench.note="${prng.pick(words)}-${i}"\nuser.bench.origin="seed ${options.seed}"\n`);
  }
  const restore = join(dir, '..', `.${options.seed}.xattrs`);
  writeFileSync(restore, dump.join('\n') + '\n');
  execFileSync('setfattr', [`--restore=${restore}`], { cwd: dir });
  rmSync(restore);
  for (const f of files.filter((f) => f.startsWith('usr/bin/')).slice(1, 4)) {
    execFileSync('setcap', ['cap_net_raw+ep', join(dir, f)]);
    xattrFiles.add(f);
  }
  stats.xattrFiles = xattrFiles.size;

  for (const link of ['bin', 'sbin', 'lib', 'lib64']) lutimesSync(join(dir, link), BASE_MTIME, BASE_MTIME);
  for (const d of [...dirs].reverse()) utimesSync(join(dir, d), BASE_MTIME, BASE_MTIME);
  utimesSync(dir, BASE_MTIME, BASE_MTIME);
  stats.entries = stats.dirs + stats.files + stats.symlinks + stats.hardlinks;
  return stats;
}

/** Writes large files (16–96 MiB each) totalling at least `bytes` into `dir`. */
export function writeLargeTree(dir: string, options: { bytes: number; seed: number }): TreeStats {
  const prng = new Prng(options.seed);
  const text = textPool(options.seed + 1, 8 * MiB);
  const binary = binaryPool(options.seed + 2, 8 * MiB);
  const chunk = Buffer.alloc(MiB);
  const stats: TreeStats = { entries: 0, dirs: 4, files: 2, symlinks: 1, hardlinks: 0, xattrFiles: 0, fileBytes: 200_000 };
  mkdirSync(dir, { recursive: false });
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'opt'));
  mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
  writeShell(dir, binary, prng, 200_000);
  const max = Math.max(1, Math.min(96, Math.ceil(options.bytes / MiB / 8)));
  const min = Math.max(1, Math.min(16, max));
  for (let n = 0; stats.fileBytes < options.bytes; n++) {
    const size = Math.min(prng.int(min, max) * MiB, Math.max(MiB, options.bytes - stats.fileBytes + MiB));
    const path = join(dir, n % 3 === 0 ? 'opt' : 'data', `blob-${n}.${n % 2 ? 'dat' : 'img'}`);
    const fd = openSync(path, 'w', 0o644);
    try {
      for (let at = 0; at < size; at += chunk.length) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - at));
        fillFromPool(part, prng.next() < 0.5 ? text : binary, prng, n * 100_000 + at / MiB);
        writeSync(fd, part);
      }
    } finally {
      closeSync(fd);
    }
    utimesSync(path, BASE_MTIME, BASE_MTIME);
    stats.files++;
    stats.fileBytes += size;
  }
  for (const d of ['data', 'opt', 'usr/bin', 'usr', '.']) utimesSync(join(dir, d), BASE_MTIME, BASE_MTIME);
  stats.entries = stats.dirs + stats.files + stats.symlinks;
  return stats;
}
