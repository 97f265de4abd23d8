import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { areaOf, importViolations } from './support/import-rules.ts';
import { VERSION } from '../src/version.ts';

describe('architecture', () => {
  it('keeps imports flowing one way (source → squashfs → layer → image → destination)', () => {
    expect(importViolations(process.cwd())).toEqual([]);
  });

  it('knows which area a file is in', () => {
    expect(areaOf('destination/registry/client.ts')).toBe('destination/registry');
    expect(areaOf('destination/oci-layout.ts')).toBe('destination');
    expect(areaOf('errors.ts')).toBe('.');
  });

  it('reports the version package.json declares', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
