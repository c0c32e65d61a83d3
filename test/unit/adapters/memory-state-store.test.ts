import { createMemoryStateStore } from '../../../src/adapters/memory/memory-state-store.js';
import { stateStoreContract } from '../../contracts/state-store.contract.js';

stateStoreContract('memory', () =>
  Promise.resolve({ store: createMemoryStateStore(), cleanup: () => Promise.resolve() }),
);
