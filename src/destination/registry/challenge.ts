/**
 * Parses `WWW-Authenticate` (RFC 7235): one or more challenges, each a scheme followed
 * by `key=value` / `key="quoted"` parameters. Schemes and parameter names are compared
 * case-insensitively (Nexus sends `BASIC realm="…"`).
 */

export interface Challenge {
  /** Lower-cased: `basic`, `bearer`, ... */
  scheme: string;
  /** Lower-cased keys: `realm`, `service`, `scope`, `error`. */
  params: Record<string, string>;
}

/** All challenges of one or more header values, in order. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const value of values) out.push(...parseOne(value));
  return out;
}

/** The challenge to answer: bearer before basic, others ignored. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = input.length;
  const skipSpace = (): void => {
    while (i < n && (input[i] === ' ' || input[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && !/[\s,=]/.test(input[i]!)) i++;
    return input.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let value = '';
    while (i < n && input[i] !== '"') {
      if (input[i] === '\\' && i + 1 < n) i++;
      value += input[i];
      i++;
    }
    i++; // closing quote
    return value;
  };

  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (input[i] === ',') {
      i++;
      continue;
    }
    const token = readToken();
    if (token === '') {
      i++;
      continue;
    }
    skipSpace();
    if (input[i] === '=' && current !== undefined) {
      // `key=value`, unless this is a token68 (`abc==`) right after the scheme.
      i++;
      skipSpace();
      const value = input[i] === '"' ? readQuoted() : readToken();
      current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}
