/**
 * A worker thread of the EURNN wasm engine (lib/kernels/eurnn.ts): it answers each job posted on its
 * port with the result, then bumps the shared signal so that the blocked calling thread wakes.
 * It loads only lib/kernels/eurnn-wasm.ts (no tfjs).
 */
import { MessagePort, workerData } from 'worker_threads';
import { EurnnJob, EurnnReply, runJob } from './eurnn-wasm';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

port.on('message', (job: EurnnJob) => {
  let reply: EurnnReply;
  try {
    reply = runJob(job);
  } catch (e) {
    reply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
