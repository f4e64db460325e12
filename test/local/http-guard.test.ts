import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { consolePages } from '../../local/console.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { StepFunctionsServer } from '../../local/sfn-server.ts';
import { tripSaga } from '../../saga.ts';
import { chromiumRequired, executablePath, launchChromium } from '../helpers/browser.ts';
import { firstStep } from '../helpers/sagas.ts';
import { tripWithId } from '../helpers/trips.ts';

// `saga local` left running while its developer browses: both ports (Step Functions with the console and Lambda's
// configuration, and DynamoDB) answer their own origin and no other, and no request ends the process.

let local: LocalSaga;
let server: StepFunctionsServer;

beforeAll(async () => {
  local = await LocalSaga.start({ saga: tripSaga });
  server = await StepFunctionsServer.start(local, { retryDelayMs: 0, pages: consolePages(local) });
});
afterAll(async () => {
  await server.close();
  await local.close();
});

const ports = () => ({ 'Step Functions': server.endpoint, DynamoDB: local.dynamo.endpoint });

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with headers that fetch will not set (Host), answered whole. */
function send(endpoint: string, method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${endpoint}${path}`, { method, headers, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () =>
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const errorType = (answer: Answer): string => String(answer.headers['x-amzn-errortype']);
const awsShaped = (answer: Answer): { __type: string; message: string } => JSON.parse(answer.body) as { __type: string; message: string };

/** Both ports still answer their own clients: the process is up. */
async function stillServing(): Promise<void> {
  await expect(server.call('ListStateMachines', {})).resolves.toBeDefined();
  const listed = await send(server.endpoint, 'POST', '/', { 'x-amz-target': 'AWSStepFunctions.ListStateMachines' }, '{}');
  expect(listed.status).toBe(200);
  await expect(local.dynamo.client.send(new DescribeTableCommand({ TableName: firstStep.table }))).resolves.toBeDefined();
}

describe('any request gets an AWS-shaped answer, and the process stays up', () => {
  it.each(['%ZZ', '%E0%A4%A'])('a function name that is not percent-encoding (%s) is a 400', async (name) => {
    const answer = await send(server.endpoint, 'GET', `/2015-03-31/functions/${name}/configuration`, {});
    expect(answer.status).toBe(400);
    expect(errorType(answer)).toBe('InvalidParameterValueException');
    await stillServing();
  });

  it('unparsable HTTP is a 400 on both ports', async () => {
    for (const endpoint of Object.values(ports())) {
      const { port } = new URL(endpoint);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.write('GARBAGE\r\n\r\n'));
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw).toContain('"__type"');
    }
    await stillServing();
  });

  it('a client gone in the middle of its body ends nothing', async () => {
    for (const endpoint of Object.values(ports())) {
      const { port } = new URL(endpoint);
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 1000\r\n\r\n{"TableName":`);
          socket.destroy();
          resolve();
        });
      });
    }
    await stillServing();
  });
});

