// A small UCI Online Retail log for the replay tests: one line of each kind the replay tells apart, with
// what the replay must make of it (a kind, or the reason code of its dead letter).

export const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
/** Each line with what the replay must make of it (the header is line 1). */
export const LINES: [string, string][] = [
  ['536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom', 'sale'],
  ['536366,22633,"HAND WARMER, UNION JACK",6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom', 'sale'],
  ['C536379,85123A,WHITE HANGING HEART,-2,2010-12-01 09:41:00,2.55,14527.0,United Kingdom', 'return'],
  ['536380,22633,damages,-3,2010-12-01 09:45:00,0.0,,United Kingdom', 'adjust'],
  ['536381,POST,POSTAGE,1,2010-12-01 09:45:00,18.0,12583.0,France', 'NON_PRODUCT'],
  ['536382,85123A,broken "quote,1,2010-12-01 09:45:00,1.0,,France', 'MALFORMED'],
  ['536383,85123A,X,1,2010-12-01 09:45:00,1.0,,France,extra', 'MALFORMED'],
  ['536384,85123A,X,one,2010-12-01 09:45:00,1.0,,France', 'MALFORMED'],
  ['536385,85123A,X,0,2010-12-01 09:45:00,1.0,,France', 'MALFORMED'],
  ['536386,85123A,X,1,yesterday,1.0,,France', 'MALFORMED'],
  ['536387,85123A,X,1,2010-12-01 09:45:00,1.0,,', 'MALFORMED'],
  ['C536388,85123A,X,4,2010-12-01 09:45:00,1.0,,France', 'MALFORMED'],
  ['', 'blank'],
  ['536389,BAD CODE!,X,1,2010-12-01 09:45:00,1.0,,France', 'UNKNOWN_ITEM'],
  ['536390,85123A,X,5,2010-12-01 09:45:00,1.0,,EIRE', 'sale'],
];
