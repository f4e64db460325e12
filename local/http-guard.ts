import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

// The one door of both ports of `saga local` (Step Functions with the console, and DynamoDB): a developer leaves it
// running while browsing, so no web page may reach it and no request may end it.
//
// - Host: a DNS-rebinding page reaches 127.0.0.1 under its own name; only loopback names are answered.
// - Origin and Sec-Fetch-Site: a page of another origin may send requests (a form, an <img>, fetch in no-cors mode)
//   even where it cannot read the answer; they are refused before anything runs. The AWS CLI, the SDKs and boto3
//   send neither header, so they are served unchanged. No answer carries CORS headers: no other origin is let in.
// - Anything a handler throws, or a request the HTTP parser cannot read, is answered in the port's AWS shape.

/** An AWS-shaped refusal: the HTTP status, the error type (`__type`, `x-amzn-errortype`) and its message. */
export interface Refusal {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

/** Writes a refusal as the port's protocol shapes errors. */
export type RefusalWriter = (response: ServerResponse, refusal: Refusal) => void;

export type Listener = (request: IncomingMessage, response: ServerResponse) => unknown;

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`), lower case, or undefined when it is none. */
function hostNameOf(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

const isLoopbackName = (name: string): boolean => LOOPBACK_NAMES.has(name) || name.endsWith('.localhost');

/** Why a request is refused before it runs, or undefined when it is the port's own or no browser's. */
export function foreignRequest(request: IncomingMessage): Refusal | undefined {
  const host = request.headers.host;
  const hostName = host === undefined ? undefined : hostNameOf(host);
  // A client that names no host (HTTP/1.0) is no browser: browsers always send one.
  if (host !== undefined && (hostName === undefined || !isLoopbackName(hostName))) {
    return {
      status: 403,
      type: 'AccessDeniedException',
      message: `Host ${JSON.stringify(host)} is not this machine: saga local answers 127.0.0.1, localhost and [::1] only`,
    };
  }
  const origin = request.headers.origin;
  // Same origin: the scheme and host:port of this very request (the console's page calling the API it came from).
  if (origin !== undefined && origin !== `http://${host}`) {
    return {
      status: 403,
      type: 'AccessDeniedException',
      message: `requests from ${origin} are refused: saga local answers its own origin only (http://${host})`,
    };
  }
  // Sent by browsers on every request, no-cors ones included (which carry no Origin on GET): `none` is the user's own
  // navigation (a typed or pasted address), `same-origin` the console's own page.
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return {
      status: 403,
      type: 'AccessDeniedException',
      message: `a ${site} request from a web page is refused: saga local answers its own origin only`,
    };
  }
  return undefined;
}

/** A request that never reached a handler (unparsable HTTP), answered on the raw socket in the port's shape. */
function answerClientError(socket: Duplex, refusal: Refusal, body: (refusal: Refusal) => string): void {
  if (!socket.writable) return void socket.destroy();
  const text = body(refusal);
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: ${refusal.type}\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export interface GuardOptions {
  /** Writes a refusal on a response as the port's protocol does. */
  readonly refuse: RefusalWriter;
  /** The body of a refusal written on the raw socket (unparsable HTTP), in the same shape. */
  readonly body: (refusal: Refusal) => string;
  /** The error type of an unexpected failure: `InternalFailure` for Step Functions, `InternalServerError` for DynamoDB. */
  readonly internalError: string;
}

/**
 * Serves `listener` on `server` behind the guard: foreign requests refused, every throw and rejection answered, never
 * escaping to end the process.
 */
export function guard(server: Server, listener: Listener, options: GuardOptions): void {
  const { refuse, internalError } = options;
  const failed = (response: ServerResponse, error: unknown) => {
    // Answered once: a handler that failed after its answer began can only cut it short.
    if (response.headersSent) return void response.destroy();
    refuse(response, { status: 500, type: internalError, message: error instanceof Error ? error.message : String(error) });
  };
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    // A client gone mid-request: nothing left to answer, and nothing to end the process with.
    request.on('error', () => undefined);
    const refusal = foreignRequest(request);
    if (refusal) {
      // Not read: the connection is closed once the refusal is sent.
      response.once('finish', () => request.destroy());
      return refuse(response, refusal);
    }
    try {
      const answered = listener(request, response);
      if (answered instanceof Promise) answered.catch((error: unknown) => failed(response, error));
    } catch (error) {
      failed(response, error);
    }
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET') return void socket.destroy();
    const refusal =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? { status: 408, type: 'RequestTimeoutException', message: 'the request did not arrive in time' }
        : { status: 400, type: 'SerializationException', message: `malformed HTTP request: ${error.code ?? error.message}` };
    answerClientError(socket, refusal, options.body);
  });
}

/**
 * A request's whole body, or undefined once it passes `limit` bytes: the caller then refuses in its API's own shape,
 * and the connection closes once that answer is sent, so the rest of the body is never read.
 */
export async function readBodyWithin(request: IncomingMessage, response: ServerResponse, limit: number): Promise<Buffer[] | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > limit) {
      response.once('finish', () => request.destroy());
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return chunks;
}
