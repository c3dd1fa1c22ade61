// `prepare` and `npm start`: build (tsc + the rollup CLI bundle) when the sources are here (a clone);
// in an unpacked tarball dist/ is already built and src/ is not shipped, so there is nothing to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import process from 'node:process';

if (!existsSync('src') || !existsSync('tsconfig.json')) {
  if (!existsSync('dist/bundle/main.js')) {
    process.stderr.write('error: neither src/ nor a built dist/ is here; nothing can build sigctl\n');
    process.exit(1);
  }
  process.exit(0);
}
const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
