#!/usr/bin/env node
// The CLI runs the compiled output in dist/. A checkout installed without the development dependencies
// (npm ci --omit=dev) has none until `npm run build` runs somewhere with them, so say that plainly.
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('portcullis: dist/ is missing; run `npm run build` (needs the development dependencies: npm ci)');
    process.exit(1);
  }
  throw err;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