describe('only the ports’ own origin is answered', () => {
  it.each(['attacker.example', 'attacker.example:8083', '127.0.0.1.nip.io', 'localhost.attacker.example'])(
    'a foreign Host (%s), as DNS rebinding sends it, is refused on both ports',
    async (host) => {
      for (const [name, endpoint] of Object.entries(ports())) {
        const answer = await send(endpoint, 'POST', '/', { host, 'x-amz-target': 'AWSStepFunctions.ListStateMachines' }, '{}');
        expect([name, answer.status, errorType(answer)]).toEqual([name, 403, 'AccessDeniedException']);
        expect(awsShaped(answer).message).toContain(host);
      }
    },
  );

  it('loopback names are served: 127.0.0.1, localhost and [::1], any port (a forwarded one)', async () => {
    for (const host of ['127.0.0.1:1', 'localhost', 'LOCALHOST:9', '[::1]:8083', 'saga.localhost']) {
      const answer = await send(server.endpoint, 'POST', '/', { host, 'x-amz-target': 'AWSStepFunctions.ListStateMachines' }, '{}');
      expect([host, answer.status]).toEqual([host, 200]);
    }
  });

  it('a preflight or a request from another origin is refused on both ports, with no CORS header', async () => {
    for (const [name, endpoint] of Object.entries(ports())) {
      const origin = `http://localhost:${Number(new URL(endpoint).port) + 1}`;
      const preflight = await send(endpoint, 'OPTIONS', '/', {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-amz-target,authorization',
      });
      const post = await send(endpoint, 'POST', '/', { origin, 'content-type': 'text/plain' }, '{}');
      for (const answer of [preflight, post]) {
        expect([name, answer.status, errorType(answer)]).toEqual([name, 403, 'AccessDeniedException']);
        expect(Object.keys(answer.headers).filter((header) => header.startsWith('access-control-'))).toEqual([]);
      }
    }
  });

  it('a no-cors request of a web page (no Origin on a GET, Sec-Fetch-Site says where from) is refused', async () => {
    const answer = await send(server.endpoint, 'GET', '/console/api/saga', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' });
    expect([answer.status, errorType(answer)]).toEqual([403, 'AccessDeniedException']);
  });

  it('the console’s own page (same origin) is served, and DynamoDB answers its own origin without a CORS header', async () => {
    const own = new URL(server.endpoint).host;
    const console = await send(server.endpoint, 'GET', '/console/api/saga', { origin: `http://${own}`, 'sec-fetch-site': 'same-origin' });
    expect(console.status).toBe(200);
    const dynamoHost = new URL(local.dynamo.endpoint).host;
    const listed = await send(
      local.dynamo.endpoint,
      'POST',
      '/',
      {
        origin: `http://${dynamoHost}`,
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        'x-amz-date': '20260101T000000Z',
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      '{}',
    );
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBeUndefined();
  });
});

(executablePath ? describe : describe.skip)('a web page on another origin, in Chromium', () => {
  let attacker: Server;

  beforeAll(async () => {
    // Another origin on this very machine (another port of localhost): a page the developer browses to.
    attacker = createServer((_, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'),
    );
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    attacker.closeAllConnections();
    await new Promise((resolve) => attacker.close(resolve));
  });

  it('can neither read nor change the bookings, nor start an execution, nor stop the process', async () => {
    const tripId = 'planted-by-a-page';
    const context = await launchChromium();
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      const attempts = await page.evaluate(
        async ({ dynamodb, sfn, table, keyField, tripId, stateMachineArn, trip }) => {
          const signed = {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-date': '20260101T000000Z',
            authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          };
          const attempt = async (url: string, init: RequestInit): Promise<string> => {
            try {
              const response = await fetch(url, init);
              return `answered ${response.status}: ${await response.text()}`;
            } catch (error) {
              return `refused: ${(error as Error).message}`;
            }
          };
          return {
            scan: await attempt(dynamodb, {
              method: 'POST',
              headers: { ...signed, 'x-amz-target': 'DynamoDB_20120810.Scan' },
              body: JSON.stringify({ TableName: table }),
            }),
            plant: await attempt(dynamodb, {
              method: 'POST',
              headers: { ...signed, 'x-amz-target': 'DynamoDB_20120810.PutItem' },
              body: JSON.stringify({ TableName: table, Item: { [keyField]: { S: tripId }, status: { S: 'BOOKED' } } }),
            }),
            // A "simple" request: no preflight, sent whatever the answer's headers say.
            start: await attempt(sfn, {
              method: 'POST',
              mode: 'no-cors',
              headers: { 'content-type': 'text/plain', 'x-amz-target': 'AWSStepFunctions.StartExecution' },
              body: JSON.stringify({ stateMachineArn, name: tripId, input: JSON.stringify(trip) }),
            }),
          };
        },
        {
          dynamodb: local.dynamo.endpoint,
          sfn: server.endpoint,
          table: firstStep.table,
          keyField: tripSaga.keyField,
          tripId,
          stateMachineArn: local.stateMachineArn,
          trip: tripWithId(tripId),
        },
      );
      expect(attempts.scan).toMatch(/^refused/);
      expect(attempts.plant).toMatch(/^refused/);
      // An image, as any page can embed one (no DOM types here: the page runs it as text).
      const crashUrl = `${server.endpoint}/2015-03-31/functions/%ZZ/configuration`;
      await expect(
        page.evaluate(
          `new Promise((resolve) => { const img = new Image(); img.onload = () => resolve('loaded'); img.onerror = () => resolve('refused'); img.src = ${JSON.stringify(crashUrl)}; })`,
        ),
      ).resolves.toBe('refused');
      const { Item } = await local.dynamo.client.send(new GetCommand({ TableName: firstStep.table, Key: { [tripSaga.keyField]: tripId } }));
      expect(Item).toBeUndefined();
      await expect(server.call('DescribeExecution', { executionArn: local.executionArnOf(tripId) })).rejects.toThrow(
        /Execution Does Not Exist/,
      );
      await stillServing();
    } finally {
      await context.close();
    }
  });
});

it('runs the browser test where CI requires it', () => {
  if (chromiumRequired) expect(executablePath).toBeDefined();
});
