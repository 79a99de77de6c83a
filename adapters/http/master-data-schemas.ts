// The wire shapes of master data (items, barcodes, location codes, imports, kit reservations), closed
// like every schema of the API: an unknown field is refused, nothing is coerced.

import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { ItemRecord, LocationCodeRecord } from '../../engine/store/records.ts';
import {
  barcodesPerItemMax,
  caseSizeMax,
  componentQtyMax,
  componentsPerKitMax,
  descriptionLengthMax,
} from '../mapping/items.ts';
import { locationCodeLengthMax, locationNameLengthMax } from '../mapping/locations.ts';
import { CreateReservation, Id } from './schemas.ts';
import { iso } from './views.ts';

const Gtin = Type.String({
  pattern: '^[0-9]{8}$|^[0-9]{12,14}$',
  description: 'A GTIN: 8, 12, 13 or 14 digits, the last a valid check digit',
});
const Component = Type.Object(
  {
    sku: Id,
    qty: Type.Integer({
      minimum: 1,
      maximum: componentQtyMax,
      description: 'Units of the component in one kit',
    }),
  },
  { additionalProperties: false },
);

export const ItemParams = Type.Object({ sku: Id }, { additionalProperties: false });
export const ItemBody = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: descriptionLengthMax })),
    barcodes: Type.Optional(
      Type.Array(Gtin, { maxItems: barcodesPerItemMax, description: 'GTINs of one unit (each)' }),
    ),
    caseBarcodes: Type.Optional(
      Type.Array(Gtin, { maxItems: barcodesPerItemMax, description: 'GTINs of a case of `caseSize` units' }),
    ),
    caseSize: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: caseSizeMax }), Type.Null()], {
        description: 'Units in a case; null or absent for an item without cases',
      }),
    ),
    components: Type.Optional(
      Type.Array(Component, {
        maxItems: componentsPerKitMax,
        description: "A kit's components; a kit is never stocked as such, its components are",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ItemBody = Static<typeof ItemBody>;

export const Item = Type.Object(
  {
    sku: Type.String(),
    description: Type.String(),
    barcodes: Type.Array(Type.String({ description: '14 digits' })),
    caseBarcodes: Type.Array(Type.String({ description: '14 digits' })),
    caseSize: Type.Union([Type.Integer(), Type.Null()]),
    components: Type.Array(
      Type.Object({ sku: Type.String(), qty: Type.Integer() }, { additionalProperties: false }),
    ),
    revision: Type.Integer(),
    updatedAt: Type.String(),
  },
  { additionalProperties: false },
);
export type Item = Static<typeof Item>;

const Change = Type.Unsafe<'created' | 'updated' | 'unchanged'>({
  type: 'string',
  enum: ['created', 'updated', 'unchanged'],
});
export const ItemWritten = Type.Object({ change: Change, item: Item }, { additionalProperties: false });

export const BarcodeParams = Type.Object({ gtin: Gtin }, { additionalProperties: false });
export const Barcode = Type.Object(
  {
    barcode: Type.String({ description: 'As stored: 14 digits' }),
    sku: Type.String(),
    unit: Type.Unsafe<'each' | 'case'>({ type: 'string', enum: ['each', 'case'] }),
  },
  { additionalProperties: false },
);

export const LocationCodeParams = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: locationCodeLengthMax * 3 }) },
  { additionalProperties: false },
);
export const LocationCodeBody = Type.Object(
  { location: Id, name: Type.Optional(Type.String({ maxLength: locationNameLengthMax })) },
  { additionalProperties: false },
);
export type LocationCodeBody = Static<typeof LocationCodeBody>;
export const LocationCode = Type.Object(
  {
    code: Type.String(),
    location: Type.String(),
    name: Type.String(),
    revision: Type.Integer(),
    updatedAt: Type.String(),
  },
  { additionalProperties: false },
);
export type LocationCode = Static<typeof LocationCode>;
export const LocationCodeWritten = Type.Object(
  { change: Change, locationCode: LocationCode },
  { additionalProperties: false },
);

export const CsvBody = Type.String({
  description: 'CSV: a header line naming the columns, then one row a line',
});
export const ImportResult = Type.Object(
  {
    created: Type.Integer(),
    updated: Type.Integer(),
    unchanged: Type.Integer(),
    rejected: Type.Array(
      Type.Object(
        {
          line: Type.Integer({ description: '1-based line number; the header is line 1' }),
          reason: Type.String(),
          deadLetterId: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** A reservation whose lines may name kits; always all-or-nothing, so it has no `mode`. */
export const KitReservation = Type.Object(
  {
    reservationId: Id,
    channel: Id,
    ttlSeconds: CreateReservation.properties.ttlSeconds,
    lines: CreateReservation.properties.lines,
  },
  { additionalProperties: false },
);
export type KitReservation = Static<typeof KitReservation>;

export function itemView(record: ItemRecord): Item {
  return {
    sku: record.sku,
    description: record.description,
    barcodes: [...record.barcodes],
    caseBarcodes: [...record.caseBarcodes],
    caseSize: record.caseSize,
    components: record.components.map((component) => ({ sku: component.sku, qty: component.qty })),
    revision: record.revision,
    updatedAt: iso(record.updatedAtMs),
  };
}

export function locationCodeView(record: LocationCodeRecord): LocationCode {
  return {
    code: record.code,
    location: record.location,
    name: record.name,
    revision: record.revision,
    updatedAt: iso(record.updatedAtMs),
  };
}
