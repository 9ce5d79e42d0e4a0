/** Least-squares straight line through points: how a cost grows with a size. */
export interface LinearFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination: 1 when the points lie on the line. */
  r2: number;
}

export function linearFit(points: ReadonlyArray<readonly [number, number]>): LinearFit {
  if (points.length < 2) throw new RangeError('a line needs at least two points');
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  if (sxx === 0) throw new RangeError('a line needs two different x values');
  const slope = sxy / sxx;
  return { slope, intercept: meanY - slope * meanX, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
