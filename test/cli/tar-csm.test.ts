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

describe('tar, ls and inspect of bos:TEMPLATE with gateway options', () => {
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

  it('ls and inspect read the same image over S3 as from the local file', async () => {
    const procEnv = { PATH: process.env.PATH, HOME: env.dir };
    const gateway = ['--api-gateway', env.gw.url, '--token', env.tokenFile];
    for (const cmd of [['ls', '--json'], ['inspect', '--json']]) {
      const remote = await cli([cmd[0]!, 'bos:wlm-sessiontemplate-0.1.0', cmd[1]!, ...gateway], procEnv);
      expect(remote.code, remote.stderr).toBe(0);
      const local = await cli([cmd[0]!, env.imagePath, cmd[1]!], procEnv);
      expect(local.code).toBe(0);
      if (cmd[0] === 'ls') {
        expect(remote.stdout).toBe(local.stdout);
        expect(remote.stdout).toContain('"/usr/bin/uai-ssh.sh"');
      } else {
        const strip = (s: string) => {
          const o = JSON.parse(s) as Record<string, unknown>;
          delete o.image;
          return o;
        };
        expect(JSON.parse(remote.stdout).image).toContain('compute-rootfs.squashfs');
        expect(strip(remote.stdout)).toEqual(strip(local.stdout));
      }
    }
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
