// A resumable HTTP download into a `.part` file (Node only, built-in fetch). The part file
// grows only by appending what the server sent for the bytes it lacks (an HTTP Range
// request from its current length), so a dropped connection, here or in an earlier run,
// costs only the bytes still missing. A `<part>.src` file beside it records the URL the
// part came from: a part from another URL (another mirror may compress differently) is
// started over rather than spliced. The caller verifies the part and renames it.

import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { DataError } from '@alphadrop/core';

export interface DownloadOptions {
  /** How many times a dropped connection is resumed within this call (default 3). */
  retries?: number;
  log?: (line: string) => void;
}

export interface DownloadReport {
  /** Bytes in the part file at the end. */
  bytes: number;
  /** Bytes already on disk when the first request of this call went out. */
  resumedFrom: number;
  /** HTTP requests made (1 + the resumptions). */
  requests: number;
}

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

/** Removes a part file and its source record. */
export function discardPart(part: string): void {
  rmSync(part, { force: true });
  rmSync(`${part}.src`, { force: true });
}

/**
 * The start offset a Content-Range header of a 206 reply gives ("bytes 100-199/200"), or
 * null when the header is missing or malformed.
 */
function rangeStart(header: string | null): number | null {
  const m = header ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim()) : null;
  return m ? Number(m[1]) : null;
}

/** One request: appends to `part` from its current length; returns false when the body broke off. */
async function requestOnce(url: string, part: string, log: (line: string) => void): Promise<boolean> {
  const have = sizeOf(part);
  const response = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {} }).catch((err: unknown) => {
    throw new DataError(url, 'an HTTP response', 'no connection', err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
  });
  if (response.status === 416 && have > 0) {
    // Nothing past our length: the part is already whole (the checksum will tell).
    await response.body?.cancel();
    return true;
  }
  let append: boolean;
  if (response.status === 206) {
    const start = rangeStart(response.headers.get('content-range'));
    if (start !== have) {
      await response.body?.cancel();
      throw new DataError(url, `a 206 reply starting at byte ${have}`, `Content-Range ${JSON.stringify(response.headers.get('content-range'))}`);
    }
    append = true;
  } else if (response.status === 200) {
    if (have > 0) log(`  the server ignored the range request: starting over`);
    append = false;
  } else {
    await response.body?.cancel();
    throw new DataError(url, 'HTTP 200 or 206', `HTTP ${response.status} ${response.statusText}`.trim());
  }
  if (!response.body) throw new DataError(url, 'a response body', 'none');
  const reader = response.body.getReader();
  const fd = openSync(part, append ? 'a' : 'w');
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return true;
      writeSync(fd, value);
    }
  } catch {
    return false; // the connection dropped: what arrived is on disk, the next request resumes
  } finally {
    closeSync(fd);
  }
}

/**
 * Downloads `url` into `part`, resuming a part left by an earlier call for the same URL.
 * Throws a DataError for an HTTP error, a refused connection, or a body that still breaks
 * off after `retries` resumptions (the part is kept: the next call resumes it).
 */
export async function downloadToPart(url: string, part: string, opts: DownloadOptions = {}): Promise<DownloadReport> {
  const retries = opts.retries ?? 3;
  const log = opts.log ?? (() => {});
  const src = `${part}.src`;
  if (existsSync(part) && (!existsSync(src) || readFileSync(src, 'utf8') !== url)) {
    log(`  discarding a partial download from another source`);
    discardPart(part);
  }
  writeFileSync(src, url);
  const resumedFrom = sizeOf(part);
  if (resumedFrom > 0) log(`  resuming at byte ${resumedFrom}`);
  for (let requests = 1; ; requests++) {
    let complete: boolean;
    try {
      complete = await requestOnce(url, part, log);
    } catch (err) {
      if (sizeOf(part) === 0) discardPart(part); // nothing worth resuming: leave no trace
      throw err;
    }
    if (complete) return { bytes: sizeOf(part), resumedFrom, requests };
    if (requests > retries)
      throw new DataError(url, 'a complete response body', `a connection that dropped ${requests} times`, `${sizeOf(part)} bytes kept in ${part}; run again to resume`);
    log(`  connection dropped at byte ${sizeOf(part)}: resuming`);
  }
}
