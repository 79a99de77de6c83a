// Proves what a policy does to availability (safety stock, low-stock threshold, channel shares) and which
// policies are refused: exact events and refusals from decide, each checked against the machine.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { channelId, commandId } from '../../../actors/ids.ts';
import type { ChannelPolicy } from '../../../actors/ledger.ts';
import { exposedTo } from '../../../actors/ledger.ts';
import { channelsPerPolicyMax, quantityMax } from '../../../actors/limits.ts';
import {
  AT_MS,
  emptyTestLedger,
  policyOf,
  receive,
  reserve,
  sale,
  setPolicy,
} from '../../helpers/commands.ts';
import { accepted, given, refused } from '../../helpers/ledger.ts';

const WEB = channelId('web');
const at = (type: string, version: number) => ({ commandId: commandId(`cmd-${type}`), atMs: AT_MS, version });
const changed = (
  from: 'inStock' | 'lowStock' | 'outOfStock',
  to: 'inStock' | 'lowStock' | 'outOfStock',
  availableToSell: number,
  type: string,
  version: number,
) => ({ type: 'AvailabilityChanged', from, to, availableToSell, deltas: {}, ...at(type, version) });

/** Ten on hand under the default policy; version 2. */
const stocked = () => given(emptyTestLedger(), receive(10));

