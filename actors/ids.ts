// Branded identifiers: a Sku cannot be passed where a LocationId is expected.
// Adapters validate the text against ID_PATTERN once, then brand it.

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type Sku = Brand<string, 'Sku'>;
export type LocationId = Brand<string, 'LocationId'>;
export type CommandId = Brand<string, 'CommandId'>;
export type ReservationId = Brand<string, 'ReservationId'>;
export type ReturnId = Brand<string, 'ReturnId'>;
export type TransferId = Brand<string, 'TransferId'>;
export type ChannelId = Brand<string, 'ChannelId'>;

/** The id grammar of API.md: a letter or digit, then up to 127 of `A-Za-z0-9._:/-`. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export function isId(text: unknown): text is string {
  return typeof text === 'string' && ID_PATTERN.test(text);
}

export const sku = (text: string): Sku => text as Sku;
export const locationId = (text: string): LocationId => text as LocationId;
export const commandId = (text: string): CommandId => text as CommandId;
export const reservationId = (text: string): ReservationId => text as ReservationId;
export const returnId = (text: string): ReturnId => text as ReturnId;
export const transferId = (text: string): TransferId => text as TransferId;
export const channelId = (text: string): ChannelId => text as ChannelId;

/** The key of one SKU-location actor. `|` cannot appear in an id, so the split is unambiguous. */
export type ActorKey = Brand<string, 'ActorKey'>;
export function actorKeyOf(location: LocationId, item: Sku): ActorKey {
  return `${location}|${item}` as ActorKey;
}
export function splitActorKey(key: ActorKey): { location: LocationId; sku: Sku } {
  const at = key.indexOf('|');
  return { location: key.slice(0, at) as LocationId, sku: key.slice(at + 1) as Sku };
}
