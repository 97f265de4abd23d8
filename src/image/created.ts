/**
 * The image's `created` time. Reproducible by construction: SOURCE_DATE_EPOCH when set
 * (reproducible-builds.org), else the SquashFS's own mkfs time, else the epoch.
 * Never the wall clock, so the same rootfs always gives the same digests.
 */
import { ImageError } from './errors.ts';

export interface CreatedInput {
  /** The environment to read SOURCE_DATE_EPOCH from (default: none). */
  env?: NodeJS.ProcessEnv;
  /** The SquashFS superblock's modification time, in seconds since the epoch. */
  mkfsTime?: number;
  /** An explicit time (seconds since the epoch) that wins over both. */
  epoch?: number;
}

/** RFC 3339 UTC for seconds since the epoch, without fractional seconds. */
export function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface CreatedTime {
  seconds: number;
  rfc3339: string;
  /** Where the time came from. */
  from: 'option' | 'SOURCE_DATE_EPOCH' | 'mkfs' | 'epoch';
}

export function createdTime(input: CreatedInput = {}): CreatedTime {
  const make = (seconds: number, from: CreatedTime['from']): CreatedTime => ({ seconds, rfc3339: rfc3339(seconds), from });
  if (input.epoch !== undefined) {
    checkSeconds(input.epoch, 'created');
    return make(input.epoch, 'option');
  }
  const sde = input.env?.SOURCE_DATE_EPOCH;
  if (sde !== undefined && sde !== '') {
    if (!/^\d{1,12}$/.test(sde.trim())) {
      throw new ImageError('UAI_IMAGE_CREATED', `SOURCE_DATE_EPOCH=${JSON.stringify(sde)} is not a whole number of seconds`, {
        details: { field: 'SOURCE_DATE_EPOCH' },
      });
    }
    return make(Number(sde.trim()), 'SOURCE_DATE_EPOCH');
  }
  if (input.mkfsTime !== undefined && input.mkfsTime > 0) {
    checkSeconds(input.mkfsTime, 'mkfs time');
    return make(input.mkfsTime, 'mkfs');
  }
  return make(0, 'epoch');
}

function checkSeconds(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > 253402300799) {
    throw new ImageError('UAI_IMAGE_CREATED', `${what} ${value} is not a time in seconds between 1970 and 9999`);
  }
}
