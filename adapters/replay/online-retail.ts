// The UCI "Online Retail" sales log (shared/data/README.md) as ledger commands. One line of the log is
// one invoice line: `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`.
//
// - `StockCode` is the SKU (kept as written: `85123A` and `85123a` are two SKUs), unless the item master
//   knows it as a barcode or a kit; `Country` is the location, through the location codes on file or
//   else as its name in the id grammar (`United Kingdom` -> `united-kingdom`).
// - A positive quantity is a `sale` (never refused; stock may go negative, and the position says so).
// - An invoice starting with `C` is a cancellation: its negative quantity comes back as a return into
//   quarantine (returnId = the line's id), disposed of at once when a disposition policy is given.
// - Any other negative quantity is an adjustment: `damaged` when the description says so, else `other`.
// - Stock codes that are not products (postage, fees, manual entries, discounts, samples, vouchers) and
//   lines that cannot be read become dead letters with their reason.
// Ids come from the invoice and the line number (`uci.536365.2`), so a replayed file is applied once.

import type { Disposition } from '../../actors/index.ts';
import { commandId, isId, locationId, quantityMax, sku as skuOf } from '../../actors/index.ts';
import type { CommandInput } from '../../engine/inputs.ts';
import type { CreateReturn, DisposeReturn } from '../../engine/returns.ts';
import type { Resolver } from '../mapping/resolver.ts';

export const REPLAY_ADAPTER = 'cli:replay';

export const RETAIL_COLUMNS = [
  'InvoiceNo',
  'StockCode',
  'Description',
  'Quantity',
  'InvoiceDate',
  'UnitPrice',
  'CustomerID',
  'Country',
] as const;
export type RetailColumn = (typeof RETAIL_COLUMNS)[number];
export type RetailRecord = Readonly<Record<RetailColumn, string>>;

/**
 * Stock codes that are not products, by what they are (compared in upper case: `m` is `M`). The data
 * set's README names them; these are every one found in the UCI data, and gift vouchers (`gift_...`)
 * are not stock either.
 */
export const NON_PRODUCT_CODES: ReadonlyMap<string, string> = new Map([
  ['POST', 'postage'],
  ['DOT', 'dotcom postage'],
  ['C2', 'carriage'],
  ['M', 'manual entry'],
  ['D', 'discount'],
  ['S', 'samples'],
  ['B', 'bad debt adjustment'],
  ['AMAZONFEE', 'Amazon fee'],
  ['BANK CHARGES', 'bank charges'],
  ['CRUK', 'CRUK commission'],
  ['PADS', 'cushion pads'],
]);

/** What a stock code that is not a product is, or null for a product code. */
export function nonProductOf(stockCode: string): string | null {
  const code = stockCode.trim().toUpperCase();
  return NON_PRODUCT_CODES.get(code) ?? (code.startsWith('GIFT_') ? 'gift voucher' : null);
}

/** Descriptions of negative, non-cancellation lines that say the goods were damaged. */
const DAMAGED = /damage|faulty|broken|crush|smash|cracked|wet|mould/i;

export type ReturnPolicy = Disposition | 'none';

export type RetailAction =
  | { readonly kind: 'sale'; readonly id: string; readonly commands: readonly CommandInput[] }
  | { readonly kind: 'adjust'; readonly id: string; readonly commands: readonly CommandInput[] }
  | {
      readonly kind: 'return';
      readonly id: string;
      readonly request: CreateReturn;
      readonly disposition: DisposeReturn | null;
    }
  | { readonly kind: 'dead'; readonly reason: string };

const dead = (reason: string): RetailAction => ({ kind: 'dead', reason });

function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

const INVOICE = /^[A-Za-z]?[0-9]{1,20}$/;
const QUANTITY = /^-?[0-9]{1,12}$/;
const PRICE = /^-?[0-9]{1,12}(\.[0-9]{1,8})?$/;
const DATE =
  /^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\/[0-9]{1,2}\/[0-9]{4}) [0-9]{1,2}:[0-9]{2}(:[0-9]{2})?$/;

