import { ALL_ERRORS } from './errors.ts';
import { assertNever, edgesOfDefinition, type Edge, type State, type StateGraph, type StateMachineDefinition } from './model.ts';
import { pivotOf, retryPolicyOf, type Saga } from './saga.ts';

// Diagrams are drawn from the rendered definition, not from the step list, so they show exactly what runs. The one
// thing the states do not say is which of them is the pivot: the step list names it (DiagramOptions).

/** What the step list says of a definition that its states alone do not. */
export interface DiagramOptions {
  /**
   * The pivot's action state: drawn as the point of no return, and every state reached after it as past it (never
   * undone: only retried, alerted and redriven forward).
   */
  readonly pivot?: string | undefined;
}

/** The diagram options of a saga's definitions: its pivot, if it has one. */
export const diagramOptionsOf = (saga: Saga): DiagramOptions => ({ pivot: pivotOf(saga)?.action });

/** The words on the pivot's node. */
export const POINT_OF_NO_RETURN = 'pivot: point of no return';

/** Stands for "the execution succeeded" (a state with `End: true` goes there). */
const SUCCEEDED = 'Succeeded';

interface Node {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly kind: 'task' | 'parallel' | 'choice' | 'fail' | 'succeeded';
  /** The Parallel state whose branch holds it: drawn inside that group. */
  readonly parent: string | undefined;
  /** The pivot, or a state past it (reached only once the pivot has succeeded); undefined before it. */
  readonly side: 'pivot' | 'forward' | undefined;
}

interface GraphEdge extends Edge {
  readonly fromId: string;
  readonly toId: string;
}

const KIND_OF = {
  Task: 'task',
  Parallel: 'parallel',
  Choice: 'choice',
  Fail: 'fail',
  Succeed: 'succeeded',
} as const satisfies Record<State['Type'], Node['kind']>;

/** The second line of a node: how a Task retries, or the error a Fail state ends with when its name does not say it. */
function noteOf(name: string, state: State): string {
  switch (state.Type) {
    case 'Task': {
      const attempts = (state.Retry ?? []).map((retrier) => {
        const { maxAttempts } = retryPolicyOf(retrier);
        return retrier.ErrorEquals.includes(ALL_ERRORS) ? `retry ×${maxAttempts}` : `retry transient ×${maxAttempts}`;
      });
      return attempts.join(', ');
    }
    case 'Parallel':
      return 'at once';
    case 'Fail':
      return state.Error === name ? '' : state.Error;
    case 'Choice':
    case 'Succeed':
      return '';
    default:
      return assertNever(state);
  }
}

/** A graph and those of its Parallel states' branches, each with the Parallel state that holds it. */
function scopesOf(graph: StateGraph, parent?: string): { graph: StateGraph; parent: string | undefined }[] {
  return [
    { graph, parent },
    ...Object.entries(graph.States).flatMap(([name, state]) =>
      state.Type === 'Parallel' ? state.Branches.flatMap((branch) => scopesOf(branch, name)) : [],
    ),
  ];
}

/**
 * The states past the pivot: every one reachable from the pivot's `Next`, by any transition or catcher, and every state
 * inside a Parallel state so reached. Nothing there leads back to a compensation.
 */
function pastThePivot(scopes: readonly { graph: StateGraph; parent: string | undefined }[], pivot: string | undefined): Set<string> {
  const past = new Set<string>();
  const pivotState = pivot === undefined ? undefined : scopes.find(({ graph }) => pivot in graph.States)?.graph.States[pivot];
  if (pivotState === undefined || !('Next' in pivotState) || pivotState.Next === undefined) return past;
  const edges = scopes.flatMap(({ graph }) => edgesOfDefinition(graph));
  const inside = (parent: string) => scopes.filter((scope) => scope.parent === parent).flatMap(({ graph }) => Object.keys(graph.States));
  const queue = [pivotState.Next];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (past.has(name)) continue;
    past.add(name);
    queue.push(...edges.filter((edge) => edge.from === name).map((edge) => edge.to), ...inside(name));
  }
  return past;
}

