// The pure core: from a step list (and resource ARNs) to a validated state machine, its diagrams and costs.
export * from './cost.ts';
export * from './diagram.ts';
export * from './errors.ts';
export * from './model.ts';
export * from './render.ts';
export * from './saga.ts';
export * from './validate.ts';
