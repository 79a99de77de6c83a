// Ownership is by location: every SKU of a store lives in one shard, so a store's stream and its
// counts stay with one owner. The hash is FNV-1a (32-bit) over the id's UTF-16 code units: stable
// across processes, versions and machines, which is what a persisted shard count needs.

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let at = 0; at < text.length; at++) {
    hash ^= text.charCodeAt(at);
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export function shardOf(key: string, shardCount: number): number {
  return fnv1a32(key) % shardCount;
}
