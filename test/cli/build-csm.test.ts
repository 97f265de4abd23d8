/**
 * `uai-assemble build ims:ID … --register --default`: the whole CSM procedure in one
 * command, against the fake CSM gateway, a real s3rver and the real docker-registry.
 */
import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { tagsOf } from '../build/registry-images.ts';
import { IMAGE_ID, startCsmEnv, type CsmEnv } from '../cray/csm-env.ts';

let csm: CsmEnv;
let reg: TestRegistry;

beforeAll(async () => {
  csm = await startCsmEnv();
  reg = await startRegistry({ mode: 'plain' });
});
afterAll(async () => {
  await reg?.stop();
  await csm?.stop();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [resolve('src/cli/main.ts'), 'build', ...args],
      { env: { PATH: process.env.PATH, HOME: csm.dir } },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('uai-assemble build from IMS, registered with UAS', () => {
  it('reads the rootfs from S3 in place, pushes, registers HOST/REPO:TAG as the default', async () => {
    const gateway = ['--api-gateway', csm.gw.url, '--token', csm.tokenFile];
    const r = await cli([`ims:${IMAGE_ID}`, `docker://${reg.host}/cray/custom-uai:1.0`, '--register', '--default', '--quiet', ...gateway]);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${reg.host}/cray/custom-uai@sha256:[0-9a-f]{64}$`));
    // The test rootfs has no /bin/sh: the IMS record's arch is used, with a warning.
    expect(r.stderr).toContain('warning:');
    expect(r.stderr).toContain('registered with UAS');
    expect(await tagsOf(reg.url, 'cray/custom-uai')).toEqual(['1.0']);
    expect(csm.gw.uasImages).toContainEqual(expect.objectContaining({ imagename: `${reg.host}/cray/custom-uai:1.0`, default: true }));
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/cray/custom-uai:1.0`], { encoding: 'utf8' }));
    expect(raw.annotations['uai-assembler.source']).toContain(IMAGE_ID);
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--tls-verify=false', `docker://${reg.host}/cray/custom-uai:1.0`], { encoding: 'utf8' }));
    expect(config.architecture).toBe('amd64');
  });

  it('--register without a registry destination is a usage error', async () => {
    const r = await cli([`ims:${IMAGE_ID}`, 'oci:/tmp/never-written', '--register', '--api-gateway', csm.gw.url, '--token', csm.tokenFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--register needs a docker:// destination');
  });
});
