// The engine reads a shader's bind-group layout from its declarations (runtime/bindings.ts).
// Every kernel the WebGPU suites compile is also checked against wgsl_reflect as it compiles
// (helpers/bindings-check.ts); these cases cover what our kernels do not write.
import { describe, expect, it } from 'vitest';
import { DeviceError, getBackend, linear, randomUniform, keyFor, setBackend, tidy } from '@alphadrop/core';
import { readBindings } from '@alphadrop/kernels/modules';
import { checkedShaders, reflectedBindings } from '../helpers/bindings-check.js';
import { getTestBackend } from '../helpers/webgpu.js';

const strip = (code: string) => readBindings(code).map(({ binding, kind }) => ({ binding, kind }));

describe('the binding reader', () => {
  it('agrees with wgsl_reflect on attribute order, spacing, comments and binding gaps', () => {
    const code = `
      struct P { n: u32 }
      // @group(0) @binding(9) var<storage, read_write> commented: array<f32>;
      /* a block comment /* nested */ @group(0) @binding(8) var<uniform> hidden: P; */
      @binding(3) @group(0) var<storage,read_write> out : array<f32>;
      @group( 0 ) @binding( 0 )
        var< storage , read > a: array<vec4<f32>>;
      @group(0) @binding(1) var<storage> b: array<f32>;
      @group(0) @binding(5u) var<uniform> p: P;
      var<private> scratch: f32;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
        if (g.x < p.n) { out[g.x] = a[g.x].x + b[g.x] + scratch; }
      }`;
    const want = [
      { binding: 0, kind: 'read-only-storage' },
      { binding: 1, kind: 'read-only-storage' },
      { binding: 3, kind: 'storage' },
      { binding: 5, kind: 'uniform' },
    ];
    expect(strip(code)).toEqual(want);
    expect(reflectedBindings(code)).toEqual(want);
  });

  it('refuses what the engine cannot bind, naming the variable and the line', () => {
    const other = '@group(1) @binding(0) var<storage, read> x: array<f32>;';
    expect(() => readBindings(other)).toThrow(DeviceError);
    expect(() => readBindings(other)).toThrow(/@group\(1\) on x, line 1/);
    const texture = '@group(0) @binding(0) var t: texture_2d<f32>;';
    expect(() => readBindings(texture)).toThrow(/only buffer bindings/);
    const twice = '@group(0) @binding(0) var<storage, read> x: array<f32>;\n@group(0) @binding(0) var<uniform> y: u32;';
    expect(() => readBindings(twice)).toThrow(/@binding\(0\) repeated by y on line 2/);
    const workgroup = '@group(0) @binding(0) var<workgroup> w: array<f32, 64>;';
    expect(() => readBindings(workgroup)).toThrow(/var<workgroup> w/);
  });
});

describe('the compile-time check of the WebGPU suites', () => {
  it('is installed on the test device: compiling a kernel checks its bindings', async () => {
    const prev = getBackend();
    setBackend(await getTestBackend());
    try {
      const before = checkedShaders.size;
      const y = tidy(() => linear(randomUniform([5, 7], keyFor(1, 'user')), randomUniform([7, 3], keyFor(2, 'user')), randomUniform([3], keyFor(3, 'user')), { activation: 'relu' }));
      await y.data();
      y.dispose();
      expect(checkedShaders.size).toBeGreaterThan(before);
    } finally {
      setBackend(prev);
    }
  });
});
