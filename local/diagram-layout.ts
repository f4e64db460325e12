import { Worker } from 'node:worker_threads';

// Graphviz lays a definition out in seconds at 30 steps and not in minutes at 60: never on the request path. Each
// diagram is laid out once, in a worker thread, and kept; a page asks again until it is ready, and one that takes
// longer than its budget is given up (the worker ended), with the reason said.

/** How long a layout may take: past it, a saga is too large to draw here. */
export const LAYOUT_BUDGET_MS = 60_000;

export type Layout =
  | { readonly status: 'pending' }
  | { readonly status: 'ready'; readonly svg: string }
  | { readonly status: 'failed'; readonly reason: string };

export class DiagramLayouts {
  readonly #budgetMs: number;
  /** By DOT text: a definition's bare drawing is one text, whatever its executions did. */
  readonly #layouts = new Map<string, Layout>();
  readonly #workers = new Set<Worker>();

  constructor(budgetMs = LAYOUT_BUDGET_MS) {
    this.#budgetMs = budgetMs;
  }

  /** The layout of a DOT text: ready, failed, or pending (and then started, once). */
  of(dot: string): Layout {
    const known = this.#layouts.get(dot);
    if (known) return known;
    const pending: Layout = { status: 'pending' };
    this.#layouts.set(dot, pending);
    const worker = new Worker(new URL('./diagram-worker.ts', import.meta.url), { workerData: dot });
    // A layout under way does not keep a stopping process alive.
    worker.unref();
    this.#workers.add(worker);
    const settle = (layout: Layout) => {
      if (this.#layouts.get(dot) === pending) this.#layouts.set(dot, layout);
    };
    const budget = setTimeout(() => {
      settle({ status: 'failed', reason: `not laid out within ${this.#budgetMs / 1000} s: too large to draw here` });
      void worker.terminate();
    }, this.#budgetMs);
    budget.unref();
    worker.once('message', (svg: string) => settle({ status: 'ready', svg }));
    worker.once('error', (error) => settle({ status: 'failed', reason: error.message }));
    worker.once('exit', () => {
      clearTimeout(budget);
      this.#workers.delete(worker);
      settle({ status: 'failed', reason: 'the layout ended without a drawing' });
    });
    return pending;
  }

  /** Ends the layouts under way. */
  async close(): Promise<void> {
    await Promise.all([...this.#workers].map((worker) => worker.terminate()));
  }
}