function graphOf(definition: StateMachineDefinition, options: DiagramOptions = {}): { nodes: Node[]; edges: GraphEdge[] } {
  const scopes = scopesOf(definition);
  const states = scopes.flatMap(({ graph, parent }) => Object.entries(graph.States).map(([name, state]) => ({ name, state, parent })));
  const ids = new Map(states.map(({ name }, index) => [name, `s${index}`]));
  ids.set(SUCCEEDED, 'succeeded');
  const past = pastThePivot(scopes, options.pivot);
  const nodes: Node[] = states.map(({ name, state, parent }) => {
    const side = name === options.pivot && past.size > 0 ? 'pivot' : past.has(name) ? 'forward' : undefined;
    const notes = [noteOf(name, state), ...(side === 'pivot' ? [POINT_OF_NO_RETURN] : [])].filter((note) => note !== '');
    return { id: ids.get(name) as string, name, label: [name, ...notes].join('\n'), kind: KIND_OF[state.Type], parent, side };
  });
  // Only the machine's own last state ends the execution; a branch's end is its Parallel state's business.
  const ends = Object.entries(definition.States)
    .filter(([, state]) => (state.Type === 'Task' || state.Type === 'Parallel') && state.End === true)
    .map(([name]) => ({ from: name, to: SUCCEEDED, via: 'Next' as const }));
  if (ends.length > 0)
    nodes.push({ id: 'succeeded', name: SUCCEEDED, label: SUCCEEDED, kind: 'succeeded', parent: undefined, side: undefined });
  const edges = [...scopes.flatMap(({ graph }) => edgesOfDefinition(graph)), ...ends].map((edge) => ({
    ...edge,
    fromId: ids.get(edge.from) as string,
    toId: ids.get(edge.to) as string,
  }));
  return { nodes, edges };
}

const edgeLabel = (edge: Edge): string => {
  if (edge.via === 'Next') return '';
  return 'when' in edge.via ? edge.via.when : edge.via.join(' | ');
};

/** Catchers are drawn dashed: the paths taken only on an error. */
const isCatcher = (edge: Edge): boolean => Array.isArray(edge.via);

const mermaidText = (text: string): string => text.replaceAll('"', '#quot;').replaceAll('\n', '<br/>');

/** The nodes drawn inside `parent` (the top level when undefined), each a line, or a group of lines for a Parallel state. */
function nested(
  nodes: readonly Node[],
  parent: string | undefined,
  line: (node: Node) => string,
  group: (node: Node, inner: string[]) => string[],
): string[] {
  return nodes
    .filter((node) => node.parent === parent)
    .flatMap((node) => (node.kind === 'parallel' ? group(node, nested(nodes, node.name, line, group)) : [line(node)]));
}

const indented = (lines: readonly string[]): string[] => lines.map((line) => `  ${line}`);

/** The colours of the pivot and of the states past it, the same in both drawings. */
const SIDE_COLOURS = {
  pivot: { fill: '#fef0c7', stroke: '#b54708' },
  forward: { fill: '#eff8ff', stroke: '#175cd3' },
} as const;

/**
 * A Mermaid flowchart: solid arrows are `Next`, dashed ones are catchers labelled with what they catch. A Parallel
 * state is one box (a subgraph) holding its branches, side by side. The pivot, if `options` names it, is labelled the
 * point of no return, and it and the states past it are coloured (classes `pivot` and `forward`).
 */
export function toMermaid(definition: StateMachineDefinition, options: DiagramOptions = {}): string {
  const { nodes, edges } = graphOf(definition, options);
  const shape = (node: Node): string => {
    const label = `"${mermaidText(node.label)}"`;
    if (node.kind === 'task') return `[${label}]`;
    return node.kind === 'choice' ? `{${label}}` : `([${label}])`;
  };
  return [
    'flowchart TD',
    ...indented(
      nested(
        nodes,
        undefined,
        (node) => `${node.id}${shape(node)}`,
        (node, inner) => [`subgraph ${node.id}["${mermaidText(node.label)}"]`, ...indented(inner), 'end'],
      ),
    ),
    ...edges.map((edge) =>
      edge.via === 'Next'
        ? `  ${edge.fromId} --> ${edge.toId}`
        : `  ${edge.fromId} ${isCatcher(edge) ? '-.->' : '-->'}|"${mermaidText(edgeLabel(edge))}"| ${edge.toId}`,
    ),
    '  classDef fail fill:#fde2e1,stroke:#b42318',
    '  classDef succeeded fill:#dcfae6,stroke:#067647',
    ...(nodes.some((node) => node.side !== undefined)
      ? [
          `  classDef pivot fill:${SIDE_COLOURS.pivot.fill},stroke:${SIDE_COLOURS.pivot.stroke},stroke-width:3px`,
          `  classDef forward fill:${SIDE_COLOURS.forward.fill},stroke:${SIDE_COLOURS.forward.stroke}`,
        ]
      : []),
    ...(['fail', 'succeeded', 'pivot', 'forward'] as const)
      .map(
        (kind) =>
          [
            kind,
            nodes.filter((node) => node.kind === kind || (node.kind !== 'parallel' && node.side === kind)).map((node) => node.id),
          ] as const,
      )
      .filter(([, ids]) => ids.length > 0)
      .map(([kind, ids]) => `  class ${ids.join(',')} ${kind}`),
  ].join('\n');
}

