/**
 * `uai-assemble tar -o FILE` failures, run as a real process (`node src/cli/main.ts`) so
 * that an unhandled stream 'error' event would show as the crash it is: a damaged data
 * block in a real mksquashfs image, a missing output directory, a whiteout name.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mksquashfs } from '../support/fixtures.ts';
import { spawnTied } from '../support/process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cli-tar-output-'));
const main = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
let damaged: string;
let whiteout: string;

beforeAll(() => {
  const tree = join(tmp, 'tree');
  mkdirSync(tree);
  // a.bin: 1 MB of random bytes (stored uncompressed, written to the tar first, so that
  // plenty of writes are queued when b.txt fails); b.txt: base64 text, stored compressed.
  const random = randomBytes(1_000_000);
  writeFileSync(join(tree, 'a.bin'), random);
  writeFileSync(join(tree, 'b.txt'), randomBytes(240_000).toString('base64'));
  const good = join(tmp, 'good.sqfs');
  mksquashfs(tree, good, ['-comp', 'gzip']);
  const bytes = readFileSync(good);
  // b.txt's first (compressed) block follows a.bin's last stored bytes.
  const tail = random.subarray(random.length - 4096);
  const at = bytes.indexOf(tail);
  expect(at).toBeGreaterThan(0);
  const bBlock = at + tail.length;
  bytes.fill(0x55, bBlock + 1000, bBlock + 1064);
  damaged = join(tmp, 'damaged.sqfs');
  writeFileSync(damaged, bytes);

  const wh = join(tmp, 'wh');
  mkdirSync(join(wh, 'a'), { recursive: true });
  writeFileSync(join(wh, 'a', '.wh.b'), '');
  whiteout = join(tmp, 'wh.sqfs');
  mksquashfs(wh, whiteout, []);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawnTied(process.execPath, [main, 'tar', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** One error line with the code, and nothing of a Node crash (stack frames, node:events). */
function expectOneCleanError(stderr: string, code: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^uai-assemble tar: error: /);
  expect(lines[0]).toMatch(code);
  expect(stderr).not.toContain('node:events');
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('uai-assemble tar -o FILE on failure', () => {
  it('reports a damaged data block in one line, removes the temp file and creates no FILE', async () => {
    const dir = join(tmp, 'out-damaged');
    mkdirSync(dir);
    const r = await cli([damaged, '-o', 'out.tar'], dir);
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /UAI_SQFS_(DECOMPRESS|CORRUPTED)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names the path the user gave when the output directory is missing', async () => {
    const dir = join(tmp, 'out-missing');
    mkdirSync(dir);
    const r = await cli([whiteout, '--allow-whiteout-names', '-o', 'nowhere/x.tar'], dir);
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /UAI_CLI_OUTPUT/);
    expect(r.stderr).toContain(join(dir, 'nowhere', 'x.tar'));
    expect(r.stderr).not.toContain('.tmp');
    expect(r.stderr).not.toContain('.x.tar.');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names FILE when it is a FIFO whose reader goes away (EPIPE is an error here, not a quiet stop)', async () => {
    const dir = join(tmp, 'out-fifo');
    mkdirSync(dir);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawnTied('head', ['-c', '10', fifo], { stdio: 'ignore' });
    const readerDone = new Promise((resolveReader) => reader.on('exit', resolveReader));
    const r = await cli([join(tmp, 'good.sqfs'), '-o', fifo], dir);
    await readerDone;
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /UAI_CLI_OUTPUT/);
    expect(r.stderr).toContain(`cannot write ${fifo}`);
    expect(r.stderr).toContain('EPIPE');
    expect(readdirSync(dir)).toEqual(['fifo']);
  });

  it('words the whiteout error with the CLI flag, not the library option', async () => {
    const dir = join(tmp, 'out-wh');
    mkdirSync(dir);
    const r = await cli([whiteout, '-o', 'wh.tar'], dir);
    expect(r.code).toBe(1);
    expectOneCleanError(r.stderr, /UAI_LAYER_WHITEOUT_NAME/);
    expect(r.stderr).toContain('/a/.wh.b');
    expect(r.stderr).toContain('--allow-whiteout-names');
    expect(r.stderr).not.toContain('allowWhiteoutNames');
    expect(existsSync(join(dir, 'wh.tar'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    // The same wording when the tar goes to stdout.
    const piped = await cli([whiteout], dir);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toContain('--allow-whiteout-names to keep it');
  });
});
