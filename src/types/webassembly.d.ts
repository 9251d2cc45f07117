// The part of the WebAssembly JS API Portcullis uses. TypeScript declares it only in its DOM and WebWorker
// libs (and @types/node 20 not at all); taking in the whole DOM lib for it would also declare browser
// globals that do not exist in Node.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
  }
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  interface WebAssemblyInstantiatedSource {
    instance: Instance;
    module: Module;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  class Global {
    value: unknown;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
}
