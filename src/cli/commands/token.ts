/**
 * `sigctl token --room R --sub NAME --ttl 1h` (or `--admin` for the admin API): mints an HS256 token from the configured secret
 * (auth.jwt.secret, SIGCTL_AUTH_JWT_SECRET) or --secret, for tests and small deployments. The token
 * alone goes to stdout so it can be captured (`TOKEN=$(sigctl token ...)`); `--json` prints
 * {token, claims}.
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../../auth/duration.js';
import { SigctlError } from '../../protocol/errors.js';
import { intOption, type RegisterCommand } from '../command.js';

interface TokenOptions {
  room?: string;
  admin?: boolean;
  sub: string;
  ttl: number;
  capacity?: number;
  receiveOnly?: boolean;
  secret?: string;
  issuer?: string;
  audience?: string;
}

function ttlOption(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 1h or 7d.');
  return seconds;
}

export const registerToken: RegisterCommand = (program, run) => {
  program
    .command('token')
    .description('mint an HS256 access token for serve (auth.jwt.secret) and print it on stdout')
    .option('--room <room>', "room id or glob the token grants (required unless --admin): demo, team-*, or '*' for any room")
    .requiredOption('--sub <name>', 'identity of the holder (required): the name other members see')
    .addOption(new Option('--ttl <duration>', 'lifetime: 90s, 30m, 1h, 7d').argParser(ttlOption).default(3600, '1h'))
    .option('--capacity <n>', 'room capacity granted when the holder creates the room', intOption(1, 10_000))
    .option('--receive-only', 'may join and receive but not send signals or metadata (claim receiveOnly)')
    .option('--admin', 'grant the admin API (claim admin): sigctl rooms list|show|kick|close, /v1/rooms; without --room no room claim')
    .option('--secret <secret>', 'HS256 secret (default: auth.jwt.secret from config or SIGCTL_AUTH_JWT_SECRET; visible in ps, prefer those)')
    .option('--issuer <iss>', 'iss claim (default: auth.jwt.issuer)')
    .option('--audience <aud>', 'aud claim (default: auth.jwt.audience)')
    .option('--json', 'print {token, claims}')
    .addHelpText(
      'after',
      `
Examples:
  sigctl token --room demo --sub alice --ttl 1h
  sigctl token --room '*' --sub monitor --ttl 30m          any room
  TOKEN=$(sigctl token --room 'team-*' --sub bob --receive-only) && sigctl peer --room team-1 --token "$TOKEN"
  ADMIN=$(sigctl token --admin --sub ops --ttl 10m) && sigctl rooms list --url http://127.0.0.1:8080 --token "$ADMIN"`,
    )
    .action(
      run<TokenOptions>(async (ctx, opts) => {
        // Loaded when the command runs: jose and the config loader are not needed for --help.
        if (opts.room === undefined && opts.admin !== true) throw new SigctlError('USAGE', "--room is required (a room id or a glob such as team-*), unless --admin");
        const [{ mintToken }, { loadConfig }] = await Promise.all([import('../../auth/mint.js'), import('../../config/load.js')]);
        const { config } = await loadConfig({ configFile: opts.config, cwd: ctx.cwd, env: ctx.env });
        const jwt = config.auth.jwt;
        // A short --secret is a bad flag (USAGE); a short configured one stays CONFIG_INVALID (mintToken).
        if (opts.secret !== undefined && Buffer.byteLength(opts.secret) < 16) throw new SigctlError('USAGE', '--secret must be at least 16 characters');
        const secret = opts.secret ?? jwt?.secret;
        if (secret === undefined) {
          const why =
            jwt === undefined
              ? 'auth.jwt is not configured'
              : `auth.jwt verifies with ${jwt.publicKey !== undefined ? 'auth.jwt.publicKey' : 'auth.jwt.jwksUrl'}, whose private key sigctl does not have`;
          throw new SigctlError(
            'CONFIG_INVALID',
            `no HS256 secret to sign with: ${why}; set auth.jwt.secret (or SIGCTL_AUTH_JWT_SECRET), or pass --secret`,
          );
        }
        const { token, claims } = await mintToken({
          secret,
          room: opts.room,
          sub: opts.sub,
          ttlSeconds: opts.ttl,
          capacity: opts.capacity,
          receiveOnly: opts.receiveOnly,
          admin: opts.admin,
          issuer: opts.issuer ?? jwt?.issuer,
          audience: opts.audience ?? jwt?.audience,
        });
        if (ctx.out.json) ctx.out.jsonLine({ token, claims });
        else ctx.out.result(token);
        ctx.out.debug(`${claims.admin === true ? 'admin ' : ''}token for ${claims.sub} in ${claims.room ?? 'any room'}, expires ${new Date(claims.exp * 1000).toISOString()}`);
      }),
    );
};
