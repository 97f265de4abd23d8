/**
 * The one-way flow of src/, as data: which folders each folder may import from.
 * `test/architecture.test.ts` and `npm run lint` check every relative import against it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

export const ALLOWED: Record<string, string[]> = {
  // src/index.ts, the public API, re-exports every area.
  index: ['.', 'source', 'squashfs', 'layer', 'image', 'destination', 'destination/registry', 'cray', 'build'],
  '.': ['.'],
  source: ['.', 'source'],
  squashfs: ['.', 'source', 'squashfs'],
  layer: ['.', 'source', 'squashfs', 'layer'],
  image: ['.', 'source', 'squashfs', 'layer', 'image'],
  // The registry client knows nothing of layers or SquashFS (go-containerregistry's remote).
  'destination/registry': ['.', 'destination/registry'],
  destination: ['.', 'layer', 'image', 'destination', 'destination/registry'],
  cray: ['.', 'source', 'cray'],
  build: ['.', 'source', 'squashfs', 'layer', 'image', 'destination', 'destination/registry', 'cray', 'build'],
  cli: ['.', 'source', 'squashfs', 'layer', 'image', 'destination', 'destination/registry', 'cray', 'build', 'cli'],
};

/** The area a path under src/ belongs to: the most specific key of ALLOWED. */
export function areaOf(relPath: string): string {
  const parts = relPath.split('/');
  if (relPath === 'index.ts') return 'index';
  if (parts.length === 1) return '.';
  const two = parts.slice(0, 2).join('/');
  if (two in ALLOWED) return two;
  return parts[0]!;
}

function* tsFiles(dir: string): Generator<string> {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, ent.name);
    if (ent.isDirectory()) yield* tsFiles(full);
    else if (ent.name.endsWith('.ts')) yield full;
  }
}

/** Every relative import in src/ that breaks the rules, as `file: import` lines. */
export function importViolations(root: string): string[] {
  const src = resolve(root, 'src');
  const out: string[] = [];
  for (const file of tsFiles(src)) {
    const from = areaOf(relative(src, file));
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      const target = relative(src, resolve(dirname(file), spec));
      if (target.startsWith('..')) {
        out.push(`${relative(root, file)}: imports ${spec}, outside src/`);
        continue;
      }
      const to = areaOf(target);
      if (!ALLOWED[from]?.includes(to)) out.push(`${relative(root, file)} (${from}) may not import ${spec} (${to})`);
    }
  }
  return out;
}