describe('setPolicy', () => {
  test('a policy is recorded whole and changes no bucket', () => {
    const policy = policyOf(0, 2, { web: { share: 0.8 } });
    const { events, ledger } = accepted(emptyTestLedger(), setPolicy(policy));
    assert.deepEqual(events, [{ type: 'PolicyChanged', policy, deltas: {}, ...at('setPolicy', 1) }]);
    assert.deepEqual(ledger.policy, policy);
  });

  describe('safety stock', () => {
    test('raising it to onHand takes the location out of stock for every channel', () => {
      const policy = policyOf(10, 0);
      const { events, ledger } = accepted(stocked(), setPolicy(policy));
      assert.deepEqual(events, [
        { type: 'PolicyChanged', policy, deltas: {}, ...at('setPolicy', 3) },
        changed('inStock', 'outOfStock', 0, 'setPolicy', 4),
      ]);
      assert.deepEqual(refused(ledger, reserve('r-1', 1)), {
        code: 'INSUFFICIENT_STOCK',
        requested: 1,
        availableToSell: 0,
      });
      accepted(ledger, sale(1));
    });

    test('a hold may take everything above it and no more', () => {
      const start = given(stocked(), setPolicy(policyOf(4, 0)));
      assert.deepEqual(refused(start, reserve('r-1', 7)), {
        code: 'INSUFFICIENT_STOCK',
        requested: 7,
        availableToSell: 6,
      });
      const { events } = accepted(start, reserve('r-1', 6));
      assert.deepEqual(events.at(-1), changed('inStock', 'outOfStock', 0, 'reserve', 5));
    });
  });

  describe('low-stock threshold', () => {
    test('available-to-sell at the threshold is lowStock, one above it is inStock', () => {
      const low = accepted(stocked(), setPolicy(policyOf(0, 10)));
      assert.deepEqual(low.events.at(-1), changed('inStock', 'lowStock', 10, 'setPolicy', 4));
      const high = accepted(low.ledger, setPolicy(policyOf(0, 9)));
      assert.deepEqual(high.events.at(-1), changed('lowStock', 'inStock', 10, 'setPolicy', 6));
    });

    test('sales walk the location from inStock through lowStock to outOfStock, and a receipt back', () => {
      const start = given(stocked(), setPolicy(policyOf(0, 3)));
      const first = accepted(start, sale(7));
      assert.deepEqual(first.events.at(-1), changed('inStock', 'lowStock', 3, 'sale', 5));
      const second = accepted(first.ledger, sale(3));
      assert.deepEqual(second.events.at(-1), changed('lowStock', 'outOfStock', 0, 'sale', 7));
      const third = accepted(second.ledger, receive(1));
      assert.deepEqual(third.events.at(-1), changed('outOfStock', 'lowStock', 1, 'receive', 9));
      const fourth = accepted(third.ledger, receive(3));
      assert.deepEqual(fourth.events.at(-1), changed('lowStock', 'inStock', 4, 'receive', 11));
    });
  });

  describe('channel shares', () => {
    test('a channel sees its share of available-to-sell, rounded down; others see all of it', () => {
      const ledger = given(emptyTestLedger(), receive(7), setPolicy(policyOf(0, 0, { web: { share: 0.5 } })));
      assert.equal(exposedTo(ledger, WEB), 3);
      assert.equal(exposedTo(ledger, 'store'), 7);
      assert.equal(exposedTo(ledger, null), 7);
    });

    test('a hold beyond the share is INSUFFICIENT_STOCK naming the exposure and the channel', () => {
      const start = given(stocked(), setPolicy(policyOf(0, 0, { web: { share: 0.5 } })));
      assert.deepEqual(refused(start, reserve('r-1', 6)), {
        code: 'INSUFFICIENT_STOCK',
        requested: 6,
        availableToSell: 10,
        exposed: 5,
        channel: WEB,
      });
      accepted(start, reserve('r-1', 5));
      accepted(start, reserve('r-1', 10, { channel: channelId('store') }));
    });

    test('the share applies after safety stock and to what earlier holds left', () => {
      const start = given(stocked(), setPolicy(policyOf(2, 0, { web: { share: 0.5 } })));
      assert.equal(exposedTo(start, WEB), 4);
      const held = given(start, reserve('r-1', 4));
      assert.deepEqual(refused(held, reserve('r-2', 3)), {
        code: 'INSUFFICIENT_STOCK',
        requested: 3,
        availableToSell: 4,
        exposed: 2,
        channel: WEB,
      });
    });

    test('a full share limits nothing, so the refusal carries no exposure', () => {
      const start = given(stocked(), setPolicy(policyOf(0, 0, { web: { share: 1 } })));
      assert.deepEqual(refused(start, reserve('r-1', 11)), {
        code: 'INSUFFICIENT_STOCK',
        requested: 11,
        availableToSell: 10,
      });
    });
  });

  describe('refusals', () => {
    const invalid = (field: string, reason: string) => ({ code: 'VALIDATION_FAILED', field, reason });
    const fromZero = 'must be an integer from 0';

    for (const bad of [-1, 1.5, quantityMax + 1, Number.NaN]) {
      test(`safety stock ${bad} is VALIDATION_FAILED`, () => {
        assert.deepEqual(
          refused(stocked(), setPolicy(policyOf(bad, 0))),
          invalid('policy.safetyStock', fromZero),
        );
      });
      test(`low-stock threshold ${bad} is VALIDATION_FAILED`, () => {
        assert.deepEqual(
          refused(stocked(), setPolicy(policyOf(0, bad))),
          invalid('policy.lowStockThreshold', fromZero),
        );
      });
    }

    test(`a policy may name ${channelsPerPolicyMax} channels and no more`, () => {
      const channels = (total: number): Record<string, ChannelPolicy> =>
        Object.fromEntries(Array.from({ length: total }, (_, at) => [`ch-${at}`, { share: 0.5 }]));
      accepted(stocked(), setPolicy(policyOf(0, 0, channels(channelsPerPolicyMax))));
      assert.deepEqual(
        refused(stocked(), setPolicy(policyOf(0, 0, channels(channelsPerPolicyMax + 1)))),
        invalid('policy.channels', `at most ${channelsPerPolicyMax}`),
      );
    });

    test('a channel name outside the id grammar is VALIDATION_FAILED', () => {
      assert.deepEqual(
        refused(stocked(), setPolicy(policyOf(0, 0, { '-web': { share: 0.5 } }))),
        invalid('policy.channels', 'bad channel id "-web"'),
      );
    });

    for (const share of [0, -0.5, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      test(`a share of ${share} is VALIDATION_FAILED naming the channel`, () => {
        assert.deepEqual(
          refused(stocked(), setPolicy(policyOf(0, 0, { web: { share } }))),
          invalid('policy.channels.web.share', 'must be a number in (0, 1], at least 0.0001'),
        );
      });
    }
  });

  describe('exact channel shares', () => {
    test('29% of 100 exposes 29 units: shares are applied in integer basis points', () => {
      const ledger = given(
        emptyTestLedger(),
        receive(100),
        setPolicy(policyOf(0, 0, { web: { share: 0.29 } })),
      );
      assert.equal(exposedTo(ledger, WEB), 29);
      accepted(ledger, reserve('r-29', 29, { channel: WEB }));
    });

    test('every share of 0.01 to 0.99 over 1 to 1000 units floors the exact product', () => {
      for (let percent = 1; percent <= 99; percent++) {
        const ledger = given(emptyTestLedger(), setPolicy(policyOf(0, 0, { web: { share: percent / 100 } })));
        for (let available = 1; available <= 1000; available += 37) {
          const stocked = { ...ledger, onHand: available };
          assert.equal(
            exposedTo(stocked, WEB),
            Math.floor((available * percent) / 100),
            `${available} x ${percent}%`,
          );
        }
      }
    });

    for (const policy of [null, { safetyStock: 0, lowStockThreshold: 0, channels: null }]) {
      test(`a malformed policy ${JSON.stringify(policy)} is refused, not thrown`, () => {
        const refusal = refused(stocked(), { ...setPolicy(policyOf(0, 0, {})), policy: policy as never });
        assert.equal(refusal.code, 'VALIDATION_FAILED');
      });
    }
  });
});
