import { createMemoryAttributionStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { attributionStoreContract } from '../../contracts/attribution-store.contract.js';

attributionStoreContract('memory', () => {
  const store = createMemoryAttributionStore();
  return Promise.resolve({
    store,
    totals: () => Promise.resolve(store.cells()),
    revisionOf: (opportunityId, model) => Promise.resolve(store.revisionOf(opportunityId, model)),
    cleanup: () => Promise.resolve(),
  });
});
