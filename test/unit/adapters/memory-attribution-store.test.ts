import { createMemoryAnswerStore } from '../../../src/adapters/memory/memory-attribution-store.js';
import { answerStoreContract } from '../../contracts/attribution-store.contract.js';

answerStoreContract('memory', () => {
  const store = createMemoryAnswerStore();
  return Promise.resolve({
    store,
    totals: () => Promise.resolve(store.cells()),
    dayTotals: (campaign) => Promise.resolve(campaign ? store.campaignDayCells() : store.dayCells()),
    revisionOf: (opportunityId, model) => Promise.resolve(store.revisionOf(opportunityId, model)),
    cleanup: () => Promise.resolve(),
  });
});
