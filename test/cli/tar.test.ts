import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { mksquashfs } from '../support/fixtures.ts';
import { parseTar } from '../layer/support/parse-tar.ts';
import { spawnTied } from '../support/process.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cli-tar-'));
let image: string;
let whiteoutImage: string;

beforeAll(() => {
  const tree = join(tmp, 'tree');
  mkdirSync(join(tree, 'etc', 'conf.d'), { recursive: true });
  writeFileSync(join(tree, 'etc', 'conf.d', '99-slingshot-network.conf'), 'net');
  writeFileSync(join(tree, 'etc', 'motd'), 'old');
  writeFileSync(join(tree, 'etc', 'hosts'), 'hosts');
  mkdirSync(join(tree, 'var', 'log'), { recursive: true });
  writeFileSync(join(tree, 'var', 'log', 'x.log'), 'log');
  image = join(tmp, 'img.sqfs');
  mksquashfs(tree, image, []);
  const wh = join(tmp, 'wh');
  mkdirSync(join(wh, 'a'), { recursive: true });
  writeFileSync(join(wh, 'a', '.wh.b'), '');
  whiteoutImage = join(tmp, 'wh.sqfs');
  mksquashfs(wh, whiteoutImage, []);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[], opts: { stdoutTTY?: boolean } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  if (opts.stdoutTTY) Object.assign(stdout, { isTTY: true });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(['tar', ...args], { stdout, stderr, cwd: tmp, env: {}, signal: new AbortController().signal, isTTY: false });
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('uai-assemble tar', () => {
  it('writes the layer to -o FILE and prints diff_id and size on stderr', async () => {
    const r = await run([image, '-o', 'out.tar']);
    expect(r.code).toBe(0);
    const bytes = readFileSync(join(tmp, 'out.tar'));
    expect(r.stderr).toContain(`diff_id ${sha(bytes)}`);
    expect(r.stderr).toContain(`size ${bytes.length}`);
    const paths = parseTar(bytes).map((e) => e.path);
    expect(paths).toEqual(['', 'etc', 'etc/conf.d', 'etc/hosts', 'etc/motd', 'var', 'var/log', 'var/log/x.log']);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the same bytes to stdout (no -o, or -o -)', async () => {
    const file = readFileSync(join(tmp, 'out.tar'));
    const a = await run([image]);
    const b = await run([image, '-o', '-']);
    expect(a.code).toBe(0);
    expect(a.stdout.equals(file)).toBe(true);
    expect(b.stdout.equals(file)).toBe(true);
  });

  it('writes into an existing FIFO or device in place instead of renaming over it', async () => {
    const fifo = join(tmp, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = spawnTied('sh', ['-c', `cat "${fifo}" > "${join(tmp, 'from-pipe.tar')}"`]);
    const done = new Promise((resolve) => reader.on('exit', resolve));
    const r = await run([image, '-o', fifo]);
    await done;
    expect(r.code).toBe(0);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readFileSync(join(tmp, 'from-pipe.tar')).equals(readFileSync(join(tmp, 'out.tar')))).toBe(true);
  });

  it('stops quietly with exit 0 when stdout is closed early (EPIPE), like a tool in a pipeline', async () => {
    let writes = 0;
    const stdout = new Writable({
      highWaterMark: 1 << 30,
      write(_chunk, _enc, callback) {
        writes++;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const stderr = new PassThrough();
    const err: Buffer[] = [];
    stderr.on('data', (c: Buffer) => err.push(c));
    const big = join(tmp, 'big.sqfs');
    const tree = join(tmp, 'bigtree');
    mkdirSync(tree);
    for (let i = 0; i < 40; i++) writeFileSync(join(tree, `f${i}`), Buffer.alloc(100_000, i));
    mksquashfs(tree, big, []);
    const code = await main(['tar', big], { stdout, stderr, cwd: tmp, env: {}, signal: new AbortController().signal, isTTY: false });
    expect(code).toBe(0);
    expect(Buffer.concat(err).toString()).toBe('');
    expect(writes).toBe(1);
  });

  it('prints one JSON object with --json', async () => {
    const r = await run([image, '-o', 'j.tar', '--json', '--exclude', '/var/log', '--no-default-excludes']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout.toString('utf8'));
    const bytes = readFileSync(join(tmp, 'j.tar'));
    expect(json).toEqual({ diffId: sha(bytes), size: bytes.length, entries: 7, skipped: [{ path: '/var/log', reason: 'excluded', pattern: '/var/log' }] });
    expect(parseTar(bytes).map((e) => e.path)).toContain('etc/conf.d/99-slingshot-network.conf');
  });

  it('adds files with --add SRC:DEST[:MODE]', async () => {
    writeFileSync(join(tmp, 'motd.new'), 'new motd');
    const r = await run([image, '-o', 'add.tar', '--add', 'motd.new:/etc/motd:600', '--add', `${join(tmp, 'motd.new')}:/opt/x/y`]);
    expect(r.code).toBe(0);
    const entries = parseTar(readFileSync(join(tmp, 'add.tar')));
    expect(entries.find((e) => e.path === 'etc/motd')).toMatchObject({ mode: 0o600, sha256: createHash('sha256').update('new motd').digest('hex') });
    expect(entries.map((e) => e.path)).toEqual(expect.arrayContaining(['opt', 'opt/x', 'opt/x/y']));
  });

  it('refuses usage mistakes with exit 2', async () => {
    expect((await run([image], { stdoutTTY: true })).code).toBe(2);
    expect((await run([image, '--json'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
    expect((await run([image, '--add', 'nodest'])).code).toBe(2);
    expect((await run([image, '--add', 'a:relative/dest', '-o', 'z.tar'])).code).toBe(2);
    expect((await run([image, '--bogus'])).code).toBe(2);
  });

  it('leaves no file behind on failure and names the error code', async () => {
    const r = await run([whiteoutImage, '-o', 'wh.tar']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('UAI_LAYER_WHITEOUT_NAME');
    expect(r.stderr).toContain('/a/.wh.b');
    expect(r.stderr).toContain('(--allow-whiteout-names to keep it)');
    expect(existsSync(join(tmp, 'wh.tar'))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const ok = await run([whiteoutImage, '-o', 'wh.tar', '--allow-whiteout-names']);
    expect(ok.code).toBe(0);
    const missing = await run([image, '-o', 'm.tar', '--add', 'does-not-exist:/x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('UAI_LAYER_INJECT_READ');
    expect(existsSync(join(tmp, 'm.tar'))).toBe(false);
  });
});
