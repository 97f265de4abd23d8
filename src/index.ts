/**
 * uai-assembler's library API. Data flows one way through the areas:
 * source → squashfs → layer → image → destination; cray feeds the source and
 * registers the result. Every CLI command is a call into what is exported here.
 */
export { UaiError, AbortError, isUaiError, type Warning, type WarningHandler } from './errors.ts';
export { VERSION } from './version.ts';
export * from './source/index.ts';
export * from './squashfs/index.ts';
export * from './layer/index.ts';
export * from './image/index.ts';
export * from './destination/index.ts';
export * from './cray/index.ts';
export * from './build/index.ts';
