// The console's script: plain JavaScript served as it is, no build step. It calls the Step Functions API of the
// server it comes from, as the AWS SDK would (POST, X-Amz-Target), and /console/api/ for what that API lacks.

const POLL_MS = 1000;
// PENDING_REDRIVE is for a Map Run's child executions: ListExecutions refuses it with a state machine.
const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'];

const main = document.getElementById('main');
const errorBox = document.getElementById('error');
const announcer = document.getElementById('announce');

/** An element with attributes (`on…` functions become listeners) and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((child) => child !== undefined && child !== null));
  return element;
}

/** One Step Functions operation, JSON 1.0 as the SDKs speak it. */
async function sfn(operation, body = {}) {
  const response = await fetch('/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${operation}` },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  // An error's type is the end of its __type (`com.amazonaws…#ExecutionDoesNotExist`), as the SDKs read it.
  if (!response.ok) throw new Error(`${String(json.__type).split('#').pop()}: ${json.message}`);
  return json;
}

async function view(path) {
  const response = await fetch(path);
  const json = await response.json();
  if (!response.ok) throw new Error(json.error);
  return json;
}

/** Counts the views shown: an error or a notice raised by a view that is gone is not shown on the next one. */
let viewCount = 0;

function showError(error, view = viewCount) {
  if (view !== viewCount) return;
  errorBox.hidden = error === undefined;
  errorBox.textContent = error === undefined ? '' : error.message;
}

const announce = (text, view = viewCount) => {
  if (view === viewCount) announcer.textContent = text;
};

const time = (seconds) => (seconds === undefined ? '' : new Date(seconds * 1000).toLocaleString());
function duration(start, stop) {
  const ms = Math.round(((stop ?? Date.now() / 1000) - start) * 1000);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
const statusCell = (status) => h('span', { class: `status status-${status}` }, status);
const pretty = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};
const executionHref = (arn) => `#/execution/${encodeURIComponent(arn)}`;

/** A Lambda error's Cause is a JSON string of errorType, errorMessage and trace: shown as its message, trace folded. */
function causeOf(cause) {
  if (cause === undefined) return [];
  try {
    const parsed = JSON.parse(cause);
    if (parsed && typeof parsed.errorMessage === 'string') {
      return [
        h('div', {}, `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage}`),
        Array.isArray(parsed.trace) && parsed.trace.length > 0
          ? h('details', {}, h('summary', {}, 'trace'), h('pre', {}, parsed.trace.join('\n')))
          : undefined,
      ];
    }
  } catch {
    // Not JSON: a cause in words, shown as it is.
  }
  return [h('div', {}, cause)];
}

/**
 * A value as a person reads it: a Lambda error's Cause (a JSON string of errorType, errorMessage and trace) becomes
 * its type and message, wherever it is nested (an alert's message holds its error so).
 */
function readable(value) {
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed.errorMessage === 'string') return `${parsed.errorType ?? 'Error'}: ${parsed.errorMessage}`;
      if (parsed && typeof parsed === 'object') return readable(parsed);
    } catch {
      // Words, not JSON.
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, readable(inner)]));
  return value;
}

/** An item's attribute: a number named `…_at` is a time in epoch seconds (DynamoDB's TTL attribute among them). */
const attributeText = (key, value) =>
  typeof value === 'number' && key.endsWith('_at')
    ? `${time(value)} (epoch ${value})`
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

const folded = (label, text) => h('details', {}, h('summary', {}, label), h('pre', {}, pretty(text)));

let saga;
/** The running view's timer, cleared when the view changes. */
let timer;

