// Plain JavaScript on purpose: it sets up how the TypeScript sources load, before the first of them does.
//
// The `saga` command starts in a fresh process every time, and Node 22 strips the types of every source it loads
// again each time (a quarter of `saga run`'s start-up, measured side by side) and compiles every module again. Node's
// compile cache keeps the compiled code; it keeps the stripped sources only from Node 23.8 on, so this keeps them
// here, by content: an edited file is a new entry, never a stale one. Both live in node_modules/.cache, which `npm ci`
// empties. A cache that cannot be written is only slower: nothing depends on it.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('../node_modules/.cache/step-saga/', import.meta.url));
const STRIPPED = join(CACHE, `stripped-${process.version}`);

module.enableCompileCache(join(CACHE, 'compiled'));

/** The source without its types, as Node strips it when it loads a .ts file (the same function, in the same mode). */
function stripped(source) {
  // Node 22 calls this function experimental, and says so on standard error; it is what loading a .ts file runs.
  const { emitWarning } = process;
  process.emitWarning = () => undefined;
  try {
    return module.stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
}

function keep(file, text) {
  const part = `${file}.${process.pid}`;
  try {
    mkdirSync(STRIPPED, { recursive: true });
    // Whole or not at all: another `saga` process may read it at any moment.
    writeFileSync(part, text);
    renameSync(part, file);
  } catch {
    // Not kept (a full disk, a read-only checkout): loaded all the same, and stripped again next time.
    rmSync(part, { force: true });
  }
}

module.registerHooks({
  load(url, context, nextLoad) {
    const loaded = nextLoad(url, context);
    // Node refuses TypeScript under node_modules: left to it, as is anything it will not strip (its error then says why).
    if (loaded.format !== 'module-typescript' || url.includes('/node_modules/')) return loaded;
    const source = String(loaded.source);
    const file = join(STRIPPED, `${createHash('sha256').update(source).digest('hex')}.js`);
    try {
      return { format: 'module', source: readFileSync(file, 'utf8') };
    } catch {
      let text;
      try {
        text = stripped(source);
      } catch {
        return loaded;
      }
      keep(file, text);
      return { format: 'module', source: text };
    }
  },
});
