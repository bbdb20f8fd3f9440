// @alphadrop/bbalpha: in progress (see the issue tracker).
export {};
