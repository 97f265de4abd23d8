/**
 * `ls`, `tar`, `inspect` and `build` writing into a real pipe whose reader goes away, as in
 * `ls IMAGE | head -1`: the CLI runs as a real process (`node src/cli/main.ts`), the test
 * reads the first bytes (or none) and closes its end. Like GNU tools in a pipeline, the
 * command stops quietly: no message, exit 0 (Node ignores SIGPIPE, so no 141).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mksquashfs } from '../support/fixtures.ts';
import { spawnTied } from '../support/process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cli-pipes-'));
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
let many: string;
let big: string;

beforeAll(() => {
  // ls: 3000 entries of ~100 bytes a line, far more than a pipe's 64 KiB buffer.
  const tree = join(tmp, 'many');
  mkdirSync(tree);
  for (let i = 0; i < 3000; i++) writeFileSync(join(tree, `a-file-with-a-rather-long-name-so-that-lines-are-long-${i}`), '');
  many = join(tmp, 'many.sqfs');
  mksquashfs(tree, many, []);
  // tar: 2 MB of data.
  const bigTree = join(tmp, 'big');
  mkdirSync(bigTree);
  writeFileSync(join(bigTree, 'random'), randomBytes(2_000_000));
  big = join(tmp, 'big.sqfs');
  mksquashfs(bigTree, big, []);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI with stdout into a pipe the test closes after `keep` bytes (0: before any). */
function runIntoClosedPipe(args: string[], keep: number): Promise<{ code: number | null; signal: string | null; got: number; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawnTied(process.execPath, [main, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    const err: Buffer[] = [];
    let got = 0;
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    if (keep === 0) child.stdout!.destroy();
    else {
      child.stdout!.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= keep) child.stdout!.destroy();
      });
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => resolveRun({ code, signal, got, stderr: Buffer.concat(err).toString('utf8') }));
  });
}

describe('a closed stdout pipe is a quiet stop', () => {
  it('ls --long | head -1', async () => {
    const r = await runIntoClosedPipe(['ls', '--long', many], 1);
    expect(r.got).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('tar IMAGE | head -c 100', async () => {
    const r = await runIntoClosedPipe(['tar', big], 100);
    expect(r.got).toBeGreaterThanOrEqual(100);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('inspect IMAGE into a pipe closed before it writes', async () => {
    const r = await runIntoClosedPipe(['inspect', many], 0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('build into a pipe closed before it prints the reference: published, exit 0', async () => {
    const layout = join(tmp, 'layout');
    const image = join(import.meta.dirname, '..', '..', 'fixtures', 'images', 'uai-rootfs-gzip.sqfs');
    const r = await runIntoClosedPipe(['build', image, `oci:${layout}:piped`, '--quiet'], 0);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
    expect(index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'])).toContain('piped');
  });

  it('ls into a pipe closed before it writes', async () => {
    const r = await runIntoClosedPipe(['ls', '--json', many], 0);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