async function boot() {
  try {
    saga = await view('/console/api/saga');
    document.getElementById('machine').textContent = saga.stateMachineArn;
  } catch (error) {
    showError(error);
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}

function route() {
  clearTimeout(timer);
  viewCount += 1;
  showError(undefined);
  announce('');
  const match = /^#\/execution\/(.+)$/.exec(location.hash);
  main.replaceChildren();
  if (match) executionPage(decodeURIComponent(match[1]));
  else listPage();
}

/** Polls `update` every POLL_MS while `again()` holds, showing (not throwing) errors; stops when the view changes. */
function poll(update, again) {
  const view = main.firstChild;
  const shown = viewCount;
  const tick = async () => {
    try {
      await update();
      showError(undefined, shown);
    } catch (error) {
      showError(error, shown);
    }
    if (main.firstChild === view && again()) timer = setTimeout(tick, POLL_MS);
  };
  return tick();
}

// ---- the executions, and the start form ----

/** What the console calls one input, e.g. "order". */
const noun = () => saga.noun.toLowerCase();

function freshInput(base = saga.example) {
  return { ...base, [saga.keyField]: crypto.randomUUID() };
}

function listPage() {
  document.title = 'Executions · step-saga console';
  const inputText = h('textarea', { id: 'input', rows: 16, spellcheck: 'false' });
  inputText.value = JSON.stringify(freshInput(), null, 2);
  const name = h('input', { id: 'execution-name', type: 'text', autocomplete: 'off', 'aria-describedby': 'name-hint' });
  // The pivot and the retriable steps have no compensation to fail.
  const faultStates = saga.steps.flatMap((step) => [step.action, ...(step.compensation === null ? [] : [step.compensation])]);
  const toggles = faultStates.map((state) =>
    h('input', { type: 'checkbox', id: `fail-${state}`, value: state, onchange: () => syncFaults() }),
  );
  /** The toggles edit the input's `fail` list in the text, so that what is started is what is shown. */
  function syncFaults() {
    try {
      const input = JSON.parse(inputText.value);
      const fail = toggles.filter((toggle) => toggle.checked).map((toggle) => toggle.value);
      if (fail.length > 0) input.fail = fail;
      else delete input.fail;
      inputText.value = JSON.stringify(input, null, 2);
      showError(undefined);
    } catch (error) {
      showError(new Error(`the ${noun()} is not valid JSON, so the fault was not added: ${error.message}`));
    }
  }
  async function start(event) {
    event.preventDefault();
    try {
      const input = inputText.value;
      JSON.parse(input);
      const started = await sfn('StartExecution', {
        stateMachineArn: saga.stateMachineArn,
        input,
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
      });
      location.hash = executionHref(started.executionArn);
    } catch (error) {
      showError(error);
    }
  }
  function newKey() {
    try {
      inputText.value = JSON.stringify(freshInput(JSON.parse(inputText.value)), null, 2);
    } catch (error) {
      showError(error);
    }
  }
  const filter = h(
    'select',
    { id: 'status-filter' },
    h('option', { value: '' }, 'all'),
    ...STATUSES.map((status) => h('option', { value: status }, status)),
  );
  const rows = h('tbody');
  const needs = h('div', { id: 'needs' });
  let shown = '';
  let shownNeeds = '';
  async function update() {
    const { executions, needs: needing } = await view(`/console/api/executions${filter.value ? `?status=${filter.value}` : ''}`);
    const needsKey = JSON.stringify(needing);
    if (needsKey !== shownNeeds) {
      shownNeeds = needsKey;
      needs.replaceChildren(
        needing.length === 0
          ? h('p', { class: 'all-clear' }, 'Nothing needs a person.')
          : h('ul', { class: 'needs' }, ...needing.map(needItem)),
      );
    }
    const key = JSON.stringify(
      executions.map((execution) => [
        execution.executionArn,
        execution.status,
        execution.stopDate,
        execution.redriveCount,
        execution.outcome,
      ]),
    );
    // Rows are replaced only when they change, so that a focused link keeps its focus; a running one's duration
    // is updated in its cell.
    if (key === shown) {
      rows.querySelectorAll('td.duration').forEach((cell, index) => {
        cell.textContent = duration(executions[index].startDate, executions[index].stopDate);
      });
      return;
    }
    shown = key;
    rows.replaceChildren(
      ...(executions.length === 0
        ? [h('tr', {}, h('td', { colspan: 6 }, filter.value ? `No ${filter.value} executions.` : 'No executions yet.'))]
        : executions.map((execution) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: executionHref(execution.executionArn) }, execution.name)),
              h('td', {}, statusCell(execution.status)),
              h('td', { class: 'outcome' }, execution.outcome),
              h('td', {}, time(execution.startDate)),
              h('td', { class: 'duration' }, duration(execution.startDate, execution.stopDate)),
              h('td', {}, String(execution.redriveCount)),
            ),
          )),
    );
  }
  filter.addEventListener('change', () => {
    shown = '';
    update().catch(showError);
  });
  main.append(
    h(
      'div',
      { class: 'columns' },
      h(
        'section',
        { 'aria-labelledby': 'executions-heading' },
        h(
          'section',
          { 'aria-labelledby': 'needs-heading', class: 'needs-box' },
          h('h1', { id: 'needs-heading' }, 'Needs a person'),
          h(
            'p',
            { class: 'hint' },
            'As `npx saga status` finds them: stuck rollbacks, steps stuck past the pivot, runs stopped or timed out with bookings left.',
          ),
          needs,
        ),
        h('h1', { id: 'executions-heading' }, 'Executions'),
        h('label', { for: 'status-filter' }, 'Show status '),
        filter,
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { id: 'executions' },
            h('caption', { class: 'visually-hidden' }, 'Executions, newest first'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Name', 'Status', 'Outcome', 'Started', 'Duration', 'Redrives'].map((title) => h('th', { scope: 'col' }, title)),
              ),
            ),
            rows,
          ),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'start-heading' },
        h('h2', { id: 'start-heading' }, `Start an execution of ${saga.name}`),
        h(
          'form',
          { id: 'start', onsubmit: start },
          h('label', { for: 'execution-name' }, 'Execution name'),
          name,
          h('p', { id: 'name-hint' }, 'Leave empty for a generated name.'),
          h('label', { for: 'input' }, `${saga.noun} (the execution input, JSON)`),
          inputText,
          h(
            'fieldset',
            {},
            h('legend', {}, `Inject a fault: the ${noun()}\u2019s "fail" list (fault injection is on locally)`),
            ...toggles.map((toggle) => h('label', {}, toggle, ` ${toggle.value}`)),
          ),
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'submit' }, 'Start execution'),
            h('button', { type: 'button', onclick: newKey }, `New ${saga.keyField}`),
          ),
        ),
      ),
    ),
  );
  return poll(update, () => true);
}

