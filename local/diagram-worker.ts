import { parentPort, workerData } from 'node:worker_threads';
import { svgOf } from '../asl/diagram.ts';

// One diagram laid out by Graphviz (WebAssembly), in a worker thread of its own: local/diagram-layout.ts.

parentPort?.postMessage(await svgOf(workerData as string));
