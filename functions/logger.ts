// A structured JSON logger, one line per entry, in the shape of Powertools for AWS Lambda's Logger (level,
// message, timestamp, service, function_request_id, xray_trace_id, plus persistent keys). Written here rather
// than imported because Powertools' Logger alone adds 23 KB and about 7 ms to every cold start (measured:
// see "Functions" in the README), more than the whole budget of a function.

export const LogLevel = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40, SILENT: 100 } as const;
export type LogLevelName = keyof typeof LogLevel;

type Fields = Readonly<Record<string, unknown>>;

export interface LoggerOptions {
  readonly service: string;
  /** @default the LOG_LEVEL environment variable, else INFO */
  readonly level?: LogLevelName;
  /** @default one line on standard output */
  readonly write?: (line: string) => void;
}

function levelFromEnvironment(): LogLevelName {
  const name = (process.env['LOG_LEVEL'] ?? 'INFO').toUpperCase();
  return name in LogLevel ? (name as LogLevelName) : 'INFO';
}

/** Errors do not survive JSON.stringify: keep what a reader needs. */
function serialisable(fields: Fields): Fields {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) =>
      value instanceof Error ? [key, { name: value.name, message: value.message, stack: value.stack }] : [key, value],
    ),
  );
}

export class Logger {
  readonly #service: string;
  readonly #threshold: number;
  readonly #write: (line: string) => void;
  #keys: Fields = {};

  constructor(options: LoggerOptions) {
    this.#service = options.service;
    this.#threshold = LogLevel[options.level ?? levelFromEnvironment()];
    this.#write = options.write ?? ((line) => process.stdout.write(`${line}\n`));
  }

  /** Keys added to every later entry, until resetKeys(). */
  appendKeys(keys: Fields): void {
    this.#keys = { ...this.#keys, ...keys };
  }

  resetKeys(): void {
    this.#keys = {};
  }

  debug(message: string, fields: Fields = {}): void {
    this.#log('DEBUG', message, fields);
  }

  info(message: string, fields: Fields = {}): void {
    this.#log('INFO', message, fields);
  }

  warn(message: string, fields: Fields = {}): void {
    this.#log('WARN', message, fields);
  }

  error(message: string, fields: Fields = {}): void {
    this.#log('ERROR', message, fields);
  }

  #log(level: Exclude<LogLevelName, 'SILENT'>, message: string, fields: Fields): void {
    if (LogLevel[level] < this.#threshold) return;
    const traceId = process.env['_X_AMZN_TRACE_ID'];
    this.#write(
      JSON.stringify({
        level,
        message,
        timestamp: new Date().toISOString(),
        service: this.#service,
        ...(traceId ? { xray_trace_id: traceId } : {}),
        ...this.#keys,
        ...serialisable(fields),
      }),
    );
  }
}
