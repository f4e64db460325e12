import { randomUUID } from 'node:crypto';

/** The content type each service that a Task calls answers in: SNS's query API answers XML, Step Functions' JSON. */
export const ServiceContentType = {
  sns: 'text/xml',
  states: 'application/x-amz-json-1.0',
} as const;

/**
 * A request-response service integration's output as Step Functions gives it to the Task (and records it in
 * TaskSucceeded): the service's answer plus the SDK's `SdkHttpMetadata` and `SdkResponseMetadata`, which AWS adds
 * (recorded in test/fixtures/aws-histories). A state that keeps the result (`ResultPath`) keeps them too, as on AWS.
 */
export function withSdkMetadata<Answer extends object>(answer: Answer, contentType: string, now = new Date()) {
  const requestId = randomUUID();
  const headers = {
    'x-amzn-RequestId': requestId,
    connection: 'keep-alive',
    'Content-Length': String(Buffer.byteLength(JSON.stringify(answer))),
    Date: now.toUTCString(),
    'Content-Type': contentType,
  };
  return {
    ...answer,
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      HttpHeaders: headers,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}
