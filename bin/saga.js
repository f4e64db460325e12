#!/usr/bin/env node
import './check-node.js';

await import('./cli.ts');
