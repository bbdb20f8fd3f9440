// The bind-group layout of a compute shader, read from its source: every buffer declared as
// `@group(0) @binding(n) var<storage, read|read_write> …` or `var<uniform> …`. Layouts come
// from the shader itself, never from hand-kept tables.
//
// Why a reader of our own rather than a WGSL parser: the pipeline cache needs only the
// resource declarations, and a full parser (wgsl_reflect) was 60% of the minified WebGPU
// backend, too heavy for a page that only predicts. The test suite checks this reader against
// wgsl_reflect on every kernel the suites compile (test/kernels/bindings.test.ts).

import { DeviceError } from '@alphadrop/core';

export type BindingKind = 'read-only-storage' | 'storage' | 'uniform';

export interface BindingDeclaration {
  binding: number;
  kind: BindingKind;
  /** The variable's name in the shader (for error messages). */
  name: string;
}

/** Removes // and nested /* *\/ comments, keeping line breaks (for line numbers in errors). */
function stripComments(code: string): string {
  let out = '';
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const two = code.slice(i, i + 2);
    if (depth === 0 && two === '//') {
      while (i < code.length && code[i] !== '\n') i++;
      out += '\n';
      continue;
    }
    if (two === '/*') {
      depth++;
      i++;
      continue;
    }
    if (depth > 0 && two === '*/') {
      depth--;
      i++;
      continue;
    }
    if (depth === 0 || code[i] === '\n') out += depth === 0 ? code[i] : '\n';
  }
  return out;
}

// A module-scope variable with attributes: `@a(..) @b(..) var<space[, access]> name`.
const DECLARATION = /((?:@\w+\s*\(\s*[^)]*\)\s*)+)var\s*<\s*(\w+)\s*(?:,\s*(\w+)\s*)?>\s*(\w+)/g;
const ATTRIBUTE = /@(\w+)\s*\(\s*([^)]*?)\s*\)/g;

function integerAttribute(value: string, attr: string, name: string, line: number): number {
  if (!/^\d+[iu]?$/.test(value)) throw new DeviceError('readBindings', `an integer literal in @${attr}(…) of ${name}`, `@${attr}(${value}) on line ${line}`);
  return Number.parseInt(value, 10);
}

/**
 * The group-0 buffer bindings of a compute shader, in ascending binding order. Textures,
 * samplers, other groups and repeated binding numbers are refused: the engine binds buffers
 * in group 0 only.
 */
export function readBindings(code: string): BindingDeclaration[] {
  const source = stripComments(code);
  const found: BindingDeclaration[] = [];
  for (const m of source.matchAll(DECLARATION)) {
    const [, attributes, space, access, name] = m as unknown as [string, string, string, string | undefined, string];
    const line = source.slice(0, m.index).split('\n').length;
    let group: number | undefined;
    let binding: number | undefined;
    for (const [, attr, value] of attributes.matchAll(ATTRIBUTE)) {
      if (attr === 'group') group = integerAttribute(value!, attr, name, line);
      if (attr === 'binding') binding = integerAttribute(value!, attr, name, line);
    }
    if (group === undefined || binding === undefined) continue; // not a resource (e.g. an attribute-less private var)
    if (group !== 0) throw new DeviceError('readBindings', 'bindings in @group(0) only', `@group(${group}) on ${name}, line ${line}`);
    let kind: BindingKind;
    if (space === 'uniform') kind = 'uniform';
    else if (space === 'storage') kind = access === 'read_write' ? 'storage' : 'read-only-storage';
    else throw new DeviceError('readBindings', 'a storage or uniform buffer', `var<${space}> ${name} on line ${line}`);
    if (found.some((f) => f.binding === binding)) throw new DeviceError('readBindings', 'one variable per binding number', `@binding(${binding}) repeated by ${name} on line ${line}`);
    found.push({ binding, kind, name });
  }
  // `var<storage, read> x: array<f32>` with a handle type (texture/sampler) has no `var<…>`,
  // so a `@binding` the pattern did not reach is one we cannot bind: refuse it.
  const declared = [...source.matchAll(/@binding\s*\(/g)].length;
  if (declared !== found.length) throw new DeviceError('readBindings', 'only buffer bindings (var<storage> or var<uniform>)', `${declared} @binding attributes, ${found.length} buffer declarations`);
  return found.sort((a, b) => a.binding - b.binding);
}
