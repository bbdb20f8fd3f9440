// The page's side of protocol.ts: posts requests to the training worker and matches each
// reply that carries an id to the request that asked for it. Replies without an id
// ('ready', 'progress', a 'failed' that belongs to no request) go to the listener.

import type { Reply, Request } from './protocol.js';

/** A request without its id: the client numbers them. */
type Asking<T extends Request> = T extends { id: number } ? Omit<T, 'id'> : never;
type Question = Asking<Request>;
/** The reply type that answers each question type. */
interface Answers {
  predict: Extract<Reply, { type: 'predicted' }>;
  fgs: Extract<Reply, { type: 'fgsDone' }>;
  ood: Extract<Reply, { type: 'oodDone' }>;
  export: Extract<Reply, { type: 'exported' }>;
  import: Extract<Reply, { type: 'imported' }>;
}

type Unprompted = Exclude<Reply, { id: number }> | Extract<Reply, { type: 'failed' }>;

export class WorkerClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly worker: Worker,
    onUnprompted: (reply: Unprompted) => void,
    onCrash: (message: string) => void,
  ) {
    worker.addEventListener('message', (e: MessageEvent<Reply>) => {
      const reply = e.data;
      const id = 'id' in reply ? reply.id : undefined;
      const asker = id === undefined ? undefined : this.waiting.get(id);
      if (!asker) return onUnprompted(reply as Unprompted);
      this.waiting.delete(id!);
      if (reply.type === 'failed') asker.reject(new Error(reply.message));
      else asker.resolve(reply);
    });
    const crash = (message: string) => {
      onCrash(message);
      for (const { reject } of this.waiting.values()) reject(new Error(message));
      this.waiting.clear();
    };
    worker.addEventListener('error', (e: ErrorEvent) => crash(`training worker: ${e.message || 'failed to load or crashed'}`));
    worker.addEventListener('messageerror', () => crash('training worker: a message could not be decoded'));
  }

  /** Fire-and-forget requests (start, pause, resume, set). */
  post(request: Exclude<Request, { id: number }>): void {
    this.worker.postMessage(request);
  }

  /** A request that the worker answers; rejects with the worker's 'failed' message. */
  ask<Q extends Question>(question: Q): Promise<Answers[Q['type']]> {
    const id = this.nextId++;
    const request = { ...question, id } as Request;
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // pixels and checkpoint bytes are copied, not transferred: the page keeps its own
      this.worker.postMessage(request);
    }) as Promise<Answers[Q['type']]>;
  }

  terminate(): void {
    this.worker.terminate();
    for (const { reject } of this.waiting.values()) reject(new Error('training worker stopped (restart)'));
    this.waiting.clear();
  }
}
