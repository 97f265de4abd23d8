import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../src/build/resolve-source.ts';
import { FileSource, ReadAheadSource } from '../../src/source/index.ts';
import { SquashfsImage, type Entry } from '../../src/squashfs/index.ts';
import { tokenFileName } from '../../src/cray/index.ts';
import { startCsmEnv, type CsmEnv } from './csm-env.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let env: CsmEnv;
beforeAll(async () => {
  env = await startCsmEnv();
});
afterAll(async () => env?.stop());

async function listing(image: SquashfsImage): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const e of image.walk()) out.push(summary(e));
  return out;
}

function summary(e: Entry): Record<string, unknown> {
  return { path: e.path, type: e.type, mode: e.mode, size: e.size, target: e.type === 'symlink' ? e.targetString : undefined };
}

describe('SquashfsImage read in place from S3', () => {
  it('walks the same entries and file bytes as from the local file, with far fewer S3 requests than reads', async () => {
    const local = await SquashfsImage.open(await FileSource.open(env.imagePath));
    const expected = await listing(local);
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', { cray: env.options(), readAhead: { windowSize: 128 * 1024 } });
    const remote = await SquashfsImage.open(r.source);
    expect(await listing(remote)).toEqual(expected);
    const script = await remote.lookup('/usr/bin/entry', { followLast: true });
    expect(script.path).toBe('/usr/bin/uai-ssh.sh');
    let files = 0;
    for await (const item of remote.walkWithData()) {
      if (item.entry.type !== 'file' || !item.data) continue;
      const chunks: Uint8Array[] = [];
      for await (const c of item.data) chunks.push(c);
      const got = Buffer.concat(chunks);
      expect(got.length).toBe(item.entry.size);
      const onDisk = execFileSync('unsquashfs', ['-cat', env.imagePath, item.entry.path], { maxBuffer: 16 << 20 });
      expect(got.equals(onDisk), item.entry.path).toBe(true);
      files++;
    }
    // uai-ssh.sh, 99-slingshot-network.conf, big.bin and 50 .conf files (see csm-env.ts).
    expect(files).toBe(53);
    const stats = (r.source as ReadAheadSource).stats;
    expect(stats.backendReads).toBeLessThan(stats.reads);
    await r.source.close();
  });
});

describe('uai-assemble ls bos:TEMPLATE (the CLI, cray CLI configuration only)', () => {
  function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const home = join(env.dir, 'home');
    const cray = join(home, '.config', 'cray');
    mkdirSync(join(cray, 'configurations'), { recursive: true });
    mkdirSync(join(cray, 'tokens'), { recursive: true });
    writeFileSync(join(cray, 'configurations', 'default'), `[core]\nhostname = "${env.gw.url}"\n\n[auth.login]\nusername = "admin"\n`);
    writeFileSync(join(cray, 'tokens', tokenFileName(env.gw.url, 'admin')), JSON.stringify(env.gw.tokenJson(3600)));
    return new Promise((done) => {
      execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: home } }, (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('lists the image found through BOS and S3', async () => {
    const r = await run(['ls', 'bos:wlm-sessiontemplate-0.1.0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('/usr/bin/uai-ssh.sh');
    expect(lines).toContain('/etc/security/limits.d/99-slingshot-network.conf');
    // The same listing as from the local file.
    const local = await run(['ls', env.imagePath]);
    expect(local.code).toBe(0);
    expect(r.stdout).toBe(local.stdout);
    expect(lines.length).toBe(60);
  });

  it('exits 1 with BOS, the path and the 404 for a missing template', async () => {
    const r = await run(['ls', 'bos:missing-template']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('BOS: GET /apis/bos/v2/sessiontemplates/missing-template → 404');
    expect(r.stderr).toContain('UAI_CRAY_NOT_FOUND');
  });
});
