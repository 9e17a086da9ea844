/** Pip size of a currency pair: 0.01 when the quote currency is JPY (e.g. USDJPY), else 0.0001. */
export function pipSize(symbol: string): number {
  return symbol.trim().toUpperCase().endsWith('JPY') ? 0.01 : 0.0001;
}

/** Decimals a broker quotes the pair with (one fractional pip digit): 3 for JPY pairs, else 5. */
export function priceDecimals(symbol: string): number {
  return pipSize(symbol) === 0.01 ? 3 : 5;
}