/** Where an execution stuck past the pivot stopped, and that a redrive goes on from there: nothing is undone. */
const forwardAt = (need) =>
  need.forwardStep ? ` at ${need.forwardStep} (past the pivot: a redrive goes on forward, nothing is undone)` : '';

/** One execution that needs a person: what, what it holds, until when, and the command that finishes it. */
function needItem(need) {
  return h(
    'li',
    {},
    h('a', { href: executionHref(need.executionArn) }, need.name),
    ` ${need.need}${need.role === 'rollback' ? ' (rollback machine)' : ''}${forwardAt(need)}; still booked: ${need.bookingsLeft.join(', ') || 'nothing'}; `,
    `redrive until ${new Date(need.redriveDeadline).toLocaleString()}`,
    h('div', {}, 'Finish with: ', h('code', {}, need.command)),
  );
}

// ---- one execution ----

/** The rows of the event history: each event with its state, timings and what it carried. */
function historyRows(events) {
  const started = events[0]?.timestamp ?? 0;
  const entered = new Map();
  let state = '';
  return events.map((event) => {
    const details = Object.entries(event).find(([key]) => key.endsWith('EventDetails'))?.[1] ?? {};
    if (event.type.endsWith('StateEntered')) {
      state = details.name;
      entered.set(state, event.timestamp);
    }
    const cells = [];
    if (details.input !== undefined) cells.push(folded('input', details.input));
    if (details.parameters !== undefined) cells.push(folded('parameters', details.parameters));
    if (details.output !== undefined) cells.push(folded('output', details.output));
    if (details.error !== undefined) cells.push(h('div', {}, h('strong', {}, details.error)), ...causeOf(details.cause));
    const took =
      event.type.endsWith('StateExited') && entered.has(details.name)
        ? ` (state took ${duration(entered.get(details.name), event.timestamp)})`
        : '';
    return h(
      'tr',
      {},
      h('td', {}, String(event.id)),
      h('td', {}, `+${duration(started, event.timestamp)}${took}`),
      h('td', {}, event.type),
      h('td', {}, event.type.startsWith('Execution') ? '' : (details.name ?? state)),
      h('td', {}, ...cells),
    );
  });
}

function itemTable({ step, table, item }) {
  return h(
    'table',
    { class: 'item' },
    h('caption', {}, `${table} (${step})`),
    h(
      'tbody',
      {},
      item === null
        ? h('tr', {}, h('td', {}, 'no item'))
        : Object.entries(item).map(([key, value]) => h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, attributeText(key, value)))),
    ),
  );
}

