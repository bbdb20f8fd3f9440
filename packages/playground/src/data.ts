// The playground's data in the page (or a worker): gzipped IDX files fetched by URL,
// decompressed by the platform's DecompressionStream('gzip') (no zlib in the bundle) and
// parsed by nn's parseIdx, which validates every byte before anything is returned.

import { DataError } from '@alphadrop/core';
import { expectIdxKind, mnistFromIdx, parseIdx, type MnistSplit } from '@alphadrop/nn';
import type { DataUrls } from './protocol.js';
import type { SessionData } from './session.js';

/** Decompresses gzip bytes; a damaged or truncated stream is a DataError naming `file`. */
export async function gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (err) {
    throw new DataError(file, 'a complete gzip stream', err instanceof Error ? err.message : String(err));
  }
}

/** The bytes at `url`; an HTTP error is a DataError naming the URL and the status. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new DataError(url, 'a reachable file', err instanceof Error ? err.message : String(err));
  }
  if (!response.ok) throw new DataError(url, 'HTTP 200', `HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
}

/** Images (pixels / 255) and labels from the gzipped IDX bytes of one split. */
export async function splitFromGzippedIdx(images: Uint8Array, labels: Uint8Array, files = { images: 'images', labels: 'labels' }): Promise<MnistSplit> {
  const [imageBytes, labelBytes] = await Promise.all([gunzip(images, files.images), gunzip(labels, files.labels)]);
  return mnistFromIdx(
    expectIdxKind(parseIdx(imageBytes, files.images), 'images', files.images),
    expectIdxKind(parseIdx(labelBytes, files.labels), 'labels', files.labels),
    {},
    files,
  );
}

/** Fetches one split's two gzipped IDX files. */
export async function fetchSplit(imagesUrl: string, labelsUrl: string): Promise<MnistSplit> {
  const [images, labels] = await Promise.all([fetchBytes(imagesUrl), fetchBytes(labelsUrl)]);
  return splitFromGzippedIdx(images, labels, { images: imagesUrl, labels: labelsUrl });
}

/** Everything a TrainingSession trains and shows: MNIST train and test, and the Fashion items. */
export async function fetchSessionData(urls: DataUrls): Promise<SessionData> {
  const [train, test, fashion] = await Promise.all([
    fetchSplit(urls.mnistTrainImages, urls.mnistTrainLabels),
    fetchSplit(urls.mnistTestImages, urls.mnistTestLabels),
    fetchSplit(urls.fashionImages, urls.fashionLabels),
  ]);
  return { train, test, fashion };
}
