// WebGPU flag values from the specification. The GPUBufferUsage/GPUShaderStage/GPUMapMode
// globals do not exist in Node until a WebGPU implementation installs them, and modules
// must load before that happens.

export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;
export const ShaderStage = { COMPUTE: 0x4 } as const;
export const MapMode = { READ: 0x0001 } as const;
