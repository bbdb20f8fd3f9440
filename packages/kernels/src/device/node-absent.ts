// What a browser bundle gets instead of the Node device layer (package.json "browser"
// field): a page acquires its device through navigator.gpu (browser.ts), and Dawn's layer,
// with its ticker, would only weigh on the page.

import { DeviceError } from '@alphadrop/core';
import type { NodeDevice, NodeDeviceOptions } from './node.js';

export type { NodeDevice, NodeDeviceOptions };

export async function acquireNodeDevice(_opts: NodeDeviceOptions = {}): Promise<NodeDevice> {
  throw new DeviceError('acquireNodeDevice', 'Node.js (Dawn through the `webgpu` package)', 'a browser bundle', 'in a page, init() and acquireBrowserDevice() use navigator.gpu');
}
