#!/usr/bin/env node
import './check-node.js';
import './compile-cache.js';

await import('./cli.ts');
