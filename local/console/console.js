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

function showError(error) {
  errorBox.hidden = error === undefined;
  errorBox.textContent = error === undefined ? '' : error.message;
}

const announce = (text) => void (announcer.textContent = text);

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
  showError(undefined);
  const match = /^#\/execution\/(.+)$/.exec(location.hash);
  main.replaceChildren();
  if (match) executionPage(decodeURIComponent(match[1]));
  else listPage();
}

/** Polls `update` every POLL_MS while `again()` holds, showing (not throwing) errors; stops when the view changes. */
function poll(update, again) {
  const view = main.firstChild;
  const tick = async () => {
    try {
      await update();
      showError(undefined);
    } catch (error) {
      showError(error);
    }
    if (main.firstChild === view && again()) timer = setTimeout(tick, POLL_MS);
  };
  return tick();
}

// ---- the executions, and the start form ----

function freshTrip(base = saga.exampleTrip) {
  return { ...base, [saga.keyField]: crypto.randomUUID() };
}

function listPage() {
  document.title = 'Executions · step-saga console';
  const trip = h('textarea', { id: 'trip', rows: 16, spellcheck: 'false' });
  trip.value = JSON.stringify(freshTrip(), null, 2);
  const name = h('input', { id: 'execution-name', type: 'text', autocomplete: 'off', 'aria-describedby': 'name-hint' });
  const faultStates = saga.steps.flatMap((step) => [step.action, step.compensation]);
  const toggles = faultStates.map((state) =>
    h('input', { type: 'checkbox', id: `fail-${state}`, value: state, onchange: () => syncFaults() }),
  );
  /** The toggles edit the trip's `fail` list in the text, so that what is started is what is shown. */
  function syncFaults() {
    try {
      const input = JSON.parse(trip.value);
      const fail = toggles.filter((toggle) => toggle.checked).map((toggle) => toggle.value);
      if (fail.length > 0) input.fail = fail;
      else delete input.fail;
      trip.value = JSON.stringify(input, null, 2);
      showError(undefined);
    } catch (error) {
      showError(new Error(`the trip is not valid JSON, so the fault was not added: ${error.message}`));
    }
  }
  async function start(event) {
    event.preventDefault();
    try {
      const input = trip.value;
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
  function newTripId() {
    try {
      trip.value = JSON.stringify(freshTrip(JSON.parse(trip.value)), null, 2);
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
  let shown = '';
  async function update() {
    const { executions } = await sfn('ListExecutions', {
      stateMachineArn: saga.stateMachineArn,
      maxResults: 50,
      ...(filter.value ? { statusFilter: filter.value } : {}),
    });
    const key = JSON.stringify(
      executions.map((execution) => [execution.executionArn, execution.status, execution.stopDate, execution.redriveCount]),
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
        ? [h('tr', {}, h('td', { colspan: 5 }, filter.value ? `No ${filter.value} executions.` : 'No executions yet.'))]
        : executions.map((execution) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: executionHref(execution.executionArn) }, execution.name)),
              h('td', {}, statusCell(execution.status)),
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
              h('tr', {}, ...['Name', 'Status', 'Started', 'Duration', 'Redrives'].map((title) => h('th', { scope: 'col' }, title))),
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
          h('label', { for: 'trip' }, 'Trip (the execution input, JSON)'),
          trip,
          h(
            'fieldset',
            {},
            h('legend', {}, 'Inject a fault: the trip\u2019s "fail" list (fault injection is on locally)'),
            ...toggles.map((toggle) => h('label', {}, toggle, ` ${toggle.value}`)),
          ),
          h(
            'div',
            { class: 'actions' },
            h('button', { type: 'submit' }, 'Start execution'),
            h('button', { type: 'button', onclick: newTripId }, 'New trip id'),
          ),
        ),
      ),
    ),
  );
  return poll(update, () => true);
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
        : Object.entries(item).map(([key, value]) =>
            h('tr', {}, h('th', { scope: 'row' }, key), h('td', {}, typeof value === 'string' ? value : JSON.stringify(value))),
          ),
    ),
  );
}