// A JSON string is a valid DOT string: quotes escaped, newlines as \n (a centred line break in a label).
const dotText = (text: string): string => JSON.stringify(text);

/** What an execution did at a state besides entering it, drawn in words and colour on its node. */
export type StateMark = 'retried' | 'failed' | 'stuck';

/** The most telling mark wins the colour; the words name every mark. */
const MARK_STYLE: Readonly<Record<StateMark, string>> = {
  retried: 'color="#dc6803", penwidth=2.5',
  failed: 'color="#b42318", penwidth=2.5',
  stuck: 'style="rounded,filled", fillcolor="#fef0c7", color="#b42318", penwidth=3',
};
const MARK_ORDER: readonly StateMark[] = ['retried', 'failed', 'stuck'];

/** The pivot doubly outlined, the states past it filled: under an execution's path and marks, which are drawn over them. */
const SIDE_STYLE: Readonly<Record<NonNullable<Node['side']>, string>> = {
  pivot: `peripheries=2, style="rounded,filled", fillcolor="${SIDE_COLOURS.pivot.fill}", color="${SIDE_COLOURS.pivot.stroke}"`,
  forward: `style="rounded,filled", fillcolor="${SIDE_COLOURS.forward.fill}", color="${SIDE_COLOURS.forward.stroke}"`,
};

/**
 * The same graph in Graphviz DOT, for rendering to SVG. Given the states an execution entered, in order, it
 * draws that path in blue (ending in Succeeded when the last state ended the execution), and each state's
 * marks. In SVG, a node on the path has the class `taken` and one per mark, for pages that style or read them.
 */
export function toDot(
  definition: StateMachineDefinition,
  path: readonly string[] = [],
  marks: Readonly<Record<string, readonly StateMark[]>> = {},
  options: DiagramOptions = {},
): string {
  const { nodes, edges, marksOf, classesOf, isTaken, anchorOf, isBox } = drawingOf(definition, path, marks, options);
  const style: Record<Exclude<Node['kind'], 'parallel'>, string> = {
    task: 'shape=box, style="rounded"',
    choice: 'shape=diamond',
    fail: 'shape=box, style="rounded,filled", fillcolor="#fde2e1", color="#b42318"',
    succeeded: 'shape=box, style="rounded,filled", fillcolor="#dcfae6", color="#067647"',
  };
  const TAKEN = 'color="#1570ef", penwidth=2.5';
  const attributesOf = (node: Node): string[] => {
    const nodeMarks = marksOf(node);
    const classes = classesOf(node);
    const label = nodeMarks.length > 0 ? `${node.label}\n${nodeMarks.join(', ')}` : node.label;
    return [
      `label=${dotText(label)}`,
      ...(node.kind === 'parallel' ? ['style="rounded,dashed", fontname="Helvetica", fontsize=11'] : [style[node.kind]]),
      ...(node.side === undefined || node.kind === 'parallel' ? [] : [SIDE_STYLE[node.side]]),
      ...(classes.includes('taken') ? [TAKEN] : []),
      ...nodeMarks.slice(-1).map((mark) => MARK_STYLE[mark]),
      ...(classes.length > 0 ? [`class=${dotText(classes.join(' '))}`] : []),
    ];
  };
  return [
    'digraph saga {',
    ...(nodes.some((node) => node.kind === 'parallel') ? ['  compound=true;'] : []),
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
    ...indented(
      nested(
        nodes,
        undefined,
        (node) => `${node.id} [${attributesOf(node).join(', ')}];`,
        (node, inner) => [`subgraph cluster_${node.id} {`, ...indented([`graph [${attributesOf(node).join(', ')}];`, ...inner]), '}'],
      ),
    ),
    ...edges.map((edge) => {
      const attributes = [
        ...(isCatcher(edge) ? ['style=dashed'] : []),
        ...(edge.via === 'Next' ? [] : [`label=${dotText(edgeLabel(edge))}`]),
        ...(isTaken(edge) ? [TAKEN] : []),
        ...(isBox(edge.fromId) ? [`ltail=cluster_${edge.fromId}`] : []),
        ...(isBox(edge.toId) ? [`lhead=cluster_${edge.toId}`] : []),
      ];
      return `  ${anchorOf(edge.fromId)} -> ${anchorOf(edge.toId)}${attributes.length > 0 ? ` [${attributes.join(', ')}]` : ''};`;
    }),
    '}',
  ].join('\n');
}

