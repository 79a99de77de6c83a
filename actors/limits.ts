// Every quantity the domain accepts is bounded, so that no sum of buckets can leave the
// range where doubles are exact integers (2^53), whatever the history.

/** The largest quantity one command line may carry, in base units. */
export const quantityMax = 1_000_000_000;
/** The largest absolute value any bucket may reach; beyond it a command is refused. */
export const bucketAbsoluteMax = 1_000_000_000_000;
/** Open reservation lines one SKU-location may hold at once. */
export const openReservationsPerActorMax = 10_000;
/** Open return lots and inbound transfers one SKU-location may hold at once. */
export const openLotsPerActorMax = 10_000;
/** Channels one policy may name. */
export const channelsPerPolicyMax = 32;
/** The longest reservation time-to-live, 30 days. */
export const ttlSecondsMax = 30 * 24 * 3600;
/** The latest instant the domain accepts (year 2200), so that atMs + ttl stays exact. */
export const instantMsMax = 7_258_118_400_000;
/** Text fields such as reasons. */
export const reasonLengthMax = 200;
