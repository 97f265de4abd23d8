/**
 * `--entrypoint` and `--cmd` values, parsed exactly as `podman import --change` does
 * (containers/common libimage ImageConfigFromChanges): a JSON array of strings is the
 * exec form, used as is; any other non-empty string becomes the shell form
 * `["/bin/sh","-c",STRING]`; an empty string is `[]`.
 */
import { ImageError } from './errors.ts';

function parseJsonArray(value: string): string[] | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed as string[];
  return undefined;
}

/** ENTRYPOINT: JSON array as is, else `["/bin/sh","-c",value]`, `[]` when empty. */
export function parseEntrypoint(value: string | readonly string[]): string[] {
  if (typeof value !== 'string') return checkArray(value, 'entrypoint');
  const exec = parseJsonArray(value);
  if (exec) return exec;
  if (value.trim() === '') return [];
  return ['/bin/sh', '-c', value];
}

/** CMD: JSON array as is, else `["/bin/sh","-c",value]`, `[]` when empty. */
export function parseCmd(value: string | readonly string[]): string[] {
  if (typeof value !== 'string') return checkArray(value, 'cmd');
  const exec = parseJsonArray(value);
  if (exec) return exec;
  if (value.trim() === '') return [];
  return ['/bin/sh', '-c', value];
}

function checkArray(value: readonly string[], field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ImageError('UAI_IMAGE_INVALID_OPTION', `${field} must be a string or an array of strings`, { details: { field } });
  }
  return [...value];
}

/** `K=V` pairs (env, labels) → checked strings / a record. */
export function parseKeyValues(values: readonly string[], field: string): Array<[string, string]> {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) {
      throw new ImageError('UAI_IMAGE_INVALID_OPTION', `${field} ${JSON.stringify(v)} is not KEY=VALUE`, { details: { field } });
    }
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}
