/**
 * STS credentials that expire during a read, enforced: s3rver sits behind a gate that
 * refuses (403 ExpiredToken) any key past the Expiration STS gave it, or revoked early.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveSource } from '../../src/build/resolve-source.ts';
import type { ReadAheadSource } from '../../src/source/index.ts';
import { startS3Gate, type S3Gate } from '../support/s3.ts';
import { startCsmEnv, type CsmEnv } from './csm-env.ts';

let env: CsmEnv;
let gate: S3Gate;

beforeAll(async () => {
  env = await startCsmEnv();
  gate = await startS3Gate(env.s3.endpoint, (key) => env.gw.stsIssued.find((k) => k.accessKeyId === key)?.expiration);
  env.gw.stsUniqueKeys = true;
  env.gw.stsCredentials.EndpointURL = gate.endpoint;
});
afterAll(async () => {
  await gate?.stop();
  await env?.stop();
});
beforeEach(() => {
  gate.refused.length = 0;
  gate.forwarded.length = 0;
  gate.revoked.clear();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('S3 credentials during a long read', () => {
  it('renews STS credentials before their Expiration: no request is ever signed with an expired key', async () => {
    env.gw.stsLifetime = 3;
    const issuedBefore = env.gw.stsIssued.length;
    const window = 64 * 1024;
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', {
      cray: env.options({ s3RefreshMarginMs: 2000 }),
      readAhead: { windowSize: window, readAhead: 0, retryDelayMs: 1 },
    });
    const out = Buffer.alloc(r.source.size);
    // One window at a time, slowly: the read outlives several 3 s credentials.
    for (let offset = 0; offset < r.source.size; offset += window) {
      const len = Math.min(window, r.source.size - offset);
      out.set(await r.source.read(offset, len), offset);
      await sleep(400);
    }
    await r.source.close();
    expect(out.equals(env.image)).toBe(true);
    expect(gate.refused).toEqual([]);
    const used = new Set(gate.forwarded);
    expect(env.gw.stsIssued.length - issuedBefore).toBeGreaterThanOrEqual(3);
    expect(used.size).toBeGreaterThanOrEqual(3);
    env.gw.stsLifetime = 3600;
  });

  it('renews and retries when S3 says ExpiredToken before Expiration', async () => {
    const issuedBefore = env.gw.stsIssued.length;
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', {
      cray: env.options(),
      readAhead: { windowSize: 32 * 1024, readAhead: 0, retryDelayMs: 1 },
    });
    const half = Math.floor(r.source.size / 2);
    const first = Buffer.from(await r.source.read(0, half));
    // Revoke the key in use, as if the object store's clock ran ahead.
    gate.revoked.add(env.gw.stsIssued.at(-1)!.accessKeyId);
    const second = Buffer.from(await r.source.read(half, r.source.size - half));
    const stats = (r.source as ReadAheadSource).stats;
    await r.source.close();
    expect(Buffer.concat([first, second]).equals(env.image)).toBe(true);
    expect(gate.refused.length).toBeGreaterThanOrEqual(1);
    expect(stats.retries).toBeGreaterThanOrEqual(1);
    // One renewal (a few more if parallel window reads failed around it).
    expect(env.gw.stsIssued.length - issuedBefore).toBeGreaterThanOrEqual(2);
    expect(env.gw.stsIssued.length - issuedBefore).toBeLessThanOrEqual(6);
  });

  it('fails clearly when S3 keeps refusing renewed credentials', async () => {
    const r = await resolveSource('bos:wlm-sessiontemplate-0.1.0', {
      cray: env.options(),
      readAhead: { windowSize: 32 * 1024, readAhead: 0, retryDelayMs: 1, retries: 2 },
    });
    // Every key from now on is refused.
    const refuseAll = setInterval(() => {
      for (const k of env.gw.stsIssued) gate.revoked.add(k.accessKeyId);
    }, 1);
    try {
      for (const k of env.gw.stsIssued) gate.revoked.add(k.accessKeyId);
      const err = await r.source.read(200_000, 10).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UAI_SOURCE_DENIED', details: { status: 403, s3Code: 'ExpiredToken' } });
      expect((err as Error).message).toContain(`s3://boot-images/`);
    } finally {
      clearInterval(refuseAll);
      await r.source.close();
    }
  });
});