/** A state's visit as AWS's console shows a clicked state: when, how long, its input, output, errors and retries. */
function visitDetail(visit, index, count, started) {
  const retries = Math.max(0, visit.attempts - 1);
  return h(
    'div',
    { class: 'visit' },
    h(
      'p',
      {},
      `${count > 1 ? `Visit ${index + 1} of ${count}: ` : ''}entered at +${duration(started, visit.entered)}, ` +
        `${visit.exited === undefined ? 'not exited' : `took ${duration(visit.entered, visit.exited)}`}; ` +
        `${visit.attempts} call${visit.attempts === 1 ? '' : 's'} (${retries} retr${retries === 1 ? 'y' : 'ies'})`,
    ),
    visit.errors.length === 0 ? undefined : h('h4', {}, 'Errors'),
    ...visit.errors.map((failure, attempt) =>
      h('div', { class: 'state-error' }, h('strong', {}, `attempt ${attempt + 1}: ${failure.error ?? 'error'}`), ...causeOf(failure.cause)),
    ),
    visit.input === undefined ? undefined : h('h4', {}, 'Input'),
    visit.input === undefined ? undefined : h('pre', { class: 'state-input' }, pretty(visit.input)),
    visit.output === undefined ? undefined : h('h4', {}, 'Output'),
    visit.output === undefined ? undefined : h('pre', { class: 'state-output' }, pretty(visit.output)),
  );
}

/** A titled section whose table scrolls in its own box: its caption for screen readers, its columns, its rows. */
function tableSection(id, title, caption, columns, rows) {
  return h(
    'section',
    { 'aria-labelledby': `${id}-heading` },
    h('h2', { id: `${id}-heading` }, title),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id },
        h('caption', { class: 'visually-hidden' }, caption),
        h('thead', {}, h('tr', {}, ...columns.map((column) => h('th', { scope: 'col' }, column)))),
        rows,
      ),
    ),
  );
}

