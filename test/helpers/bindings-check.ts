// Every shader the WebGPU suites compile has its bindings read twice: by the engine's own
// declaration reader (packages/kernels/src/runtime/bindings.ts) and by wgsl_reflect, a full
// WGSL parser. A disagreement throws at compile time, so the kernel suites fail.

import { WgslReflect, ResourceType } from 'wgsl_reflect/wgsl_reflect.module.js';
import { readBindings, type BindingKind } from '@alphadrop/kernels/modules';

/** Shaders checked so far in this worker. */
export const checkedShaders = new Set<string>();

/** The group-0 buffer bindings as wgsl_reflect sees them. */
export function reflectedBindings(code: string): { binding: number; kind: BindingKind }[] {
  const groups = new WgslReflect(code).getBindGroups();
  return (groups[0] ?? [])
    .filter((v) => v !== undefined && v !== null)
    .map((v) => {
      if (v.resourceType === ResourceType.Uniform) return { binding: v.binding, kind: 'uniform' as const };
      if (v.resourceType === ResourceType.Storage) return { binding: v.binding, kind: v.access === 'read_write' ? ('storage' as const) : ('read-only-storage' as const) };
      return { binding: v.binding, kind: `resource type ${v.resourceType}` as BindingKind };
    })
    .sort((a, b) => a.binding - b.binding);
}

export function checkBindings(code: string): void {
  if (checkedShaders.has(code)) return;
  const ours = JSON.stringify(readBindings(code).map(({ binding, kind }) => ({ binding, kind })));
  const theirs = JSON.stringify(reflectedBindings(code));
  if (ours !== theirs) throw new Error(`binding reader disagrees with wgsl_reflect: ${ours} vs ${theirs} in\n${code}`);
  checkedShaders.add(code);
}

/** Wraps a device's createShaderModule so that every compiled shader is checked. */
export function checkBindingsOnCompile(device: GPUDevice): void {
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (descriptor: GPUShaderModuleDescriptor) => {
    checkBindings(descriptor.code);
    return create(descriptor);
  };
}
