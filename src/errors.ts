/**
 * The one error base of the library. Every error the library throws on purpose is a
 * UaiError (or a subclass from `src/<area>/errors.ts`) with a stable `code` that starts
 * with the area's name: `UAI_SOURCE_*`, `UAI_SQFS_*`, `UAI_LAYER_*`, `UAI_IMAGE_*`,
 * `UAI_REGISTRY_*`, `UAI_CRAY_*`, `UAI_CLI_*`. Tests check `code`, not the message.
 *
 * Messages name what and where (file, offset, field, HTTP status, registry error code)
 * and never contain credentials.
 */
export class UaiError extends Error {
  readonly code: string;
  /** Structured context (offsets, statuses, names) for --json output and tests. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }
}

/** True for any UaiError, also across two installed copies of the package. */
export function isUaiError(err: unknown): err is UaiError {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('UAI_');
}

/** The error thrown when an AbortSignal fires: `signal.reason` if it is an Error, else this. */
export class AbortError extends UaiError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('UAI_ABORTED', message, options);
  }
}

/** Throws the signal's reason (or an AbortError) if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new AbortError();
  }
}

/** A warning the library reports instead of throwing; `strict` callers turn it into an error. */
export interface Warning {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Receives warnings; the CLI prints them on stderr, library callers may collect them. */
export type WarningHandler = (warning: Warning) => void;
