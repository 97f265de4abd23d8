/**
 * BlobUpload.streamedDigest: a producer that hashes its bytes anyway (a layer) tells the
 * client the digest, and the client only counts the bytes. Against the real registry:
 * a true report publishes the blob; a false digest is caught by the registry at the
 * commit (so the client really committed the producer's digest); a false size is caught
 * by the client before the commit; no report makes the client start over and hash itself.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, RegistryError, type BlobUpload } from '../../../src/destination/registry/index.ts';
import { startRegistry, type TestRegistry } from '../../support/registry.ts';
import { collect, randomBlob, sha256 } from './helpers.ts';

/** A blob whose open() hashes what it yields, like a streaming layer, and reports `report(actual)`. */
function hashingProducer(
  bytes: Uint8Array,
  report: (actual: { digest: string; size: number }) => { digest: string; size: number } | undefined = (a) => a,
): BlobUpload & { reports: number } {
  let last: { digest: string; size: number } | undefined;
  const blob = {
    reports: 0,
    label: 'layer',
    open(): AsyncIterable<Uint8Array> {
      return (async function* () {
        const hash = createHash('sha256');
        for (let at = 0; at < bytes.length; at += 50_000) {
          const piece = bytes.subarray(at, Math.min(bytes.length, at + 50_000));
          hash.update(piece);
          yield piece;
        }
        last = { digest: `sha256:${hash.digest('hex')}`, size: bytes.length };
      })();
    },
    streamedDigest() {
      blob.reports++;
      return last === undefined ? undefined : report(last);
    },
  };
  return blob;
}

describe('pushBlob with a producer that knows the digest', () => {
  let reg: TestRegistry;
  let client: RegistryClient;

  beforeAll(async () => {
    reg = await startRegistry({ mode: 'plain' });
    client = new RegistryClient(reg.host, { retries: 1, retryDelayMs: 10 });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('publishes under the reported digest, and the bytes read back verified', async () => {
    const bytes = randomBlob(700_000);
    const blob = hashingProducer(bytes);
    const pushed = await client.pushBlob('uai/producer', blob);
    expect(pushed).toEqual({ digest: sha256(bytes), size: bytes.length, existed: false });
    expect(blob.reports).toBe(1);
    // getBlob hashes what it reads and fails on a mismatch.
    expect(await collect(client.getBlob('uai/producer', sha256(bytes)))).toEqual(bytes);
  });

  it('also with the shared first stream (the tee branch of a build)', async () => {
    const bytes = randomBlob(120_000);
    const blob = hashingProducer(bytes);
    const pushed = await client.pushBlob('uai/producer', blob, { stream: blob.open() });
    expect(pushed.digest).toBe(sha256(bytes));
    expect(await client.blobExists('uai/producer', sha256(bytes))).toBe(true);
  });

  it('a false digest is refused by the registry at the commit: the client sent the producer\'s, not its own', async () => {
    const bytes = randomBlob(300_000);
    const other = sha256(randomBlob(300_000));
    const err = await client.pushBlob('uai/producer-lie', hashingProducer(bytes, (a) => ({ digest: other, size: a.size }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).hasRegistryCode('DIGEST_INVALID')).toBe(true);
    expect(await client.blobExists('uai/producer-lie', other)).toBe(false);
    expect(await client.blobExists('uai/producer-lie', sha256(bytes))).toBe(false);
  });

  it('a size that is not what was streamed fails before the commit', async () => {
    const bytes = randomBlob(200_000);
    const err = await client.pushBlob('uai/producer-size', hashingProducer(bytes, (a) => ({ digest: a.digest, size: a.size + 1 }))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UAI_REGISTRY_SIZE_INVALID' });
    expect((err as Error).message).toContain('200000 bytes streamed');
    expect(await client.blobExists('uai/producer-size', sha256(bytes))).toBe(false);
  });

  it('no report after the stream ended: the upload starts over and the client hashes the bytes itself', async () => {
    const bytes = randomBlob(10_000);
    const blob = hashingProducer(bytes, () => undefined);
    const warnings: string[] = [];
    const warned = new RegistryClient(reg.host, { retries: 1, retryDelayMs: 10, onWarning: (w) => warnings.push(w.message) });
    try {
      const pushed = await warned.pushBlob('uai/producer-none', blob, { stream: blob.open() });
      expect(pushed).toEqual({ digest: sha256(bytes), size: bytes.length, existed: false });
      // Asked once, after the shared stream; the second attempt (from open()) was hashed here.
      expect(blob.reports).toBe(1);
      expect(warnings.join('\n')).toContain('reported no digest');
      expect(await collect(warned.getBlob('uai/producer-none', sha256(bytes)))).toEqual(bytes);
    } finally {
      await warned.close();
    }
    // With no retries left, the push fails and leaves nothing behind.
    const other = randomBlob(10_000);
    const once = new RegistryClient(reg.host, { retries: 0 });
    try {
      const err = await once.pushBlob('uai/producer-none2', hashingProducer(other, () => undefined)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UAI_REGISTRY_PROTOCOL' });
      expect(await once.blobExists('uai/producer-none2', sha256(other))).toBe(false);
    } finally {
      await once.close();
    }
  });
});
