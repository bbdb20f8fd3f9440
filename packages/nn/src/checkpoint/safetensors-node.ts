// safetensors files on disk (Node only). Saving writes a temporary file beside the target,
// flushes it and renames it over the target: a crash mid-save leaves the old checkpoint
// (or none), never a half-written one, because rename within a directory is atomic.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DataError } from '@alphadrop/core';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry, type SafetensorsFile } from './safetensors.js';

let tempCounter = 0;

/** Writes `entries` (and string metadata) to `path` atomically. */
export function saveSafetensors(path: string, entries: Record<string, SafetensorsEntry>, metadata?: Record<string, string>): void {
  const bytes = encodeSafetensors(entries, metadata);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${tempCounter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx');
    for (let pos = 0; pos < bytes.length; ) pos += writeSync(fd, bytes, pos, bytes.length - pos);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}

/** Reads and validates a safetensors file; errors name the path. */
export function loadSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new DataError('loadSafetensors', `a readable file at ${path}`, err instanceof Error ? err.message : String(err));
  }
  return decodeSafetensors(bytes, path);
}
