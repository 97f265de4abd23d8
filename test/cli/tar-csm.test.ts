import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCsmEnv, type CsmEnv } from '../cray/csm-env.ts';

const ROOT = join(import.meta.dirname, '../..');

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('uai-assemble tar bos:TEMPLATE with gateway options', () => {
  let env: CsmEnv;
  beforeAll(async () => {
    env = await startCsmEnv();
  });
  afterAll(async () => env?.stop());

  it('reads the rootfs over S3 in place and writes the same tar as from the local file', async () => {
    const procEnv = { PATH: process.env.PATH, HOME: env.dir };
    const remoteTar = join(env.dir, 'remote.tar');
    const localTar = join(env.dir, 'local.tar');
    const remote = await cli(
      ['tar', 'bos:wlm-sessiontemplate-0.1.0', '--api-gateway', env.gw.url, '--token', env.tokenFile, '-o', remoteTar, '--json'],
      procEnv,
    );
    expect(remote.stderr).toBe('');
    expect(remote.code).toBe(0);
    const local = await cli(['tar', env.imagePath, '-o', localTar, '--json'], procEnv);
    expect(local.code).toBe(0);
    expect(JSON.parse(remote.stdout).diffId).toBe(JSON.parse(local.stdout).diffId);
    expect(readFileSync(remoteTar).equals(readFileSync(localTar))).toBe(true);
  });

  it('names the missing template and exits non-zero', async () => {
    const res = await cli(
      ['tar', 'bos:no-such-template', '--api-gateway', env.gw.url, '--token', env.tokenFile, '-o', join(env.dir, 'x.tar')],
      { PATH: process.env.PATH, HOME: env.dir },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such-template');
  });
});
