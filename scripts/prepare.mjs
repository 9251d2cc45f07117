// `npm install` / `npm ci` run this (the `prepare` script). With the development dependencies installed it
// builds (the compiler package, then the sidecar), so a fresh checkout is ready to run and test. A production
// install (`npm ci --omit=dev`) has no TypeScript or AssemblyScript: it skips the build instead of failing,
// and serves the compiled output copied in next to it (as the Dockerfile's runtime stage does).
import { execSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const hasBuildTools = ['typescript', 'assemblyscript'].every((name) => {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
});

if (hasBuildTools) {
  execSync('npm run build', { stdio: 'inherit' });
} else {
  console.log('prepare: development dependencies not installed (npm ci --omit=dev?); skipping the build');
}
