// What `saga asl` does at the least: import asl/ and the saga file, render, print. The CLI bench compares
// `saga asl` with this script, so that what the CLI loads besides is what the ratio measures.
import { placeholderResources, renderSaga } from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';

process.stdout.write(`${JSON.stringify(renderSaga(tripSaga, placeholderResources(tripSaga)), null, 2)}\n`);
