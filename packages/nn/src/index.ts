// @alphadrop/nn: in progress (see the issue tracker).
export {};
