/**
 * wrk Lua scripts for requests other than a plain GET: a longer request line, more header fields, a body, several
 * requests pipelined in one write. wrk adds Host (and Content-Length when there is a body) itself.
 */
export interface RequestShape {
  /** The whole request line, CRLF included, padded in the path to this many bytes. */
  requestLineBytes?: number;
  /** Header fields besides Host. */
  extraHeaders?: number;
  bodyBytes?: number;
  /** Requests sent back to back in one write. */
  pipelineDepth?: number;
}

/** `GET / HTTP/1.1\r\n` with the path padded: the shortest line is that one. */
const MIN_REQUEST_LINE = 'GET / HTTP/1.1\r\n'.length;

/** A Lua string literal of printable ASCII (no quote or backslash in what this module builds). */
function lua(text: string): string {
  return `"${text}"`;
}

export function wrkScript(shape: RequestShape): string {
  const method = shape.bodyBytes ? 'POST' : 'GET';
  const fixed = `${method} / HTTP/1.1\r\n`.length;
  const lineBytes = Math.max(shape.requestLineBytes ?? MIN_REQUEST_LINE, fixed);
  const lines = [`wrk.method = ${lua(method)}`, `wrk.path = "/" .. string.rep("a", ${lineBytes - fixed})`];
  for (let i = 0; i < (shape.extraHeaders ?? 0); i++) lines.push(`wrk.headers[${lua(`X-Bench-${i}`)}] = "v"`);
  if (shape.bodyBytes) lines.push(`wrk.body = string.rep("b", ${shape.bodyBytes})`);
  const depth = shape.pipelineDepth ?? 1;
  lines.push(
    'local pipelined',
    'init = function(args)',
    '  local requests = {}',
    `  for i = 1, ${depth} do requests[i] = wrk.format() end`,
    '  pipelined = table.concat(requests)',
    'end',
    'request = function() return pipelined end',
  );
  return lines.join('\n') + '\n';
}