/** The graph, and what an execution's path and marks make of each node and edge. */
function drawingOf(
  definition: StateMachineDefinition,
  path: readonly string[],
  marks: Readonly<Record<string, readonly StateMark[]>>,
  options: DiagramOptions = {},
) {
  const { nodes, edges } = graphOf(definition, options);
  const parentOf = new Map(nodes.map((node) => [node.name, node.parent]));
  const topLevel = path.filter((name) => parentOf.get(name) === undefined);
  const last = definition.States[topLevel.at(-1) ?? ''];
  const visited = [...path, ...((last?.Type === 'Task' || last?.Type === 'Parallel') && last.End === true ? [SUCCEEDED] : [])];
  const takenNodes = new Set(visited);
  // An edge is taken when its two states follow each other among the states of its own graph (branches run at once).
  const takenEdges = new Set(
    [...new Set(visited.map((name) => parentOf.get(name)))].flatMap((scope) => {
      const steps = visited.filter((name) => parentOf.get(name) === scope);
      return steps.slice(1).map((to, index) => `${steps[index]}->${to}`);
    }),
  );
  const marksOf = (node: Node): StateMark[] => MARK_ORDER.filter((mark) => marks[node.name]?.includes(mark));
  // An edge to or from a Parallel state is drawn to or from its box (a cluster), through the first state inside it.
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const anchorOf = (id: string): string => {
    const node = byId.get(id) as Node;
    const first = node.kind === 'parallel' ? nodes.find((inner) => inner.parent === node.name) : undefined;
    return first ? anchorOf(first.id) : id;
  };
  return {
    nodes,
    edges,
    marksOf,
    classesOf: (node: Node): string[] => [...(takenNodes.has(node.name) ? ['taken'] : []), ...marksOf(node)],
    isTaken: (edge: GraphEdge): boolean => takenEdges.has(`${edge.from}->${edge.to}`),
    anchorOf,
    isBox: (id: string): boolean => byId.get(id)?.kind === 'parallel',
  };
}

/**
 * An execution's path and marks on the SVG of the bare definition (`svgOf(toDot(definition))`), as classes on its
 * nodes, boxes and edges (`taken`, and each mark), for a page's style sheet to colour: one layout of a definition
 * serves every execution of it. The words of the marks are not added to the labels, which would move the layout.
 */
export function markSvg(
  svg: string,
  definition: StateMachineDefinition,
  path: readonly string[],
  marks: Readonly<Record<string, readonly StateMark[]>>,
): string {
  const { nodes, edges, classesOf, isTaken, anchorOf } = drawingOf(definition, path, marks);
  // Graphviz titles a node by its id, a cluster by its subgraph's name, and an edge by its ends (`-` and `>` escaped).
  const classes = new Map<string, readonly string[]>();
  for (const node of nodes) classes.set(node.kind === 'parallel' ? `cluster_${node.id}` : node.id, classesOf(node));
  for (const edge of edges.filter(isTaken)) classes.set(`${anchorOf(edge.fromId)}&#45;&gt;${anchorOf(edge.toId)}`, ['taken']);
  return svg.replace(/<g id="([^"]+)" class="(node|cluster|edge)">(\s*)<title>([^<]*)<\/title>/g, (whole, id, kind, space, title) => {
    const added = classes.get(title) ?? [];
    return added.length === 0 ? whole : `<g id="${id}" class="${kind} ${added.join(' ')}">${space}<title>${title}</title>`;
  });
}

/** Graphviz compiled to WebAssembly: a picture without a system install of Graphviz. */
export async function svgOf(dot: string): Promise<string> {
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz');
  return (await Graphviz.load()).dot(dot, 'svg');
}
