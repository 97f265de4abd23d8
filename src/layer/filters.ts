/**
 * Which entries stay out of the layer. A pattern without `/` matches an entry's name at
 * any depth (GNU tar's unanchored `--exclude`); a pattern with `/` matches the whole path
 * from the root (a leading `/` or `./` and a trailing `/` are optional). Excluding a
 * directory excludes everything under it (the walk prunes it, so none of it is read).
 *
 * Globs: `*` any run of bytes but `/`, `**` any run including `/`, `?` one byte but `/`,
 * `[abc]`, `[a-z]`, `[!x]` / `[^x]` one byte of a set, `\x` a literal `x`. Matching is on
 * the raw name bytes (a pattern is taken as UTF-8), so non-UTF-8 names can be matched.
 */
import type { Entry } from '../squashfs/entry.ts';
import { latin1, utf8 } from './bytes.ts';
import { LayerError } from './errors.ts';

/** Excluded unless `defaultExcludes: false`: the compute node's Slingshot network config. */
export const DEFAULT_EXCLUDES: readonly string[] = ['99-slingshot-network.conf'];

export interface FilterOptions {
  /** Extra glob patterns to exclude (see the module comment for the syntax). */
  exclude?: readonly string[];
  /** Apply `DEFAULT_EXCLUDES`; default true. */
  defaultExcludes?: boolean;
}


const SPECIAL = /[\\^$.*+?()[\]{}|/-]/;

function escapeChar(c: string): string {
  return SPECIAL.test(c) ? `\\${c}` : c;
}

/** A glob (already as a latin1 string of its UTF-8 bytes) → an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\' && i + 1 < glob.length) {
      re += escapeChar(glob[++i]!);
    } else if (c === '[') {
      let j = i + 1;
      let negate = false;
      if (glob[j] === '!' || glob[j] === '^') {
        negate = true;
        j++;
      }
      let body = '';
      let first = true;
      while (j < glob.length && (glob[j] !== ']' || first)) {
        const d = glob[j]!;
        if (d === '-' && !first && j + 1 < glob.length && glob[j + 1] !== ']') body += '-';
        else body += escapeChar(d);
        first = false;
        j++;
      }
      if (j >= glob.length) {
        re += '\\[';
      } else {
        re += negate ? `[^/${body}]` : `(?!/)[${body}]`;
        i = j;
      }
    } else {
      re += escapeChar(c);
    }
  }
  return new RegExp(`^${re}$`, 's');
}

interface CompiledPattern {
  source: string;
  /** Matches against the name only (no `/` in the pattern) or against the whole path. */
  onName: boolean;
  /** A pattern without wildcards, as bytes: compared without building a string. */
  literal?: Uint8Array;
  regexp?: RegExp;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compile(pattern: string): CompiledPattern {
  let p = latin1(utf8(pattern));
  const onName = !p.includes('/');
  if (!onName) {
    while (p.startsWith('/') || p.startsWith('./')) p = p.startsWith('/') ? p.slice(1) : p.slice(2);
    while (p.endsWith('/')) p = p.slice(0, -1);
  }
  if (p === '' || p === '.') {
    throw new LayerError('UAI_LAYER_BAD_OPTION', `exclude pattern ${JSON.stringify(pattern)} would exclude the root`, {
      details: { pattern },
    });
  }
  if (!/[*?[\\]/.test(p)) return { source: pattern, onName, literal: Buffer.from(p, 'latin1') };
  return { source: pattern, onName, regexp: globToRegExp(p) };
}

export class ExcludeFilter {
  readonly #patterns: CompiledPattern[];

  constructor(options: FilterOptions = {}) {
    const all = [...(options.defaultExcludes === false ? [] : DEFAULT_EXCLUDES), ...(options.exclude ?? [])];
    this.#patterns = all.map(compile);
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** The pattern that excludes this entry, or undefined if it stays. The root always stays. */
  match(entry: Pick<Entry, 'rawPath' | 'rawName' | 'depth'>): string | undefined {
    if (entry.depth === 0 || this.#patterns.length === 0) return undefined;
    let name: string | undefined;
    let path: string | undefined;
    for (const p of this.#patterns) {
      if (p.literal !== undefined) {
        if (sameBytes(p.onName ? entry.rawName : entry.rawPath, p.literal)) return p.source;
        continue;
      }
      const subject = p.onName ? (name ??= latin1(entry.rawName)) : (path ??= latin1(entry.rawPath));
      if (p.regexp!.test(subject)) return p.source;
    }
    return undefined;
  }
}
