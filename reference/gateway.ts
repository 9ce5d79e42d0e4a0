/**
 * The gateway interface between the server handler and an application: PEP 3333 (WSGI) carried over to
 * TypeScript. Reads and writes are async because Node cannot block, but the order of calls is WSGI's:
 * the application calls startResponse, then the server iterates the returned body and writes each chunk.
 */

/** `wsgi.input`: the request body, bounded by the server (Django's LimitedStream). */
export interface InputStream {
  /** Up to `size` bytes (all that remain when omitted); an empty Buffer at the end of input. */
  read(size?: number): Promise<Buffer>;
  readline(size?: number): Promise<Buffer>;
}

/** `wsgi.errors` */
export interface ErrorStream {
  write(text: string): void;
  flush(): void;
}

export type Environ = Record<string, unknown>;

export type HeaderList = Array<[string, string]>;

/** The exception an application passes to startResponse from its error handler, as WSGI's `exc_info`. */
export type ExcInfo = unknown;

/** Returns `write`, WSGI's legacy imperative body writer. */
export type StartResponse = (status: string, headers: HeaderList, excInfo?: ExcInfo) => (data: Buffer) => Promise<void>;

/** What an application returns. `close` is called once the response is done, as WSGI's iterable.close(). */
export type ResponseBody = (Iterable<Buffer> | AsyncIterable<Buffer>) & { close?: () => void | Promise<void> };

export type Application = (environ: Environ, startResponse: StartResponse) => ResponseBody | Promise<ResponseBody>;
