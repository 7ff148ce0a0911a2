// Work a store does for the open item (detected regions, image tokens, speech tokens): its state belongs to that
// item, is reset when another item opens, and a result that arrives after that is dropped.
import { watch, type Ref } from 'vue';
import type { Item } from '../../../electron/common';
import { useItemStore } from './item';

export interface ItemScope {
  /** Starts a request for the open item (null when none is open); `live()` stays true while its result belongs on screen. */
  begin(): { item: Item; live(): boolean } | null;
  /** Drops the scope's state (calls `reset`) and any request in flight. */
  reset(): void;
  /**
   * Starts over for the open item: resets, sets `busy` while `work` runs (ignored while it is already set), and
   * applies the result only if it still belongs on screen.
   */
  fresh<T>(busy: Ref<boolean>, work: (item: Item) => Promise<T>, apply: (result: T) => void): Promise<void>;
}

/** Call inside a store's setup: `reset` clears that store's state; it runs whenever the open item changes. */
export function useItemScope(reset: () => void): ItemScope {
  const itemStore = useItemStore();
  let seq = 0;
  const scope: ItemScope = {
    begin() {
      const item = itemStore.item;
      if (!item) return null;
      const mine = ++seq;
      return { item, live: () => mine === seq && itemStore.item?.id === item.id };
    },
    reset() {
      seq++;
      reset();
    },
    async fresh(busy, work, apply) {
      if (busy.value) return;
      scope.reset();
      const run = scope.begin();
      if (!run) return;
      busy.value = true;
      try {
        const result = await work(run.item);
        if (run.live()) apply(result);
      } finally {
        if (run.live()) busy.value = false;
      }
    },
  };
  watch(() => itemStore.item?.id ?? null, () => scope.reset());
  return scope;
}
