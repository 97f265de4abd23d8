/**
 * Acceptance: `uai-assemble inspect --json` and `uai-assemble ls --json` (run as the real
 * CLI, `node src/cli/main.ts`) agree with `unsquashfs -s` and `unsquashfs -lln` on every
 * committed fixture.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, fixtures, unsquashfsLln, utcMinute, perms } from '../support/fixtures.ts';

function cli(args: string[]): string {
  return execFileSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** `unsquashfs -s`, as key facts. */
function unsquashfsS(image: string) {
  const text = execFileSync('unsquashfs', ['-s', image], { env: { ...process.env, TZ: 'UTC' }, encoding: 'latin1' });
  const num = (re: RegExp): number => Number(re.exec(text)?.[1]);
  const has = (s: string): boolean => text.includes(s);
  return {
    text,
    compressor: /^Compression (\w+)$/m.exec(text)?.[1],
    blockSize: num(/^Block size (\d+)$/m),
    fragments: num(/^Number of fragments (\d+)$/m),
    inodes: num(/^Number of inodes (\d+)$/m),
    ids: num(/^Number of ids (\d+)$/m),
    bytesUsed: num(/^Filesystem size (\d+) bytes/m),
    mkfsTime: Date.parse(`${/^Creation or last append time (.*)$/m.exec(text)?.[1]} UTC`) / 1000,
    flags: {
      inodesUncompressed: has('Inodes are uncompressed'),
      dataUncompressed: has('Data is uncompressed'),
      fragmentsUncompressed: has('Fragments are uncompressed'),
      noFragments: has('Fragments are not stored'),
      alwaysFragments: has('Always-use-fragments option is specified'),
      duplicates: has('Duplicates are removed'),
      exportable: has('Filesystem is exportable via NFS'),
      xattrsUncompressed: has('Xattrs are uncompressed'),
      idsUncompressed: has('Uids/Gids (Id table) are uncompressed'),
    },
  };
}

interface LsLine {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  target?: string;
  major?: number;
  minor?: number;
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

// unsquashfs 4.5.1 cannot read this squashfs-tools-ng image (see fixtures.test.ts).
describe.each(fixtures().filter((f) => f.name !== 'ng-tree-lz4.sqfs'))('$name', (fx) => {
  it('inspect --json agrees with unsquashfs -s', () => {
    const inspect = JSON.parse(cli(['inspect', '--json', fx.path])) as { superblock: Record<string, number | string>; compressorOptions: Record<string, unknown> | null };
    const s = unsquashfsS(fx.path);
    const sb = inspect.superblock;
    expect(sb.compressor).toBe(s.compressor);
    expect(sb.blockSize).toBe(s.blockSize);
    expect(sb.fragments).toBe(s.fragments);
    expect(sb.inodes).toBe(s.inodes);
    expect(sb.idCount).toBe(s.ids);
    expect(sb.bytesUsed).toBe(s.bytesUsed);
    expect(sb.mkfsTime).toBe(s.mkfsTime);
    const f = Number(sb.flags);
    expect({
      inodesUncompressed: (f & 0x1) !== 0,
      dataUncompressed: (f & 0x2) !== 0,
      fragmentsUncompressed: (f & 0x8) !== 0,
      noFragments: (f & 0x10) !== 0,
      alwaysFragments: (f & 0x20) !== 0,
      duplicates: (f & 0x40) !== 0,
      exportable: (f & 0x80) !== 0,
      xattrsUncompressed: (f & 0x100) !== 0,
      // unsquashfs 4.5.1 reports the id table as uncompressed whenever inodes are (-noI
      // implies -noId), although mksquashfs does not set the 0x800 flag then.
      idsUncompressed: (f & 0x801) !== 0,
    }).toEqual(s.flags);
    // Compressor options: what unsquashfs names must show up in inspect's options.
    const options = JSON.stringify(inspect.compressorOptions ?? {});
    const filters = /Filters selected: (.*)$/m.exec(s.text)?.[1];
    if (filters) for (const name of filters.trim().split(/\s+/)) expect(options).toContain(name);
    const algorithm = /^\talgorithm (\S+)$/m.exec(s.text)?.[1];
    if (algorithm) expect(options).toContain(algorithm);
    if (s.text.includes('High Compression option specified')) expect(options.toLowerCase()).toMatch(/hc|high/);
  });

  it('ls --json agrees with unsquashfs -lln', () => {
    const lines = cli(['ls', '--json', fx.path])
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LsLine);
    // ls prints paths as UTF-8 with U+FFFD for bad bytes; decode unsquashfs's raw bytes the same way.
    const lln = unsquashfsLln(fx.path).map((l) => ({ ...l, path: Buffer.from(l.path, 'latin1').toString('utf8') }));
    expect(lines.map((l) => l.path)).toEqual(expect.arrayContaining(lln.map((l) => l.path)));
    expect(lines.length).toBe(lln.length);
    const byPath = new Map(lines.map((l) => [l.path, l]));
    for (const l of lln) {
      const e = byPath.get(l.path)!;
      expect(TYPE_CHAR[e.type], l.path).toBe(l.typeChar);
      expect(perms(e.mode), l.path).toBe(l.perms);
      expect([e.uid, e.gid], l.path).toEqual([l.uid, l.gid]);
      expect(utcMinute(e.mtime), l.path).toBe(l.time);
      if (e.type === 'file' || e.type === 'symlink') expect(e.size, l.path).toBe(l.size);
      if (e.type === 'symlink') expect(e.target, l.path).toBe(Buffer.from(l.target!, 'latin1').toString('utf8'));
      if ((e.type === 'char' || e.type === 'block') && l.major !== -1) expect([e.major, e.minor], l.path).toEqual([l.major, l.minor]);
    }
  });
});
