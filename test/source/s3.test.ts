/**
 * S3Source against a real s3rver: `read` and `readInto` (the body copied straight into
 * the caller's buffer) give the object's bytes at and across any offset, and a
 * ReadAheadSource over it serves a forward stream through `readInto` with the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadAheadSource, S3Source } from '../../src/source/index.ts';
import { startS3rver, type S3rver } from '../support/s3.ts';

const object = randomBytes(3 * 1024 * 1024 + 4321);
let s3: S3rver;

beforeAll(async () => {
  s3 = await startS3rver(['images']);
  await s3.put('images', 'rootfs.sqfs', object);
});
afterAll(async () => s3?.stop());

describe('S3Source', () => {
  it('reads ranges with read() and readInto(), and refuses reads after close', async () => {
    const source = await S3Source.open(s3.client, 'images', 'rootfs.sqfs');
    expect(source.size).toBe(object.length);
    for (const [offset, length] of [
      [5, 1],
      [1000, 70_000],
      [object.length - 5000, 5000],
      [123_457, 2 * 1024 * 1024 + 3],
    ] as const) {
      expect(Buffer.from(await source.read(offset, length)).equals(object.subarray(offset, offset + length))).toBe(true);
      const target = new Uint8Array(length).fill(0xa5);
      await source.readInto(offset, target);
      expect(Buffer.from(target).equals(object.subarray(offset, offset + length))).toBe(true);
    }
    await expect(source.readInto(object.length - 10, new Uint8Array(11))).rejects.toMatchObject({ code: 'UAI_SOURCE_RANGE' });
    await source.close();
    await expect(source.readInto(0, new Uint8Array(10))).rejects.toMatchObject({ code: 'UAI_SOURCE_CLOSED' });
  });

  it('a read-ahead cache over it streams the object through readInto with recycled windows', async () => {
    const source = await S3Source.open(s3.client, 'images', 'rootfs.sqfs');
    const cached = new ReadAheadSource(source, { windowSize: 256 * 1024, readAhead: 2, tailBytes: 0 });
    const target = new Uint8Array(100_000);
    const parts: Buffer[] = [];
    for (let offset = 0; offset < object.length; offset += target.length) {
      const piece = target.subarray(0, Math.min(target.length, object.length - offset));
      await cached.readInto(offset, piece);
      parts.push(Buffer.from(piece));
    }
    expect(Buffer.concat(parts).equals(object)).toBe(true);
    // Every window fetched once (13 windows of 256 KiB).
    expect(cached.stats.backendReads).toBe(Math.ceil(object.length / (256 * 1024)));
    await cached.close();
  });
});
