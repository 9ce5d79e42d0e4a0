import { corpusRequirements } from './corpus.ts';
import { environRequirements } from './env.ts';
import { errorRequirements } from './err.ts';
import { expectRequirements } from './exp.ts';
import { headerRequirements } from './hdr.ts';
import { keepAliveRequirements } from './ka.ts';
import { logRequirements } from './log.ts';
import { rfcChunkedRequirements } from './rfc-chunked.ts';
import { rfcExpectRequirements } from './rfc-expect.ts';
import { rfcFieldRequirements } from './rfc-fields.ts';
import { rfcFramingRequirements } from './rfc-framing.ts';
import { rfcHostRequirements } from './rfc-host.ts';
import { rfcLimitRequirements } from './rfc-limits.ts';
import { rfcProtocolConfusionRequirements } from './rfc-protocol-confusion.ts';
import { rfcRequestLineRequirements } from './rfc-request-line.ts';
import { rfcResponseRequirements } from './rfc-response.ts';
import { rfcSmugglingRequirements } from './rfc-smuggling.ts';
import { rfcTransferEncodingRequirements } from './rfc-transfer-encoding.ts';
import { rfcWhitespaceRequirements } from './rfc-whitespace.ts';
import { requestLineRequirements } from './rl.ts';
import { tlsRequirements } from './tls.ts';
import type { Requirement } from './types.ts';
import { uriRequirements } from './uri.ts';

/**
 * Every requirement, in catalogue order. One module per SPEC area; each ID is defined in exactly one entry of one module.
 */
export const catalogue: readonly Requirement[] = [
  ...environRequirements,
  ...headerRequirements,
  ...keepAliveRequirements,
  ...uriRequirements,
  ...tlsRequirements,
  ...requestLineRequirements,
  ...expectRequirements,
  ...errorRequirements,
  ...logRequirements,
  ...rfcRequestLineRequirements,
  ...rfcWhitespaceRequirements,
  ...rfcFieldRequirements,
  ...rfcHostRequirements,
  ...rfcFramingRequirements,
  ...rfcTransferEncodingRequirements,
  ...rfcChunkedRequirements,
  ...rfcSmugglingRequirements,
  ...rfcExpectRequirements,
  ...rfcProtocolConfusionRequirements,
  ...rfcLimitRequirements,
  ...rfcResponseRequirements,
  ...corpusRequirements(),
];