function executionPage(executionArn) {
  const summary = h('dl', { class: 'summary' });
  const stop = h('button', { type: 'button', hidden: true }, 'Stop execution');
  const redrive = h('button', { type: 'button', hidden: true }, 'Redrive execution');
  const redriveNote = h('span');
  const diagram = h('div', { class: 'diagram', role: 'img', tabindex: 0 });
  const caption = h('figcaption', { id: 'path-caption' });
  const alerts = h('div');
  const items = h('div');
  const history = h('tbody');
  const heading = h('h1', { id: 'execution-heading' });
  let described;
  let lastStatus;
  const running = () => described?.status === 'RUNNING';

  async function act(button, operation) {
    button.disabled = true;
    try {
      await sfn(operation, { executionArn });
      // A redriven execution runs again: watched again until it ends.
      if (operation === 'RedriveExecution') await poll(update, running);
      else await update();
      announce(`${operation === 'StopExecution' ? 'Stopped' : 'Redriven'}: ${described.name}`);
    } catch (error) {
      showError(error);
    } finally {
      button.disabled = false;
    }
  }
  stop.addEventListener('click', () => act(stop, 'StopExecution'));
  redrive.addEventListener('click', () => act(redrive, 'RedriveExecution'));

  async function update() {
    described = await sfn('DescribeExecution', { executionArn });
    const events = [];
    let nextToken;
    do {
      const page = await sfn('GetExecutionHistory', { executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) });
      events.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken);
    const execution = await view(`/console/api/execution?arn=${encodeURIComponent(executionArn)}`);

    document.title = `${described.name} · step-saga console`;
    heading.textContent = `Execution ${described.name}`;
    const entries = [
      ['Status', statusCell(described.status)],
      ['Started', time(described.startDate)],
      ['Stopped', time(described.stopDate)],
      ['Duration', duration(described.startDate, described.stopDate)],
      ['Redrives', String(described.redriveCount)],
      ['Error', described.error],
      ['Cause', described.cause === undefined ? undefined : h('div', {}, ...causeOf(described.cause))],
      ['ARN', described.executionArn],
    ].filter(([, value]) => value !== undefined && value !== '');
    summary.replaceChildren(...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
    summary.setAttribute('data-status', described.status);

    stop.hidden = described.status !== 'RUNNING';
    // The server says whether an execution can be redriven, and if not, why.
    redrive.hidden = described.redriveStatus !== 'REDRIVABLE';
    redriveNote.textContent =
      described.status === 'FAILED' && described.redriveStatus !== 'REDRIVABLE' ? `Not redrivable: ${described.redriveStatusReason}` : '';

    // The SVG is Graphviz's, drawn by the server from the definition's state names; it holds no input.
    diagram.innerHTML = execution.diagram;
    const marked = Object.entries(execution.marks).map(([state, marks]) => `${state}: ${marks.join(', ')}`);
    const description = `Path taken: ${execution.path.join(' → ') || 'none yet'}.${marked.length > 0 ? ` Marked: ${marked.join('; ')}.` : ''}`;
    diagram.setAttribute('aria-label', `The state machine with the path taken highlighted. ${description}`);
    caption.textContent = description;

    alerts.replaceChildren(
      ...(execution.alerts.length === 0
        ? [h('p', {}, 'No alerts.')]
        : execution.alerts.map((alert) =>
            h(
              'div',
              { class: 'alert' },
              h('strong', {}, `${alert.state}${alert.published ? '' : ' (publish failed)'}: ${alert.subject ?? ''}`),
              h('div', {}, time(alert.at)),
              h('pre', {}, JSON.stringify(alert.message, null, 2)),
            ),
          )),
    );
    items.replaceChildren(...execution.items.map(itemTable));
    history.replaceChildren(...historyRows(events));
    if (lastStatus !== undefined && lastStatus !== described.status) announce(`${described.name} is now ${described.status}`);
    lastStatus = described.status;
  }

  main.append(
    h(
      'article',
      { 'aria-labelledby': 'execution-heading' },
      h('p', {}, h('a', { href: '#/' }, '\u2190 All executions')),
      heading,
      summary,
      h('div', { class: 'actions' }, stop, redrive, redriveNote),
      h(
        'div',
        { class: 'columns' },
        h(
          'section',
          { 'aria-labelledby': 'diagram-heading' },
          h('h2', { id: 'diagram-heading' }, 'State machine'),
          h('figure', {}, caption, diagram),
        ),
        h(
          'div',
          {},
          h('section', { 'aria-labelledby': 'alerts-heading' }, h('h2', { id: 'alerts-heading' }, 'Alerts'), alerts),
          h('section', { 'aria-labelledby': 'items-heading' }, h('h2', { id: 'items-heading' }, 'The trip\u2019s items'), items),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'history-heading' },
        h('h2', { id: 'history-heading' }, 'Event history'),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { id: 'history' },
            h('caption', { class: 'visually-hidden' }, 'Event history, oldest first'),
            h('thead', {}, h('tr', {}, ...['#', 'Time', 'Type', 'State', 'Details'].map((title) => h('th', { scope: 'col' }, title)))),
            history,
          ),
        ),
      ),
    ),
  );
  return poll(update, running);
}

boot();
