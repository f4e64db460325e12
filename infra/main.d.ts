declare const sagaProgram: typeof import('./program.ts').default;
export default sagaProgram;