function executionPage(executionArn) {
  const shown = viewCount;
  const summary = h('dl', { class: 'summary' });
  const stop = h('button', { type: 'button', hidden: true }, 'Stop execution');
  const redrive = h('button', { type: 'button', hidden: true }, 'Redrive execution');
  const redriveNote = h('span', { id: 'redrive-note' });
  const notice = h('p', { class: 'notice', role: 'status' });
  const diagram = h('div', { class: 'diagram fit', tabindex: 0, 'aria-describedby': 'path-caption' });
  const zoom = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Actual size');
  const caption = h('figcaption', { id: 'path-caption' });
  const stateDetail = h(
    'section',
    { id: 'state-detail', 'aria-live': 'polite' },
    h('p', {}, 'Click a state in the diagram, or a row below, to see its input, output, errors and retries.'),
  );
  const stateRows = h('tbody');
  // Which definition the execution runs on: the one it started with, which a later step list does not change.
  const definitionNote = h('p', { class: 'definition-note' });
  const alerts = h('div');
  const items = h('div');
  const definition = h('pre', { id: 'definition' });
  const history = h('tbody');
  const heading = h('h1', { id: 'execution-heading' });
  const confirmStop = h(
    'dialog',
    { id: 'confirm-stop', 'aria-labelledby': 'confirm-stop-text' },
    h(
      'form',
      { method: 'dialog' },
      h('p', { id: 'confirm-stop-text' }, ''),
      h(
        'div',
        { class: 'actions' },
        h('button', { value: 'stop' }, 'Stop it'),
        h('button', { value: 'cancel', autofocus: true }, 'Cancel'),
      ),
    ),
  );
  let described;
  let execution;
  let selected;
  let lastStatus;
  let diagramPending = false;
  const running = () => described?.status === 'RUNNING';

  async function act(button, operation) {
    button.disabled = true;
    try {
      await sfn(operation, { executionArn });
      const done = `${operation === 'StopExecution' ? 'Stopped' : 'Redriven'}: ${described.name}`;
      notice.textContent = done;
      announce(done, shown);
      // A redriven execution runs again: watched again until it ends.
      if (operation === 'RedriveExecution') await poll(update, running);
      else await update();
    } catch (error) {
      showError(error, shown);
    } finally {
      button.disabled = false;
    }
  }
  stop.addEventListener('click', () => {
    confirmStop.querySelector('p').textContent =
      `Stop ${described.name}? It ends ABORTED where it is: what it has booked stays booked until it is redriven ` +
      'or rolled back by the rollback machine.';
    confirmStop.showModal();
  });
  confirmStop.addEventListener('close', () => {
    if (confirmStop.returnValue === 'stop') act(stop, 'StopExecution');
  });
  redrive.addEventListener('click', () => act(redrive, 'RedriveExecution'));
  /** Fitted to the box (the whole path on one screen), or at Graphviz's own size, the box scrolling. */
  let naturalSize;
  function sizeDiagram() {
    const svg = diagram.querySelector('svg');
    if (!svg || !naturalSize) return;
    const fit = diagram.classList.contains('fit');
    svg.style.width = fit ? '100%' : naturalSize.width;
    svg.style.height = fit ? '100%' : naturalSize.height;
  }
  zoom.addEventListener('click', () => {
    const actual = diagram.classList.toggle('fit') === false;
    zoom.setAttribute('aria-pressed', String(actual));
    zoom.textContent = actual ? 'Fit to screen' : 'Actual size';
    sizeDiagram();
  });

  function select(state) {
    selected = state;
    const visits = execution.visits.filter((visit) => visit.state === state);
    const started = execution.visits[0]?.entered ?? 0;
    stateDetail.replaceChildren(
      h('h2', { id: 'state-heading' }, `State ${state}`),
      ...(visits.length === 0
        ? [h('p', {}, 'Not entered by this execution.')]
        : visits.map((visit, index) => visitDetail(visit, index, visits.length, started))),
    );
    for (const node of diagram.querySelectorAll('g.node')) node.classList.toggle('selected', nodeState(node) === state);
  }
  const nodeState = (node) => node.querySelector('text')?.textContent ?? '';
  diagram.addEventListener('click', (event) => {
    const node = event.target.closest?.('g.node');
    if (node) select(nodeState(node));
  });
  diagram.addEventListener('keydown', (event) => {
    const node = event.target.closest?.('g.node');
    if (node && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      select(nodeState(node));
    }
  });

  async function update() {
    described = await sfn('DescribeExecution', { executionArn });
    const events = [];
    let nextToken;
    do {
      const page = await sfn('GetExecutionHistory', { executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
      events.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken);
    execution = await view(`/console/api/execution?arn=${encodeURIComponent(executionArn)}`);

    document.title = `${described.name} · step-saga console`;
    heading.textContent = `Execution ${described.name}`;
    const need = execution.need;
    const entries = [
      ['Status', statusCell(described.status)],
      ['Outcome', h('span', { class: need ? 'outcome needs' : 'outcome' }, `${execution.outcome}${need ? forwardAt(need) : ''}`)],
      ['Started', time(described.startDate)],
      ['Stopped', time(described.stopDate)],
      ['Duration', duration(described.startDate, described.stopDate)],
      ['Redrives', String(described.redriveCount)],
      ['Error', described.error],
      ['Cause', described.cause === undefined ? undefined : h('div', {}, ...causeOf(described.cause))],
      ['Still booked', need ? need.bookingsLeft.join(', ') || 'nothing' : undefined],
      ['Redrive until', need ? new Date(need.redriveDeadline).toLocaleString() : undefined],
      ['Finish with', need ? h('code', {}, need.command) : undefined],
      ['ARN', described.executionArn],
    ].filter(([, value]) => value !== undefined && value !== '');
    summary.replaceChildren(...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
    summary.setAttribute('data-status', described.status);

    stop.hidden = described.status !== 'RUNNING';
    // Offered where AWS accepts a redrive (its redriveStatus) and it does something: a rollback that finished, or an
    // input refused, would only end at the same Fail state again.
    const routine = described.status === 'FAILED' && saga.routineEnds.includes(described.error);
    redrive.hidden = described.redriveStatus !== 'REDRIVABLE' || routine;
    redriveNote.textContent =
      described.status === 'RUNNING' || described.status === 'SUCCEEDED'
        ? ''
        : routine
          ? `Nothing to redrive: it ended at ${described.error}, as the saga means to (a redrive would end there again).`
          : described.redriveStatus !== 'REDRIVABLE'
            ? `Not redrivable: ${described.redriveStatusReason}`
            : need?.forwardStep
              ? `A redrive reruns ${need.stoppedAt ?? need.forwardStep} and goes on forward to the end: nothing is undone.`
              : '';

    // The SVG is Graphviz's, drawn by the server from the definition's state names; it holds no input. It is laid
    // out off the server's request path: until it is ready, the view says so and asks again. Its own size is dropped
    // so that the page fits it to the screen (or shows it at its size, when zoomed).
    diagramPending = execution.diagram === null && execution.diagramNote.startsWith('Laying out');
    if (execution.diagram === null) diagram.textContent = execution.diagramNote;
    else diagram.innerHTML = execution.diagram;
    const svg = diagram.querySelector('svg');
    if (svg) {
      naturalSize = { width: svg.getAttribute('width'), height: svg.getAttribute('height') };
      svg.removeAttribute('width');
      svg.removeAttribute('height');
      svg.setAttribute('preserveAspectRatio', 'xMidYMin meet');
      sizeDiagram();
    }
    for (const node of diagram.querySelectorAll('g.node')) {
      node.setAttribute('tabindex', '0');
      node.setAttribute('role', 'button');
      node.setAttribute('aria-label', `State ${nodeState(node)}: show its input, output and errors`);
    }
    const marked = Object.entries(execution.marks).map(([state, marks]) => `${state}: ${marks.join(', ')}`);
    caption.textContent = `Path taken: ${execution.path.join(' → ') || 'none yet'}.${marked.length > 0 ? ` Marked: ${marked.join('; ')}.` : ''}`;

    const started = execution.visits[0]?.entered ?? 0;
    stateRows.replaceChildren(
      ...execution.visits.map((visit) =>
        h(
          'tr',
          {},
          h('td', {}, h('button', { type: 'button', class: 'link', onclick: () => select(visit.state) }, visit.state)),
          h('td', {}, `+${duration(started, visit.entered)}`),
          h('td', {}, visit.exited === undefined ? '' : duration(visit.entered, visit.exited)),
          h('td', {}, String(Math.max(0, visit.attempts - 1))),
          h('td', {}, visit.errors.at(-1)?.error ?? (visit.exited === undefined ? '' : 'ok')),
        ),
      ),
    );
    if (selected !== undefined) select(selected);
    definitionNote.textContent = `Definition ${execution.revision}${execution.definitionNote ? `: ${execution.definitionNote}.` : ', the current one.'}`;

    alerts.replaceChildren(
      ...(execution.alerts.length === 0
        ? [h('p', {}, 'No alerts.')]
        : execution.alerts.map((alert) =>
            h(
              'div',
              { class: 'alert' },
              h('strong', {}, `${alert.state}${alert.published ? '' : ' (publish failed)'}: ${alert.subject ?? ''}`),
              h('div', {}, time(alert.at)),
              h('pre', {}, JSON.stringify(readable(alert.message), null, 2)),
            ),
          )),
    );
    items.replaceChildren(...execution.items.map(itemTable));
    definition.textContent = JSON.stringify(execution.definition, null, 2);
    history.replaceChildren(...historyRows(events));
    if (lastStatus !== undefined && lastStatus !== described.status) announce(`${described.name} is now ${described.status}`, shown);
    lastStatus = described.status;
  }

  main.append(
    h(
      'article',
      { 'aria-labelledby': 'execution-heading', class: 'execution' },
      h(
        'section',
        { 'aria-labelledby': 'diagram-heading', class: 'machine' },
        h('h2', { id: 'diagram-heading', class: 'visually-hidden' }, 'State machine'),
        h('div', { class: 'actions' }, zoom),
        h('figure', {}, diagram, caption),
      ),
      h(
        'div',
        { class: 'details' },
        h('p', {}, h('a', { href: '#/' }, '\u2190 All executions')),
        heading,
        summary,
        h('div', { class: 'actions' }, stop, redrive, redriveNote),
        notice,
        confirmStop,
        stateDetail,
        tableSection(
          'states',
          'States',
          'Each state entered, in order, with its duration',
          ['State', 'Entered', 'Took', 'Retries', 'Result'],
          stateRows,
        ),
        h('section', { 'aria-labelledby': 'alerts-heading' }, h('h2', { id: 'alerts-heading' }, 'Alerts'), alerts),
        h('section', { 'aria-labelledby': 'items-heading' }, h('h2', { id: 'items-heading' }, `The ${noun()}\u2019s items`), items),
        h(
          'section',
          { 'aria-labelledby': 'definition-heading' },
          h('h2', { id: 'definition-heading' }, 'Definition'),
          definitionNote,
          h('details', {}, h('summary', {}, 'The state machine definition (Amazon States Language) this execution runs'), definition),
        ),
        tableSection('history', 'Event history', 'Event history, oldest first', ['#', 'Time', 'Type', 'State', 'Details'], history),
      ),
    ),
  );
  // Watched while it runs, and while its diagram is being laid out.
  return poll(update, () => running() || diagramPending);
}

boot();
