// GTINs (GS1 barcodes): GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14 (a case's ITF-14).
// Each ends with a mod-10 check digit: weights 3 and 1 alternate from the digit next to it leftwards.
// One product keeps one number whatever the symbology, so barcodes are stored and looked up as 14
// digits, padded with leading zeros: a UPC-A scanned as an EAN-13 (with a leading 0) finds the same SKU.

export const GTIN_LENGTHS = [8, 12, 13, 14] as const;
export const gtinDigits = 14;

export type GtinCheck =
  | { readonly ok: true; readonly gtin: string }
  | { readonly ok: false; readonly reason: string };

/** The check digit that the digits before it call for. */
export function checkDigitOf(body: string): number {
  let sum = 0;
  for (let at = body.length - 1, weight = 3; at >= 0; at--, weight = 4 - weight) {
    sum += (body.charCodeAt(at) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** Checks a barcode's text: digits only, a GTIN length, the right check digit. Answers it as 14 digits. */
export function checkGtin(text: string): GtinCheck {
  if (!/^[0-9]+$/.test(text) || !(GTIN_LENGTHS as readonly number[]).includes(text.length)) {
    return {
      ok: false,
      reason: `INVALID_BARCODE: ${JSON.stringify(text.slice(0, 40))} is not a GTIN (8, 12, 13 or 14 digits)`,
    };
  }
  const expected = checkDigitOf(text.slice(0, -1));
  const given = text.charCodeAt(text.length - 1) - 48;
  if (given !== expected) {
    return {
      ok: false,
      reason: `BARCODE_CHECK_DIGIT: ${text} ends in ${given}; its check digit is ${expected}`,
    };
  }
  return { ok: true, gtin: text.padStart(gtinDigits, '0') };
}

/** A barcode as stored (14 digits), or null when the text is not a valid GTIN. */
export function normalGtin(text: string): string | null {
  const checked = checkGtin(text);
  return checked.ok ? checked.gtin : null;
}
