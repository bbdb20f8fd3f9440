// Path checks run before any data loads or training starts, so a run never computes for
// minutes and then fails on its output: inputs must exist (a file where a file is meant, a
// directory where a directory is), outputs must be writable, must not be a directory where
// a file is meant, must not be an input of the same run, and must not overwrite an existing
// file unless --force. Nothing is created here: missing output directories are made by
// createOutputDirs() once every check has passed.

import { accessSync, constants, existsSync, mkdirSync, realpathSync, statSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ValueError } from '@alphadrop/core';

export interface NamedPath {
  flag: string;
  path: string;
}

const kindOf = (p: string): 'file' | 'directory' | 'other' | 'missing' => {
  try {
    const s = statSync(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'missing';
  }
};

function canonical(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    // not there yet: the canonical parent and the name
    const parent = dirname(resolve(p));
    return parent === resolve(p) ? resolve(p) : join(canonical(parent), resolve(p).slice(parent.length + 1));
  }
}

export function checkInputFile(flag: string, path: string): string {
  const k = kindOf(path);
  if (k !== 'file') throw new ValueError(flag, 'an existing readable file', k === 'missing' ? `${path} (no such file)` : `${path} (a ${k})`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new ValueError(flag, 'a readable file', `${path} (permission denied)`);
  }
  return path;
}

export function checkInputDir(flag: string, path: string): string {
  const k = kindOf(path);
  if (k !== 'directory') throw new ValueError(flag, 'an existing directory', k === 'missing' ? `${path} (no such directory)` : `${path} (a ${k})`);
  return path;
}

/** The nearest existing ancestor must be a writable directory (the rest is created later). */
function checkWritableLocation(flag: string, dir: string): void {
  let at = resolve(dir);
  while (kindOf(at) === 'missing' && dirname(at) !== at) at = dirname(at);
  const k = kindOf(at);
  if (k !== 'directory') throw new ValueError(flag, 'a path inside a directory', `${dir} (${at} is a ${k}, not a directory)`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch {
    throw new ValueError(flag, 'a writable location', `${dir} (${at} is not writable)`);
  }
}

function checkNotAnInput(flag: string, path: string, inputs: readonly NamedPath[]): void {
  const me = canonical(path);
  for (const i of inputs)
    if (canonical(i.path) === me) throw new ValueError(flag, `a path other than ${i.flag}'s (an input of this run)`, `${path}, the same file as ${i.flag} ${i.path}`, 'it would be overwritten');
}

/** An output file: not a directory, not an input, not existing unless `force`, in a writable place. */
export function checkOutputFile(flag: string, path: string, o: { force?: boolean; inputs?: readonly NamedPath[] } = {}): string {
  if (path.endsWith('/')) throw new ValueError(flag, 'a file path', `${path} (ends with /, a directory)`);
  checkNotAnInput(flag, path, o.inputs ?? []);
  const k = kindOf(path);
  if (k === 'directory') throw new ValueError(flag, 'a file path', `${path} (an existing directory)`);
  if (k === 'other') throw new ValueError(flag, 'a regular file path', `${path} (not a regular file)`);
  if (k === 'file' && !o.force) throw new ValueError(flag, 'a path that does not exist yet (or --force to overwrite)', `${path} (an existing file)`);
  checkWritableLocation(flag, dirname(resolve(path)));
  return path;
}

/** An output directory: a directory or nothing yet; `files` inside it must not exist unless `force`. */
export function checkOutputDir(flag: string, dir: string, o: { force?: boolean; files?: readonly string[]; inputs?: readonly NamedPath[] } = {}): string {
  checkNotAnInput(flag, dir, o.inputs ?? []);
  const k = kindOf(dir);
  if (k === 'file' || k === 'other') throw new ValueError(flag, 'a directory (results are written inside it)', `${dir} (an existing file)`);
  for (const f of o.files ?? []) {
    const p = join(dir, f);
    checkNotAnInput(flag, p, o.inputs ?? []);
    const fk = kindOf(p);
    if (fk === 'directory') throw new ValueError(flag, `a directory where ${f} can be written`, `${p} (a directory)`);
    if (fk === 'file' && !o.force) throw new ValueError(flag, `a directory without ${f} (or --force to overwrite)`, `${p} (an existing file)`);
  }
  checkWritableLocation(flag, dir);
  return dir;
}

/** Creates the directories outputs go to; call only after every check passed. */
export function createOutputDirs(...dirs: string[]): void {
  for (const d of dirs) if (!existsSync(d)) mkdirSync(d, { recursive: true });
}

let tempCounter = 0;
/** Writes a text file atomically (temp file beside it, then rename): never a half-written result. */
export function writeTextFile(path: string, content: string): void {
  createOutputDirs(dirname(resolve(path)));
  const temp = join(dirname(resolve(path)), `.${process.pid}.${tempCounter++}.tmp`);
  try {
    writeFileSync(temp, content);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
