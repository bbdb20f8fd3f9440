// @alphadrop/kernels: in progress (see the issue tracker).
export {};
