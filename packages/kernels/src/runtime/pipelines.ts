// Compute pipelines cached by WGSL source, with bind-group layouts read from the source's
// declarations (bindings.ts; no hand-kept binding tables), and bind groups cached by
// (pipeline, buffers, uniform offset).

import { ShaderStage } from './constants.js';
import { readBindings, type BindingKind } from './bindings.js';
import { withPrelude } from './wgsl.js';

export interface CachedPipeline {
  id: number;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Binding numbers in ascending order, with their resource kind. */
  bindings: { binding: number; kind: BindingKind }[];
}

let nextBufferId = 1;
const bufferIds = new WeakMap<GPUBuffer, number>();
export function bufferId(b: GPUBuffer): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}

export class PipelineCache {
  private readonly bySource = new Map<string, CachedPipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private nextId = 1;
  compiles = 0;
  bindGroupHits = 0;
  bindGroupMisses = 0;

  constructor(private readonly device: GPUDevice) {}

  get(code: string, label: string): CachedPipeline {
    let p = this.bySource.get(code);
    if (p) return p;
    const source = withPrelude(code);
    const bindings = readBindings(source).map(({ binding, kind }) => ({ binding, kind }));
    const layout = this.device.createBindGroupLayout({
      label,
      entries: bindings.map(({ binding, kind }) => ({
        binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: kind },
      })),
    });
    const module = this.device.createShaderModule({ code: source, label });
    const pipeline = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    this.compiles++;
    p = { id: this.nextId++, pipeline, layout, bindings };
    this.bySource.set(code, p);
    return p;
  }

  bindGroup(p: CachedPipeline, entries: { buffer: GPUBuffer; offset?: number; size?: number }[]): GPUBindGroup {
    let key = `${p.id}`;
    for (const e of entries) key += `:${bufferId(e.buffer)}@${e.offset ?? 0}`;
    let bg = this.bindGroups.get(key);
    if (bg) {
      this.bindGroupHits++;
      return bg;
    }
    this.bindGroupMisses++;
    if (this.bindGroups.size > 8192) this.bindGroups.clear(); // bounded: stale keys of recycled shapes
    bg = this.device.createBindGroup({
      layout: p.layout,
      entries: p.bindings.map(({ binding }, i) => ({
        binding,
        resource: { buffer: entries[i]!.buffer, offset: entries[i]!.offset ?? 0, size: entries[i]!.size },
      })),
    });
    this.bindGroups.set(key, bg);
    return bg;
  }

  /** Call when pooled buffers are destroyed: cached bind groups may reference them. */
  dropBindGroups(): void {
    this.bindGroups.clear();
  }

  get size(): number {
    return this.bySource.size;
  }
}
