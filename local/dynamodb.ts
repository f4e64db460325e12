import { Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { deployedStepsOf, tableOf, type Saga } from '../asl/saga.ts';
import { guard, readBodyWithin, type Listener, type Refusal } from './http-guard.ts';

/** Any values do: dynalite checks that requests are signed, not by whom. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';
/** The account in local ARNs: AWS's shape, no real account. */
export const LOCAL_ACCOUNT = '000000000000';
/** Where `saga local` serves its endpoints unless told otherwise, on 127.0.0.1. */
export const LOCAL_PORTS = { stepFunctions: 8083, dynamodb: 8000 } as const;

/**
 * The environment that points a function bundle (its AWS SDK) at the embedded DynamoDB, as the Lambda runtime's
 * environment points it at the real one. Functions log nothing unless LOG_LEVEL says otherwise.
 */
export function bundleEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    LOG_LEVEL: 'SILENT',
  };
}

export interface EmbeddedDynamoDb {
  /** `http://127.0.0.1:<port>`, for SDK clients and `--endpoint-url`. */
  readonly endpoint: string;
  readonly client: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export interface EmbeddedDynamoDbOptions {
  /** Keep the data in this folder (LevelDB); in memory when absent. */
  readonly path?: string;
  /** @default 0: any free port */
  readonly port?: number;
}

/** Connections to the embedded DynamoDB are kept open between requests: about a fifth off every call, measured. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

export function localClient(endpoint: string, config: Omit<DynamoDBClientConfig, 'endpoint'> = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestHandler: { httpAgent: keepAlive },
      ...config,
      endpoint,
    }),
  );
}

/** dynalite's own limit on a request body. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

const dynamoDbErrorBody = ({ type, message }: Refusal): string =>
  JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });

function refuse(response: ServerResponse, refusal: Refusal): void {
  const text = dynamoDbErrorBody(refusal);
  response.writeHead(refusal.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': refusal.type,
  });
  response.end(text);
}

/**
 * dynalite behind the project's front (local/http-guard.ts) rather than patched: it answers any Origin with
 * `Access-Control-Allow-Origin: *` and throws from a request's 'error' event (a client gone mid-body ends the
 * process). The front reads the body itself and hands dynalite a request that cannot fail, without its Origin
 * (only the port's own origin gets this far, and a same-origin request needs no CORS header).
 */
function behindFront(server: Server): void {
  const [dynaliteListener] = server.listeners('request') as Listener[];
  if (!dynaliteListener) throw new Error('dynalite serves no requests');
  server.removeAllListeners('request');
  guard(
    server,
    async (request, response) => {
      const chunks = await readBodyWithin(request, response, MAX_REQUEST_BYTES);
      if (!chunks)
        return refuse(response, {
          status: 413,
          type: 'ValidationException',
          message: `Request body is larger than ${MAX_REQUEST_BYTES} bytes`,
        });
      const { origin: _sameOrigin, ...headers } = request.headers;
      const whole = Object.assign(Readable.from(chunks), { headers, method: request.method, url: request.url });
      dynaliteListener(whole as unknown as IncomingMessage, response);
    },
    { refuse, body: dynamoDbErrorBody, internalError: 'InternalServerError' },
  );
}

/** Starts dynalite (the DynamoDB API over LevelDB or memory) in this process, on 127.0.0.1 only, behind the front. */
export async function startDynamoDb(options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  behindFront(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = localClient(endpoint);
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/**
 * Creates every step's table (a booking's, or the one a custom step declared), as infra/saga-stack.ts declares it for AWS: on demand, keyed by the input's key alone
 * (one item per key). Dynalite has no TTL, so cancellation markers stay. Tables that exist already are kept.
 */
export async function createBookingTables(client: DynamoDBDocumentClient, saga: Saga): Promise<void> {
  await Promise.all(
    deployedStepsOf(saga)
      .flatMap((step) => tableOf(step) ?? [])
      .map(async (table) => {
        try {
          await client.send(
            new CreateTableCommand({
              TableName: table,
              AttributeDefinitions: [{ AttributeName: saga.keyField, AttributeType: 'S' }],
              KeySchema: [{ AttributeName: saga.keyField, KeyType: 'HASH' }],
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
        } catch (error) {
          if ((error as Error).name !== 'ResourceInUseException') throw error;
        }
        await untilActive(client, table);
      }),
  );
}

/** How long a new table may stay CREATING before the start is given up. */
const TABLE_ACTIVE_TIMEOUT_MS = 10_000;

/**
 * Waits for a table to be ACTIVE, as AWS's waitUntilTableExists does: dynalite answers CreateTable while the
 * table is still CREATING, and refuses items (ResourceNotFoundException) until it is not, a window that a loaded
 * machine widens enough for a first booking to fall into.
 */
async function untilActive(client: DynamoDBDocumentClient, table: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${table} is still ${Table?.TableStatus} after ${TABLE_ACTIVE_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
