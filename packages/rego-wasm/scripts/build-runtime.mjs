// Compiles the AssemblyScript policy runtime (src/runtime) to dist/runtime/runtime.wasm, which the
// Wasm emitter extends with each compiled policy.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
await mkdir(`${root}dist/runtime`, { recursive: true });

const { error, stderr } = await asc.main(
  [
    'src/runtime/assembly/index.ts',
    '--runtime',
    'stub',
    // The SDK creates the memory (env.memory) and reads values out of it.
    '--importMemory',
    '--noExportMemory',
    '--use',
    'abort=src/runtime/assembly/index/asAbort',
    '--optimizeLevel',
    '3',
    '--shrinkLevel',
    '0',
    '--outFile',
    'dist/runtime/runtime.wasm',
  ],
  { stdout: process.stdout, stderr: process.stderr, baseDir: root },
);
if (error) {
  console.error(`build-runtime: ${error.message}\n${stderr.toString()}`);
  process.exit(1);
}
console.log('build-runtime: wrote dist/runtime/runtime.wasm');