/** The id of one line of the log: its invoice and its line number. */
export function lineIdOf(invoice: string, line: number): string {
  return `uci.${invoice}.${line}`;
}

/**
 * One line of the log as what the ledger should do with it, or the reason it cannot. Pure but for the
 * resolver's reads of the master data: the same line and master data always give the same action.
 */
export function actionOf(
  record: RetailRecord,
  line: number,
  resolver: Resolver,
  policy: ReturnPolicy,
): RetailAction {
  const invoice = record.InvoiceNo.trim();
  if (!INVOICE.test(invoice)) return dead(`MALFORMED: InvoiceNo ${quoted(invoice)} is not an invoice number`);
  const quantityText = record.Quantity.trim();
  if (!QUANTITY.test(quantityText))
    return dead(`MALFORMED: Quantity ${quoted(quantityText)} is not a whole number`);
  const quantity = Number(quantityText);
  if (quantity === 0) return dead('MALFORMED: Quantity is 0');
  if (Math.abs(quantity) > quantityMax)
    return dead(`MALFORMED: Quantity ${quantity} is beyond ${quantityMax}`);
  if (!DATE.test(record.InvoiceDate.trim()) || Number.isNaN(Date.parse(record.InvoiceDate.trim()))) {
    return dead(`MALFORMED: InvoiceDate ${quoted(record.InvoiceDate)} is not a date and time`);
  }
  if (!PRICE.test(record.UnitPrice.trim()))
    return dead(`MALFORMED: UnitPrice ${quoted(record.UnitPrice)} is not a number`);
  const country = record.Country.trim();
  if (country === '') return dead('MALFORMED: Country is empty');
  const stockCode = record.StockCode.trim();
  if (stockCode === '') return dead('MALFORMED: StockCode is empty');
  const cancellation = /^[Cc]/.test(invoice);
  if (cancellation && quantity > 0)
    return dead(`MALFORMED: cancellation ${invoice} with a positive quantity`);

  const nonProduct = nonProductOf(stockCode);
  if (nonProduct !== null)
    return dead(`NON_PRODUCT: ${stockCode.toUpperCase()} (${nonProduct}) is not stock`);
  const location = resolver.location(country);
  if (!location.ok) return dead(location.reason);
  const resolved = resolver.lines([{ code: stockCode, qty: Math.abs(quantity) }]);
  if (!resolved.ok) return dead(resolved.reason);

  const id = lineIdOf(invoice, line);
  if (!isId(id)) return dead(`MALFORMED: ${quoted(id)} is not a usable id`);
  // One command a line; a kit sold on one line is one command per component, numbered after the line.
  const commandIdOf = (at: number) => commandId(resolved.value.length === 1 ? id : `${id}.${at}`);
  const where = locationId(location.value);
  if (cancellation) {
    const reason = `cancelled on invoice ${invoice}`;
    return {
      kind: 'return',
      id,
      request: {
        returnId: id,
        location: location.value,
        originalOrderId: null,
        lines: resolved.value.map((unit) => ({ sku: unit.sku, qty: unit.qty, reason })),
      },
      disposition:
        policy === 'none'
          ? null
          : {
              returnId: id,
              dispositionId: `replay-${policy}`,
              lines: resolved.value.map((unit) => ({ sku: unit.sku, qty: unit.qty, disposition: policy })),
            },
    };
  }
  if (quantity > 0) {
    return {
      kind: 'sale',
      id,
      commands: resolved.value.map((unit, at) => ({
        type: 'sale' as const,
        commandId: commandIdOf(at),
        sku: skuOf(unit.sku),
        location: where,
        qty: unit.qty,
      })),
    };
  }
  const reason = DAMAGED.test(record.Description) ? ('damaged' as const) : ('other' as const);
  return {
    kind: 'adjust',
    id,
    commands: resolved.value.map((unit, at) => ({
      type: 'adjust' as const,
      commandId: commandIdOf(at),
      sku: skuOf(unit.sku),
      location: where,
      delta: -unit.qty,
      reason,
    })),
  };
}
