import type { IncomingMessage, ServerResponse } from 'node:http';
import { placeholderResources } from '../asl/render.ts';
import { configToEnvironment } from '../functions/config.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './dynamodb.ts';
import { functionConfigsOf, type LocalSaga } from './runtime.ts';

// Lambda's GetFunctionConfiguration (REST JSON: GET /2015-03-31/functions/{FunctionName}/configuration) for the
// local saga's functions: a deployed function's environment names its table and whether it honours fault
// injection, and `saga verify` reads both so, locally as on AWS. Nothing else of Lambda is served.

const CONFIGURATION = /^\/2015-03-31\/functions\/([^/?]+)\/configuration(?:\?.*)?$/;

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(text);
}

/** Answers the request if it is a GetFunctionConfiguration, by the function's name or ARN; says whether it did. */
export function answerFunctionConfiguration(local: LocalSaga, request: IncomingMessage, response: ServerResponse): boolean {
  const match = request.method === 'GET' ? CONFIGURATION.exec(request.url ?? '') : null;
  if (!match) return false;
  let asked: string;
  try {
    asked = decodeURIComponent(match[1] as string);
  } catch {
    // As Lambda answers a name it cannot read: the request, not the server, is at fault.
    send(
      response,
      400,
      { Type: 'User', message: `FunctionName is not a valid percent-encoded name: ${match[1]}` },
      'InvalidParameterValueException',
    );
    return true;
  }
  const arns = placeholderResources(local.saga, LOCAL_REGION, LOCAL_ACCOUNT).functions;
  const configs = functionConfigsOf(local);
  const name = Object.keys(arns).find((state) => state === asked || arns[state] === asked);
  const config = name === undefined ? undefined : configs[name];
  if (name === undefined || config === undefined) {
    send(response, 404, { Type: 'User', message: `Function not found: ${asked}` }, 'ResourceNotFoundException');
    return true;
  }
  send(response, 200, {
    FunctionName: name,
    FunctionArn: arns[name],
    Runtime: 'nodejs22.x',
    State: 'Active',
    Environment: { Variables: configToEnvironment(config) },
  });
  return true;
}
