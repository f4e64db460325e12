// Pulumi's entry point (Pulumi.yaml `main`). Plain JavaScript, so that an older Node is told what is wrong
// before it meets TypeScript; from Node 22.18 on, Node runs the TypeScript sources itself.
import '../bin/check-node.js';

const { default: sagaProgram } = await import('./program.ts');

export default sagaProgram;
