/**
 * The seed rows of SPEC.md (the behaviour catalogue): ID, profiles and level, as the SPEC tables give them. The
 * catalogue tests hold the catalogue to this table, and run exactly these IDs (other engineers' RFC checks aside).
 */
import type { CheckVerdict, Level, Profile, ServerMode } from '../../conformance/catalogue/types.ts';

export interface SpecRow {
  id: string;
  profiles: Profile[];
  level: Level;
}

export const SPEC_ROWS: readonly SpecRow[] = [
  { id: 'ENV-GATEWAY-INTERFACE', profiles: ['django'], level: 'MUST' },
  { id: 'ENV-SERVER-NAME', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-SERVER-PORT', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-SCRIPT-NAME', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-REMOTE-ADDR', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-REMOTE-HOST', profiles: ['django'], level: 'MUST' },
  { id: 'ENV-CONTENT-LENGTH', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-CONTENT-TYPE', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-REQUEST-METHOD', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-PATH-INFO', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-QUERY-STRING', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-SERVER-PROTOCOL', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-HTTP-VARS', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-WSGI-VARS', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'ENV-SERVER-SOFTWARE', profiles: ['django', 'wsgi'], level: 'SHOULD' },
  { id: 'ENV-BODY', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'HDR-UNDERSCORE-STRIP', profiles: ['django', 'wsgi'], level: 'MUST' },
  { id: 'HDR-LINE-LIMIT', profiles: ['django'], level: 'MUST' },
  { id: 'HDR-COUNT-LIMIT', profiles: ['django'], level: 'MUST' },
  { id: 'KA-HTTP11-PERSIST', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'KA-CONNECTION-CLOSE', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'KA-HTTP10-CLOSE', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'KA-HTTP10-KEEPALIVE', profiles: ['django'], level: 'MAY' },
  { id: 'KA-NO-LENGTH-CLOSE', profiles: ['django'], level: 'MUST' },
  { id: 'KA-SERIAL-CLOSE', profiles: ['django'], level: 'MUST' },
  { id: 'KA-PIPELINE', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'KA-UNREAD-BODY', profiles: ['django'], level: 'MUST' },
  { id: 'KA-CHUNKED-IGNORED', profiles: ['django'], level: 'MUST' },
  { id: 'KA-ERROR-CLOSE', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'KA-SERIAL-HOLD', profiles: ['django'], level: 'MAY' },
  { id: 'KA-HALF-CLOSE', profiles: ['django'], level: 'SHOULD' },
  { id: 'KA-EMPTY-LINE', profiles: ['django'], level: 'MAY' },
  { id: 'URI-414', profiles: ['django'], level: 'MUST' },
  { id: 'URI-LIMIT-EXACT', profiles: ['django'], level: 'MUST' },
  { id: 'TLS-CLIENTHELLO-400', profiles: ['django'], level: 'MUST' },
  { id: 'TLS-LOG', profiles: ['django'], level: 'MUST' },
  { id: 'TLS-PROMPT', profiles: ['rfc'], level: 'SHOULD' },
  { id: 'RL-VERSION-SYNTAX', profiles: ['django'], level: 'MUST' },
  { id: 'RL-WORD-COUNT', profiles: ['django'], level: 'MUST' },
  { id: 'RL-VERSION-2', profiles: ['django'], level: 'MUST' },
  { id: 'RL-HTTP09', profiles: ['django'], level: 'MAY' },
  { id: 'RL-HTTP09-METHOD', profiles: ['django'], level: 'MUST' },
  { id: 'RFC-RL-ERROR-STATUS', profiles: ['rfc'], level: 'MUST' },
  { id: 'RFC-EMPTY-LINE', profiles: ['rfc'], level: 'SHOULD' },
  { id: 'EXP-100-CONTINUE', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'ERR-FORMAT', profiles: ['django'], level: 'MUST' },
  { id: 'ERR-HEAD-NO-BODY', profiles: ['django', 'rfc'], level: 'MUST' },
  { id: 'RFC-HEAD-NO-BODY', profiles: ['rfc'], level: 'MUST' },
  { id: 'ERR-APP-EXCEPTION', profiles: ['django'], level: 'MUST' },
  { id: 'ERR-APP-EXCEPTION-LATE', profiles: ['django'], level: 'MUST' },
  { id: 'LOG-ACCESS', profiles: ['django'], level: 'SHOULD' },
  { id: 'LOG-LEVELS', profiles: ['django'], level: 'SHOULD' },
];

export const SPEC_IDS: ReadonlySet<string> = new Set(SPEC_ROWS.map((row) => row.id));

/**
 * What a faithful runserver (the reference, or real Django 3.2) shows for a seed row: checks of the other mode skip;
 * the RFC-only rows fail, since they are where Django parts from the RFC; LOG-LEVELS skips when the log shows no levels
 * (Django's own text format); every other row passes.
 */
export function runserverVerdict(row: SpecRow, needsMode: ServerMode | undefined, mode: ServerMode, logShowsLevels: boolean): CheckVerdict {
  if (needsMode && needsMode !== mode) return 'skip';
  if (!row.profiles.includes('django')) return 'fail';
  if (row.id === 'LOG-LEVELS' && !logShowsLevels) return 'skip';
  return 'pass';
}
